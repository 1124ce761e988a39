package analyzer

// The report as Markdown, with a Mermaid flowchart of the flows, for the tickets and runbooks
// where administrators keep such things; and the flow graph the HTML page draws too.

import (
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// flowGraph is the picture of the flows: hosts grouped by role (or by client/server when no
// roles are known), one edge per (client group, server, service).
type flowGraph struct {
	groups []*graphGroup
	hosts  []*graphHost
	edges  []*graphEdge
}

type graphGroup struct {
	id, label string
	hosts     []*graphHost
	col       int // column in the SVG layout
}

type graphHost struct {
	id    string
	addr  netip.Addr
	name  string
	group *graphGroup
	in    []*graphEdge // edges ending here, in display order
}

func (h *graphHost) label() string {
	if h.name != "" {
		return h.addr.String() + " " + h.name
	}
	return h.addr.String()
}

type graphEdge struct {
	from      *graphGroup // the client group
	fromHost  *graphHost  // the client host when only one host of the group used it
	manyFrom  bool
	to        *graphHost
	service   string // "ldaps", "ICertPassage", ...
	transport string
	ports     []uint16
	dynamic   bool // dynamic RPC: the interface name is the service
	flows     int
	failed    int
	outcomes  map[string]int
	lost      map[string]int // lost_at of the failed flows
}

// portsLabel is "636/tcp" or "49152,49154/tcp".
func (e *graphEdge) portsLabel() string {
	var ps []string
	for i, p := range e.ports {
		if i == 4 {
			ps = append(ps, "...")
			break
		}
		ps = append(ps, strconv.Itoa(int(p)))
	}
	return strings.Join(ps, ",") + "/" + e.transport
}

// outcomeLabel is what became of the edge's flows: "established", "no-answer x4, lost on
// the path", "2 of 5 failed: reset".
func (e *graphEdge) outcomeLabel() string {
	if e.failed == 0 {
		return outcomeCounts(e.outcomes)
	}
	var failed []string
	keys := countKeys(e.outcomes)
	for _, k := range keys {
		if Failed(k) {
			failed = append(failed, k)
		}
	}
	s := strings.Join(failed, ", ")
	if e.failed < e.flows {
		s = fmt.Sprintf("%d of %d failed: %s", e.failed, e.flows, s)
	} else if e.failed > 1 {
		s += fmt.Sprintf(" x%d", e.failed)
	}
	for _, k := range countKeys(e.lost) {
		s += ", " + lostWords(k)
	}
	return s
}

func lostWords(lost string) string {
	switch lost {
	case LostPath:
		return "lost on the path"
	case LostServer:
		return "lost at the server"
	case LostReturnPath:
		return "lost on the return path"
	}
	return lost
}

func countKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// roleLabel names a role group.
func roleLabel(role string) string {
	switch role {
	case RoleClient:
		return "clients"
	case "":
		return "other"
	}
	return strings.ToUpper(role)
}

// buildGraph makes the picture's model from the report.
func (r *Report) buildGraph() *flowGraph {
	g := &flowGraph{}
	roles := map[netip.Addr][]string{}
	names := map[netip.Addr]string{}
	anyRole := false
	for _, h := range r.Hosts {
		roles[h.Addr] = h.Roles
		if len(h.Names) > 0 {
			names[h.Addr] = h.Names[0]
		}
		anyRole = anyRole || len(h.Roles) > 0
	}
	isServer := map[netip.Addr]bool{}
	for _, f := range r.flows {
		isServer[f.Server.Addr()] = true
	}
	groupOf := func(a netip.Addr) string {
		if anyRole {
			if rs := roles[a]; len(rs) > 0 {
				// The most specific role first: a DC that is also a client is drawn as a DC.
				for _, want := range roleOrder {
					if contains(rs, want) {
						return want
					}
				}
				return rs[0]
			}
			return ""
		}
		if isServer[a] {
			return "servers"
		}
		return RoleClient
	}
	groups := map[string]*graphGroup{}
	hosts := map[netip.Addr]*graphHost{}
	host := func(a netip.Addr) *graphHost {
		if h := hosts[a]; h != nil {
			return h
		}
		gk := groupOf(a)
		gr := groups[gk]
		if gr == nil {
			label := roleLabel(gk)
			if gk == "servers" {
				label = "servers"
			}
			gr = &graphGroup{id: "g" + strconv.Itoa(len(g.groups)), label: label}
			groups[gk] = gr
			g.groups = append(g.groups, gr)
		}
		h := &graphHost{id: "h" + strconv.Itoa(len(g.hosts)), addr: a, name: names[a], group: gr}
		hosts[a] = h
		gr.hosts = append(gr.hosts, h)
		g.hosts = append(g.hosts, h)
		return h
	}
	type ekey struct {
		from      *graphGroup
		to        *graphHost
		service   string
		transport string
	}
	edges := map[ekey]*graphEdge{}
	for _, f := range r.kept() {
		c, s := host(f.Client().Addr()), host(f.Server().Addr())
		service := f.Service
		dynamic := false
		if f.RPCInterface != "" {
			service, dynamic = f.RPCInterface, true
		} else if strings.HasPrefix(f.Service, "msrpc") && InDynamicRange(f.Server().Port()) {
			dynamic = true
		}
		k := ekey{c.group, s, service, f.Transport}
		e := edges[k]
		if e == nil {
			e = &graphEdge{from: c.group, to: s, service: service, transport: f.Transport, dynamic: dynamic,
				outcomes: map[string]int{}, lost: map[string]int{}}
			edges[k] = e
			g.edges = append(g.edges, e)
			s.in = append(s.in, e)
		}
		if e.fromHost == nil && !e.manyFrom {
			e.fromHost = c
		} else if e.fromHost != c {
			e.fromHost, e.manyFrom = nil, true
		}
		if !containsPort(e.ports, f.Server().Port()) {
			e.ports = append(e.ports, f.Server().Port())
			sort.Slice(e.ports, func(i, j int) bool { return e.ports[i] < e.ports[j] })
		}
		n := f.Count()
		e.flows += n
		e.outcomes[f.Outcome] += n
		if f.IsFailure() {
			e.failed += n
			if f.points != nil && f.points.lost != "" {
				e.lost[f.points.lost] += n
			}
		}
	}
	// Failed services first on each host, then by port.
	for _, h := range g.hosts {
		sort.SliceStable(h.in, func(i, j int) bool {
			a, b := h.in[i], h.in[j]
			if (a.failed > 0) != (b.failed > 0) {
				return a.failed > 0
			}
			return a.ports[0] < b.ports[0]
		})
	}
	return g
}

func containsPort(list []uint16, p uint16) bool {
	for _, x := range list {
		if x == p {
			return true
		}
	}
	return false
}

// mermaidText makes a string safe inside a quoted Mermaid label.
func mermaidText(s string) string {
	r := strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;", "|", "#124;", "\n", " ", "`", "'", "#", "#35;")
	return r.Replace(s)
}

// Mermaid returns the flowchart of the flows as Mermaid source (without the fence).
func (r *Report) Mermaid() string {
	g := r.buildGraph()
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, gr := range g.groups {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", gr.id, mermaidText(gr.label))
		for _, h := range gr.hosts {
			label := h.addr.String()
			if h.name != "" {
				label += "<br/>" + mermaidText(h.name)
			}
			fmt.Fprintf(&b, "    %s[\"%s\"]\n", h.id, label)
		}
		b.WriteString("  end\n")
	}
	var styles []string
	for i, e := range g.edges {
		from := e.from.id
		if e.fromHost != nil {
			from = e.fromHost.id
		}
		label := e.service + " " + e.portsLabel()
		if e.failed > 0 {
			label += ": " + e.outcomeLabel()
		}
		arrow := "-->"
		if e.dynamic {
			arrow = "-.->"
			label += " (dynamic RPC)"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", from, arrow, mermaidText(label), e.to.id)
		color := "#1a7f37"
		if e.failed > 0 {
			color = "#cf222e"
		}
		style := "stroke:" + color + ",stroke-width:2px"
		if e.dynamic {
			style += ",stroke-dasharray:5 5"
		}
		styles = append(styles, fmt.Sprintf("  linkStyle %d %s", i, style))
	}
	for _, s := range styles {
		b.WriteString(s + "\n")
	}
	return b.String()
}

// mdCell makes a string safe in a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return " "
	}
	return s
}

// WriteMarkdown writes the report as Markdown with a Mermaid flowchart.
func (r *Report) WriteMarkdown(w io.Writer) error {
	bw := &errWriter{w: w}
	var files []string
	for _, c := range r.Captures {
		files = append(files, "`"+filepath.Base(c.File)+"`")
	}
	s := r.Summary
	bw.printf("# adcsflow report: %s\n\n", strings.Join(files, ", "))
	span := ""
	if !s.First.IsZero() {
		span = fmt.Sprintf(", %s (%s - %s UTC)", fmtDuration(s.Last.Sub(s.First)),
			s.First.Format("2006-01-02 15:04:05"), s.Last.Format("15:04:05"))
	}
	bw.printf("%d packets, %d flows%s\n\n", s.Packets, s.Flows, span)
	icon := "✅"
	if s.FailedFlows > 0 {
		icon = "❌"
	}
	bw.printf("**Verdict:** %s %s\n\n", icon, s.Verdict)
	failed := r.FailedFlows()
	sort.SliceStable(failed, func(i, j int) bool { return failureRank(failed[i]) < failureRank(failed[j]) })
	if len(failed) > 0 {
		bw.printf("## Failed flows\n\n| client | server | service | outcome | where lost | evidence |\n|---|---|---|---|---|---|\n")
		for _, f := range failed {
			where := ""
			if f.points != nil && f.points.lost != "" {
				where = lostWords(f.points.lost)
			}
			bw.printf("| %s | %s/%s | %s | %s | %s | %s |\n", f.Client.Addr(), f.Server, f.Transport, mdCell(serviceLabel(f)),
				f.Outcome, mdCell(where), mdCell(failureWords(f)))
		}
		bw.printf("\n")
	}
	if lines := r.LostLines(); r.TwoPoint != nil {
		bw.printf("## Where the packets were lost\n\n")
		for _, p := range r.TwoPoint.Points {
			file := ""
			if p.Name != filepath.Base(p.File) {
				file = " (`" + filepath.Base(p.File) + "`)"
			}
			bw.printf("- point **%s**%s: %s clock %s\n", mdCell(p.Name), file, sideWords(p.Side), p.ClockOffsetText)
		}
		for _, n := range r.TwoPoint.Notes {
			bw.printf("- ⚠ %s\n", n)
		}
		bw.printf("\n")
		for _, l := range lines {
			bw.printf("- %s\n", l)
		}
		if len(lines) > 0 {
			bw.printf("\n")
		}
	}
	if len(r.flows) > 0 {
		bw.printf("## Flows\n\nGreen: got through; red: blocked (the outcome is on the arrow); dashed: dynamic RPC.\n\n```mermaid\n%s```\n\n", r.Mermaid())
	}
	if lines := r.DynamicRPCLines(); len(lines) > 0 {
		bw.printf("## Dynamic RPC\n\n")
		for _, l := range lines {
			bw.printf("- %s\n", l)
		}
		bw.printf("\n")
	}
	if len(r.Diff) > 0 {
		bw.printf("## Against the baseline \"%s\"\n\n| status | flow | flows | why |\n|---|---|---|---|\n", mdCell(r.Diff[0].Baseline))
		for _, d := range r.Diff {
			bw.printf("| %s | %s | %d | %s |\n", d.Status, mdCell(d.Rule), len(d.Flows), mdCell(d.Reason))
		}
		bw.printf("\n")
	}
	if len(r.Rules) > 0 {
		bw.printf("## Rules\n\n| from | to | proto | ports | why |\n|---|---|---|---|---|\n")
		for _, ru := range r.Rules {
			bw.printf("| %s | %s | %s | %s | %s |\n", mdCell(strings.Join(ru.From, ", ")), mdCell(strings.Join(ru.To, ", ")),
				ru.Transport, mdCell(ru.Ports), mdCell(ru.Why))
		}
		bw.printf("\n")
	}
	if len(r.Hosts) > 0 {
		bw.printf("## Hosts\n\n| address | names | roles |\n|---|---|---|\n")
		for _, h := range r.Hosts {
			bw.printf("| %s | %s | %s |\n", h.Addr, mdCell(strings.Join(h.Names, ", ")), mdCell(strings.Join(h.Roles, ", ")))
		}
		bw.printf("\n")
	}
	if len(r.Flows) > 0 {
		bw.printf("## All flows\n\n| client | server | service | outcome | packets | details |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Flows {
			svc := f.Service
			if f.RPCInterface != "" {
				svc = f.RPCInterface + " (" + f.Service + ")"
			}
			out := f.Outcome
			if f.LostAt != "" {
				out += " (" + lostWords(f.LostAt) + ")"
			}
			bw.printf("| %s:%d | %s:%d/%s | %s | %s | %d | %s |\n", f.Client, f.ClientPort, f.Server, f.ServerPort, f.Transport,
				mdCell(svc), out, f.Packets, mdCell(f.Summary))
		}
		bw.printf("\n")
	} else if r.Summary.Flows > 0 {
		bw.printf("## All flows\n\n%d flows: too many to list here; `--format csv` or `--format json` lists every one.\n\n", r.Summary.Flows)
	}
	return bw.err
}
