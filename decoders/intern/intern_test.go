package intern

import (
	"strings"
	"testing"
	"unsafe"
)

// TestTableSharesAndStaysBounded: the same bytes give the same string (one allocation)
// while the table has room; past Max strings, or over MaxLen bytes, strings are still right
// but not kept.
func TestTableSharesAndStaysBounded(t *testing.T) {
	tb := &Table{Max: 2, MaxLen: 4}
	a, b := tb.String([]byte("krb")), tb.String([]byte("krb"))
	if a != "krb" || unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatalf("%q and %q are not one string", a, b)
	}
	if s := tb.String([]byte("toolong")); s != "toolong" || tb.Len() != 1 {
		t.Fatalf("%q, %d kept: a string over MaxLen was kept", s, tb.Len())
	}
	tb.String([]byte("b"))
	if s := tb.String([]byte("c")); s != "c" || tb.Len() != 2 {
		t.Fatalf("%q, %d kept: past Max", s, tb.Len())
	}
	var none *Table
	if s := none.String([]byte(strings.Repeat("x", 3))); s != "xxx" {
		t.Fatalf("nil table: %q", s)
	}
}

func FuzzTable(f *testing.F) {
	f.Add([]byte("LAB.ADCSFLOW.TEST"), []byte("krbtgt/LAB"))
	tb := &Table{Max: 64, MaxLen: 16}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if tb.String(a) != string(a) || tb.String(b) != string(b) || tb.Len() > 64 {
			t.Fatal("wrong string or unbounded")
		}
	})
}
