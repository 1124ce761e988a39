package dcom

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// reader is a bounds-checked little-endian NDR cursor in the style of
// golang.org/x/crypto/cryptobyte.String (which only reads big-endian). Every method
// checks the remaining length before reading and reports false instead of panicking.
// Alignment is relative to the start of b, which is where NDR alignment is counted from
// (the stub, or the body of a type-serialized property).
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) skip(n int) bool {
	if n < 0 || n > r.remaining() {
		return false
	}
	r.off += n
	return true
}

// align skips to the next multiple of n (a power of two) counted from the buffer start.
func (r *reader) align(n int) bool {
	return r.skip((n - r.off%n) % n)
}

func (r *reader) bytes(out *[]byte, n int) bool {
	if n < 0 || n > r.remaining() {
		return false
	}
	*out = r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return true
}

func (r *reader) u8(out *uint8) bool {
	if r.remaining() < 1 {
		return false
	}
	*out = r.b[r.off]
	r.off++
	return true
}

func (r *reader) u16(out *uint16) bool {
	if r.remaining() < 2 {
		return false
	}
	b := r.b[r.off:]
	*out = uint16(b[0]) | uint16(b[1])<<8
	r.off += 2
	return true
}

func (r *reader) u32(out *uint32) bool {
	if r.remaining() < 4 {
		return false
	}
	b := r.b[r.off:]
	*out = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	r.off += 4
	return true
}

func (r *reader) u64(out *uint64) bool {
	var lo, hi uint32
	if r.remaining() < 8 {
		return false
	}
	r.u32(&lo)
	r.u32(&hi)
	*out = uint64(hi)<<32 | uint64(lo)
	return true
}

// uuid reads a GUID in NDR little-endian wire order.
func (r *reader) uuid(out *dcerpc.UUID) bool {
	u, err := dcerpc.UUIDFromLE(r.b[r.off:])
	if err != nil {
		return false
	}
	*out = u
	r.off += 16
	return true
}

// utf16z decodes a NUL-terminated UTF-16LE string from units, returning the string and
// the number of units consumed including the NUL. ok is false when no NUL is present.
// Unpaired surrogates become U+FFFD, as in unicode/utf16.
func utf16z(units []byte) (s string, n int, ok bool) {
	end := -1
	for i := 0; i+1 < len(units); i += 2 {
		if units[i] == 0 && units[i+1] == 0 {
			end = i
			break
		}
	}
	if end < 0 {
		return "", 0, false
	}
	buf := make([]byte, 0, end/2) // ASCII is the common case; end is bounded by len(units)
	for i := 0; i < end; i += 2 {
		c := rune(uint16(units[i]) | uint16(units[i+1])<<8)
		if utf16.IsSurrogate(c) && i+3 < end {
			c2 := rune(uint16(units[i+2]) | uint16(units[i+3])<<8)
			if d := utf16.DecodeRune(c, c2); d != utf8.RuneError {
				buf = utf8.AppendRune(buf, d)
				i += 2
				continue
			}
		}
		if utf16.IsSurrogate(c) {
			c = utf8.RuneError
		}
		buf = utf8.AppendRune(buf, c)
	}
	return string(buf), end/2 + 1, true
}
