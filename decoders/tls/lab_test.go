package tls

import (
	"reflect"
	"testing"
	"time"
)

// checkLabServer asserts the lab server flight against lab.tshark: TLS 1.2, 0xc030, ALPN
// http/1.1, a chain of two (leaf 921 bytes), the leaf's names and validity.
func checkLabServer(t *testing.T, evs []framedEvent, frame int) {
	t.Helper()
	sh := find(evs, frame, KindHandshake, typeServerHello)
	if sh == nil || sh.ServerHello.Version() != VersionTLS12 || sh.ServerHello.CipherSuite != 0xc030 ||
		sh.ServerHello.ALPN != "http/1.1" {
		t.Fatalf("server hello %+v", sh)
	}
	ce := find(evs, frame, KindHandshake, typeCertificate)
	if ce == nil || ce.Certificate == nil || ce.Certificate.ParseError != nil {
		t.Fatalf("certificate %+v", ce)
	}
	c := ce.Certificate
	if c.ChainLen != 2 || c.Subject != "CN=ces.corp.example,O=Corp Lab" ||
		c.Issuer != "CN=Corp Lab Root CA,DC=corp,DC=example" {
		t.Errorf("chain %d subject %q issuer %q", c.ChainLen, c.Subject, c.Issuer)
	}
	if !reflect.DeepEqual(c.SANs(), []string{"ces.corp.example", "ca01.corp.example", "10.0.0.5"}) {
		t.Errorf("sans %q", c.SANs())
	}
	if !c.NotBefore.Equal(time.Date(2026, 11, 24, 14, 42, 44, 0, time.UTC)) ||
		!c.NotAfter.Equal(time.Date(2029, 2, 26, 14, 42, 44, 0, time.UTC)) {
		t.Errorf("validity %v %v", c.NotBefore, c.NotAfter)
	}
	if got := handshakeTypes(evs)[frame]; !reflect.DeepEqual(got, []uint8{2, 11, 12, 14}) {
		t.Errorf("frame %d types %v", frame, got)
	}
}

func TestLabTLS12UnknownCA(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "lab_stream0.hex"), 8443)
	ch := find(evs, 4, KindHandshake, typeClientHello)
	if ch == nil || ch.ClientHello.SNI != "ces.corp.example" || !reflect.DeepEqual(ch.ClientHello.ALPN, []string{"http/1.1"}) ||
		ch.ClientHello.NumCipherSuites != 28 || ch.ClientHello.SupportedVersions != nil ||
		!reflect.DeepEqual(ch.ClientHello.OfferedVersions(), []uint16{0x0303}) {
		t.Fatalf("client hello %+v", ch)
	}
	checkLabServer(t, evs, 6)
	a := find(evs, 8, KindAlert, 0)
	if a == nil || a.Alert.LevelName() != "fatal" || a.Alert.DescriptionName() != "unknown_ca" {
		t.Fatalf("alert %+v", a)
	}
	if c.HandshakeComplete() {
		t.Error("complete")
	}
}

func TestLabTLS12CompleteEncryptedAlerts(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "lab_stream1.hex"), 8443)
	checkLabServer(t, evs, 17)
	if !c.HandshakeComplete() {
		t.Error("not complete")
	}
	// tshark: frame 20 carries a clear NewSessionTicket (4) before the server's CCS.
	if got := handshakeTypes(evs); !reflect.DeepEqual(got[19], []uint8{16}) || !reflect.DeepEqual(got[20], []uint8{4}) {
		t.Errorf("types %v", got)
	}
	for _, fr := range []int{21, 23} {
		a := find(evs, fr, KindAlert, 0)
		if a == nil || !a.Alert.Encrypted || a.Alert.DescriptionName() != "encrypted" {
			t.Errorf("frame %d: want an encrypted alert, got %+v", fr, a)
		}
	}
}

func TestLabTLS13Complete(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "lab_stream2.hex"), 8444)
	ch := find(evs, 29, KindHandshake, typeClientHello)
	if ch == nil || !reflect.DeepEqual(ch.ClientHello.CipherSuites, []uint16{0x1302, 0x1303, 0x1301, 0x00ff}) ||
		!reflect.DeepEqual(ch.ClientHello.SupportedVersions, []uint16{0x0304}) {
		t.Fatalf("client hello %+v", ch)
	}
	sh := find(evs, 31, KindHandshake, typeServerHello)
	if sh == nil || VersionName(sh.ServerHello.Version()) != "TLS 1.3" || sh.ServerHello.CipherSuite != 0x1302 {
		t.Fatalf("server hello %+v", sh)
	}
	if !c.HandshakeComplete() {
		t.Error("not complete")
	}
	for _, e := range evs {
		if e.Kind == KindHandshake && e.frame != 29 && e.frame != 31 {
			t.Errorf("clear handshake message in frame %d", e.frame)
		}
	}
}

func TestLabTLS13UnknownCA(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "lab_stream3.hex"), 8444)
	a := find(evs, 48, KindAlert, 0)
	if a == nil || !a.fromClient || a.Alert.Encrypted || a.Alert.DescriptionName() != "unknown_ca" {
		t.Fatalf("alert %+v", a)
	}
	if c.HandshakeComplete() || c.Version() != VersionTLS13 {
		t.Error("complete")
	}
}

func TestEscapeDN(t *testing.T) {
	for in, want := range map[string]string{
		"Corp CA":    "Corp CA",
		" a,b+c ":    `\ a\,b\+c\ `,
		`#x"<>;\`:    `\#x\"\<\>\;\\`,
		"nul\x00end": `nul\00end`,
	} {
		if got := escapeDN(in); got != want {
			t.Errorf("escapeDN(%q) = %q, want %q", in, got, want)
		}
	}
}
