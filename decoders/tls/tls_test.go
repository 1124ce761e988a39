package tls

import (
	"bufio"
	stdtls "crypto/tls"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// segment is one TCP payload from a fixture: frame number, source port, bytes.
type segment struct {
	frame   int
	srcPort int
	payload []byte
}

// loadSegments reads a fixture written by
// tshark -T fields -e frame.number -e tcp.srcport -e tcp.payload (see testdata/README.md).
func loadSegments(t testing.TB, name string) []segment {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []segment
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		fr, err1 := strconv.Atoi(fields[0])
		port, err2 := strconv.Atoi(fields[1])
		b, err3 := hex.DecodeString(fields[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, segment{fr, port, b})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// framedEvent is an event together with the frame that completed its record.
type framedEvent struct {
	frame      int
	fromClient bool
	Event
}

// replay reassembles each direction, cuts records with Frame and feeds them to a Conn in
// capture order, as a stream analyzer would.
func replay(t testing.TB, segs []segment, serverPort int) (*Conn, []framedEvent) {
	t.Helper()
	var c Conn
	var bufs [2][]byte
	var out []framedEvent
	for _, s := range segs {
		fromClient := s.srcPort != serverPort
		d := 0
		if fromClient {
			d = 1
		}
		bufs[d] = append(bufs[d], s.payload...)
		for {
			n, err := Frame(bufs[d])
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				t.Fatalf("frame %d: Frame: %v", s.frame, err)
			}
			ev, err := c.Feed(fromClient, bufs[d][:n])
			if err != nil {
				t.Fatalf("frame %d: Feed: %v", s.frame, err)
			}
			for _, e := range ev {
				out = append(out, framedEvent{s.frame, fromClient, e})
			}
			bufs[d] = bufs[d][n:]
		}
	}
	return &c, out
}

func find(evs []framedEvent, frame int, kind Kind, hsType uint8) *framedEvent {
	for i := range evs {
		e := &evs[i]
		if e.frame == frame && e.Kind == kind && (kind != KindHandshake || e.HandshakeType == hsType) {
			return e
		}
	}
	return nil
}

// handshakeTypes lists (frame, type) of the clear handshake messages, as tshark's
// tls.handshake.type column shows them.
func handshakeTypes(evs []framedEvent) map[int][]uint8 {
	m := map[int][]uint8{}
	for _, e := range evs {
		if e.Kind == KindHandshake {
			m[e.frame] = append(m[e.frame], e.HandshakeType)
		}
	}
	return m
}

// Chrome-style ClientHello of the PsLoggedOn capture, values from psloggedon_stream3.tshark.
var psSuites = []uint16{0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}

func checkPsServer(t *testing.T, evs []framedEvent, shFrame int) {
	t.Helper()
	sh := find(evs, shFrame, KindHandshake, typeServerHello)
	if sh == nil || sh.ServerHello == nil {
		t.Fatalf("no ServerHello at frame %d", shFrame)
	}
	if v := sh.ServerHello.Version(); v != 0x0303 || VersionName(v) != "TLS 1.2" {
		t.Errorf("version %#x", v)
	}
	if sh.ServerHello.CipherSuite != 0xc030 || sh.ServerHello.CipherSuiteName() != "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" {
		t.Errorf("suite %#x %s", sh.ServerHello.CipherSuite, sh.ServerHello.CipherSuiteName())
	}
	if sh.ServerHello.ALPN != "http/1.1" {
		t.Errorf("alpn %q", sh.ServerHello.ALPN)
	}
	ce := find(evs, shFrame, KindHandshake, typeCertificate)
	if ce == nil || ce.Certificate == nil {
		t.Fatalf("no Certificate at frame %d (err %v)", shFrame, ce)
	}
	c := ce.Certificate
	if c.ParseError != nil {
		t.Fatalf("x509: %v", c.ParseError)
	}
	// tshark: subject CN smp-platform; issuer C=US, ST=California, L=S.F., O=Endgame,
	// OU=Eng.; dNSName 127.0.0.1 (a DNS SAN holding an IP literal); validity
	// 2019-02-02 04:20:56 .. 2029-01-30 04:20:56 UTC; one certificate of 1317 bytes.
	if c.ChainLen != 1 || c.SubjectCN != "smp-platform" || c.Subject != "CN=smp-platform" {
		t.Errorf("chain %d subject %q cn %q", c.ChainLen, c.Subject, c.SubjectCN)
	}
	if c.Issuer != "OU=Eng.,O=Endgame,L=S.F.,ST=California,C=US" {
		t.Errorf("issuer %q", c.Issuer)
	}
	if !reflect.DeepEqual(c.DNSNames, []string{"127.0.0.1"}) || len(c.IPAddresses) != 0 ||
		!reflect.DeepEqual(c.SANs(), []string{"127.0.0.1"}) {
		t.Errorf("sans %q %q", c.DNSNames, c.IPAddresses)
	}
	if !c.NotBefore.Equal(time.Date(2019, 2, 2, 4, 20, 56, 0, time.UTC)) ||
		!c.NotAfter.Equal(time.Date(2029, 1, 30, 4, 20, 56, 0, time.UTC)) {
		t.Errorf("validity %v %v", c.NotBefore, c.NotAfter)
	}
}

func checkPsClientHello(t *testing.T, evs []framedEvent, frame int, grease, greaseVer uint16) {
	t.Helper()
	e := find(evs, frame, KindHandshake, typeClientHello)
	if e == nil || e.ClientHello == nil {
		t.Fatalf("no ClientHello at frame %d", frame)
	}
	ch := e.ClientHello
	if ch.SNI != "smp.threebeesco.com" || !reflect.DeepEqual(ch.ALPN, []string{"h2", "http/1.1"}) {
		t.Errorf("sni %q alpn %q", ch.SNI, ch.ALPN)
	}
	if ch.LegacyVersion != 0x0303 {
		t.Errorf("legacy %#x", ch.LegacyVersion)
	}
	if want := []uint16{greaseVer, 0x0304, 0x0303, 0x0302, 0x0301}; !reflect.DeepEqual(ch.SupportedVersions, want) {
		t.Errorf("supported_versions %x", ch.SupportedVersions)
	}
	if want := []uint16{0x0304, 0x0303, 0x0302, 0x0301}; !reflect.DeepEqual(ch.OfferedVersions(), want) || ch.MaxVersion() != 0x0304 {
		t.Errorf("offered %x", ch.OfferedVersions())
	}
	want := append([]uint16{grease}, psSuites[1:]...)
	if !reflect.DeepEqual(ch.CipherSuites, want) || ch.NumCipherSuites != 16 {
		t.Errorf("suites %x", ch.CipherSuites)
	}
	// tshark tls.handshake.extension.type for frame 131 starts 6682 (GREASE), 0, 23, ...
	if len(ch.Extensions) != 17 || ch.Extensions[1] != 0 || ch.Extensions[13] != 43 {
		t.Errorf("extensions %v", ch.Extensions)
	}
}

// Stream 3: the client rejects the server certificate with a fatal certificate_unknown.
func TestPsLoggedOnAlert(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "psloggedon_stream3.hex"), 443)
	checkPsClientHello(t, evs, 131, 0x0a0a, 0x3a3a)
	checkPsServer(t, evs, 134)
	want := map[int][]uint8{131: {1}, 134: {2, 11}, 135: {12, 13, 14}}
	if got := handshakeTypes(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("handshake types %v, tshark %v", got, want)
	}
	a := find(evs, 137, KindAlert, 0)
	if a == nil || !a.fromClient || a.Alert.Encrypted || a.Alert.LevelName() != "fatal" ||
		a.Alert.Description != 46 || a.Alert.DescriptionName() != "certificate_unknown" {
		t.Fatalf("alert %+v", a)
	}
	if c.HandshakeComplete() {
		t.Error("handshake reported complete after a fatal alert")
	}
	if c.Version() != VersionTLS12 {
		t.Errorf("conn version %#x", c.Version())
	}
}

// Stream 4: a full TLS 1.2 handshake with an (empty) client certificate, then data.
func TestPsLoggedOnComplete(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "psloggedon_stream4.hex"), 443)
	checkPsClientHello(t, evs, 145, 0x4a4a, 0xdada)
	checkPsServer(t, evs, 147)
	want := map[int][]uint8{145: {1}, 147: {2, 11}, 148: {12, 13, 14}, 150: {11, 16}}
	if got := handshakeTypes(evs); !reflect.DeepEqual(got, want) {
		t.Errorf("handshake types %v, tshark %v", got, want)
	}
	if e := find(evs, 150, KindHandshake, typeCertificate); e == nil || e.Certificate == nil ||
		e.Certificate.ChainLen != 0 || e.Certificate.ParseError != nil {
		t.Errorf("client certificate %+v", e)
	}
	for _, fr := range []int{150, 153} {
		if find(evs, fr, KindChangeCipherSpec, 0) == nil || find(evs, fr, KindEncryptedHandshake, 0) == nil {
			t.Errorf("frame %d: want CCS then encrypted Finished (tshark: 20,22)", fr)
		}
	}
	if !c.HandshakeComplete() {
		t.Error("handshake not complete")
	}
	if c.Client.ApplicationDataRecords() != 1 || c.Server.ApplicationDataRecords() != 1 {
		t.Errorf("appdata %d %d", c.Client.ApplicationDataRecords(), c.Server.ApplicationDataRecords())
	}
}

// TLS 1.3 after LDAP StartTLS on port 389 (zeek capture).
func TestLDAPStartTLS13(t *testing.T) {
	c, evs := replay(t, loadSegments(t, "ldap_starttls.hex"), 389)
	e := find(evs, 8, KindHandshake, typeClientHello)
	if e == nil || e.ClientHello == nil {
		t.Fatal("no ClientHello")
	}
	ch := e.ClientHello
	if ch.SNI != "ubuntu-01.example.com" || ch.ALPN != nil || ch.NumCipherSuites != 29 ||
		ch.CipherSuites[0] != 0x1302 || ch.CipherSuites[28] != 0x0033 ||
		!reflect.DeepEqual(ch.SupportedVersions, []uint16{0x0304, 0x0303}) {
		t.Errorf("client hello %+v", ch)
	}
	e = find(evs, 9, KindHandshake, typeServerHello)
	if e == nil || e.ServerHello == nil {
		t.Fatal("no ServerHello")
	}
	sh := e.ServerHello
	if sh.LegacyVersion != 0x0303 || sh.SupportedVersion != 0x0304 || VersionName(sh.Version()) != "TLS 1.3" ||
		sh.CipherSuiteName() != "TLS_AES_256_GCM_SHA384" || sh.HelloRetryRequest {
		t.Errorf("server hello %+v", sh)
	}
	if got, want := handshakeTypes(evs), map[int][]uint8{8: {1}, 9: {2}}; !reflect.DeepEqual(got, want) {
		t.Errorf("clear handshake messages %v, tshark %v", got, want)
	}
	if !c.Server.Encrypted() || !c.Client.Encrypted() || c.Version() != VersionTLS13 {
		t.Error("TLS 1.3 directions not marked encrypted")
	}
	if !c.HandshakeComplete() {
		t.Error("handshake not complete")
	}
	for _, e := range evs {
		if e.Kind == KindAlert || e.Kind == KindEncryptedHandshake {
			t.Errorf("frame %d: unexpected %+v", e.frame, e)
		}
	}
}

// Replaying only up to the server's encrypted flight must not count as complete.
func TestTLS13IncompleteBeforeClientFinished(t *testing.T) {
	segs := loadSegments(t, "ldap_starttls.hex")
	var upTo []segment
	for _, s := range segs {
		if s.frame <= 16 {
			upTo = append(upTo, s)
		}
	}
	c, _ := replay(t, upTo, 389)
	if c.HandshakeComplete() {
		t.Error("complete before the client's Finished")
	}
}

func TestFrame(t *testing.T) {
	cases := []struct {
		name  string
		in    []byte
		total int
		err   error
	}{
		{"empty", nil, 0, ErrNeedMore},
		{"partial header", []byte{22, 3}, 0, ErrNeedMore},
		{"bad type early", []byte{0x30}, 0, ErrRecordType},
		{"bad version early", []byte{22, 2}, 0, ErrRecordVersion},
		{"header only", []byte{22, 3, 1, 0, 2}, 7, ErrNeedMore},
		{"ok", []byte{21, 3, 3, 0, 2, 2, 40, 0xff}, 7, nil},
		{"zero length", []byte{23, 3, 3, 0, 0}, 5, nil},
		{"type 19", []byte{19, 3, 3, 0, 2, 2, 40}, 0, ErrRecordType},
		{"type 25", []byte{25, 3, 3, 0, 2, 2, 40}, 0, ErrRecordType},
		{"sslv2", []byte{0x80, 0x2e, 1, 0, 2}, 0, ErrRecordType},
		{"major 2", []byte{22, 2, 0, 0, 2, 2, 40}, 0, ErrRecordVersion},
		{"max length", []byte{23, 3, 3, 0x48, 0x00}, 5 + 18432, ErrNeedMore},
		{"too long", []byte{23, 3, 3, 0x48, 0x01}, 0, ErrRecordTooLong},
		{"0xffff", []byte{23, 3, 3, 0xff, 0xff}, 0, ErrRecordTooLong},
	}
	for _, c := range cases {
		n, err := Frame(c.in)
		if n != c.total || err != c.err {
			t.Errorf("%s: got %d %v, want %d %v", c.name, n, err, c.total, c.err)
		}
	}
}

// First payload bytes of other protocols, taken from the captures (see README.md).
func TestLooksLike(t *testing.T) {
	segs := loadSegments(t, "psloggedon_stream3.hex")
	if !LooksLike(segs[0].payload) || !LooksLike(segs[1].payload) {
		t.Error("ClientHello / ServerHello not recognised")
	}
	st := loadSegments(t, "ldap_starttls.hex")
	if !LooksLike(st[0].payload) || !LooksLike(st[1].payload) {
		t.Error("StartTLS ClientHello / ServerHello not recognised")
	}
	if !LooksLike([]byte{21, 3, 3, 0, 2, 2, 40}) {
		t.Error("fatal handshake_failure alert not recognised")
	}
	negatives := loadSegments(t, "not_tls.hex")
	if len(negatives) < 5 {
		t.Fatal("not_tls.hex too short")
	}
	for _, s := range negatives {
		if LooksLike(s.payload) {
			t.Errorf("frame %d (%x...) taken for TLS", s.frame, s.payload[:min(8, len(s.payload))])
		}
	}
	for _, b := range [][]byte{nil, {22}, {22, 3, 1, 0, 4, 1, 0, 0, 0}, {23, 3, 3, 0, 2, 2, 40},
		{21, 3, 3, 0, 2, 3, 40}, {22, 3, 1, 0, 0x40, 1, 0, 0, 0x3c, 2, 0}, {22, 3, 1, 0, 0x40, 11, 0, 0, 0x3c, 3, 3}} {
		if LooksLike(b) {
			t.Errorf("%x taken for TLS", b)
		}
	}
}

func TestVersionName(t *testing.T) {
	for v, want := range map[uint16]string{0x0300: "SSL 3.0", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1",
		0x0303: "TLS 1.2", 0x0304: "TLS 1.3", 0x3a3a: "GREASE", 0x7f1c: "0x7f1c", 0x0200: "0x0200"} {
		if got := VersionName(v); got != want {
			t.Errorf("%#x: %q want %q", v, got, want)
		}
	}
}

func TestAlertNames(t *testing.T) {
	want := map[uint8]string{0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
		40: "handshake_failure", 42: "bad_certificate", 43: "unsupported_certificate",
		44: "certificate_revoked", 45: "certificate_expired", 46: "certificate_unknown",
		47: "illegal_parameter", 48: "unknown_ca", 49: "access_denied", 50: "decode_error",
		51: "decrypt_error", 70: "protocol_version", 71: "insufficient_security",
		80: "internal_error", 90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
		110: "unsupported_extension", 112: "unrecognized_name", 113: "bad_certificate_status_response",
		115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
		200: "alert_200"}
	for d, name := range want {
		if got := AlertDescriptionName(d); got != name {
			t.Errorf("%d: %q want %q", d, got, name)
		}
	}
	if (Alert{Level: 1}).LevelName() != "warning" || (Alert{Level: 9}).LevelName() != "level_9" ||
		(Alert{Encrypted: true}).DescriptionName() != "encrypted" {
		t.Error("level names")
	}
}

// A handshake message cut into one-byte records, then several messages in one record.
func TestReassembly(t *testing.T) {
	segs := loadSegments(t, "psloggedon_stream3.hex")
	rec := segs[0].payload // one record holding the ClientHello
	body := rec[RecordHeaderLen:]
	var s Stream
	var got []Event
	for i := range body {
		r := []byte{22, 3, 1, 0, 1, body[i]}
		ev, err := s.Feed(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(ev) > 0 && i != len(body)-1 {
			t.Fatalf("event before the last byte (%d)", i)
		}
		got = append(got, ev...)
	}
	if len(got) != 1 || got[0].ClientHello == nil || got[0].ClientHello.SNI != "smp.threebeesco.com" {
		t.Fatalf("byte-wise reassembly: %+v", got)
	}
	// Two ClientHellos and a ServerHelloDone in one record.
	two := append(append(append([]byte{}, body...), body...), 14, 0, 0, 0)
	r := append([]byte{22, 3, 1, byte(len(two) >> 8), byte(len(two))}, two...)
	var s2 Stream
	ev, err := s2.Feed(r)
	if err != nil || len(ev) != 3 || ev[1].ClientHello == nil || ev[2].HandshakeType != typeServerHelloDone {
		t.Fatalf("three messages: %v %+v", err, ev)
	}
}

func TestStreamErrors(t *testing.T) {
	var s Stream
	if _, err := s.Feed([]byte{22, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff}); err != ErrHandshakeTooBig {
		t.Errorf("huge handshake length: %v", err)
	}
	// After the framing error, clear handshake bytes are skipped without error.
	if ev, err := s.Feed([]byte{22, 3, 1, 0, 4, 14, 0, 0, 0}); err != nil || ev != nil {
		t.Errorf("after broken: %v %v", ev, err)
	}
	if _, err := s.Feed([]byte{22, 3, 1, 0, 4, 14, 0, 0}); err != ErrRecordSize {
		t.Errorf("short record: %v", err)
	}
	if _, err := s.Feed([]byte{22, 3, 1, 0, 1, 14, 0}); err != ErrRecordSize {
		t.Errorf("long record: %v", err)
	}
	var s2 Stream
	if _, err := s2.Feed([]byte{21, 3, 3, 0, 3, 2, 40, 1}); err != ErrAlertLength {
		t.Errorf("odd alert: %v", err)
	}
	// A truncated ClientHello body is reported in the event.
	ev, err := s2.Feed([]byte{22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0})
	if err != nil || len(ev) != 1 || ev[0].Err == nil || ev[0].ClientHello != nil {
		t.Errorf("truncated hello: %v %+v", err, ev)
	}
	// Two alerts in one record, then CCS makes a long alert record encrypted.
	var s3 Stream
	ev, _ = s3.Feed([]byte{21, 3, 3, 0, 4, 1, 0, 2, 48})
	if len(ev) != 2 || ev[1].Alert.DescriptionName() != "unknown_ca" || ev[0].Alert.LevelName() != "warning" {
		t.Errorf("two alerts %+v", ev)
	}
	s3.Feed([]byte{20, 3, 3, 0, 1, 1})
	ev, _ = s3.Feed(append([]byte{21, 3, 3, 0, 26}, make([]byte, 26)...))
	if len(ev) != 1 || !ev[0].Alert.Encrypted || ev[0].Alert.LevelName() != "encrypted" {
		t.Errorf("encrypted alert %+v", ev)
	}
}

func TestHelloErrors(t *testing.T) {
	segs := loadSegments(t, "psloggedon_stream3.hex")
	body := segs[0].payload[RecordHeaderLen+4:]
	// Every proper prefix must fail, except the one that stops right before the
	// extensions block (2+32+1+32 session id+2+32 suites+1+1 compression = 103 bytes).
	for i := 0; i < len(body); i++ {
		if _, err := ParseClientHello(body[:i]); err == nil && i != 103 {
			t.Errorf("truncated ClientHello of %d bytes parsed", i)
		}
	}
	if _, err := ParseClientHello(append(append([]byte{}, body...), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := ParseServerHello([]byte{3, 3}); err == nil {
		t.Error("short ServerHello accepted")
	}
	if _, err := ParseCertificate([]byte{0, 0, 4, 0, 0, 9, 1}); err == nil {
		t.Error("certificate with oversized inner length accepted")
	}
	c, err := ParseCertificate([]byte{0, 0, 4, 0, 0, 1, 0x30})
	if err != nil || c.ParseError == nil || c.ChainLen != 1 {
		t.Errorf("garbage DER: %+v %v", c, err)
	}
}

// Application data, the bulk of every connection, must not allocate.
func TestApplicationDataNoAlloc(t *testing.T) {
	var c Conn
	rec := append([]byte{23, 3, 3, 0x04, 0x00}, make([]byte, 1024)...)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := c.Feed(true, rec); err != nil {
			t.Fatal(err)
		}
		c.Feed(false, rec)
	}); n != 0 {
		t.Errorf("%v allocations per application_data record pair", n)
	}
	if !c.HandshakeComplete() {
		t.Error("application data both ways (mid-stream) not taken as complete")
	}
}

func TestSuiteNameIsCryptoTLS(t *testing.T) {
	for id := 0; id <= 0xffff; id++ {
		if got, want := suiteName(uint16(id)), stdtls.CipherSuiteName(uint16(id)); got != want {
			t.Fatalf("suite %#04x: %q, crypto/tls says %q", id, got, want)
		}
	}
}
