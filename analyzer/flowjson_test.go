package analyzer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppendFlowJSONMatchesEncodingJSON: the fast report line (details included) is byte for
// byte what encoding/json writes, on every flow of the real and generated captures.
func TestAppendFlowJSONMatchesEncodingJSON(t *testing.T) {
	paths := equivalenceCaptures(t) // shared, lab and a generated mix
	defer func(v int) { foldAfter = v }(foldAfter)
	foldAfter = 1 << 30 // keep every flow in Report.Flows
	n := 0
	s := &spill{} // and each flow written aside and read back is the same line
	defer (&Report{spill: s}).Close()
	var lines [][]byte
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
			s.add(fr, nil)
			lines = append(lines, want)
			n++
		}
	}
	if n < 100 {
		t.Fatalf("only %d flows compared", n)
	}
	s.sealed()
	got, err := spillLines(&Report{spill: s})
	if err != nil || len(got) != n {
		t.Fatalf("%d flows read back of %d: %v", len(got), n, err)
	}
	for i := range got {
		if !bytes.Equal(got[i], lines[i]) {
			t.Fatalf("flow %d read back:\n got %s\nwant %s", i, got[i], lines[i])
		}
	}
}

// spillLines returns the report's flow lines as eachFlowLines gives them, checking that the
// chunks hold the lines they say.
func spillLines(r *Report) ([][]byte, error) {
	var lines [][]byte
	err := r.eachFlowLines("\n", func(chunk []byte, n int) error {
		if len(chunk) == 0 || chunk[0] != '\n' {
			return fmt.Errorf("a chunk without the prefix: %.40q", chunk)
		}
		split := bytes.Split(chunk[1:], []byte("\n"))
		if len(split) != n || n > spillBatchRecords {
			return fmt.Errorf("a chunk of %d lines said %d", len(split), n)
		}
		for _, l := range split {
			lines = append(lines, bytes.Clone(l))
		}
		return nil
	})
	return lines, err
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
	checkAppendJSON(t, cases, appendDetailsJSON)
}

// TestSpillDetailsDictionary: records written aside with their details numbered and named
// by number read back as the JSON lines, in memory and past spillMemory in the file; details
// over the size of an entry and those past the table's bytes stay in the record.
func TestSpillDetailsDictionary(t *testing.T) {
	s := &spill{}
	defer (&Report{spill: s}).Close()
	var want [][]byte
	big := []byte(`{"notes":["` + strings.Repeat("x", spillDictEntry) + `"]}`)
	for i := 0; i < 30000; i++ {
		fr := FlowReport{Transport: "tcp", Client: netip.MustParseAddr("10.0.0.1"), ClientPort: uint16(i),
			Server: netip.MustParseAddr("10.0.0.2"), ServerPort: 88, Service: "kerberos", Outcome: "established",
			First: time.Unix(int64(i), 0).UTC(), Last: time.Unix(int64(i), 5).UTC(),
			Summary: fmt.Sprintf("AS-REQ -> AS-REP %d", i%5000)} // past the strings table's bytes too
		var details []byte
		switch {
		case i%7 == 0: // no details
		case i%11 == 0:
			details = big
		default: // 6000 distinct ones, each more than once: past the table's 1 MB
			details = fmt.Appendf(nil, `{"kerberos":{"messages":["AS-REQ"],"cnames":["user%d%s"]}}`, i%6000, strings.Repeat("p", 150))
		}
		if details != nil {
			fr.Details = &Details{}
		}
		s.add(&fr, details)
		want = append(want, appendFlowJSON(nil, &fr, details))
	}
	if s.file == nil {
		t.Fatal("the records stayed in memory: the file is not tested")
	}
	if s.dets.n == 0 || s.dets.bytes > spillDictBytes || s.strs.n == 0 || s.strs.bytes > spillStrBytes {
		t.Fatalf("tables: %d details, %d bytes; %d strings, %d bytes", s.dets.n, s.dets.bytes, s.strs.n, s.strs.bytes)
	}
	s.sealed()
	for round := 0; round < 3; round++ { // read again: the numbers start over
		s.workers = round + 1 // 1: the single-threaded writing; more: the pipeline
		got, err := spillLines(&Report{spill: s})
		if err != nil || len(got) != len(want) {
			t.Fatalf("round %d: %d lines of %d, %v", round, len(got), len(want), err)
		}
		for n := range got {
			if !bytes.Equal(got[n], want[n]) {
				t.Fatalf("round %d line %d:\n got %s", round, n, got[n])
			}
		}
	}
	if total := int64(len(bytes.Join(want, []byte("\n")))); s.size > total*2/3 {
		t.Errorf("written %d bytes for %d of JSON: more than two thirds", s.size, total)
	}
}

// TestSpillDamagedRecords: a damaged record is an error, not a panic, however it is cut or
// changed.
func TestSpillDamagedRecords(t *testing.T) {
	s := &spill{}
	fr := spillSample()
	s.add(&fr, []byte(`{"notes":["n"]}`))
	first := int(s.size)
	s.add(&fr, []byte(`{"notes":["n"]}`)) // numbered, then named
	good := bytes.Clone(s.mem.Bytes())
	for cut := 1; cut < len(good); cut++ {
		s.mem.Reset()
		s.mem.Write(good[:cut])
		if err := s.eachRecord(func(*flowRecord) error { return nil }); err == nil && cut != first {
			t.Errorf("cut at %d of %d: no error", cut, len(good))
		}
		for s.workers = 1; s.workers <= 2; s.workers++ {
			if _, err := spillLines(&Report{spill: s, Flows: []FlowReport{}}); err == nil && cut != first {
				t.Errorf("cut at %d of %d, %d workers: no error from the lines", cut, len(good), s.workers)
			}
		}
	}
	// The writer's error stops the reading, wherever it comes.
	s = &spill{}
	for i := 0; i < 5000; i++ {
		s.add(&fr, nil)
	}
	stop := errors.New("stop")
	for _, at := range []int{1, 2, 5} {
		for s.workers = 1; s.workers <= 2; s.workers++ {
			chunks := 0
			err := (&Report{spill: s}).eachFlowLines(",", func([]byte, int) error {
				if chunks++; chunks == at {
					return stop
				}
				return nil
			})
			if err != stop || chunks != at {
				t.Errorf("stop at chunk %d, %d workers: %v after %d chunks", at, s.workers, err, chunks)
			}
		}
	}
	for _, bad := range [][]byte{{1, 0x80}, {2, 0xff, 0}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}} {
		s.mem.Reset()
		s.mem.Write(bad)
		if err := s.eachRecord(func(*flowRecord) error { return nil }); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

// spillSample is a report line with every part a record can hold.
func spillSample() FlowReport {
	return FlowReport{Transport: "udp", Client: netip.MustParseAddr("fe80::1"), ClientPort: 65535,
		Server: netip.MustParseAddr("10.0.0.2"), ServerPort: 135, Service: "msrpc", Outcome: "icmp-unreachable",
		Packets: 1 << 40, Bytes: 1 << 50, First: time.Unix(-5, 7).UTC(), Last: time.Unix(1<<33, 999999999).UTC(),
		RPCInterface: "ICertPassage", FirstFrame: 1 << 31, Capture: "client.pcapng", PacketsToSrv: 3, PacketsToCli: 4,
		BytesToSrv: 5, BytesToCli: 6, SYNs: 2, End: "reset",
		ICMP:          &ICMPReport{Type: 3, Code: 13, Name: "administratively prohibited", From: netip.MustParseAddr("10.9.9.9"), Frame: 12, Firewall: true},
		RPCAssignedBy: &AssignmentRef{Frame: 9, Time: time.Unix(100, 5).UTC(), Via: "epm"},
		RPCMismatch:   "bound ICertRequestD", LostAt: "between", Summary: "ICMP 3/13",
		Where:   &FlowWhere{SeenAt: []string{"client"}, Points: []PointCount{{Point: "client", ToSrv: 1}}, Why: "why"},
		Details: &Details{Notes: []string{"n"}}}
}

// TestSpillRecordIsTheReportLine: every part of a report line comes back from its record,
// as the JSON line and as the FlowReport (CSV's path).
func TestSpillRecordIsTheReportLine(t *testing.T) {
	full := spillSample()
	cases := []FlowReport{full, {}, {Transport: "tcp", Client: netip.MustParseAddr("::ffff:10.0.0.1")}}
	s := &spill{}
	for i := range cases {
		s.add(&cases[i], nil)
	}
	rep := &Report{spill: s, Flows: make([]FlowReport, 0)}
	i := 0
	err := rep.eachFlow(func(fr *FlowReport) error {
		got, _ := json.Marshal(fr)
		want, _ := json.Marshal(&cases[i])
		if !bytes.Equal(got, want) {
			t.Errorf("flow %d:\n got %s\nwant %s", i, got, want)
		}
		i++
		return nil
	})
	if err != nil || i != len(cases) {
		t.Fatalf("%d flows read of %d: %v", i, len(cases), err)
	}
}

// FuzzSpillRecord: any bytes read back as a record give a flow or an error, no panic.
func FuzzSpillRecord(f *testing.F) {
	s := &spill{}
	fr := spillSample()
	f.Add(s.encodeFlow(nil, &fr, nil))
	f.Add(s.encodeFlow(nil, &fr, nil))
	f.Add([]byte{0, 1, 0x80})
	f.Fuzz(func(t *testing.T, body []byte) {
		r := &spill{}
		r.strs.read = []string{"tcp"}
		r.dets.readRaw = [][]byte{[]byte(`{}`)}
		var rec flowRecord
		if r.decodeFlow(body, &rec) == nil {
			appendFlowJSON(nil, &rec.fr, rec.details)
		}
	})
}

// TestAppendFlowJSONICMPAndAssignment: a line with an ICMP error and an RPC assignment is
// encoding/json's.
func TestAppendFlowJSONICMPAndAssignment(t *testing.T) {
	for _, fr := range []FlowReport{
		{Transport: "udp", Client: netip.MustParseAddr("10.0.0.1"), Server: netip.MustParseAddr("fe80::1"),
			ICMP:          &ICMPReport{Type: 3, Code: 13, Name: "administratively <prohibited>", From: netip.MustParseAddr("10.9.9.9"), Frame: 12, Firewall: true},
			RPCAssignedBy: &AssignmentRef{Frame: 7, Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Via: "EPM ept_map"}},
		{Transport: "tcp", ICMP: &ICMPReport{}, RPCAssignedBy: &AssignmentRef{}},
	} {
		want, err := json.Marshal(&fr)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendFlowJSON(nil, &fr, nil); !bytes.Equal(got, want) {
			t.Errorf("\n got %s\nwant %s", got, want)
		}
	}
}

// TestAppendDiffRowJSONIsEncodingJSON: the hand-written diff rows are encoding/json's, on
// every diff row of the real and generated captures and on rows with empty and nil lists.
func TestAppendDiffRowJSONIsEncodingJSON(t *testing.T) {
	rows := []DiffRow{{}, {Flows: []FlowReport{}, Blocked: []string{}}, {Baseline: "b", Rule: "<r>", Status: "ok", Reason: "x",
		RowID: "kdc", Match: "m", Blocked: []string{"a & b"}, Required: true, FlowsTotal: 3, Title: "not written"}}
	for _, p := range equivalenceCaptures(t) {
		rep, _ := AnalyzeFiles([]string{p}, Options{})
		rows = append(rows, rep.Diff...)
	}
	if len(rows) < 50 {
		t.Fatalf("only %d rows", len(rows))
	}
	checkAppendJSON(t, rows, appendDiffRowJSON)
}

// checkAppendJSON checks that appendJSON gives encoding/json's bytes for every value.
func checkAppendJSON[T any](t *testing.T, values []T, appendJSON func([]byte, *T) []byte) {
	t.Helper()
	for i := range values {
		want, err := json.Marshal(&values[i])
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSON(nil, &values[i]); !bytes.Equal(got, want) {
			t.Fatalf("value %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestAppendRuleJSONIsEncodingJSON: the hand-written rules are encoding/json's, on every
// rule of the real and generated captures (aggregated too) and on rules with empty and nil
// lists.
func TestAppendRuleJSONIsEncodingJSON(t *testing.T) {
	rules := []Rule{{}, {From: []string{}, To: []string{}, Evidence: []RuleEvidence{}, ToNames: []string{}},
		{From: []string{"10.0.0.0/24"}, To: []string{"10.0.0.5"}, Transport: "tcp", Ports: "135", Why: "<why> & more",
			Status: "blocked", ToNames: []string{"dc1"}, ToRoles: []string{"kdc"}, Services: []string{"RPC EPM"},
			Unblocks: []string{"u"}, Evidence: []RuleEvidence{{Client: "c", Server: "s", Port: 135, Service: "epm",
				Outcome: "dropped", FirstFrame: 4, First: "t", Capture: "f.pcap"}, {}},
			FlowCount: 9, Dynamic: true, DynamicRange: "49152-65535", Warning: "w"}}
	for _, p := range equivalenceCaptures(t) {
		rep, _ := AnalyzeFiles([]string{p}, Options{})
		rules = append(rules, rep.Rules...)
		rules = append(rules, rep.BuildRules(RuleOptions{AggregateV4: 24, AggregateV6: 64})...)
	}
	if len(rules) < 50 {
		t.Fatalf("only %d rules", len(rules))
	}
	checkAppendJSON(t, rules, appendRuleJSON)
}
