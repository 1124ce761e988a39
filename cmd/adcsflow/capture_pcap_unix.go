//go:build cgo && !windows

package main

// loadPcap: libpcap is linked into the binary (the dynamic loader refuses to start it when
// libpcap.so.0.8 is missing: see README "Live capture").
func loadPcap() error { return nil }
