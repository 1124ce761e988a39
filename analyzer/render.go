package analyzer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// DiffRow is one line of the comparison with a baseline (see diff.go).
type DiffRow struct {
	Baseline string       `json:"baseline"`
	Rule     string       `json:"rule"`
	Status   string       `json:"status"`
	Reason   string       `json:"reason,omitempty"`
	Flows    []FlowReport `json:"flows"`
	// FlowsTotal counts the flows; Flows lists at most the first 200.
	FlowsTotal int `json:"flows_total"`
	// RowID is the baseline row's id ("" for extra); Match says how roles were matched
	// when the capture has no host in a role the row names.
	RowID string `json:"row,omitempty"`
	Match string `json:"match,omitempty"`
	// Blocked lists the blocked endpoints, "tcp/636 10.0.1.20 -> 10.0.0.10:636: dropped ...".
	Blocked []string `json:"blocked,omitempty"`
	// Required: a block here makes the enrollment fail (diff exits 1).
	Required bool `json:"required"`
	// Title is the baseline's title, for the text report.
	Title string `json:"-"`
}

// Rule is one firewall rule of the minimal set (see rules.go).
type Rule struct {
	From      []string `json:"from"`
	To        []string `json:"to"`
	Transport string   `json:"transport"`
	Ports     string   `json:"ports"`
	Why       string   `json:"why"`
	// Status: "blocked" when the rule would unblock flows the capture saw fail, "in-use"
	// when every flow it covers got through.
	Status   string   `json:"status"`
	ToNames  []string `json:"to_names,omitempty"`
	ToRoles  []string `json:"to_roles,omitempty"`
	Services []string `json:"services,omitempty"`
	// Unblocks lists the blocked flows this rule lets through.
	Unblocks []string       `json:"unblocks,omitempty"`
	Evidence []RuleEvidence `json:"evidence"`
	// FlowCount counts the flows; Evidence lists at most the first 50.
	FlowCount int `json:"flow_count"`
	// Dynamic rules cover dynamic RPC ports: the observed ones change at each restart.
	Dynamic      bool   `json:"dynamic,omitempty"`
	DynamicRange string `json:"dynamic_range,omitempty"`
	Warning      string `json:"warning,omitempty"`

	portList []uint16
	family6  bool
	toOrder  netip.Prefix // To[0] parsed, for the rules' order
}

// WriteJSON writes the report as JSON, indented as encoding/json indents it, except the
// flows: one per line. It is written field by field and element by element, the flows copied
// from the spill of a streaming analysis, so that a capture with millions of flows, thousands
// of diff rows and rules is written without holding it all as one JSON value.
func (r *Report) WriteJSON(w io.Writer) error {
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 1<<16)}
	jw.w.WriteByte('{')
	jw.value("version", r.Version)
	writeJSONArray(jw, "captures", r.Captures, false)
	jw.value("summary", &r.Summary)
	writeJSONArray(jw, "hosts", r.Hosts, false)
	jw.key("flows")
	n := 0
	jw.w.WriteByte('[')
	err := r.eachFlowLines(",\n    ", func(chunk []byte, lines int) error {
		if n == 0 {
			chunk = chunk[1:] // no comma before the first
		}
		n += lines
		_, err := jw.w.Write(chunk)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		jw.w.WriteString("\n  ")
	}
	jw.w.WriteByte(']')
	writeJSONArray(jw, "rpc_assignments", r.RPCAssignments, false)
	writeJSONArray(jw, "rpc_not_registered", r.RPCNotFound, true)
	writeJSONArrayWith(jw, "diff", r.Diff, true, appendDiffRowJSON)
	writeJSONArrayWith(jw, "rules", r.Rules, true, appendRuleJSON)
	writeJSONArray(jw, "warnings", r.Warnings, true)
	if r.TwoPoint != nil {
		jw.value("two_point", r.TwoPoint)
	}
	jw.w.WriteString("\n}\n")
	if jw.err != nil {
		return jw.err
	}
	return jw.w.Flush()
}

// jsonWriter writes the members of the report's top-level object.
type jsonWriter struct {
	w   *bufio.Writer
	n   int
	err error
	// One encoder and buffer for every value: thousands of diff rows and rules are
	// encoded one by one, and json.MarshalIndent would allocate twice for each.
	enc     *json.Encoder
	buf     bytes.Buffer
	ind     []byte
	compact []byte
}

func (j *jsonWriter) key(name string) {
	if j.n > 0 {
		j.w.WriteByte(',')
	}
	j.n++
	j.w.WriteString("\n  \"" + name + "\": ")
}

func (j *jsonWriter) value(name string, v any) {
	j.key(name)
	j.encode(v, "  ")
}

// encode writes v as json.MarshalIndent(v, prefix, "  ") would: encoded compact, then
// indented by appendIndentJSON.
func (j *jsonWriter) encode(v any, prefix string) {
	if j.enc == nil {
		j.enc = json.NewEncoder(&j.buf)
	}
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		if j.err == nil {
			j.err = err
		}
		return
	}
	b := j.buf.Bytes()
	j.ind = appendIndentJSON(j.ind[:0], b[:len(b)-1], prefix, "  ") // Encode ends the value with a newline
	j.w.Write(j.ind)
}

// writeJSONArray writes one array member, an element at a time (omitEmpty: as the field's
// omitempty tag says).
func writeJSONArray[T any](j *jsonWriter, name string, list []T, omitEmpty bool) {
	writeJSONArrayWith(j, name, list, omitEmpty, nil)
}

// writeJSONArrayWith is writeJSONArray with the elements encoded (compact, as encoding/json
// would) by appendJSON; nil: by encoding/json.
func writeJSONArrayWith[T any](j *jsonWriter, name string, list []T, omitEmpty bool, appendJSON func([]byte, *T) []byte) {
	if omitEmpty && len(list) == 0 {
		return
	}
	j.key(name)
	if list == nil {
		j.w.WriteString("null")
		return
	}
	j.w.WriteByte('[')
	for i := range list {
		if i > 0 {
			j.w.WriteByte(',')
		}
		j.w.WriteString("\n    ")
		if appendJSON != nil {
			j.compact = appendJSON(j.compact[:0], &list[i])
			j.ind = appendIndentJSON(j.ind[:0], j.compact, "    ", "  ")
			j.w.Write(j.ind)
			continue
		}
		j.encode(&list[i], "    ")
	}
	if len(list) > 0 {
		j.w.WriteString("\n  ")
	}
	j.w.WriteByte(']')
}

// eachFlowLines calls fn with the JSON lines of every flow (compact, each after prefix) in
// chunks of several lines, in order, from the spill of a streaming analysis or from Flows.
func (r *Report) eachFlowLines(prefix string, fn func(chunk []byte, lines int) error) error {
	if !r.allFlowsKept() {
		return r.spill.eachJSON(prefix, fn)
	}
	c := flowChunks{prefix: prefix, fn: fn}
	for i := range r.Flows {
		if err := c.add(&r.Flows[i], nil); err != nil {
			return err
		}
	}
	return c.flush()
}

// allFlowsKept reports whether Flows holds every flow (in the order they started), as it
// does unless a streaming analysis folded flows; then the spill has them all, in the order
// they ended.
func (r *Report) allFlowsKept() bool {
	return r.spill == nil || r.spill.lines == len(r.Flows)
}

// eachFlow calls fn with every flow of the report (all of them, also in a streaming
// analysis where Flows keeps only some).
func (r *Report) eachFlow(fn func(*FlowReport) error) error {
	if r.allFlowsKept() {
		for i := range r.Flows {
			if err := fn(&r.Flows[i]); err != nil {
				return err
			}
		}
		return nil
	}
	return r.spill.eachRecord(func(rec *flowRecord) error {
		if len(rec.details) > 0 {
			rec.fr.Details = &Details{}
			if err := json.Unmarshal(rec.details, rec.fr.Details); err != nil {
				return err
			}
		}
		return fn(&rec.fr)
	})
}

// CSVHeader is the header row of the flows CSV.
var CSVHeader = []string{"transport", "client", "client_port", "server", "server_port", "service", "outcome",
	"packets", "bytes", "first", "last", "first_frame", "rpc_interface", "details", "capture"}

// WriteCSV writes one row per flow.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err := r.eachFlow(func(f *FlowReport) error {
		row := []string{f.Transport, f.Client.String(), strconv.Itoa(int(f.ClientPort)), f.Server.String(),
			strconv.Itoa(int(f.ServerPort)), f.Service, f.Outcome, strconv.Itoa(f.Packets),
			strconv.FormatInt(f.Bytes, 10), f.First.Format(time.RFC3339Nano), f.Last.Format(time.RFC3339Nano),
			strconv.Itoa(f.FirstFrame), f.RPCInterface, f.Summary, f.Capture}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// TextOptions tune the human report.
type TextOptions struct {
	// Width is the terminal width; 0 means no limit.
	Width int
	// MaxFailures caps the failed flows listed under the verdict (0: 20).
	MaxFailures int
}

// TextTable returns a table in the report's style: no outer borders, a header rule, cells
// cut to fit width (0: no limit). The bench prints its tables with it too.
func TextTable(w io.Writer, width int) *tablewriter.Table {
	opts := []tablewriter.Option{
		tablewriter.WithRendition(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleASCII),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenRows: tw.Off, BetweenColumns: tw.Off, ShowHeader: tw.On},
				Lines:      tw.Lines{ShowHeaderLine: tw.On},
			},
		}),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapTruncate),
		tablewriter.WithTrimSpace(tw.Off),
	}
	if width > 0 {
		opts = append(opts, tablewriter.WithMaxWidth(width))
	}
	return tablewriter.NewTable(w, opts...)
}

// WriteText writes the report for people: header, verdict, failures, then the sections.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 20
	}
	bw := &errWriter{w: w}
	r.writeHeader(bw)
	r.writeVerdict(bw, o)
	r.writeLost(bw) // twopoint.go
	r.writeHosts(bw, o)
	r.writeDynamicRPC(bw)
	r.writeFlowTable(bw, o)
	r.writeDiff(bw, o)
	r.writeRules(bw, o)
	return bw.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func (r *Report) writeHeader(w *errWriter) {
	names := make([]string, 0, len(r.Captures))
	for _, c := range r.Captures {
		names = append(names, c.File)
	}
	s := r.Summary
	span := ""
	if !s.First.IsZero() {
		span = fmt.Sprintf(", %s (%s - %s UTC)", fmtDuration(s.Last.Sub(s.First)),
			s.First.Format("2006-01-02 15:04:05"), s.Last.Format("15:04:05"))
	}
	w.printf("adcsflow - %s: %d packets, %d flows%s\n", strings.Join(names, ", "), s.Packets, s.Flows, span)
	if len(r.Captures) > 1 {
		for _, c := range r.Captures {
			w.printf("  %s: %s, %d packets, %s\n", c.File, orDash(c.Format), c.Packets, strings.Join(c.LinkTypes, ", "))
		}
	}
	var warns []string
	for _, c := range r.Captures {
		warns = append(warns, c.Warnings...)
	}
	warns = append(warns, r.Warnings...)
	if len(warns) > 0 {
		w.printf("\nWARNINGS\n")
		for _, x := range warns {
			w.printf("  ! %s\n", x)
		}
	}
	w.printf("\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.3f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// verdictLine is the one-line verdict.
func verdictLine(r *Report) string {
	s := r.Summary
	if s.Flows == 0 {
		return "no TCP or UDP flows in the capture"
	}
	if s.FailedFlows == 0 {
		return fmt.Sprintf("no failed flows: all %d flows got an answer or were already open", s.Flows)
	}
	failed := map[string]int{}
	for _, f := range r.kept() {
		if f.IsFailure() {
			failed[f.Outcome] += f.Count()
		}
	}
	var parts []string
	for _, o := range []string{OutcomeNoAnswer, OutcomeReset, OutcomeICMP, OutcomeUnanswered} {
		if n := failed[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, outcomeWords(o)))
		}
	}
	noun := "flows"
	if s.FailedFlows == 1 {
		noun = "flow"
	}
	return fmt.Sprintf("%d %s failed: %s", s.FailedFlows, noun, strings.Join(parts, ", "))
}

func outcomeWords(o string) string {
	switch o {
	case OutcomeNoAnswer:
		return "TCP with no answer (dropped)"
	case OutcomeReset:
		return "TCP refused (reset)"
	case OutcomeICMP:
		return "ICMP unreachable"
	case OutcomeUnanswered:
		return "UDP unanswered"
	}
	return o
}

func (r *Report) writeVerdict(w *errWriter, o TextOptions) {
	w.printf("VERDICT  %s\n", r.Summary.Verdict)
	failed := r.failedViews()
	// The failures that matter most first: TCP before UDP, AD CS services before the rest.
	sort.SliceStable(failed, func(i, j int) bool { return failureRank(failed[i].Flow) < failureRank(failed[j].Flow) })
	for i, v := range failed {
		if i == o.MaxFailures {
			w.printf("  ... and %d more failed flows (see FLOWS)\n", countFlows(failed[i:]))
			break
		}
		f := v.flow()
		w.printf("  x %s -> %s/%s  %s\n", f.Client.Addr(), f.Server, f.Transport, serviceLabel(f))
		w.printf("      %s\n", failureWords(f))
	}
	w.printf("\n")
}

func failureRank(f *Flow) int {
	rank := 0
	if f.Transport == "udp" {
		rank += 10
	}
	if f.RPCInterface == "" && !importantService(f.Service) {
		rank += 5
	}
	return rank
}

func importantService(s string) bool {
	switch s {
	case "kerberos", "kpasswd", "ldap", "cldap", "ldap-gc", "ldaps", "epm", "https", "http", "smb", "msrpc", "dns":
		return true
	}
	return false
}

// serviceLabel names a flow's service for people, with the RPC interface when known.
func serviceLabel(f *Flow) string {
	if f.RPCInterface != "" {
		return f.RPCInterface + " (" + f.Service + ")"
	}
	return f.Service
}

// failureWords explains a failed flow with its evidence.
func failureWords(f *Flow) string {
	var s string
	switch f.Outcome {
	case OutcomeNoAnswer:
		s = fmt.Sprintf("%d SYN%s in %s, no answer: dropped on the way or at the server", f.SYNs, plural(f.SYNs),
			fmtDuration(f.Last.Sub(f.First)))
	case OutcomeReset:
		s = "refused: the SYN was answered by a reset (nothing listening, or a firewall rejecting)"
	case OutcomeICMP:
		s = fmt.Sprintf("ICMP %s from %s (frame %d)", f.ICMP.Name(), f.ICMP.From, f.ICMP.Frame.Frame)
		if f.ICMP.Firewall() {
			s += ": a firewall rejects it"
		}
	case OutcomeUnanswered:
		s = fmt.Sprintf("%d datagram%s, no reply", f.Packets[0], plural(f.Packets[0]))
	}
	if as := f.RPCAssignment; as != nil {
		s += fmt.Sprintf("; port handed out by %s in frame %d", viaWords(as.Via), as.Frame.Frame)
	}
	s += fmt.Sprintf(" (first frame %d)", f.FirstFrame.Frame)
	return s
}

func viaWords(via string) string {
	if via == "dcom" {
		return "DCOM activation"
	}
	return "the endpoint mapper"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (r *Report) writeHosts(w *errWriter, o TextOptions) {
	var rows [][]string
	for _, h := range r.Hosts {
		if len(h.Roles) == 0 && len(h.Names) == 0 {
			continue
		}
		rows = append(rows, []string{h.Addr.String(), strings.Join(h.Names, ", "), strings.ToUpper(strings.Join(h.Roles, ", ")),
			strings.Join(h.Evidence, "; ")})
	}
	if len(rows) == 0 {
		return
	}
	w.printf("HOSTS (roles and why; override with --role ROLE=ADDR|NAME or --roles FILE)\n")
	t := TextTable(w, o.Width)
	t.Header("ADDRESS", "NAMES", "ROLES", "WHY")
	t.Bulk(rows)
	t.Render()
	w.printf("\n")
}

func (r *Report) writeDynamicRPC(w *errWriter) {
	if len(r.RPCAssignments) == 0 && len(r.RPCNotFound) == 0 {
		return
	}
	w.printf("DYNAMIC RPC\n")
	lines := r.DynamicRPCLines()
	for _, l := range lines {
		w.printf("  %s\n", l)
	}
	w.printf("\n")
}

// flowGroup is one row of the FLOWS table: a server endpoint and service.
type flowGroup struct {
	server   string
	service  string
	flows    int
	failed   int
	outcomes map[string]int
	details  []string
	first    time.Time
}

func (r *Report) writeFlowTable(w *errWriter, o TextOptions) {
	groups := map[string]*flowGroup{}
	var order []*flowGroup
	for _, f := range r.kept() {
		label := serviceLabel(f.Flow)
		k := f.Transport + " " + f.Server().String() + " " + label
		g := groups[k]
		if g == nil {
			g = &flowGroup{server: f.Server().String() + "/" + f.Transport, service: label,
				outcomes: map[string]int{}, first: f.First()}
			groups[k] = g
			order = append(order, g)
		}
		g.flows += f.Count()
		g.outcomes[f.Outcome] += f.Count()
		if f.IsFailure() {
			g.failed += f.Count()
		}
		if d := detailSummary(f.Flow); d != "" && len(g.details) < 3 {
			g.details = appendUnique(g.details, d)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		if (order[i].failed > 0) != (order[j].failed > 0) {
			return order[i].failed > 0
		}
		return order[i].first.Before(order[j].first)
	})
	if len(order) == 0 {
		return
	}
	w.printf("FLOWS (by server and service, failures first)\n")
	t := TextTable(w, o.Width)
	t.Header("SERVER", "SERVICE", "FLOWS", "OUTCOME", "DETAILS")
	for _, g := range order {
		t.Append([]string{g.server, g.service, strconv.Itoa(g.flows), outcomeCounts(g.outcomes),
			strings.Join(g.details, " | ")})
	}
	t.Render()
	w.printf("\n")
}

func outcomeCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		fi, fj := Failed(keys[i]), Failed(keys[j])
		if fi != fj {
			return fi
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if len(m) == 1 {
			parts = append(parts, k)
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *Report) writeDiff(w *errWriter, o TextOptions) {
	if len(r.Diff) == 0 {
		return
	}
	d0 := r.Diff[0]
	if d0.Baseline == "documented" {
		w.printf("AGAINST THE DOCUMENTED TABLE (Microsoft, %q)\n", d0.Title)
	} else if d0.Title != "" {
		w.printf("AGAINST THE BASELINE %q (%s)\n", d0.Baseline, d0.Title)
	} else {
		w.printf("AGAINST THE BASELINE %q\n", d0.Baseline)
	}
	t := TextTable(w, o.Width)
	t.Header("STATUS", "FLOW", "FLOWS", "WHY")
	for _, d := range r.Diff {
		t.Append([]string{d.Status, d.Rule, strconv.Itoa(d.FlowsTotal), d.Reason})
	}
	t.Render()
	w.printf("\n")
}

func (r *Report) writeRules(w *errWriter, o TextOptions) {
	if len(r.Rules) == 0 {
		return
	}
	writeRulesText(w, r.Rules, o.Width)
}
