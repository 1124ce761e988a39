package ber

import (
	"bytes"
	"reflect"
	"testing"
)

func TestReadLongFormNonMinimal(t *testing.T) {
	// Active Directory writes lengths as 0x84 + 4 bytes even when short.
	b := []byte{0x30, 0x84, 0, 0, 0, 3, 0x02, 0x01, 0x07, 0xff}
	e, rest, err := Read(b)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Is(ClassUniversal, TagSequence) || !e.Constructed || e.HeaderLen != 6 || len(e.Value) != 3 {
		t.Fatalf("got %+v", e)
	}
	if !bytes.Equal(rest, []byte{0xff}) {
		t.Fatalf("rest %x", rest)
	}
	kids, err := Children(e.Value, 0)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v %v", kids, err)
	}
	n, err := Int(kids[0].Value)
	if err != nil || n != 7 {
		t.Fatalf("int %d %v", n, err)
	}
}

func TestErrors(t *testing.T) {
	cases := map[string][]byte{
		"empty":      {},
		"truncated":  {0x30, 0x05, 0x01},
		"indefinite": {0x30, 0x80, 0x00, 0x00},
		"hugelen":    {0x30, 0x85, 1, 2, 3, 4, 5},
		"lenbytes":   {0x30, 0x82, 0x01},
		"hightag":    {0x1f, 0xff, 0xff, 0xff, 0xff, 0xff},
	}
	for name, b := range cases {
		if _, _, err := Read(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHighTagAndApplication(t *testing.T) {
	// [APPLICATION 30] constructed (Kerberos KRB-ERROR) is 0x7e.
	e, _, err := Read([]byte{0x7e, 0x00})
	if err != nil || !e.Is(ClassApplication, 30) || !e.Constructed {
		t.Fatalf("%+v %v", e, err)
	}
	// A high-tag-number form: [CONTEXT 200].
	e, _, err = Read([]byte{0x9f, 0x81, 0x48, 0x00})
	if err != nil || !e.Is(ClassContext, 200) {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestOID(t *testing.T) {
	// 1.3.6.1.4.1.1466.20037 (LDAP StartTLS)
	v := []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0x8b, 0x3a, 0x81, 0x9c, 0x45}
	if got := OID(v); got != "1.3.6.1.4.1.1466.20037" {
		t.Fatalf("got %q", got)
	}
	if OID([]byte{0x81}) != "" {
		t.Fatal("dangling continuation accepted")
	}
}

func TestInt(t *testing.T) {
	for _, c := range []struct {
		b []byte
		v int64
	}{{[]byte{0xff}, -1}, {[]byte{0x00, 0x80}, 128}, {[]byte{0x01, 0x00}, 256}} {
		if n, err := Int(c.b); err != nil || n != c.v {
			t.Errorf("%x: %d %v", c.b, n, err)
		}
	}
	if _, err := Int(nil); err == nil {
		t.Error("empty int accepted")
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte{0x30, 0x84, 0, 0, 0, 3, 0x02, 0x01, 0x07})
	f.Add([]byte{0x7e, 0x81, 0x01, 0x00})
	f.Add([]byte{0xa1, 0x03, 0x02, 0x01, 0x07, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, rest, err := Read(b)
		// The short-form fast path and the general reader agree on every input.
		if e2, rest2, err2 := readLong(b); err != err2 || !reflect.DeepEqual(e, e2) || len(rest) != len(rest2) {
			t.Fatalf("Read = %+v, %d, %v; readLong = %+v, %d, %v", e, len(rest), err, e2, len(rest2), err2)
		}
		if err != nil {
			return
		}
		if e.Len()+len(rest) != len(b) {
			t.Fatalf("lengths do not add up: %d + %d != %d", e.Len(), len(rest), len(b))
		}
		Children(e.Value, 16)
		Int(e.Value)
		OID(e.Value)
	})
}
