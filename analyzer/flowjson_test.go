package analyzer

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestAppendFlowJSONMatchesEncodingJSON: the fast report line (details included) is byte for
// byte what encoding/json writes, on every flow of the real and generated captures.
func TestAppendFlowJSONMatchesEncodingJSON(t *testing.T) {
	paths := equivalenceCaptures(t) // shared, lab and a generated mix
	defer func(v int) { foldAfter = v }(foldAfter)
	foldAfter = 1 << 30 // keep every flow in Report.Flows
	n := 0
	for _, p := range paths {
		rep, _ := AnalyzeFiles([]string{p}, Options{Workers: 1})
		for i := range rep.Flows {
			fr := &rep.Flows[i]
			want, err := json.Marshal(fr)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendFlowJSON(nil, fr, nil); !bytes.Equal(got, want) {
				t.Fatalf("%s flow %d:\n got %s\nwant %s", p, i, got, want)
			}
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d flows compared", n)
	}
}

// TestWriteJSONIsTheReport: the report written field by field is the Report as
// encoding/json writes it (every member, same values), on real captures.
func TestWriteJSONIsTheReport(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	lab, _ := filepath.Glob("../testdata/captures/lab-*.pcapng")
	paths = append(paths, lab...)
	if len(paths) == 0 {
		t.Fatal("no captures")
	}
	for _, p := range paths {
		rep, _ := AnalyzeFiles([]string{p}, Options{})
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		var got, exp any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%s: the written report is not JSON: %v", p, err)
		}
		json.Unmarshal(want, &exp)
		g, _ := json.Marshal(got)
		e, _ := json.Marshal(exp)
		if !bytes.Equal(g, e) {
			t.Errorf("%s: the written report differs from the Report:\n%s", p, firstDiff(e, g))
		}
	}
}

var jsonStringCases = []string{"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "héllo wörld → ✓", "bad \xff utf8 \xc3", "line\u2028para\u2029", "emoji 🎉", "\xed\xa0\x80 surrogate"}

// TestAppendJSONStringIsEncodingJSON: the hand-written quoting gives encoding/json's bytes.
func TestAppendJSONStringIsEncodingJSON(t *testing.T) {
	for _, s := range jsonStringCases {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("%q: %s, encoding/json %s", s, got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStringCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, encoding/json %s", s, got, want)
		}
	})
}

var indentCases = []string{`{}`, `[]`, `{"a":[]}`, `{"a":{},"b":[1,2,{"c":null}]}`, `[[],[[]],{"x":"a,b:{}[]\"\\"}]`,
	`"str"`, `12`, `true`, `{"k":-1.5e+10,"l":[true,false,null],"m":"\u003c\u2028"}`}

// TestAppendIndentJSONIsJSONIndent: the fast indenter gives json.Indent's bytes, on
// hand-made cases and on every diff row and rule of the real captures.
func TestAppendIndentJSONIsJSONIndent(t *testing.T) {
	check := func(src []byte) {
		t.Helper()
		var want bytes.Buffer
		if err := json.Indent(&want, src, "    ", "  "); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got := appendIndentJSON(nil, src, "    ", "  "); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%s:\n%s\njson.Indent:\n%s", src, got, want.Bytes())
		}
	}
	for _, c := range indentCases {
		check([]byte(c))
	}
	paths, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	lab, _ := filepath.Glob("../testdata/captures/lab-*.pcapng")
	n := 0
	for _, p := range append(paths, lab...) {
		rep, _ := AnalyzeFiles([]string{p}, Options{})
		for _, v := range []any{rep.Summary, rep.Hosts, rep.Diff, rep.Rules, rep.RPCAssignments, rep.Captures} {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			check(b)
			n++
		}
	}
	if n < 60 {
		t.Fatalf("only %d values compared", n)
	}
}

func FuzzAppendIndentJSON(f *testing.F) {
	for _, c := range indentCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got := appendIndentJSON(nil, src, "  ", "\t") // any bytes: no panic
		var compact bytes.Buffer
		if json.Compact(&compact, src) != nil {
			return
		}
		var want bytes.Buffer
		json.Indent(&want, compact.Bytes(), "  ", "\t")
		if got = appendIndentJSON(nil, compact.Bytes(), "  ", "\t"); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q:\n%s\njson.Indent:\n%s", compact.Bytes(), got, want.Bytes())
		}
	})
}

// TestAppendDetailsJSONEveryField: the hand-written details give encoding/json's bytes with
// every field set, and with every optional field left empty.
func TestAppendDetailsJSONEveryField(t *testing.T) {
	odd := "<odd> \"quoted\" & \u2028"
	cases := []Details{
		{TLS: &TLSDetails{}},
		{TLS: &TLSDetails{SNI: odd, ALPN: []string{"h2", odd}, OfferedVersions: []string{"TLS 1.3"}, Version: "TLS 1.2",
			CipherSuite: "TLS_AES_128_GCM_SHA256", Alerts: []TLSAlert{{"fatal", "handshake_failure"}, {"warning", odd}},
			HandshakeComplete: true, Certificate: &TLSCertificate{Subject: odd, Issuer: "CN=ca", SANs: []string{"a", "b"},
				NotBefore: "2026-01-01", NotAfter: "2027-01-01", Chain: 3, Error: odd}}},
		{TLS: &TLSDetails{ALPN: []string{}, Certificate: &TLSCertificate{}}},
		{DCERPC: &DCERPCDetails{}},
		{DCERPC: &DCERPCDetails{Binds: []RPCBind{{InterfaceUUID: "u1", Interface: "ICertPassage", Version: "0.0", Result: "accepted", Frame: 7}, {InterfaceUUID: odd}},
			Calls:  []RPCCall{{Interface: "ICertPassage", Opnum: 0, Operation: "CertServerRequest", Count: 2}, {Opnum: 3, Count: 1}},
			Faults: []RPCFault{{Status: "0x5", Name: "nca_s_fault_access_denied"}, {Status: "0x1"}},
			Auth:   &RPCAuth{Type: "kerberos", Level: "pkt_privacy", Target: odd}, Encrypted: true,
			Pipes: []string{`\pipe\cert`}, SecondaryAddress: "49670"}},
		{DCERPC: &DCERPCDetails{Auth: &RPCAuth{}, Pipes: []string{}}},
		{Kerberos: newKerberosDetails(), TLS: &TLSDetails{Version: "TLS 1.3"}, DCERPC: &DCERPCDetails{Encrypted: true},
			Malformed: []string{odd}, Notes: []string{"n"}},
	}
	for i := range cases {
		want, err := json.Marshal(&cases[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := appendDetailsJSON(nil, &cases[i]); !bytes.Equal(got, want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}
