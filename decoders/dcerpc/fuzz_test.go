package dcerpc

import (
	"reflect"
	"testing"
)

// seedPDUs adds every real PDU fixture to the corpus.
func seedPDUs(f *testing.F) []fixture {
	var fx []fixture
	for _, name := range fixtureNames(f) {
		x := loadFixture(f, name)
		fx = append(fx, x)
	}
	return fx
}

// seedStubs returns the stubs of the EPM fixtures whose name has prefix.
func seedStubs(f *testing.F, prefix string) [][]byte {
	var out [][]byte
	for _, x := range seedPDUs(f) {
		if len(x.name) < len(prefix) || x.name[:len(prefix)] != prefix {
			continue
		}
		if p, err := Parse(x.raw); err == nil {
			out = append(out, p.Stub)
		}
	}
	return out
}

func FuzzParse(f *testing.F) {
	seeds := seedPDUs(f)
	for _, x := range seeds {
		f.Add(x.raw)
	}
	var reused PDU
	f.Fuzz(func(t *testing.T, b []byte) {
		// A PDU decoded into storage that held another one is the PDU Parse returns.
		ParseInto(&reused, seeds[len(b)%len(seeds)].raw)
		want, wantErr := Parse(b)
		if err := ParseInto(&reused, b); (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(&reused, want) {
			t.Fatalf("ParseInto into a used PDU: %+v, %v; Parse: %+v, %v", reused, err, want, wantErr)
		}
		LooksLike(b)
		total, err := Frame(b)
		if err == nil && (total < HeaderLen || total > len(b)) {
			t.Fatalf("Frame = %d for %d bytes", total, len(b))
		}
		p, err := Parse(b)
		if err != nil {
			return
		}
		if int(p.FragLen) > len(b) || len(p.Stub) > int(p.FragLen) {
			t.Fatalf("stub %d > frag %d", len(p.Stub), p.FragLen)
		}
		if p.HasAuth && len(p.Auth.Value) != int(p.AuthLen) {
			t.Fatalf("auth value %d != auth_len %d", len(p.Auth.Value), p.AuthLen)
		}
		var a CallAssembler
		a.MaxCallBytes = 1 << 10
		a.Add(p)
		a.Add(p)
		BindResults(p, p)
		for _, c := range p.Contexts {
			InterfaceName(c.Abstract.UUID)
		}
		StatusName(p.Status)
		_ = p.Auth.TypeName() + p.Auth.LevelName() + p.PType.String()
	})
}

func FuzzParseTower(f *testing.F) {
	for _, s := range seedStubs(f, "epm_map_") {
		// the tower octets sit inside the stubs; seeding the whole stub and its tail
		// gives the fuzzer real floors to mutate.
		f.Add(s)
		if len(s) > 48 {
			f.Add(s[48:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tw, err := ParseTower(b)
		if err != nil {
			return
		}
		if tw.Floors > maxTowerFloors || len(tw.Pipe) > len(b) || len(tw.Host) > len(b) {
			t.Fatalf("tower %+v from %d bytes", tw, len(b))
		}
	})
}

func FuzzEptMap(f *testing.F) {
	for _, s := range seedStubs(f, "epm_map_") {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, b []byte, ndr64 bool) {
		for _, le := range []bool{true, false} {
			enc := Encoding{LittleEndian: le, NDR64: ndr64}
			if m, err := ParseEptMapResponse(b, enc); err == nil {
				if len(m.Towers) > maxTowers || len(m.Towers)*8 > len(b) {
					t.Fatalf("%d towers from %d bytes", len(m.Towers), len(b))
				}
				m.StatusName()
			}
			ParseEptMapRequest(b, enc)
		}
	})
}

func FuzzEptLookup(f *testing.F) {
	for _, s := range seedStubs(f, "epm_lookup_") {
		f.Add(s, false)
	}
	// the reassembled rpcdump reply
	var a CallAssembler
	for _, x := range seedPDUs(f) {
		if len(x.name) > 24 && x.name[:24] == "epm_lookup_resp_rpcdump_" {
			p, _ := Parse(x.raw)
			if s, done, _ := a.Add(p); done {
				f.Add(s, false)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, ndr64 bool) {
		for _, le := range []bool{true, false} {
			enc := Encoding{LittleEndian: le, NDR64: ndr64}
			if m, err := ParseEptLookupResponse(b, enc); err == nil {
				if len(m.Entries) > maxTowers || len(m.Entries)*28 > len(b) {
					t.Fatalf("%d entries from %d bytes", len(m.Entries), len(b))
				}
			}
			ParseEptLookupRequest(b, enc)
		}
	})
}
