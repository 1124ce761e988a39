package dcom

import (
	"testing"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// realDSAs returns the DUALSTRINGARRAYs inside the real response fixtures (found by
// scanning for offsets where one parses with at least two string bindings).
func realDSAs(t testing.TB) [][]byte {
	var out [][]byte
	for _, f := range fixtures {
		if !f.resp {
			continue
		}
		stub, _ := loadFixture(t, f.name)
		for off := 0; off+4 <= len(stub); off += 2 {
			d, n, err := parseDSA(stub[off:])
			if err == nil && len(d.StringBindings) >= 2 && len(d.SecurityBindings) >= 1 {
				out = append(out, stub[off:off+n])
				off += n - 2
			}
		}
	}
	return out
}

func FuzzParseDualStringArray(f *testing.F) {
	for _, b := range realDSAs(f) {
		f.Add(b)
	}
	for _, s := range dsaEdgeCases {
		f.Add(s.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDualStringArray(b)
		if err != nil {
			return
		}
		if 4+2*int(d.NumEntries) > len(b) || d.SecurityOffset > d.NumEntries {
			t.Fatalf("accepted inconsistent header %d/%d for %d bytes", d.NumEntries, d.SecurityOffset, len(b))
		}
		if len(d.StringBindings) > maxStringBindings || len(d.SecurityBindings) > maxSecurityBindings {
			t.Fatalf("caps exceeded: %d/%d", len(d.StringBindings), len(d.SecurityBindings))
		}
		for _, s := range d.StringBindings {
			if s.Port < 0 || s.Port > 65535 || s.TowerID == 0 || len(s.Host) > len(s.NetworkAddr) {
				t.Fatalf("bad binding %+v", s)
			}
		}
	})
}

func seedCalls(f *testing.F) {
	for _, fx := range fixtures {
		stub, ts := loadFixture(f, fx.name)
		op := uint16(3)
		if ts["opnum"][0] == "4" {
			op = 4
		}
		f.Add(stub, op, fx.iface == IIDObjectExporter)
	}
	req, resp := certRequestDStubs()
	f.Add(req, OpRemoteCreateInstance, false)
	f.Add(resp, OpRemoteCreateInstance, false)
	f.Add([]byte{}, uint16(5), true)
}

func fuzzIface(exporter bool) dcerpc.UUID {
	if exporter {
		return IIDObjectExporter
	}
	return IIDSystemActivator
}

func FuzzParseRequest(f *testing.F) {
	seedCalls(f)
	f.Fuzz(func(t *testing.T, stub []byte, opnum uint16, exporter bool) {
		req, err := ParseRequest(fuzzIface(exporter), opnum, stub)
		if err != nil {
			return
		}
		if req.Method == "" || len(req.IIDs) > maxIIDs || 16*len(req.IIDs) > len(stub) || 2*len(req.Protseqs) > len(stub) {
			t.Fatalf("implausible request %+v from %d bytes", req, len(stub))
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	seedCalls(f)
	f.Fuzz(func(t *testing.T, stub []byte, opnum uint16, exporter bool) {
		act, err := ParseResponse(fuzzIface(exporter), opnum, stub)
		if err != nil {
			return
		}
		if act.Method == "" || act.HResultName == "" || 20*len(act.Interfaces) > len(stub) {
			t.Fatalf("implausible reply %+v from %d bytes", act, len(stub))
		}
		for _, b := range act.Bindings {
			if b.Port < 0 || b.Port > 65535 {
				t.Fatalf("port %d", b.Port)
			}
		}
	})
}
