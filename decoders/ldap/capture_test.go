package ldap

import (
	"bufio"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Columns of testdata/tshark/*.tsv (see testdata/gen.sh and testdata/README.md).
const (
	colFrame = iota
	colTCPSrc
	colUDPSrc
	colTCPPayload
	colUDPPayload
	colID
	colOp
	colResultCode
	colMechanism
	colBaseObject
	colSASLLen
	colVersion
	colName
	colScope
	colObjectName
	colObject
	colRequestName
	colLDAPURL
	colAttributeDesc
	colErrorMessage
	numCols
)

type row struct {
	f   []string
	hex []byte
}

func loadTSV(t *testing.T, name string) []row {
	t.Helper()
	fh, err := os.Open(filepath.Join("testdata", "tshark", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var rows []row
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != numCols {
			t.Fatalf("%s: %d columns", name, len(f))
		}
		h := f[colTCPPayload] + f[colUDPPayload]
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row{f: f, hex: b})
	}
	if len(rows) == 0 {
		t.Fatalf("%s: empty", name)
	}
	return rows
}

// decoded is a message with the SASL buffer length it came in (0 for plain LDAP).
type decoded struct {
	m       *Message
	saslLen int
}

// splitStream splits one direction of a TCP stream the way an analyzer would: Frame for
// plain LDAP, FrameSASL + ParseSASL once the bytes look SASL-wrapped.
func splitStream(t *testing.T, b []byte) []decoded {
	t.Helper()
	var out []decoded
	for len(b) > 0 {
		if LooksLikeSASLWrapped(b) {
			n, err := FrameSASL(b)
			if err != nil || n > len(b) {
				t.Fatalf("FrameSASL: %d %v (have %d)", n, err, len(b))
			}
			s, err := ParseSASL(b[:n])
			if err != nil {
				t.Fatalf("ParseSASL: %v", err)
			}
			if s.Sealed || s.Payload == nil {
				t.Fatalf("SASL buffer %+v: want integrity-only plaintext", s)
			}
			ms, err := ParseAll(s.Payload, 0)
			if err != nil {
				t.Fatalf("inner parse: %v (%x)", err, s.Payload)
			}
			for _, m := range ms {
				out = append(out, decoded{m, s.Length})
			}
			b = b[n:]
			continue
		}
		if !LooksLike(b) {
			t.Fatalf("LooksLike false on %x", b[:min(len(b), 32)])
		}
		n, err := Frame(b)
		if err != nil || n > len(b) {
			t.Fatalf("Frame: %d %v (have %d)", n, err, len(b))
		}
		m, err := Parse(b[:n])
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		out = append(out, decoded{m, 0})
		b = b[n:]
	}
	return out
}

func join(ms []decoded, f func(d decoded) (string, bool)) string {
	var parts []string
	for _, d := range ms {
		if s, ok := f(d); ok {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "|")
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// compareRow checks the messages that tshark attributes to one frame against its fields.
func compareRow(t *testing.T, r row, ms []decoded) {
	t.Helper()
	checks := []struct {
		col int
		f   func(d decoded) (string, bool)
	}{
		{colID, func(d decoded) (string, bool) { return i64(d.m.ID), true }},
		{colOp, func(d decoded) (string, bool) { return strconv.Itoa(int(d.m.Op)), true }},
		{colResultCode, func(d decoded) (string, bool) {
			if d.m.Result == nil {
				return "", false
			}
			return strconv.Itoa(d.m.Result.Code), true
		}},
		{colMechanism, func(d decoded) (string, bool) {
			if d.m.Bind == nil || d.m.Bind.AuthChoice != 3 {
				return "", false // tshark has ldap.mechanism only for SASL binds
			}
			return d.m.Bind.Mechanism, true
		}},
		{colBaseObject, func(d decoded) (string, bool) {
			if d.m.Search == nil {
				return "", false
			}
			return d.m.Search.BaseObject, true
		}},
		{colSASLLen, func(d decoded) (string, bool) {
			return strconv.Itoa(d.saslLen), d.saslLen != 0
		}},
		{colVersion, func(d decoded) (string, bool) {
			if d.m.Bind == nil {
				return "", false
			}
			return strconv.Itoa(d.m.Bind.Version), true
		}},
		{colName, func(d decoded) (string, bool) {
			if d.m.Bind == nil {
				return "", false
			}
			return d.m.Bind.Name, true
		}},
		{colScope, func(d decoded) (string, bool) {
			if d.m.Search == nil {
				return "", false
			}
			return strconv.Itoa(d.m.Search.Scope), true
		}},
		{colObjectName, func(d decoded) (string, bool) { return d.m.DN, d.m.Op == OpSearchResEntry }},
		{colObject, func(d decoded) (string, bool) { return d.m.DN, d.m.Op == OpModifyRequest }},
		{colRequestName, func(d decoded) (string, bool) { return d.m.OID, d.m.Op == OpExtendedReq }},
		{colLDAPURL, func(d decoded) (string, bool) {
			return strings.Join(d.m.Referrals, "|"), len(d.m.Referrals) > 0
		}},
		{colAttributeDesc, func(d decoded) (string, bool) {
			if d.m.Search == nil || len(d.m.Search.Attributes) == 0 {
				return "", false
			}
			return strings.Join(d.m.Search.Attributes, "|"), true
		}},
		{colErrorMessage, func(d decoded) (string, bool) {
			if d.m.Result == nil || d.m.Result.DiagnosticMessage == "" {
				return "", false
			}
			return d.m.Result.DiagnosticMessage, true
		}},
	}
	for _, c := range checks {
		if got, want := join(ms, c.f), r.f[c.col]; got != want {
			t.Errorf("frame %s column %d: got %q, tshark %q", r.f[colFrame], c.col, got, want)
		}
	}
	for _, d := range ms {
		if d.m.OpName() == "" {
			t.Errorf("frame %s: no name for op %d", r.f[colFrame], d.m.Op)
		}
		if d.m.Result != nil && d.m.Result.Name() == "unknown" {
			t.Errorf("frame %s: no name for result %d", r.f[colFrame], d.m.Result.Code)
		}
	}
}

func countIDs(r row) int {
	if r.f[colID] == "" {
		return 0
	}
	return strings.Count(r.f[colID], "|") + 1
}

// checkTCP reassembles each direction of the stream, splits it, and compares the messages
// with tshark's fields frame by frame. It returns all messages in capture order.
func checkTCP(t *testing.T, name string) []decoded {
	rows := loadTSV(t, name)
	streams := map[string][]byte{}
	for _, r := range rows {
		streams[r.f[colTCPSrc]] = append(streams[r.f[colTCPSrc]], r.hex...)
	}
	split := map[string][]decoded{}
	for dir, b := range streams {
		split[dir] = splitStream(t, b)
	}
	var all []decoded
	for _, r := range rows {
		n := countIDs(r)
		q := split[r.f[colTCPSrc]]
		if n > len(q) {
			t.Fatalf("frame %s: tshark has %d messages, %d left", r.f[colFrame], n, len(q))
		}
		compareRow(t, r, q[:n])
		all = append(all, q[:n]...)
		split[r.f[colTCPSrc]] = q[n:]
	}
	for dir, q := range split {
		if len(q) != 0 {
			t.Errorf("port %s: %d messages tshark does not show", dir, len(q))
		}
	}
	return all
}

// checkUDP parses each datagram with ParseAll and compares it with tshark's fields.
func checkUDP(t *testing.T, name string) []decoded {
	var all []decoded
	for _, r := range loadTSV(t, name) {
		if !LooksLike(r.hex) {
			t.Errorf("frame %s: LooksLike false", r.f[colFrame])
		}
		ms, err := ParseAll(r.hex, 0)
		if err != nil {
			t.Fatalf("frame %s: %v", r.f[colFrame], err)
		}
		var ds []decoded
		for _, m := range ms {
			ds = append(ds, decoded{m: m})
		}
		if len(ds) != countIDs(r) {
			t.Fatalf("frame %s: %d messages, tshark %d", r.f[colFrame], len(ds), countIDs(r))
		}
		compareRow(t, r, ds)
		all = append(all, ds...)
	}
	return all
}

// Filter renderings: tshark -V shows nested '&' for 3+ items ("(&(&(A)(B))(C))"); we
// render RFC 4515 "(&(A)(B)(C))". Where the filter has 1 or 2 items the strings are equal.

func TestCLDAPPing(t *testing.T) {
	all := checkUDP(t, "cldap_ping.tsv")
	req := all[0].m
	if !req.IsNetlogonPing() {
		t.Error("not a netlogon ping")
	}
	s := req.Search
	// tshark: Filter: (&(&(DnsDomain=s4.howto.abartlet.net)(Host=WINDOWS7-3))(NtVer=0x00000016))
	if want := "(&(DnsDomain=s4.howto.abartlet.net)(Host=WINDOWS7-3)(NtVer=0x00000016))"; s.Filter != want {
		t.Errorf("filter %q", s.Filter)
	}
	if s.DnsDomain != "s4.howto.abartlet.net" || s.Host != "WINDOWS7-3" || s.ScopeName() != "base" {
		t.Errorf("search %+v", s)
	}
	if all[1].m.Op != OpSearchResEntry || all[2].m.OpName() != "searchResDone" || all[2].m.Result.Name() != "success" {
		t.Errorf("response %+v %+v", all[1].m, all[2].m)
	}
	for _, d := range all[1:] {
		if d.m.IsNetlogonPing() {
			t.Error("response taken for a ping")
		}
	}
}

func TestCLDAPPingAD(t *testing.T) {
	for _, name := range []string{"cldap_dcsync.tsv", "cldap_empire.tsv"} {
		all := checkUDP(t, name)
		s := all[0].m.Search
		if !all[0].m.IsNetlogonPing() || s.DnsDomain != "THESHIRE.LOCAL" {
			t.Errorf("%s: %+v", name, s)
		}
		// tshark -V: Filter: (&(&(&(&(DnsDomain=THESHIRE.LOCAL)(Host=WORKSTATION5))
		// (DomainGuid=G))(NtVer=0x20000016))(DnsHostName=WORKSTATION5.theshire.local))
		g := map[string]string{"cldap_dcsync.tsv": "3933c65d-ac7f-4c79-b5b7-ad0fb941333c",
			"cldap_empire.tsv": "d613d8a5-418b-4b7a-83b8-ae1511c502c4"}[name]
		want := "(&(DnsDomain=THESHIRE.LOCAL)(Host=WORKSTATION5)(DomainGuid=" + g +
			")(NtVer=0x20000016)(DnsHostName=WORKSTATION5.theshire.local))"
		if s.Filter != want || s.Host != "WORKSTATION5" {
			t.Errorf("filter %q", s.Filter)
		}
	}
}

func TestADGSSSPNEGOSearchReferrals(t *testing.T) {
	all := checkTCP(t, "aduser1_gss_spnego.tsv")
	b := all[0].m.Bind
	if b.Mechanism != "GSS-SPNEGO" || !b.HasCredentials || b.Version != 3 {
		t.Errorf("bind %+v", b)
	}
	if r := all[1].m.Result; r == nil || !r.HasServerSASLCreds || r.Name() != "success" {
		t.Errorf("bindResponse %+v", r)
	}
	s := all[2].m.Search
	// tshark: (&(&(sAMAccountName=*)(mail=*))(!(UserAccountControl:1.2.840.113556.1.4.803:=2)))
	if want := "(&(sAMAccountName=*)(mail=*)(!(UserAccountControl:1.2.840.113556.1.4.803:=2)))"; s.Filter != want {
		t.Errorf("filter %q", s.Filter)
	}
	if s.ScopeName() != "sub" || all[2].m.IsNetlogonPing() {
		t.Errorf("search %+v", s)
	}
	if got := all[6].m; got.OpName() != "searchResRef" || len(got.Referrals) != 1 {
		t.Errorf("ref %+v", got)
	}
}

func TestReferralsSLL(t *testing.T) {
	all := checkTCP(t, "issue32_sll_referrals.tsv")
	// tshark: Filter: (departmentNumber:2.16.840.1.113730.3.3.2.46.1:=>=N4709)
	if s := all[0].m.Search; s.Filter != "(departmentNumber:2.16.840.1.113730.3.3.2.46.1:=>=N4709)" {
		t.Errorf("filter %q", s.Filter)
	}
}

func TestGlobalCatalogSimpleBind(t *testing.T) {
	all := checkTCP(t, "gc3268_simple.tsv")
	if b := all[0].m.Bind; b.Mechanism != "simple" || b.AuthChoice != 0 || !b.HasCredentials {
		t.Errorf("bind %+v", b)
	}
	// tshark: Filter: (&(objectclass=*)(sAMAccountName=xxxxxxxx))
	if s := all[2].m.Search; s.Filter != "(&(objectclass=*)(sAMAccountName=xxxxxxxx))" {
		t.Errorf("filter %q", s.Filter)
	}
}

func TestSASLIntegrity(t *testing.T) {
	all := checkTCP(t, "modify_sasl_integrity.tsv")
	// tshark: Filter: (objectclass=*)
	if s := all[0].m.Search; s.Filter != "(objectclass=*)" || s.BaseObject != "" || len(s.Attributes) != 15 {
		t.Errorf("rootDSE search %+v", s)
	}
	var ops []string
	for _, d := range all {
		ops = append(ops, d.m.OpName())
	}
	want := "searchRequest searchResEntry searchResDone bindRequest bindResponse modifyRequest modifyResponse unbindRequest"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("ops %s", got)
	}
	rows := loadTSV(t, "modify_sasl_integrity.tsv")
	// Frame 13 (server -> client) is RFC 4121 with flags 05 (SentByAcceptor|AcceptorSubkey).
	for _, r := range rows {
		if r.f[colSASLLen] == "" {
			if LooksLikeSASLWrapped(r.hex) {
				t.Errorf("frame %s: plain LDAP taken for SASL", r.f[colFrame])
			}
			continue
		}
		if !LooksLikeSASLWrapped(r.hex) || LooksLike(r.hex) {
			t.Errorf("frame %s: SASL detection", r.f[colFrame])
		}
		s, err := ParseSASL(r.hex)
		if err != nil || s.Kind != WrapKerberos || s.Kind.String() != "kerberos" || s.Sealed ||
			strconv.Itoa(s.Length) != r.f[colSASLLen] {
			t.Errorf("frame %s: %+v %v", r.f[colFrame], s, err)
		}
		// Sealing the same token must hide the payload.
		c := append([]byte(nil), r.hex...)
		c[6] |= 0x02
		if s, err := ParseSASL(c); err != nil || !s.Sealed || s.Payload != nil {
			t.Errorf("sealed: %+v %v", s, err)
		}
	}
}

func TestStartTLS(t *testing.T) {
	all := checkTCP(t, "starttls.tsv")
	if !all[0].m.IsStartTLS() || all[0].m.OpName() != "extendedReq" {
		t.Errorf("request %+v", all[0].m)
	}
	// OpenLDAP's response has no responseName (tshark shows none): only the ID pairs it.
	r := all[1].m
	if r.OpName() != "extendedResp" || r.OID != "" || r.IsStartTLS() || r.ID != all[0].m.ID || r.Result.Code != 0 {
		t.Errorf("response %+v", r)
	}
}

func TestNegatives(t *testing.T) {
	fh, err := os.ReadFile(filepath.Join("testdata", "tshark", "negatives.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(fh)), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d negatives", len(lines))
	}
	for _, l := range lines {
		f := strings.Split(l, "\t")
		b, err := hex.DecodeString(f[2])
		if err != nil || len(b) < 16 {
			t.Fatalf("%s: %v", f[0], err)
		}
		if LooksLike(b) || LooksLikeSASLWrapped(b) {
			t.Errorf("%s: taken for LDAP", f[0])
		}
		if _, err := Parse(b); err == nil {
			t.Errorf("%s: parsed", f[0])
		}
		if _, err := Frame(b); err == nil {
			t.Errorf("%s: framed", f[0])
		}
	}
}

// OpenLDAP 2.5 fixtures made in a private network namespace (testdata/openldap.sh).

func TestOpenLDAPSimpleBindADCSSearch(t *testing.T) {
	all := checkTCP(t, "openldap_stream0.tsv")
	if b := all[0].m.Bind; b.Mechanism != "simple" || !b.HasCredentials || b.Name != "cn=admin,dc=corp,dc=example" {
		t.Errorf("bind %+v", b)
	}
	s := all[2].m.Search
	// tshark: Filter: (objectClass=applicationProcess)
	if s.Filter != "(objectClass=applicationProcess)" || s.ScopeName() != "one" {
		t.Errorf("search %+v", s)
	}
	if k, ok := ADCSDiscovery(s.BaseObject); !ok || k != "Enrollment Services" {
		t.Errorf("discovery %q %v", k, ok)
	}
	if k, ok := ADCSDiscovery(all[3].m.DN); !ok || k != "Enrollment Services" {
		t.Errorf("entry discovery %q %v", k, ok)
	}
	if all[5].m.OpName() != "unbindRequest" {
		t.Errorf("last %+v", all[5].m)
	}
}

func TestOpenLDAPInvalidCredentials(t *testing.T) {
	all := checkTCP(t, "openldap_stream1.tsv")
	// tshark: bindResponse(1) invalidCredentials, ldap.resultCode 49
	if r := all[1].m.Result; r.Code != 49 || r.Name() != "invalidCredentials" {
		t.Errorf("%+v", r)
	}
}

func TestOpenLDAPNoSuchObject(t *testing.T) {
	all := checkTCP(t, "openldap_stream2.tsv")
	if b := all[0].m.Bind; b.Mechanism != "simple" || b.HasCredentials || b.Name != "" {
		t.Errorf("anonymous bind %+v", b)
	}
	// tshark: Filter: (|(cn=User*)(cn=*Machine))
	if s := all[2].m.Search; s.Filter != "(|(cn=User*)(cn=*Machine))" {
		t.Errorf("filter %q", s.Filter)
	}
	if k, _ := ADCSDiscovery(all[2].m.Search.BaseObject); k != "Certificate Templates" {
		t.Errorf("kind %q", k)
	}
	// tshark -e ldap.matchedDN (frame 35): cn=Public Key Services,cn=Services,cn=Configuration,dc=corp,dc=example
	r := all[3].m.Result
	if r.Name() != "noSuchObject" || r.MatchedDN != "cn=Public Key Services,cn=Services,cn=Configuration,dc=corp,dc=example" {
		t.Errorf("%+v", r)
	}
}

func TestOpenLDAPStartTLS(t *testing.T) {
	all := checkTCP(t, "openldap_stream3_starttls.tsv")
	if !all[0].m.IsStartTLS() || all[1].m.Op != OpExtendedResp || all[1].m.Result.Code != 0 || all[1].m.ID != all[0].m.ID {
		t.Errorf("%+v %+v", all[0].m, all[1].m)
	}
}
