package ldap

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// seedPDUs returns every payload of the tshark fixtures, and every LDAP message and SASL
// buffer obtained by splitting them.
func seedPDUs(f *testing.F) [][]byte {
	f.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "tshark", "*.tsv"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	var out [][]byte
	for _, name := range names {
		fh, err := os.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		streams := map[string][]byte{}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			c := strings.Split(sc.Text(), "\t")
			h := c[len(c)-1]
			if len(c) == numCols {
				h = c[colTCPPayload] + c[colUDPPayload]
			}
			b, err := hex.DecodeString(h)
			if err != nil {
				continue
			}
			out = append(out, b)
			if len(c) == numCols {
				streams[c[colTCPSrc]+c[colUDPSrc]] = append(streams[c[colTCPSrc]+c[colUDPSrc]], b...)
			}
		}
		fh.Close()
		for _, b := range streams {
			for len(b) > 0 {
				var n int
				if LooksLikeSASLWrapped(b) {
					n, err = FrameSASL(b)
					if err == nil && n <= len(b) {
						if s, err := ParseSASL(b[:n]); err == nil && s.Payload != nil {
							out = append(out, s.Payload)
						}
					}
				} else {
					n, err = Frame(b)
				}
				if err != nil || n > len(b) {
					break
				}
				out = append(out, b[:n])
				b = b[n:]
			}
		}
	}
	return out
}

// exercise calls everything a stream analyzer would call on b.
func exercise(t *testing.T, b []byte) {
	m, err := Parse(b)
	if err == nil {
		if m == nil || !m.Op.Valid() || m.OpName() == "" || m.ID < 0 {
			t.Fatalf("bad message %+v", m)
		}
		if m.Result != nil {
			_ = m.Result.Name()
			if len(m.Result.DiagnosticMessage) > MaxDiagnosticLen || len(m.Result.MatchedDN) > MaxDNLen {
				t.Fatal("unbounded result strings")
			}
		}
		if s := m.Search; s != nil {
			if len(s.Filter) > MaxFilterLen+3 || len(s.Attributes) > MaxAttributes || len(s.BaseObject) > MaxDNLen {
				t.Fatalf("unbounded search: %d %d", len(s.Filter), len(s.Attributes))
			}
			_, _ = ADCSDiscovery(s.BaseObject)
			_ = s.ScopeName()
		}
		if len(m.Referrals) > MaxReferrals {
			t.Fatal("unbounded referrals")
		}
		_ = m.IsNetlogonPing()
		_ = m.IsStartTLS()
		_, _ = ADCSDiscovery(m.DN)
		if !LooksLike(b) {
			t.Fatalf("Parse accepted what LooksLike rejects: %x", b)
		}
	}
	// A Decoder that parsed other bytes before gives what Parse gives.
	var d Decoder
	d.Parse(reuseSearch)
	d.Parse(reuseSeed)
	if dm, derr := d.Parse(b); (derr == nil) != (err == nil) || err == nil && !reflect.DeepEqual(dm, m) {
		t.Fatalf("Decoder.Parse = %+v, %v; Parse = %+v, %v", dm, derr, m, err)
	}
	if ms, _ := ParseAll(b, 4); len(ms) > 4 {
		t.Fatal("ParseAll ignored max")
	}
	_ = LooksLike(b)
	_, _ = ADCSDiscovery(string(b))
}

func FuzzParse(f *testing.F) {
	for _, b := range seedPDUs(f) {
		f.Add(b)
	}
	for _, b := range handBuilt() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		exercise(t, b)
	})
}

func FuzzFrame(f *testing.F) {
	for _, b := range seedPDUs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Frame(b)
		if err == nil {
			if n < 7 || n > MaxMessageSize+6 {
				t.Fatalf("Frame total %d", n)
			}
			if n <= len(b) {
				// A framed message either parses or fails cleanly.
				_, _ = Parse(b[:n])
			}
		} else if n != 0 {
			t.Fatalf("Frame %d with %v", n, err)
		}
		if LooksLike(b) {
			if _, err := Frame(b); err != nil {
				t.Fatalf("LooksLike but Frame: %v", err)
			}
		}
	})
}

func FuzzSASL(f *testing.F) {
	for _, b := range seedPDUs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := FrameSASL(b)
		if err == nil && (n < 5 || n > MaxMessageSize+4) {
			t.Fatalf("FrameSASL total %d", n)
		}
		wrapped := LooksLikeSASLWrapped(b)
		if wrapped && LooksLike(b) {
			t.Fatal("both plain and wrapped")
		}
		if wrapped && err != nil {
			t.Fatalf("wrapped but FrameSASL: %v", err)
		}
		if err == nil && n <= len(b) {
			s, err := ParseSASL(b[:n])
			if err == nil {
				if s.Length != n-4 || (s.Sealed && s.Payload != nil) {
					t.Fatalf("%+v", s)
				}
				if s.Payload != nil {
					exercise(t, s.Payload)
				}
			}
		}
	})
}

// reuseSearch (a search with a base, a filter and attributes), then reuseSeed (a search
// with a filter, no attributes) are parsed before the fuzzed bytes, to check that a
// Decoder's reused storage (strings, the filter's text, the attributes' room) leaks nothing
// into the next message.
var reuseSearch = msg(8, tlv(0x63, str("CN=Configuration,DC=x"), enum(2), enum(0), i1(0), i1(0), []byte{0x01, 0x01, 0x00},
	tlv(0xa3, str("objectClass"), str("pKIEnrollmentService")), tlv(0x30, str("cn"), str("dNSHostName"), str("certificateTemplates"))))

var reuseSeed = []byte{0x30, 0x25, 0x02, 0x01, 0x07, 0x63, 0x20, 0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00,
	0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b, 'o', 'b', 'j', 'e', 'c', 't', 'c', 'l', 'a', 's', 's',
	0x30, 0x00}
