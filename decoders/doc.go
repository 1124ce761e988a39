// Package decoders is the parent of one package per protocol. Each is a set of pure
// functions from bytes to typed results: no I/O, no global state, no knowledge of flows,
// roles or policy (that lives in analyzer/). Every length is checked before it is used, no
// allocation is sized by an unchecked length, and no input makes them panic; each package
// has a go test -fuzz target.
package decoders
