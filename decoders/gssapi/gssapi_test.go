package gssapi

import (
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
	"github.com/adcsflow/adcsflow/decoders/kerberos"
)

func realBindToken(t testing.TB) []byte {
	b, err := os.ReadFile("testdata/zeek_kerberos135_f5_bind.hex")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := dcerpc.Parse(raw)
	if err != nil || !p.HasAuth {
		t.Fatalf("bind: %v", err)
	}
	return p.Auth.Value
}

// The SPNEGO token of a real Windows DCE/RPC bind: the AP-REQ inside names the server.
func TestSPNEGOBindFromCapture(t *testing.T) {
	ap, err := KerberosAPReq(realBindToken(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := kerberos.Parse(ap)
	if err != nil {
		t.Fatal(err)
	}
	if m.TypeName() != "AP-REQ" || m.SName != "RPCSS/BLACKCLOVER-DC.SRT-AD.local" || m.Realm != "SRT-AD.LOCAL" {
		t.Errorf("got %s sname %q realm %q; tshark: AP-REQ RPCSS/BLACKCLOVER-DC.SRT-AD.local SRT-AD.LOCAL", m.TypeName(), m.SName, m.Realm)
	}
}

func TestNotKerberos(t *testing.T) {
	tok := realBindToken(t)
	for name, b := range map[string][]byte{
		"empty":     nil,
		"ntlmssp":   []byte("NTLMSSP\x00\x01\x00\x00\x00"),
		"truncated": tok[:len(tok)/2],
		"other oid": {0x60, 0x08, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x0e},
	} {
		if _, err := KerberosAPReq(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzKerberosAPReq(f *testing.F) {
	f.Add(realBindToken(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		ap, err := KerberosAPReq(b)
		if err == nil && (len(ap) == 0 || len(ap) > len(b)) {
			t.Fatalf("bad result length %d of %d", len(ap), len(b))
		}
	})
}
