package ldap

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/adcsflow/adcsflow/decoders/ber"
)

// tlv builds one BER element with a definite length (minimal form).
func tlv(tag byte, parts ...[]byte) []byte {
	v := bytes.Join(parts, nil)
	out := []byte{tag}
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	case n < 0x10000:
		out = append(out, 0x82, byte(n>>8), byte(n))
	default:
		out = append(out, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(out, v...)
}

func str(s string) []byte { return tlv(0x04, []byte(s)) }
func i1(n byte) []byte    { return []byte{0x02, 0x01, n} }
func enum(n byte) []byte  { return []byte{0x0a, 0x01, n} }

func msg(id byte, op []byte) []byte { return tlv(0x30, i1(id), op) }

func search(base string, filter []byte, attrs ...string) []byte {
	var a [][]byte
	for _, s := range attrs {
		a = append(a, str(s))
	}
	return msg(2, tlv(0x63, str(base), enum(2), enum(0), i1(0), i1(0), []byte{0x01, 0x01, 0x00},
		filter, tlv(0x30, a...)))
}

func eq(attr, val string) []byte { return tlv(0xa3, str(attr), str(val)) }

// handBuilt returns edge cases that also seed FuzzParse.
func handBuilt() [][]byte {
	deep := eq("a", "b")
	for i := 0; i < 100; i++ {
		deep = tlv(0xa2, deep) // (!(!(...)))
	}
	return [][]byte{
		msg(1, []byte{0x42, 0x00}), // unbind
		msg(3, tlv(0x60, i1(3), str(""), tlv(0x80))),
		msg(3, tlv(0x60, i1(3), str(""), tlv(0xa3, str("DIGEST-MD5")))),
		msg(4, tlv(0x60, i1(3), str(""), tlv(0x89))),
		search("", deep),
		search("CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", tlv(0x87, []byte("objectClass"))),
		{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01, 0x42, 0x00},
		{0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00},
	}
}

func TestParseHandBuilt(t *testing.T) {
	m, err := Parse(msg(9, []byte{0x42, 0x00}))
	if err != nil || m.Op != OpUnbindRequest || m.ID != 9 || m.OpName() != "unbindRequest" {
		t.Fatalf("unbind %+v %v", m, err)
	}
	for _, tc := range []struct {
		auth []byte
		mech string
		cred bool
	}{
		{tlv(0x80), "simple", false},
		{tlv(0x80, []byte("pw")), "simple", true},
		{tlv(0xa3, str("GSSAPI")), "GSSAPI", false},
		{tlv(0xa3, str("EXTERNAL"), str("")), "EXTERNAL", true},
		{tlv(0x89), "NTLM", false},                           // sicilyPackageDiscovery
		{tlv(0x8a, []byte("NTLMSSP\x00\x01")), "NTLM", true}, // sicilyNegotiate
		{tlv(0x8b, []byte("NTLMSSP\x00\x03")), "NTLM", true}, // sicilyResponse
		{tlv(0x81), "", false},                               // krbv42LDAP
	} {
		m, err := Parse(msg(1, tlv(0x60, i1(3), str("CN=x"), tc.auth)))
		if err != nil || m.Bind.Mechanism != tc.mech || m.Bind.HasCredentials != tc.cred || m.Bind.Name != "CN=x" {
			t.Errorf("%x: %+v %v", tc.auth, m, err)
		}
	}
	// extendedResp with responseName, referral in an LDAPResult, controls.
	m, err = Parse(tlv(0x30, i1(1), tlv(0x78, enum(0), str(""), str(""), tlv(0x8a, []byte(StartTLSOID))),
		tlv(0xa0, tlv(0x30, str("1.2.840.113556.1.4.319")))))
	if err != nil || !m.IsStartTLS() || !m.HasControls {
		t.Errorf("extendedResp %+v %v", m, err)
	}
	m, err = Parse(msg(5, tlv(0x65, enum(10), str("DC=x"), str("go away"), tlv(0xa3, str("ldap://dc2/DC=x")))))
	if err != nil || m.Result.Name() != "referral" || m.Result.MatchedDN != "DC=x" ||
		m.Result.DiagnosticMessage != "go away" || len(m.Referrals) != 1 {
		t.Errorf("referral %+v %v", m, err)
	}
	m, err = Parse(msg(5, tlv(0x61, enum(49), str(""), str("80090308: LdapErr: DSID-0C09050F"), tlv(0x87, []byte{1}))))
	if err != nil || m.Result.Name() != "invalidCredentials" || !m.Result.HasServerSASLCreds {
		t.Errorf("bindResponse %+v %v", m, err)
	}
	m, err = Parse(msg(6, tlv(0x4a, []byte("CN=gone,DC=x"))))
	if err != nil || m.OpName() != "delRequest" || m.DN != "CN=gone,DC=x" {
		t.Errorf("del %+v %v", m, err)
	}
	m, err = Parse(msg(6, tlv(0x50, []byte{5})))
	if err != nil || m.OpName() != "abandonRequest" {
		t.Errorf("abandon %+v %v", m, err)
	}
	m, err = Parse(msg(6, tlv(0x79, tlv(0x80, []byte("1.3.6.1.4.1.4203.1.9.1.4")))))
	if err != nil || m.OpName() != "intermediateResponse" || m.OID != "1.3.6.1.4.1.4203.1.9.1.4" {
		t.Errorf("intermediate %+v %v", m, err)
	}
	// A 0x84 non-minimal length, as AD writes.
	m, err = Parse([]byte{0x30, 0x84, 0, 0, 0, 5, 0x02, 0x01, 0x01, 0x42, 0x00})
	if err != nil || m.Op != OpUnbindRequest {
		t.Errorf("0x84 %+v %v", m, err)
	}
}

func TestParseErrors(t *testing.T) {
	good := search("DC=x", eq("cn", "y"), "cn")
	cases := map[string][]byte{
		"empty":          {},
		"garbage":        []byte("hello world, this is not BER"),
		"not sequence":   {0x31, 0x05, 0x02, 0x01, 0x01, 0x42, 0x00},
		"trailing":       append(msg(1, []byte{0x42, 0x00}), 0x00),
		"negative id":    tlv(0x30, []byte{0x02, 0x01, 0xff}, []byte{0x42, 0x00}),
		"huge id":        tlv(0x30, []byte{0x02, 0x05, 0x01, 0, 0, 0, 0}, []byte{0x42, 0x00}),
		"id too long":    tlv(0x30, []byte{0x02, 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte{0x42, 0x00}),
		"unknown op 17":  msg(1, tlv(0x71)),
		"unknown op 30":  msg(1, tlv(0x7e)),
		"context op":     msg(1, tlv(0xa0)),
		"unbind cons":    msg(1, []byte{0x62, 0x00}),
		"bind primitive": msg(1, tlv(0x40, i1(3))),
		"unbind body":    msg(1, []byte{0x42, 0x01, 0x00}),
		"truncated":      good[:len(good)-1],
		"huge length":    {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01, 0x42, 0x00},
		"indefinite":     {0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00},
		"bad controls":   tlv(0x30, i1(1), []byte{0x42, 0x00}, []byte{0x04, 0x00}),
		"filter tag 10":  search("", tlv(0xaa)),
		"filter univ":    search("", str("x")),
		"not two kids":   search("", tlv(0xa2, eq("a", "b"), eq("c", "d"))),
		"ava short":      search("", tlv(0xa3, str("a"))),
		"present cons":   search("", tlv(0xa7)),
		"ext no value":   search("", tlv(0xa9, tlv(0x82, []byte("cn")))),
		"bad scope":      msg(2, tlv(0x63, str(""), i1(2))),
		"result no diag": msg(1, tlv(0x65, enum(0), str(""))),
		"bind version":   msg(1, tlv(0x60, []byte{0x02, 0x02, 0x01, 0x00}, str(""), tlv(0x80))),
		"sasl no mech":   msg(1, tlv(0x60, i1(3), str(""), tlv(0xa3))),
		"extreq no name": msg(1, tlv(0x77)),
		"searchResRef":   msg(1, tlv(0x73, i1(1))),
		// Found by FuzzParse (testdata/fuzz/FuzzParse/55cab6a19f1670e4): constructed or
		// high-tag-number forms that LooksLike rejects must not parse either.
		"cons id":      tlv(0x30, []byte{0x22, 0x03, 0x02, 0x01, 0x01}, []byte{0x42, 0x00}),
		"cons base":    msg(2, tlv(0x63, tlv(0x24, str("DC=x")), enum(2), enum(0), i1(0), i1(0), []byte{1, 1, 0}, eq("a", "b"), tlv(0x30))),
		"high-tag seq": append([]byte{0x3f, 0x10, 0x05}, 0x02, 0x01, 0x01, 0x42, 0x00),
		"high-tag id":  tlv(0x30, []byte{0x1f, 0x02, 0x01, 0x01}, []byte{0x42, 0x00}),
		"5-byte id":    tlv(0x30, []byte{0x02, 0x05, 0, 0, 0, 0, 1}, []byte{0x42, 0x00}),
	}
	for name, b := range cases {
		m, err := Parse(b)
		if err == nil {
			t.Errorf("%s: parsed %+v", name, m)
			continue
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Error() == "" {
			t.Errorf("%s: %T %v", name, err, err)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("control case: %v", err)
	}
	if _, err := Parse(msg(1, tlv(0x71))); !errors.Is(err, ErrUnknownOp) {
		t.Errorf("unknown op: %v", err)
	}
	if _, err := Parse(good[:len(good)-1]); !errors.Is(err, ber.ErrTruncated) {
		t.Errorf("truncated: %v", err)
	}
}

func TestFilterRendering(t *testing.T) {
	for _, tc := range []struct {
		f    []byte
		want string
	}{
		{tlv(0xa4, str("cn"), tlv(0x30, tlv(0x80, []byte("ab")), tlv(0x81, []byte("c")), tlv(0x82, []byte("d")))), "(cn=ab*c*d)"},
		{tlv(0xa4, str("cn"), tlv(0x30, tlv(0x81, []byte("c")))), "(cn=*c*)"},
		{tlv(0xa4, str("cn"), tlv(0x30, tlv(0x80, []byte("a")))), "(cn=a*)"},
		{tlv(0xa1, tlv(0xa5, str("n"), str("5")), tlv(0xa6, str("n"), str("9")), tlv(0xa8, str("sn"), str("x"))), "(|(n>=5)(n<=9)(sn~=x))"},
		{eq("cn", "a*(b)\\\x00é\xff"), `(cn=a\2a\28b\29\5c\00é\ff)`},
		{tlv(0xa9, tlv(0x81, []byte("2.5.13.5")), tlv(0x82, []byte("cn")), tlv(0x83, []byte("x")), tlv(0x84, []byte{0xff})), "(cn:dn:2.5.13.5:=x)"},
		{tlv(0xa9, tlv(0x81, []byte("caseExactMatch")), tlv(0x83, []byte("x"))), "(:caseExactMatch:=x)"},
		{eq("NtVer", "\x06\x00\x00\x00"), "(NtVer=0x00000006)"},
		{eq("ntver", "\x06"), `(ntver=\06)`},
		{tlv(0xa0), "(&)"},
	} {
		m, err := Parse(search("", tc.f))
		if err != nil {
			t.Errorf("%s: %v", tc.want, err)
			continue
		}
		if m.Search.Filter != tc.want || m.Search.FilterTruncated {
			t.Errorf("got %q want %q", m.Search.Filter, tc.want)
		}
	}
}

func TestFilterBounds(t *testing.T) {
	// Deep nesting: rendered to MaxFilterDepth, then "(...)".
	deep := eq("a", "b")
	for i := 0; i < 5000; i++ {
		deep = tlv(0xa2, deep)
	}
	m, err := Parse(search("", deep))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("(!", MaxFilterDepth) + "(...)"; !strings.HasPrefix(m.Search.Filter, want) ||
		!m.Search.FilterTruncated || !strings.HasSuffix(m.Search.Filter, "...") {
		t.Errorf("deep: %q", m.Search.Filter)
	}
	// Wide: 3000 items, cut at MaxFilterLen; NtVer at the end is still seen.
	var items [][]byte
	for i := 0; i < 3000; i++ {
		items = append(items, eq("cn", "xxxxxxxx"))
	}
	items = append(items, eq("NtVer", "\x16\x00\x00\x00"))
	m, err = Parse(search("", tlv(0xa0, items...), "Netlogon"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Search.Filter) != MaxFilterLen+3 || !m.Search.FilterTruncated {
		t.Errorf("wide: %d", len(m.Search.Filter))
	}
	// 3000 items > maxFilterNodes: the NtVer beyond the budget is not seen, and that is
	// the documented bound; a short one is.
	small := search("", tlv(0xa0, append(items[:10:10], eq("NtVer", "\x16\x00\x00\x00"))...), "netlogon")
	if m, err := Parse(small); err != nil || !m.IsNetlogonPing() {
		t.Errorf("small ping %v", err)
	}
	// Long strings are bounded and cut on a UTF-8 boundary.
	long := strings.Repeat("é", 3000)
	m, err = Parse(search(long, eq("a", "b"), strings.Repeat("a", 1000)))
	if err != nil || len(m.Search.BaseObject) > MaxDNLen || !strings.HasPrefix(long, m.Search.BaseObject) ||
		len(m.Search.Attributes[0]) != MaxAttributeLen {
		t.Errorf("bounds: %d %v", len(m.Search.BaseObject), err)
	}
	// Many attributes are capped.
	attrs := make([]string, 100)
	for i := range attrs {
		attrs[i] = "a"
	}
	m, err = Parse(search("", eq("a", "b"), attrs...))
	if err != nil || len(m.Search.Attributes) != MaxAttributes || !m.Search.AttributesTruncated {
		t.Errorf("attrs %v", err)
	}
}

func TestNetlogonPing(t *testing.T) {
	f := tlv(0xa0, eq("DnsDomain", "corp.example"), eq("User", "ca01$"), eq("NtVer", "\x16\x00\x00\x00"))
	m, err := Parse(search("", f, "Netlogon"))
	if err != nil || !m.IsNetlogonPing() || m.Search.DnsDomain != "corp.example" || m.Search.User != "ca01$" {
		t.Fatalf("%+v %v", m, err)
	}
	for name, b := range map[string][]byte{
		"base":       search("DC=corp", f, "Netlogon"),
		"no attr":    search("", f, "cn"),
		"no ntver":   search("", eq("DnsDomain", "corp.example"), "Netlogon"),
		"ntver pres": search("", tlv(0x87, []byte("NtVer")), "Netlogon"),
	} {
		m, err := Parse(b)
		if err != nil || m.IsNetlogonPing() {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestADCSDiscovery(t *testing.T) {
	for _, tc := range []struct {
		base, kind string
		ok         bool
	}{
		{"CN=Enrollment Services,CN=Public Key Services,CN=Services,CN=Configuration,DC=corp,DC=example", "Enrollment Services", true},
		{"cn=certificate templates, cn=public key services, cn=services, cn=configuration, dc=corp", "Certificate Templates", true},
		{"CN=User,CN=Certificate Templates,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "Certificate Templates", true},
		{"CN=CA01,CN=AIA,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "AIA", true},
		{"CN=CA01,CN=srv,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "CDP", true},
		{"CN=Other,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "Public Key Services", true},
		{"CN=srv,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "CDP", true},
		{"CN=OID,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "OID", true},
		{"CN=KRA,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "KRA", true},
		{"CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "NTAuthCertificates", true},
		{"CN=Certification Authorities,CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "Certification Authorities", true},
		{"CN=Public Key Services,CN=Services,CN=Configuration,DC=x", "Public Key Services", true},
		{"CN = Public Key Services , CN = Services ,CN=Configuration", "Public Key Services", true},
		{"CN=Services,CN=Configuration,DC=x", "", false},
		{"CN=Public Key Services,CN=Configuration,DC=x", "", false},
		{"CN=Public Key Services\\,CN=Services,CN=Configuration", "", false},
		{"CN=Enrollment Services,DC=x", "", false},
		{"", "", false},
		{"dc=ADHACKING,dc=LOCAL", "", false},
	} {
		kind, ok := ADCSDiscovery(tc.base)
		if kind != tc.kind || ok != tc.ok {
			t.Errorf("%q: %q %v", tc.base, kind, ok)
		}
	}
}

func TestNames(t *testing.T) {
	want := map[int]string{0: "success", 1: "operationsError", 2: "protocolError", 8: "strongerAuthRequired",
		10: "referral", 14: "saslBindInProgress", 49: "invalidCredentials", 50: "insufficientAccessRights",
		51: "busy", 52: "unavailable", 53: "unwillingToPerform", 80: "other", 9: "unknown", -1: "unknown"}
	for c, n := range want {
		if ResultName(c) != n {
			t.Errorf("%d: %q", c, ResultName(c))
		}
	}
	ops := []string{"bindRequest", "bindResponse", "unbindRequest", "searchRequest", "searchResEntry",
		"searchResDone", "modifyRequest", "modifyResponse", "addRequest", "addResponse", "delRequest",
		"delResponse", "modDNRequest", "modDNResponse", "compareRequest", "compareResponse",
		"abandonRequest", "", "", "searchResRef", "", "", "", "extendedReq", "extendedResp",
		"intermediateResponse", ""}
	for i, n := range ops {
		if Op(i).String() != n {
			t.Errorf("op %d: %q want %q", i, Op(i).String(), n)
		}
	}
	if Op(26).Valid() || Op(-1).Valid() || Op(17).Valid() {
		t.Error("invalid ops valid")
	}
	s := SearchRequest{Scope: 1}
	if s.ScopeName() != "one" {
		t.Error(s.ScopeName())
	}
	s.Scope = 3
	if s.ScopeName() != "" {
		t.Error(s.ScopeName())
	}
}

func TestFrame(t *testing.T) {
	unbind := msg(1, []byte{0x42, 0x00})
	for _, tc := range []struct {
		b     []byte
		total int
		err   error
	}{
		{unbind, 7, nil},
		{unbind[:1], 0, ErrNeedMore},
		{nil, 0, ErrNeedMore},
		{[]byte{0x30, 0x84, 0, 0}, 0, ErrNeedMore},
		{[]byte{0x30, 0x84, 0, 0, 1, 0}, 262, nil},       // header only: wait for 262
		{[]byte{0x30, 0x84, 0, 0, 1, 0, 0x02}, 262, nil}, // and a messageID follows
		{[]byte{0x30, 0x84, 0, 0, 1, 0, 0x04}, 0, ErrNotLDAP},
		{[]byte{0x30, 0x84, 1, 0, 0, 1, 0x02}, 0, ErrTooLarge}, // 16 MiB + 1
		{[]byte{0x30, 0x85, 1, 0, 0, 0, 1}, 0, ErrTooLarge},
		{[]byte{0x30, 0x80, 0x02}, 0, ErrNotLDAP},
		{[]byte{0x30, 0x03, 0x02, 0x01, 0x01}, 0, ErrNotLDAP},
		{[]byte{0x16, 0x03, 0x01}, 0, ErrNotLDAP},
	} {
		n, err := Frame(tc.b)
		if n != tc.total || err != tc.err {
			t.Errorf("%x: %d %v", tc.b, n, err)
		}
	}
	n, err := FrameSASL([]byte{0, 0, 1})
	if err != ErrNeedMore || n != 0 {
		t.Error(n, err)
	}
	if n, err := FrameSASL([]byte{0, 0, 0, 0x27}); n != 0x2b || err != nil {
		t.Error(n, err)
	}
	for _, b := range [][]byte{{0, 0, 0, 0}, {0x01, 0, 0, 1}} {
		if _, err := FrameSASL(b); err != ErrTooLarge {
			t.Errorf("%x: %v", b, err)
		}
	}
	// ParseAll: two messages, then a truncated third.
	two := append(append([]byte{}, unbind...), unbind...)
	ms, err := ParseAll(append(two, unbind[:4]...), 0)
	if len(ms) != 2 || err == nil {
		t.Errorf("ParseAll %d %v", len(ms), err)
	}
	if ms, err := ParseAll(append(two, unbind...), 2); len(ms) != 2 || err != nil {
		t.Errorf("ParseAll max %d %v", len(ms), err)
	}
}

func TestLooksLikeHandBuilt(t *testing.T) {
	yes := [][]byte{
		msg(1, []byte{0x42, 0x00}),
		{0x30, 0x84, 0, 0, 1, 0, 0x02, 0x01, 0x01, 0x63, 0x84, 0, 0, 0, 0xf0}, // first bytes only
	}
	no := [][]byte{
		{0x30, 0x0c, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0xa0}, // SNMP
		tlv(0x30, []byte{0x02, 0x01, 0xff}, []byte{0x42, 0x00}),                        // negative id
		msg(1, tlv(0x71)),                                // APPLICATION 17 is no LDAP op
		msg(1, []byte{0x62, 0x00}),                       // constructed unbind
		{0x30, 0x07, 0x02, 0x01, 0x01, 0x63, 0x10, 0, 0}, // op longer than message
		[]byte("GET / HTTP/1.1\r\n"),
		{0x30, 0x03, 0x02, 0x01},
	}
	for _, b := range yes {
		if !LooksLike(b) {
			t.Errorf("no: %x", b)
		}
	}
	for _, b := range no {
		if LooksLike(b) {
			t.Errorf("yes: %x", b)
		}
	}
}

func TestSASLHandBuilt(t *testing.T) {
	inner := msg(9, []byte{0x42, 0x00})
	// RFC 4121 integrity token with RRC 0: header | plaintext | 12-byte checksum.
	cfx := append([]byte{0x05, 0x04, 0x00, 0xff, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, inner...)
	cfx = append(cfx, bytes.Repeat([]byte{0xcc}, 12)...)
	// RRC 4 < EC 12: last 4 checksum bytes rotated to the front.
	rot := append([]byte{0x05, 0x04, 0x00, 0xff, 0, 12, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 0xcc, 0xcc, 0xcc, 0xcc}, inner...)
	rot = append(rot, bytes.Repeat([]byte{0xcc}, 8)...)
	// RFC 1964 RC4-HMAC integrity-only wrap: SEAL_ALG ff ff, confounder, data, pad 01.
	r1964 := append(append([]byte{}, krb5OID...), 0x02, 0x01, 0x11, 0x00, 0xff, 0xff, 0xff, 0xff)
	r1964 = append(r1964, make([]byte, 24)...)
	r1964 = append(append(r1964, inner...), 0x01)
	r1964 = tlv(0x60, r1964)
	ntlm := append([]byte{1, 0, 0, 0}, make([]byte, 12)...)
	for name, tc := range map[string]struct {
		tok    []byte
		kind   WrapKind
		sealed bool
	}{
		"cfx":         {cfx, WrapKerberos, false},
		"cfx rotated": {rot, WrapKerberos, false},
		"rfc1964":     {r1964, WrapKerberos1, false},
		"ntlm plain":  {append(append([]byte{}, ntlm...), inner...), WrapNTLM, false},
		"ntlm sealed": {append(append([]byte{}, ntlm...), 0x9a, 0x33, 0x01, 0x02, 0x03, 0x04, 0x05), WrapNTLM, true},
	} {
		b := append([]byte{0, 0, 0, byte(len(tc.tok))}, tc.tok...)
		if !LooksLikeSASLWrapped(b) || LooksLike(b) {
			t.Errorf("%s: detection", name)
		}
		s, err := ParseSASL(b)
		if err != nil || s.Kind != tc.kind || s.Sealed != tc.sealed || s.Length != len(tc.tok) {
			t.Errorf("%s: %+v %v", name, s, err)
			continue
		}
		if !tc.sealed && !bytes.Equal(s.Payload, inner) {
			t.Errorf("%s: payload %x", name, s.Payload)
		}
		if _, err := ParseSASL(b[:len(b)-1]); err == nil {
			t.Errorf("%s: short buffer accepted", name)
		}
	}
	for name, b := range map[string][]byte{
		"short":        {0, 0, 0, 0x20, 0x05, 0x04},
		"tiny length":  {0, 0, 0, 0x08, 0x05, 0x04, 0x00, 0xff, 0, 0, 0, 0},
		"bad filler":   {0, 0, 0, 0x20, 0x05, 0x04, 0x00, 0x00},
		"bad flags":    {0, 0, 0, 0x20, 0x05, 0x04, 0x08, 0xff},
		"mic token":    {0, 0, 0, 0x20, 0x04, 0x04, 0x00, 0xff},
		"60 wrong oid": append([]byte{0, 0, 0, 0x20, 0x60, 0x1e, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x03}, make([]byte, 16)...),
		"60 bad len":   append([]byte{0, 0, 0, 0x21, 0x60, 0x1e}, append(append([]byte{}, krb5OID...), 0x02, 0x01, 0, 0)...),
		"huge":         {0x7f, 0, 0, 0, 0x05, 0x04, 0x00, 0xff},
		"plain ldap":   msg(1, []byte{0x42, 0x00}),
	} {
		if LooksLikeSASLWrapped(b) {
			t.Errorf("%s: taken for SASL", name)
		}
	}
}

// TestDecoderReusesItsStorage: a Decoder reading again what it read before allocates nothing:
// the names, the filter's text and the attributes come from its own storage (strings that
// repeat are made once), and the message is the one Parse gives.
func TestDecoderReusesItsStorage(t *testing.T) {
	var d Decoder
	msgs := [][]byte{reuseSearch, msg(3, tlv(0x60, i1(3), str("CN=svc,DC=x"), tlv(0x80, []byte("pw")))),
		msg(3, tlv(0x61, enum(49), str(""), str("80090308: LdapErr: DSID-0C09050F")))}
	for _, b := range msgs {
		want, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Parse(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Decoder.Parse = %+v, %v; Parse = %+v", got, err, want)
		}
	}
	n := testing.AllocsPerRun(20, func() {
		for _, b := range msgs {
			d.Parse(b)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations reading the same messages again", n)
	}
}
