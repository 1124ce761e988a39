package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestMemoryLimit: without GOMEMLIMIT the soft limit is defaultMemoryLimit; with it, the
// runtime's value (read from GOMEMLIMIT at start) is left alone.
func TestMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(math.MaxInt64)
	defer debug.SetMemoryLimit(before)
	t.Setenv("GOMEMLIMIT", "")
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != defaultMemoryLimit {
		t.Errorf("no GOMEMLIMIT: limit %d, want %d", got, defaultMemoryLimit)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOMEMLIMIT", "1GiB")
	setMemoryLimit()
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: limit changed to %d", got)
	}
}
