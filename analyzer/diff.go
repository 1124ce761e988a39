package analyzer

import (
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

const maxDiffFlows = 200

// Diff statuses.
const (
	DiffOK          = "ok"
	DiffBlocked     = "blocked"
	DiffNotObserved = "not-observed"
	DiffExtra       = "extra"
)

// DiffAgainst compares the capture's flows with a baseline: one row per baseline row (ok,
// blocked, not-observed), then one "extra" row per group of observed flows no row covers,
// with the reason the complete baseline gives for it. Roles come from r.Hosts (ApplyRoles).
func (r *Report) DiffAgainst(b *Baseline) []DiffRow {
	complete := mustBuiltin("complete")
	var sums endpointSums
	roles := map[netip.Addr][]string{}
	for _, h := range r.Hosts {
		roles[h.Addr] = h.Roles
	}
	relevant := make([]flowView, 0, len(r.kept()))
	for _, f := range r.kept() {
		if enrollmentRelevant(f.Flow) {
			relevant = append(relevant, f)
		}
	}
	// The roles seen acting as client and as server in the capture.
	acting := [2]map[string]bool{{}, {}}
	for _, f := range relevant {
		for _, role := range roles[f.Client().Addr()] {
			acting[0][role] = true
		}
		for _, role := range roles[f.Server().Addr()] {
			acting[1][role] = true
		}
	}
	present := func(want []string, client bool) bool {
		side := acting[1]
		if client {
			side = acting[0]
		}
		for _, w := range want {
			if w == RoleAny || side[w] {
				return true
			}
		}
		return false
	}
	covered := make([]bool, len(relevant))
	var out []DiffRow
	for i := range b.Rows {
		row := &b.Rows[i]
		strictC, strictS := present(row.From, true), present(row.To, false)
		var matched []flowView
		for j, f := range relevant {
			if !row.matchesPort(f.Flow, f.Server().Port()) {
				continue
			}
			if strictC && !hasRole(roles[f.Client().Addr()], row.From) {
				continue
			}
			if strictS && !hasRole(roles[f.Server().Addr()], row.To) {
				continue
			}
			matched = append(matched, f)
			covered[j] = true
		}
		d := DiffRow{Baseline: b.Name, Title: b.Title, Rule: row.Label(), RowID: row.ID, Required: row.Required()}
		if len(matched) > 0 {
			var notes []string
			if !strictC {
				notes = append(notes, fmt.Sprintf("no host in the role %s opened a flow in this capture: matched any client (%s)",
					roleList(row.From, true), addrList(matched, true)))
			}
			if !strictS {
				notes = append(notes, fmt.Sprintf("no host was seen in the role %s: matched any server (%s)",
					roleList(row.To, false), addrList(matched, false)))
			}
			d.Match = strings.Join(notes, "; ")
		}
		r.fillDiffRow(&d, matched, &sums)
		switch {
		case len(matched) == 0:
			d.Status = DiffNotObserved
			d.Reason = "not seen in the capture"
			if cr := complete.explain(row.transports, row.ports, row.From, row.To); cr != nil && cr.Optional {
				d.Reason += "; " + cr.Reason
			}
		case len(d.Blocked) > 0:
			d.Status = DiffBlocked
		default:
			d.Status = DiffOK
		}
		if d.Match != "" {
			d.Reason = joinNonEmpty("; ", d.Reason, d.Match)
		}
		out = append(out, d)
	}
	// Extra: observed flows no row covers, grouped by transport and port (dynamic RPC ports
	// as one group).
	type groupKey struct {
		transport string
		port      int // -1: dynamic
	}
	groups := map[groupKey][]flowView{}
	var order []groupKey
	for i, f := range relevant {
		if covered[i] {
			continue
		}
		k := groupKey{f.Transport, int(f.Server().Port())}
		if dynamicFlow(f.Flow) {
			k.port = -1
		}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	rank := func(k groupKey) int {
		f := groups[k][0]
		cr := complete.explainFlow(f, roles)
		for i := range complete.Rows {
			if &complete.Rows[i] == cr {
				return i
			}
		}
		return len(complete.Rows)
	}
	sort.SliceStable(order, func(i, j int) bool {
		ri, rj := rank(order[i]), rank(order[j])
		if ri != rj {
			return ri < rj
		}
		if order[i].port != order[j].port {
			return order[i].port < order[j].port
		}
		return order[i].transport < order[j].transport
	})
	for _, k := range order {
		flows := groups[k]
		f0 := flows[0]
		cr := complete.explainFlow(f0, roles)
		var label string
		if k.port < 0 {
			label = "DCOM/RPC dynamic (" + dynPorts(flows) + ")/tcp"
		} else {
			name := serviceWords(f0.Service)
			label = fmt.Sprintf("%s %d/%s", name, k.port, k.transport)
		}
		label += " " + groupRoles(flows, roles, true) + " -> " + groupRoles(flows, roles, false)
		d := DiffRow{Baseline: b.Name, Title: b.Title, Rule: label, Status: DiffExtra}
		r.fillDiffRow(&d, flows, &sums)
		var reason string
		if cr != nil {
			word := "needed: "
			if cr.Optional {
				word = "optional: "
			}
			reason = word + cr.Reason
			if b.Name == "documented" && cr.VsDocumented != "" {
				reason += "; " + cr.VsDocumented
			}
			d.Required = !cr.Optional
		} else {
			reason = "not in the complete baseline: " + f0.Service + " is not a flow AD CS enrollment is known to need"
		}
		detail := d.Reason
		if len(d.Blocked) > 0 {
			reason = "BLOCKED; " + reason
		}
		if len(d.Blocked) > 0 || strings.Contains(detail, "failed but") {
			reason += "; " + detail
		}
		d.Reason = reason
		out = append(out, d)
	}
	return out
}

// DiffHasBlocked reports whether a required flow was blocked: a blocked baseline row, or a
// blocked extra flow the complete baseline says an enrollment needs.
func DiffHasBlocked(rows []DiffRow) bool {
	for _, d := range rows {
		if d.Required && len(d.Blocked) > 0 && (d.Status == DiffBlocked || d.Status == DiffExtra) {
			return true
		}
	}
	return false
}

func hasRole(have, want []string) bool {
	for _, w := range want {
		if w == RoleAny {
			return true
		}
		for _, h := range have {
			if h == w {
				return true
			}
		}
	}
	return false
}

// fillDiffRow adds the flows and the blocked endpoints: an endpoint (client, server,
// transport, port) is blocked when every flow to it failed.
// At most maxDiffFlows flows are listed per row (FlowsTotal counts them all).
func (r *Report) fillDiffRow(d *DiffRow, flows []flowView, sums *endpointSums) {
	partial := 0
	d.FlowsTotal = countFlows(flows)
	for _, f := range flows {
		if len(d.Flows) == maxDiffFlows {
			break
		}
		if f.m == nil && f.ID < len(r.Flows) && len(r.Flows) == len(r.flows) && r.flows[f.ID] == f.Flow {
			d.Flows = append(d.Flows, r.Flows[f.ID])
		} else {
			d.Flows = append(d.Flows, flowReport(f.flow()))
		}
	}
	if d.Flows == nil {
		d.Flows = []FlowReport{}
	}
	var ok []string
	for _, e := range sums.of(flows) {
		f := e.first
		switch {
		case e.failed == e.flows:
			d.Blocked = append(d.Blocked, sums.blocked(&e, false))
		default:
			partial += e.failed
			b := append(f.Server().Addr().AppendTo(sums.buf[:0]), ':') // an IPv6 address without brackets, as before
			b = append(strconv.AppendUint(b, uint64(f.Server().Port()), 10), '/')
			sums.buf = append(b, f.Transport...)
			ok = append(ok, string(sums.buf))
		}
	}
	var parts []string
	if len(d.Blocked) > 0 {
		parts = append(parts, "blocked: "+strings.Join(uniqueStrings(d.Blocked, 5), "; "))
	}
	if len(ok) > 0 {
		s := "works: " + strings.Join(uniqueStrings(ok, 4), ", ")
		if partial > 0 {
			s += fmt.Sprintf(" (%d flow%s failed but others to the same port got through: not a firewall block)", partial, plural(partial))
		}
		parts = append(parts, s)
	}
	d.Reason = strings.Join(parts, "; ")
}

// endpoint is what the flows of one client to one server endpoint (transport, address,
// port) add up to, for the blocked lists of the diff and the rules.
type endpoint struct {
	first                     flowView // the first of them
	flows, failed, syns, sent int      // flows, failed flows, SYNs, packets to the server
}

// endpointSums adds up flows per client and server endpoint, in the order the endpoints
// first appear. A row or rule can cover a hundred thousand flows: what it holds per endpoint
// is small, the key has no pointers, and one is reused for all the rows (or rules) of an
// analysis: what of returns is valid until the next call.
type endpointSums struct {
	idx  map[sumKey]int32
	out  []endpoint
	buf  []byte
	text []byte // a rule's why as fillRule builds it
}

type sumKey struct {
	client, server [16]byte
	port           uint16
	proto          uint8
	v6             bool // an IPv4-mapped IPv6 address is not the IPv4 address
}

func (s *endpointSums) of(flows []flowView) []endpoint {
	if s.idx == nil || len(s.idx) > 4096 {
		s.idx = map[sumKey]int32{} // clearing a big map costs its size at every call
	} else {
		clear(s.idx)
	}
	out := s.out[:0]
	for _, f := range flows {
		c := f.Client().Addr()
		k := sumKey{c.As16(), f.Server().Addr().As16(), f.Server().Port(), protoOf(f.Transport), !c.Is4()}
		i, seen := s.idx[k]
		if !seen {
			i = int32(len(out))
			s.idx[k] = i
			out = append(out, endpoint{first: f})
		}
		e := &out[i]
		n := f.Count()
		e.flows += n
		if f.IsFailure() {
			e.failed += n
		}
		e.syns += f.SYNs()
		e.sent += f.Packets()[0]
	}
	s.out = out
	return out
}

// appendBlocked appends how the flows to one endpoint failed, after the endpoint as the
// diff (clientFirst false: "tcp/135 10.0.0.1 -> 10.0.0.5:135: ") or the rules (clientFirst:
// "10.0.0.1 -> 10.0.0.5:135/tcp: ") name it.
func (e *endpoint) appendBlocked(b []byte, clientFirst bool) []byte {
	f := e.first
	if clientFirst {
		b = f.Client().Addr().AppendTo(b)
		b = append(b, " -> "...)
		b = f.Server().AppendTo(b)
		b = append(b, '/')
		b = append(b, f.Transport...)
	} else {
		b = append(b, f.Transport...)
		b = append(b, '/')
		b = strconv.AppendUint(b, uint64(f.Server().Port()), 10)
		b = append(b, ' ')
		b = f.Client().Addr().AppendTo(b)
		b = append(b, " -> "...)
		b = f.Server().AppendTo(b)
	}
	b = append(b, ": "...)
	switch f.Outcome {
	case OutcomeNoAnswer:
		b = append(b, "dropped ("...)
		b = appendCount(b, e.syns, "SYN")
		b = append(b, ", no answer)"...)
	case OutcomeReset:
		b = append(b, "refused (the SYN was answered by a reset)"...)
	case OutcomeICMP:
		b = append(b, "ICMP "...)
		b = append(b, f.ICMP.Name()...)
		b = append(b, " from "...)
		b = f.ICMP.From.AppendTo(b)
	case OutcomeUnanswered:
		b = append(b, "no reply to "...)
		b = appendCount(b, e.sent, "datagram")
	default:
		b = append(b, f.Outcome...)
	}
	if f.RPCInterface != "" {
		b = append(b, ", "...)
		b = append(b, f.RPCInterface...)
	}
	if as := f.RPCAssignment; as != nil {
		b = append(b, ", port from "...)
		b = append(b, as.Via...)
		b = append(b, " frame "...)
		b = strconv.AppendInt(b, int64(as.Frame.Frame), 10)
	}
	if n := e.flows; n > 1 {
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " flows"...)
	}
	b = append(b, ", first frame "...)
	b = strconv.AppendInt(b, int64(f.FirstFrame().Frame), 10)
	b = append(b, " at "...)
	return f.First().UTC().AppendFormat(b, "15:04:05.000")
}

// appendCount appends "1 SYN" or "3 SYNs".
func appendCount(b []byte, n int, noun string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	b = append(b, noun...)
	return append(b, plural(n)...)
}

// blocked is appendBlocked as a string, built in the sums' scratch buffer.
func (s *endpointSums) blocked(e *endpoint, clientFirst bool) string {
	s.buf = e.appendBlocked(s.buf[:0], clientFirst)
	return string(s.buf)
}

func uniqueStrings(list []string, max int) []string {
	var out []string
	seen := map[string]bool{}
	more := 0
	for _, s := range list {
		if seen[s] {
			continue
		}
		seen[s] = true
		if len(out) < max {
			out = append(out, s)
		} else {
			more++
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("and %d more", more))
	}
	return out
}

func addrList(flows []flowView, client bool) string {
	var out []string
	for _, f := range flows {
		a := f.Server().Addr()
		if client {
			a = f.Client().Addr()
		}
		out = append(out, a.String())
	}
	return strings.Join(uniqueStrings(out, 3), ", ")
}

func dynPorts(flows []flowView) string {
	var ports []int
	seen := map[int]bool{}
	for _, f := range flows {
		p := int(f.Server().Port())
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	sort.Ints(ports)
	var s []string
	for _, p := range ports {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(uniqueStrings(s, 6), ",")
}

// groupRoles names the roles on one side of a flow group: "clients", "DC", or the
// addresses when no host there has a role.
func groupRoles(flows []flowView, roles map[netip.Addr][]string, client bool) string {
	var names []string
	var bare []string
	seen := map[netip.Addr]bool{}
	for _, f := range flows {
		a := f.Server().Addr()
		if client {
			a = f.Client().Addr()
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		rs := roles[a]
		if len(rs) == 0 {
			bare = append(bare, a.String())
			continue
		}
		for _, r := range rs {
			names = appendUnique(names, roleList([]string{r}, client))
		}
	}
	return strings.Join(append(names, uniqueStrings(bare, 2)...), ", ")
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// explainFlow finds the row of a baseline (the complete one) that covers a flow: the row
// whose transport, ports and roles fit, else the first whose transport and ports fit.
func (b *Baseline) explainFlow(f flowView, roles map[netip.Addr][]string) *BaselineRow {
	var loose *BaselineRow
	for i := range b.Rows {
		row := &b.Rows[i]
		if !row.matchesPort(f.Flow, f.Server().Port()) {
			continue
		}
		if hasRole(roles[f.Client().Addr()], row.From) && hasRole(roles[f.Server().Addr()], row.To) {
			return row
		}
		if loose == nil {
			loose = row
		}
	}
	return loose
}

// explain finds the row of b that overlaps another baseline's row (same transport, a
// common port, a common role on each side).
func (b *Baseline) explain(transports []string, ports PortSet, from, to []string) *BaselineRow {
	for i := range b.Rows {
		row := &b.Rows[i]
		common := false
		for _, t := range transports {
			if contains(row.transports, t) {
				common = true
			}
		}
		if !common || !hasRole(row.From, from) || !hasRole(row.To, to) {
			continue
		}
		if ports.Dynamic && row.ports.Dynamic {
			return row
		}
		for _, r := range ports.Ranges {
			for _, rr := range row.ports.Ranges {
				if r[0] <= rr[1] && rr[0] <= r[1] {
					return row
				}
			}
		}
	}
	return nil
}

// addDiffAndRules gives the report its roles, the diff against the documented table and
// the minimal rule set (what analyze shows by default).
func (r *Report) addDiffAndRules() {
	_ = r.ApplyRoles(nil)
	r.kept() // built here, before the two goroutines read it
	// Both only read the report: on a large capture they take a while, side by side.
	diff := make(chan []DiffRow)
	go func() { diff <- r.DiffAgainst(mustBuiltin("documented")) }()
	r.Rules = r.BuildRules(RuleOptions{})
	r.Diff = <-diff
}

// serviceWords names a service as the diff shows it.
func serviceWords(s string) string {
	switch s {
	case "kerberos":
		return "Kerberos"
	case "ldap":
		return "LDAP"
	case "cldap":
		return "CLDAP"
	case "ldap-gc":
		return "Global Catalog"
	case "ldaps":
		return "LDAPS"
	case "epm":
		return "RPC EPM"
	case "https":
		return "HTTPS"
	case "http":
		return "HTTP"
	case "dns":
		return "DNS"
	case "smb":
		return "SMB"
	case "ntp":
		return "NTP"
	}
	return s
}

// WriteDiffText writes the hosts with their roles and the comparison with the baseline.
func (r *Report) WriteDiffText(w io.Writer, o TextOptions) error {
	bw := &errWriter{w: w}
	r.writeHosts(bw, o)
	r.writeDiff(bw, o)
	var blocked []string
	for _, d := range r.Diff {
		if d.Required && len(d.Blocked) > 0 {
			blocked = append(blocked, d.Blocked...)
		}
	}
	if len(blocked) > 0 {
		bw.printf("VERDICT  %d required flow%s blocked:\n", len(blocked), plural(len(blocked)))
		for _, b := range blocked {
			bw.printf("  x %s\n", b)
		}
	} else {
		bw.printf("VERDICT  no required flow was blocked\n")
	}
	return bw.err
}
