package dcerpc

import "testing"

func TestUUIDWireOrder(t *testing.T) {
	// ICertPassage as it appears on the wire (little-endian NDR).
	wire := []byte{0x20, 0x60, 0xae, 0x91, 0x3c, 0x9e, 0xcf, 0x11, 0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}
	u, err := UUIDFromLE(wire)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.String(); got != "91ae6020-9e3c-11cf-8d7c-00aa00c091be" {
		t.Fatalf("got %s", got)
	}
	p, err := ParseUUID("91AE6020-9E3C-11CF-8D7C-00AA00C091BE")
	if err != nil || p != u {
		t.Fatalf("parse: %v %v", p, err)
	}
	if _, err := UUIDFromLE(wire[:15]); err == nil {
		t.Fatal("short accepted")
	}
	if _, err := ParseUUID("91ae6020-9e3c-11cf-8d7c-00aa00c091bz"); err == nil {
		t.Fatal("bad hex accepted")
	}
}
