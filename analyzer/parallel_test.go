package analyzer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// equivalenceCaptures are the inputs the parallel and split-file tests run on: the real
// shared captures, the lab captures, and a generated mix with many clients (so that the
// workers all get flows, and shared state crosses between them).
func equivalenceCaptures(t *testing.T) []string {
	t.Helper()
	var paths []string
	if shared, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*")); len(shared) > 0 {
		paths = append(paths, shared...)
	} else {
		t.Logf("%s is missing: the real shared captures are not part of this run", sharedCaptures)
	}
	lab, _ := filepath.Glob("../testdata/captures/lab-*.pcapng")
	paths = append(paths, lab...)
	mix := filepath.Join(t.TempDir(), "mix.pcapng")
	f, err := os.Create(mix)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := capgen.WriteMix(f, capgen.MixOptions{Packets: 250000, Duration: 5 * time.Minute, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return append(paths, mix)
}

func reportJSON(t *testing.T, paths []string, workers int) []byte {
	t.Helper()
	rep, err := AnalyzeFiles(paths, Options{Workers: workers})
	if err != nil {
		t.Fatalf("%v: %v", paths, err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestWorkersSameReport: the report does not depend on how many workers decode the flows.
func TestWorkersSameReport(t *testing.T) {
	for _, path := range equivalenceCaptures(t) {
		one := reportJSON(t, []string{path}, 1)
		for _, n := range []int{2, 3} {
			if got := reportJSON(t, []string{path}, n); !bytes.Equal(one, got) {
				t.Errorf("%s: the report with %d workers differs from the one with 1:\n%s", filepath.Base(path), n, firstDiff(one, got))
			}
		}
	}
}

// TestSplitCaptureSameReport: a capture cut into several files (as tcpdump -C or editcap -c
// would), given in any order, gives the report of the whole capture, with 1 or 2 workers;
// only the names of the files and the frame numbers (counted per file) differ.
func TestSplitCaptureSameReport(t *testing.T) {
	for _, path := range equivalenceCaptures(t) {
		parts := splitCapture(t, path, 3)
		if len(parts) < 2 {
			continue
		}
		whole := normalizeSplit(t, reportJSON(t, []string{path}, 1))
		shuffled := append([]string{parts[len(parts)-1]}, parts[:len(parts)-1]...)
		for _, n := range []int{1, 2} {
			if got := normalizeSplit(t, reportJSON(t, shuffled, n)); !bytes.Equal(whole, got) {
				t.Errorf("%s split in %d files, %d workers: the report differs from the whole capture's:\n%s",
					filepath.Base(path), len(parts), n, firstDiff(whole, got))
			}
		}
	}
}

// splitCapture cuts a capture into n pcap files of consecutive packets.
func splitCapture(t *testing.T, path string, n int) []string {
	t.Helper()
	info := &CaptureInfo{File: path}
	src, err := openFile(path, 0, info)
	if err != nil {
		t.Fatal(err)
	}
	defer src.close()
	type rec struct {
		p    Packet
		data []byte
	}
	var recs []rec
	for {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec{p, append([]byte(nil), p.Data...)})
	}
	if len(recs) < n {
		return nil
	}
	// The parts of a cut capture have one link type each: cut only single-link captures.
	for _, r := range recs {
		if r.p.Link != recs[0].p.Link {
			return nil
		}
	}
	dir := t.TempDir()
	var parts []string
	per := (len(recs) + n - 1) / n
	for i := 0; i < n && i*per < len(recs); i++ {
		name := filepath.Join(dir, "part"+itoa(i)+".pcap")
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w := pcapgo.NewWriterNanos(f)
		if err := w.WriteFileHeader(262144, recs[0].p.Link); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[i*per : min((i+1)*per, len(recs))] {
			ci := gopacket.CaptureInfo{Timestamp: r.p.Timestamp, CaptureLength: len(r.data), Length: max(r.p.Length, len(r.data))}
			if err := w.WritePacket(ci, r.data); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		parts = append(parts, name)
	}
	return parts
}

var frameNumbers = regexp.MustCompile(`(?i)(frames?|#) ?\d+`)

// normalizeSplit drops what naturally differs between a capture and its parts: the list of
// capture files, which file a flow starts in, and frame numbers (counted per file).
func normalizeSplit(t *testing.T, js []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if k == "captures" || k == "capture" || strings.Contains(k, "frame") {
					delete(x, k)
					continue
				}
				x[k] = walk(e)
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
			return x
		case string:
			return frameNumbers.ReplaceAllString(x, "$1 N")
		}
		return x
	}
	out, err := json.MarshalIndent(walk(v), "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// firstDiff shows the first differing line of two JSON documents, with context.
func firstDiff(a, b []byte) string {
	var x, y any
	if json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil {
		a, _ = json.MarshalIndent(x, "", " ")
		b, _ = json.MarshalIndent(y, "", " ")
	}
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(la) || i < len(lb); i++ {
		if i >= len(la) || i >= len(lb) || la[i] != lb[i] {
			lo := max(i-5, 0)
			return "want:\n" + strings.Join(la[lo:min(i+5, len(la))], "\n") + "\ngot:\n" + strings.Join(lb[lo:min(i+5, len(lb))], "\n")
		}
	}
	return "(same lines)"
}

// TestPartitionKeepsPairsTogether: both directions of a conversation, its fragments and an
// ICMP error quoting it go to the same worker.
func TestPartitionKeepsPairsTogether(t *testing.T) {
	c := capgen.New()
	cl, sv := capgen.AP("10.1.2.3:50000"), capgen.AP("10.9.9.9:464")
	c.UDPPacket(cl, sv, bytes.Repeat([]byte{1}, 100))
	c.UDPPacket(sv, cl, bytes.Repeat([]byte{2}, 100))
	c.UDPFragmented(cl, sv, bytes.Repeat([]byte{3}, 3000), 576, nil)
	c.ICMPUnreachable(capgen.Addr("10.0.0.1"), 13, true, cl, sv)
	v6c, v6s := capgen.AP("[fd00::20]:50001"), capgen.AP("[fd00::10]:88")
	c.UDPPacket(v6c, v6s, []byte{1, 2, 3})
	c.UDPPacket(v6s, v6c, []byte{1, 2, 3})
	c.ICMPUnreachable(capgen.Addr("fd00::1"), 1, true, v6c, v6s)
	for _, n := range []int{2, 3, 7} {
		got := map[int]bool{}
		var v6 []int
		for i, fr := range c.Frames {
			w := partition(fr.Link, fr.Data, n)
			if i < len(c.Frames)-3 {
				got[w] = true
			} else {
				v6 = append(v6, w)
			}
		}
		sort.Ints(v6)
		if len(got) != 1 || v6[0] != v6[len(v6)-1] {
			t.Errorf("%d workers: one conversation was dealt to several workers: %v %v", n, got, v6)
		}
	}
}

// TestFoldingKeepsCounts: folding like flows (past foldAfter kept flows) changes what is
// kept, not what is counted: the summary, every diff row's and rule's flow count, the
// blocked endpoints, every rule's sources, the hosts and their roles, the JSON flows (all of
// them) are those of the analysis that keeps every flow.
func TestFoldingKeepsCounts(t *testing.T) {
	paths := equivalenceCaptures(t)
	mix := paths[len(paths)-1]
	defer func(v int) { foldAfter = v }(foldAfter)
	foldAfter = 1 << 30
	full, err := AnalyzeFiles([]string{mix}, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	foldAfter = 50
	folded, err := AnalyzeFiles([]string{mix}, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(folded.flows) > len(full.flows)*9/10 {
		t.Fatalf("folding kept %d of %d flows: the test capture does not exercise it", len(folded.flows), len(full.flows))
	}
	members, otherPort := 0, 0
	for _, f := range folded.flows {
		members += f.members.len()
		for m := range f.members.all {
			if m.sport != f.Server.Port() {
				otherPort++
			}
		}
	}
	if members == 0 || otherPort == 0 {
		t.Fatalf("%d members, %d on another port than their group's first flow: the test capture does not exercise them", members, otherPort)
	}
	// Every flow is in exactly one view: a client of a group, or a flow kept alone.
	for _, r := range []*Report{full, folded} {
		all, failed := 0, 0
		for _, f := range r.AllFlows() {
			all += f.Count()
		}
		for _, f := range r.FailedFlows() {
			failed += f.Count()
		}
		if all != r.Summary.Flows || failed != r.Summary.FailedFlows {
			t.Errorf("views stand for %d flows, %d failed; summary %d, %d failed", all, failed, r.Summary.Flows, r.Summary.FailedFlows)
		}
	}
	if full.Summary.Flows != folded.Summary.Flows || full.Summary.FailedFlows != folded.Summary.FailedFlows ||
		full.Summary.Verdict != folded.Summary.Verdict {
		t.Errorf("summary: %+v, folded %+v", full.Summary, folded.Summary)
	}
	var a, b bytes.Buffer
	full.WriteJSON(&a)
	folded.WriteJSON(&b)
	var ja, jb struct{ Flows []json.RawMessage }
	json.Unmarshal(a.Bytes(), &ja)
	json.Unmarshal(b.Bytes(), &jb)
	if len(ja.Flows) != full.Summary.Flows || len(jb.Flows) != len(ja.Flows) {
		t.Errorf("JSON flows: %d and %d, summary %d", len(ja.Flows), len(jb.Flows), full.Summary.Flows)
	}
	// The same lines: those of the kept flows made at the end, and the spill's, made as
	// each flow retired (its summary by the worker, the part of an RPC assignment by the
	// merge).
	lines := func(l []json.RawMessage) []string {
		out := make([]string, len(l))
		for i, m := range l {
			out[i] = string(m)
		}
		slices.Sort(out)
		return out
	}
	la, lb := lines(ja.Flows), lines(jb.Flows)
	assigned := 0
	for i := range la {
		if strings.Contains(la[i], `"rpc_assigned_by"`) {
			assigned++
		}
		if i < len(lb) && la[i] != lb[i] {
			t.Errorf("JSON flow %d:\n%s\nfolded:\n%s", i, la[i], lb[i])
			break
		}
	}
	if assigned == 0 {
		t.Error("no flow to a port handed out by EPM or DCOM: the test capture does not exercise them")
	}
	rowCounts := func(r *Report) map[string]int {
		m := map[string]int{}
		for _, d := range r.Diff {
			m[d.Baseline+" "+d.Rule+" "+d.Status] += d.FlowsTotal
			for _, x := range d.Blocked {
				m[d.Baseline+" "+d.Rule+" blocked "+x]++
			}
		}
		for _, rl := range r.Rules {
			m["rule "+strings.Join(rl.From, ",")+" "+rl.Transport+" "+rl.Ports+" "+strings.Join(rl.To, ",")+" "+rl.Status] += rl.FlowCount
		}
		for _, h := range r.Hosts {
			m["host "+h.Addr.String()+" "+strings.Join(h.Roles, ",")]++
		}
		return m
	}
	ca, cb := rowCounts(full), rowCounts(folded)
	if len(ca) == 0 {
		t.Fatal("no diff rows or rules to compare")
	}
	for k, v := range ca {
		if cb[k] != v {
			t.Errorf("%s: %d flows, folded %d", k, v, cb[k])
		}
	}
	if len(ca) != len(cb) {
		t.Errorf("%d diff rows and rules, folded %d", len(ca), len(cb))
	}
}

// TestRulesOnTwoGoroutines checks that building the rules of the two halves of the groups
// side by side gives the rules one pass gives, aggregated or not.
func TestRulesOnTwoGoroutines(t *testing.T) {
	paths := equivalenceCaptures(t)
	defer func(v int) { parallelRuleEntries = v }(parallelRuleEntries)
	groups := map[string]bool{}
	for _, p := range paths {
		rep, err := AnalyzeFiles([]string{p}, Options{Workers: 2})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, o := range []RuleOptions{{}, {AggregateV4: 24, AggregateV6: 64}} {
			parallelRuleEntries = 1 << 30
			one := rep.BuildRules(o)
			parallelRuleEntries = 2
			two := rep.BuildRules(o)
			if !reflect.DeepEqual(one, two) {
				t.Fatalf("%s %+v: %d rules in one pass, %d on two goroutines, or they differ", filepath.Base(p), o, len(one), len(two))
			}
			if p == paths[len(paths)-1] {
				for _, r := range one {
					groups[fmt.Sprint(r.To, r.Transport, r.Dynamic, r.Status)] = true
				}
			}
		}
	}
	if len(groups) < 4 {
		t.Fatalf("the mix has rules for %d destinations: too few to split", len(groups))
	}
}
