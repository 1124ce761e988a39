package kerberos

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pdu is one line of a testdata/*.tsv file: the bytes of one Kerberos PDU from a public
// capture and the values tshark 4.0 shows for it (see testdata/gen.sh and README).
type pdu struct {
	file, frame string
	tcp         bool
	raw         []byte // UDP payload, or TCP record with its 4-byte mark
	msgTypes    []string
	errorCode   string
	realms      []string
	crealms     []string
	snames      []string
	cnames      []string
	etypes      []string
	padata      []string
	etext       string
	stime       string
	susec       string
	ctime       string
	cusec       string
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

func loadPDUs(t testing.TB) []pdu {
	t.Helper()
	files, err := filepath.Glob("testdata/*.tsv")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var out []pdu
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "kpasswd") {
			continue // port 464, see kpasswd_real_test.go
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "#") || line == "" {
				continue
			}
			c := strings.Split(line, "\t")
			if len(c) != 17 {
				t.Fatalf("%s: %d columns in %q", f, len(c), line[:40])
			}
			p := pdu{file: filepath.Base(f), frame: c[0], msgTypes: split(c[4]), errorCode: c[5],
				realms: split(c[6]), crealms: split(c[7]), snames: split(c[8]), cnames: split(c[9]),
				etypes: split(c[10]), padata: split(c[11]), etext: c[12], stime: c[13], susec: c[14],
				ctime: c[15], cusec: c[16]}
			h := c[1]
			switch {
			case c[1] != "":
			case c[2] != "":
				h, p.tcp = c[2], true
			default:
				h, p.tcp = c[3], true
			}
			if p.raw, err = hex.DecodeString(h); err != nil {
				t.Fatalf("%s frame %s: %v", f, p.frame, err)
			}
			out = append(out, p)
		}
		fh.Close()
	}
	return out
}

func ints(v []int32) []string {
	var s []string
	for _, n := range v {
		s = append(s, strconv.Itoa(int(n)))
	}
	return s
}

func nonEmpty(v ...string) []string {
	var s []string
	for _, x := range v {
		if x != "" {
			s = append(s, x)
		}
	}
	return s
}

func comps(names ...string) []string {
	var s []string
	for _, n := range names {
		if n != "" {
			s = append(s, strings.Split(n, "/")...)
		}
	}
	return s
}

func eq(a, b []string) bool { return strings.Join(a, ";") == strings.Join(b, ";") }

// tsharkTime parses tshark's absolute time display, e.g. "Jan 19, 2015 22:54:03.000000000 UTC".
func tsharkTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse("Jan _2, 2006 15:04:05.000000000 MST", s)
	if err != nil {
		t.Fatalf("tshark time %q: %v", s, err)
	}
	return v.UTC()
}

// TestRealPDUs checks every Kerberos PDU on port 88 of the six public captures against
// tshark: message type (and the AP-REQ inside PA-TGS-REQ), error code, realms, crealm, sname
// and cname components, the etype list, padata types, e-text and the KRB-ERROR times.
func TestRealPDUs(t *testing.T) {
	pdus := loadPDUs(t)
	if len(pdus) != 2+26+2+4+4+182+6 {
		t.Fatalf("fixture count %d", len(pdus))
	}
	counts := map[string]int{}
	for _, p := range pdus {
		name := p.file + " frame " + p.frame
		b := p.raw
		if !LooksLike(b) {
			t.Errorf("%s: LooksLike false", name)
		}
		if p.tcp {
			n, err := FrameTCP(b)
			if err != nil || n != len(b) {
				t.Errorf("%s: FrameTCP = %d, %v; want %d", name, n, err, len(b))
				continue
			}
			b = b[4:]
			if !LooksLike(b) {
				t.Errorf("%s: LooksLike false without the mark", name)
			}
		}
		m, err := Parse(b)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		counts[m.TypeName()]++
		gotTypes := []string{strconv.Itoa(m.Type)}
		realms := []string{m.Realm}
		snames := []string{m.SName}
		if m.APReq != nil {
			gotTypes = append(gotTypes, strconv.Itoa(m.APReq.Type))
			realms = []string{m.APReq.Realm, m.Realm}
			snames = []string{m.APReq.SName, m.SName}
			counts[m.APReq.TypeName()]++
		}
		for _, tk := range m.Tickets {
			realms = append(realms, tk.Realm)
			snames = append(snames, tk.SName)
		}
		// tshark also shows the realm and ctime inside PKINIT padata (PA-PK-AS-REQ 16: the
		// certificate's KRB5PrincipalName and the PKAuthenticator); this package does not
		// decode PKINIT, so for those only the top-level values must be present.
		pkinit := slices.Contains(m.PAData, 16)
		if !eq(gotTypes, p.msgTypes) {
			t.Errorf("%s: types %v, tshark %v", name, gotTypes, p.msgTypes)
		}
		if m.TypeName() == "" {
			t.Errorf("%s: no TypeName for %d", name, m.Type)
		}
		if m.IsError() {
			if strconv.Itoa(int(m.ErrorCode)) != p.errorCode || m.ErrorName() == "" {
				t.Errorf("%s: error %d %q, tshark %s", name, m.ErrorCode, m.ErrorName(), p.errorCode)
			}
		} else if p.errorCode != "" || m.ErrorName() != "" {
			t.Errorf("%s: tshark error code %q on a %s", name, p.errorCode, m.TypeName())
		}
		if got := nonEmpty(realms...); !eq(got, p.realms) && !(pkinit && len(got) <= len(p.realms) && eq(got, p.realms[:len(got)])) {
			t.Errorf("%s: realms %v, tshark %v", name, got, p.realms)
		}
		if got := nonEmpty(m.CRealm); !eq(got, p.crealms) {
			t.Errorf("%s: crealm %v, tshark %v", name, got, p.crealms)
		}
		if got := comps(snames...); !eq(got, p.snames) {
			t.Errorf("%s: sname %v, tshark %v", name, got, p.snames)
		}
		if got := comps(m.CName); !eq(got, p.cnames) {
			t.Errorf("%s: cname %v, tshark %v", name, got, p.cnames)
		}
		if got := ints(m.ETypes); !eq(got, p.etypes) {
			t.Errorf("%s: etypes %v, tshark %v", name, got, p.etypes)
		}
		// tshark decodes KRB-ERROR e-data as METHOD-DATA only for some error codes.
		if got := ints(m.PAData); !eq(got, p.padata) && !(m.IsError() && len(p.padata) == 0) {
			t.Errorf("%s: padata %v, tshark %v", name, got, p.padata)
		}
		if m.EText != p.etext {
			t.Errorf("%s: e-text %q, tshark %q", name, m.EText, p.etext)
		}
		if p.stime != "" {
			if !m.STime.Equal(tsharkTime(t, p.stime)) || strconv.Itoa(int(m.SUsec)) != p.susec {
				t.Errorf("%s: stime %v %d, tshark %s %s", name, m.STime, m.SUsec, p.stime, p.susec)
			}
		} else if !m.STime.IsZero() {
			t.Errorf("%s: stime %v, tshark none", name, m.STime)
		}
		if p.ctime != "" && !(pkinit && !m.IsError()) {
			if !m.CTime.Equal(tsharkTime(t, p.ctime)) || (p.cusec != "" && strconv.Itoa(int(m.CUsec)) != p.cusec) {
				t.Errorf("%s: ctime %v %d, tshark %s %s", name, m.CTime, m.CUsec, p.ctime, p.cusec)
			}
		} else if !m.CTime.IsZero() {
			t.Errorf("%s: ctime %v, tshark none", name, m.CTime)
		}
	}
	// EXPECTED.md totals per message type over the six captures.
	want := map[string]int{"AS-REQ": 1 + 93 + 1, "AS-REP": 51 + 1, "TGS-REQ": 13 + 1 + 1 + 2 + 1, "TGS-REP": 13 + 1 + 1 + 1,
		"KRB-ERROR": 1 + 43 + 1, "AP-REQ": 13 + 1 + 1 + 2 + 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d messages, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
}

func TestErrorNames(t *testing.T) {
	for code, name := range map[int32]string{
		6: "KDC_ERR_C_PRINCIPAL_UNKNOWN", 7: "KDC_ERR_S_PRINCIPAL_UNKNOWN", 24: "KDC_ERR_PREAUTH_FAILED",
		25: "KDC_ERR_PREAUTH_REQUIRED", 37: "KRB_AP_ERR_SKEW", 52: "KRB_ERR_RESPONSE_TOO_BIG",
		31: "KRB_AP_ERR_BAD_INTEGRITY", 1: "KDC_ERR_NAME_EXP", 23: "KDC_ERR_KEY_EXPIRED",
		14: "KDC_ERR_ETYPE_NOSUPP", 18: "KDC_ERR_CLIENT_REVOKED", 13: "KDC_ERR_BADOPTION",
		68: "KDC_ERR_WRONG_REALM", 76: "KDC_ERR_KDC_NAME_MISMATCH", 93: "KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS",
		62: "KDC_ERROR_CLIENT_NOT_TRUSTED", 60: "KRB_ERR_GENERIC", 100: "KDC_ERR_NO_ACCEPTABLE_KDF",
	} {
		if got := ErrorName(code); got != name {
			t.Errorf("ErrorName(%d) = %q, want %q", code, got, name)
		}
	}
	for _, code := range []int32{-1, 30, 43, 53, 59, 101, 1 << 30} {
		if got := ErrorName(code); got != "" {
			t.Errorf("ErrorName(%d) = %q, want \"\"", code, got)
		}
	}
}

func fixture(t *testing.T, file, frame string) pdu {
	t.Helper()
	for _, p := range loadPDUs(t) {
		if p.file == file && p.frame == frame {
			return p
		}
	}
	t.Fatalf("no fixture %s %s", file, frame)
	return pdu{}
}

// The helpers on the two captures the analyzer cares most about.
func TestResponseTooBig(t *testing.T) {
	p := fixture(t, "ndpi__kerberos-error.tsv", "2")
	m, err := Parse(p.raw)
	if err != nil {
		t.Fatal(err)
	}
	if !m.IsResponseTooBig() || m.IsClockSkew() || m.ErrorName() != "KRB_ERR_RESPONSE_TOO_BIG" ||
		m.Realm != "LINUX.SHELL.COM" || m.SName != "krbtgt/LINUX.SHELL.COM" || m.TypeName() != "KRB-ERROR" {
		t.Errorf("got %+v", m)
	}
	req, err := Parse(fixture(t, "ndpi__kerberos-error.tsv", "1").raw)
	if err != nil || req.TypeName() != "AS-REQ" || req.IsResponseTooBig() || req.CName != "host/mus-n-cj0709" {
		t.Errorf("AS-REQ: %+v %v", req, err)
	}
}

func TestSPrincipalUnknownOverTCP(t *testing.T) {
	p := fixture(t, "otrf__empire_dcom_shellwindows_ws5.tsv", "165")
	m, err := Parse(p.raw[4:])
	if err != nil {
		t.Fatal(err)
	}
	if m.ErrorName() != "KDC_ERR_S_PRINCIPAL_UNKNOWN" || m.SName != "sbeavers" || m.Realm != "THESHIRE.LOCAL" {
		t.Errorf("got %+v", m)
	}
	req, err := Parse(fixture(t, "otrf__empire_dcom_shellwindows_ws5.tsv", "163").raw[4:])
	if err != nil || req.TypeName() != "TGS-REQ" || req.APReq == nil || req.APReq.SName != "krbtgt/THESHIRE.LOCAL" {
		t.Errorf("TGS-REQ: %+v %v", req, err)
	}
}

func TestSkew(t *testing.T) {
	// kinit frame 72: KRB-ERROR with both stime and ctime (tshark: 22:54:03.196956 and
	// 22:54:03 with no cusec).
	m, err := Parse(fixture(t, "zeek__krb_kinit.tsv", "72").raw)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := m.Skew()
	if !ok || d != 196956*time.Microsecond {
		t.Errorf("Skew = %v %v", d, ok)
	}
	if m.IsClockSkew() {
		t.Error("error 13 reported as clock skew")
	}
	// Hand-built KRB_AP_ERR_SKEW: stime 2024-01-02 03:04:05, ctime 10 minutes earlier.
	b := buildError(t, 37, "20240102030405Z", "20240102025405Z")
	m, err = Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	d, ok = m.Skew()
	if !m.IsClockSkew() || !ok || d != 10*time.Minute || m.ErrorName() != "KRB_AP_ERR_SKEW" {
		t.Errorf("skew %v %v %+v", d, ok, m)
	}
}

// tlv encodes one DER element (short or long form length).
func tlv(tag byte, v ...[]byte) []byte {
	var body []byte
	for _, x := range v {
		body = append(body, x...)
	}
	n := len(body)
	var h []byte
	switch {
	case n < 0x80:
		h = []byte{tag, byte(n)}
	case n < 0x100:
		h = []byte{tag, 0x81, byte(n)}
	default:
		h = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(h, body...)
}

func ctx(n int, v ...[]byte) []byte { return tlv(0xa0|byte(n), v...) }
func intv(n byte) []byte            { return tlv(0x02, []byte{n}) }
func gstr(s string) []byte          { return tlv(0x1b, []byte(s)) }
func seq(v ...[]byte) []byte        { return tlv(0x30, v...) }
func pname(typ byte, c ...string) []byte {
	var parts [][]byte
	for _, s := range c {
		parts = append(parts, gstr(s))
	}
	return seq(ctx(0, intv(typ)), ctx(1, seq(parts...)))
}

func buildError(t *testing.T, code byte, stime, ctime string) []byte {
	t.Helper()
	var f [][]byte
	f = append(f, ctx(0, intv(5)), ctx(1, intv(30)))
	if ctime != "" {
		f = append(f, ctx(2, tlv(0x18, []byte(ctime))))
	}
	f = append(f, ctx(4, tlv(0x18, []byte(stime))), ctx(5, intv(0)), ctx(6, intv(code)),
		ctx(9, gstr("CORP.EXAMPLE")), ctx(10, pname(2, "HOST", "ca.corp.example")))
	return tlv(0x7e, seq(f...))
}

func TestHandBuilt(t *testing.T) {
	ok := buildError(t, 7, "20240102030405Z", "")
	m, err := Parse(ok)
	if err != nil || m.SName != "HOST/ca.corp.example" || m.Realm != "CORP.EXAMPLE" || !m.CTime.IsZero() {
		t.Fatalf("%+v %v", m, err)
	}
	if _, ok := m.Skew(); ok {
		t.Error("Skew without ctime")
	}
	// AD writes non-minimal long-form lengths (0x84 00 00 00 nn): accepted.
	long := append([]byte{0x7e, 0x84, 0, 0, 0, byte(len(ok) - 2)}, ok[2:]...)
	if m, err := Parse(long); err != nil || m.ErrorCode != 7 {
		t.Errorf("long form: %v %v", m, err)
	}
	if !LooksLike(long) {
		t.Error("LooksLike long form")
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, nil},
		{"ldap", []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}, ErrNotKerberos},
		{"ticket tag", tlv(0x61, seq()), ErrNotKerberos},
		{"trailing", append(append([]byte{}, ok...), 0), ErrTrailing},
		{"pvno 4", tlv(0x7e, seq(ctx(0, intv(4)), ctx(1, intv(30)), ctx(6, intv(1)))), ErrPVNO},
		{"msg-type mismatch", tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(11)), ctx(6, intv(1)))), ErrMsgType},
		{"no error-code", tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(30)))), ErrMissing},
		{"AS-REQ no body", tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10)))), ErrMissing},
		{"AS-REQ no realm", tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10)), ctx(4, seq()))), ErrMissing},
		{"oversized length", []byte{0x6a, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x30, 0x00}, nil},
		{"indefinite", []byte{0x6a, 0x80, 0x30, 0x00, 0x00, 0x00}, nil},
		{"sname not a sequence", tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(30)), ctx(6, intv(1)), ctx(10, gstr("x")))), nil},
		{"name component not a string", tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(30)), ctx(6, intv(1)),
			ctx(10, seq(ctx(0, intv(1)), ctx(1, seq(intv(1))))))), nil},
		{"huge integer", tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(30)), ctx(6, tlv(0x02, make([]byte, 9))))), nil},
	}
	for i := 1; i < len(ok); i++ {
		cases = append(cases, struct {
			name string
			b    []byte
			want error
		}{"truncated " + strconv.Itoa(i), ok[:i], nil})
	}
	for _, c := range cases {
		m, err := Parse(c.b)
		if err == nil || m != nil {
			t.Errorf("%s: no error (%+v)", c.name, m)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Deep nesting: a sname that is 2000 nested SEQUENCEs neither recurses nor panics.
	deep := gstr("x")
	for range 2000 {
		deep = seq(deep)
	}
	if _, err := Parse(tlv(0x7e, seq(ctx(0, intv(5)), ctx(1, intv(30)), ctx(6, intv(1)), ctx(10, deep)))); err == nil {
		t.Error("deep nesting accepted")
	}
}

func TestETypeCap(t *testing.T) {
	var et [][]byte
	for i := range 200 {
		et = append(et, intv(byte(i%100)))
	}
	body := seq(ctx(0, tlv(0x03, []byte{0, 0x40, 0x81, 0, 0x10})), ctx(2, gstr("R")), ctx(8, seq(et...)))
	m, err := Parse(tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10)), ctx(4, body))))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.ETypes) != 64 || m.ETypes[63] != 63 || m.KDCOptions != 0x40810010 || m.Realm != "R" {
		t.Errorf("etypes %d, options %#x", len(m.ETypes), m.KDCOptions)
	}
}

func TestFrameTCP(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		n    int
		want error
	}{
		{nil, 0, ErrNeedMore},
		{[]byte{0, 0, 1}, 0, ErrNeedMore},
		{[]byte{0, 0, 0, 5}, 9, nil},
		{[]byte{0, 0, 0x06, 0x5f, 0x6c}, 4 + 0x65f, nil},
		{[]byte{0, 0x10, 0, 0}, 4 + 1<<20, nil},
		{[]byte{0, 0x10, 0, 1}, 0, ErrRecordLength},
		{[]byte{0, 0, 0, 0}, 0, ErrRecordLength},
		{[]byte{0x80, 0, 0, 5}, 0, ErrRecordMark},
		{[]byte{0x7f, 0xff, 0xff, 0xff}, 0, ErrRecordLength},
	} {
		n, err := FrameTCP(c.b)
		if n != c.n || err != c.want {
			t.Errorf("FrameTCP(%x) = %d, %v; want %d, %v", c.b, n, err, c.n, c.want)
		}
	}
}

func TestLooksLikeNegatives(t *testing.T) {
	neg := map[string][]byte{
		"ldap bind":        []byte{0x30, 0x84, 0, 0, 0, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00},
		"sasl wrapped":     []byte{0x00, 0x00, 0x05, 0x00, 0x05, 0x04, 0x06, 0xff, 0x00, 0x0c, 0x00, 0x00},
		"tls client hello": []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03},
		"tls appdata":      []byte{0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4},
		"dcerpc bind":      []byte{0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x01, 0, 0, 0},
		"http":             []byte("GET /certsrv/ HTTP/1.1\r\nHost: ca\r\n\r\n"),
		"dns":              []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0},
		"app tag only":     []byte{0x6a},
		"app 10 no seq":    []byte{0x6a, 0x03, 0x02, 0x01, 0x05},
		"wrong pvno":       tlv(0x6a, seq(ctx(1, intv(4)), ctx(2, intv(10)))),
		"pvno at [0] req":  tlv(0x6a, seq(ctx(0, intv(5)), ctx(1, intv(10)))),
		"type mismatch":    tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(12)))),
		"app 1 ticket":     tlv(0x61, seq(ctx(0, intv(5)), ctx(1, intv(1)))),
		"bad mark":         append([]byte{0, 0, 0, 99}, tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10))))...),
		"seq len mismatch": {0x6a, 0x10, 0x30, 0x05, 0xa1, 0x03, 0x02, 0x01, 0x05},
	}
	for name, b := range neg {
		if LooksLike(b) {
			t.Errorf("LooksLike(%s) = true", name)
		}
		if LooksLikeKpasswd(b) {
			t.Errorf("LooksLikeKpasswd(%s) = true", name)
		}
	}
	good := tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10))))
	if !LooksLike(good) || !LooksLike(append([]byte{0, 0, 0, byte(len(good))}, good...)) || LooksLike(good[:len(good)-1]) {
		t.Error("minimal AS-REQ start not recognised")
	}
	// Random bytes: a cheap check must still essentially never match.
	x := uint32(2463534242)
	hits := 0
	buf := make([]byte, 64)
	for range 200000 {
		for i := range buf {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			buf[i] = byte(x)
		}
		if LooksLike(buf) || LooksLikeKpasswd(buf) {
			hits++
		}
	}
	if hits != 0 {
		t.Errorf("%d random buffers matched", hits)
	}
}

// TestParseBriefInto: on every real message the brief decode is the full one without the
// AP-REQ nested in a TGS-REQ and a KRB-ERROR's METHOD-DATA types, and the fixtures have both
// (so the test sees what is skipped).
func TestParseBriefInto(t *testing.T) {
	nested, methods := 0, 0
	brief := new(Message)
	for _, p := range loadPDUs(t) {
		b := p.raw
		if p.tcp {
			b = b[4:]
		}
		full, err := Parse(b)
		berr := ParseBriefInto(brief, b)
		if (err == nil) != (berr == nil) {
			t.Fatalf("%s frame %s: Parse %v, ParseBriefInto %v", p.file, p.frame, err, berr)
		}
		if err != nil {
			continue
		}
		if full.APReq != nil {
			nested++
		}
		if full.Type == TypeKRBError && len(full.PAData) > 0 {
			methods++
		}
		want := *full
		want.APReq = nil
		if want.Type == TypeKRBError {
			want.PAData = nil
		}
		if brief.APReq != nil || !sameMessage(brief, &want) {
			t.Fatalf("%s frame %s:\n brief %+v\n  full %+v", p.file, p.frame, brief, full)
		}
	}
	if nested == 0 || methods == 0 {
		t.Fatalf("the fixtures hold %d nested AP-REQs and %d METHOD-DATA errors: nothing skipped is tested", nested, methods)
	}
}
