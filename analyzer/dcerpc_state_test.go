package analyzer

import "testing"

// TestByID: a connection's lists find by id, replace a value put again under its id, forget
// what is taken, and hold at most maxRPCState (a full list takes no new id and replaces
// none, as the maps they replaced did).
func TestByID(t *testing.T) {
	var l byID[uint32, string]
	l.put(7, "a")
	l.put(8, "b")
	l.put(7, "c")
	if len(l) != 2 || *l.find(7) != "c" || *l.find(8) != "b" || l.find(9) != nil {
		t.Fatalf("after puts: %v", l)
	}
	if v, ok := l.take(7); !ok || v != "c" || l.find(7) != nil || *l.find(8) != "b" {
		t.Fatalf("take 7: %q %v, list %v", v, ok, l)
	}
	if _, ok := l.take(7); ok {
		t.Fatal("7 taken twice")
	}
	for i := uint32(100); len(l) < maxRPCState; i++ {
		l.put(i, "x")
	}
	l.put(1, "new")
	l.put(8, "replaced")
	if l.find(1) != nil || *l.find(8) != "b" || len(l) != maxRPCState {
		t.Fatalf("a full list changed: %d entries, 8 = %q", len(l), *l.find(8))
	}
}
