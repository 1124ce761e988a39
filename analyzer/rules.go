package analyzer

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RuleOptions tune the rule set.
type RuleOptions struct {
	// AggregateV4 / AggregateV6 widen the sources to prefixes of that length (0: exact
	// addresses). Only on request: a wider source allows more than the capture proves.
	AggregateV4 int
	AggregateV6 int
}

// ParseAggregate parses "--aggregate /24", "24", or "/24,/64" (IPv4, then IPv6).
func ParseAggregate(s string) (RuleOptions, error) {
	var o RuleOptions
	parts := strings.Split(s, ",")
	if len(parts) > 2 {
		return o, fmt.Errorf("--aggregate %q: want /N (IPv4) or /N,/M (IPv4, IPv6)", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(p), "/"))
		max := 32
		if i == 1 {
			max = 128
		}
		if err != nil || n < 1 || n > max {
			return o, fmt.Errorf("--aggregate %q: %q is not a prefix length 1-%d", s, p, max)
		}
		if i == 0 {
			o.AggregateV4 = n
		} else {
			o.AggregateV6 = n
		}
	}
	return o, nil
}

// At most maxRuleEvidence flows are listed per rule (FlowCount counts them all).
const maxRuleEvidence = 50

// RuleEvidence is one flow a rule is for.
type RuleEvidence struct {
	Client     string `json:"client"`
	Server     string `json:"server"`
	Port       uint16 `json:"port"`
	Service    string `json:"service"`
	Outcome    string `json:"outcome"`
	FirstFrame int    `json:"first_frame"`
	First      string `json:"first"`
	Capture    string `json:"capture,omitempty"`
}

// Pinning advice for the CA's DCOM enrollment interface (docs/adcs-flows.md section 5).
const pinCAAdvice = `pin the CA's DCOM port instead: registry value Endpoints (REG_MULTI_SZ) = ncacn_ip_tcp,0,<port> under HKLM\SOFTWARE\Classes\AppID\{D99E6E74-FC88-11D0-B498-00A0C90312F3} ("CertSvc Request" in dcomcnfg), restart CertSvc; then tcp/135 and that one port suffice`

const pinRPCAdvice = `restrict the server's RPC dynamic range with the Rpc\Internet registry keys (KB 154596)`

// parallelRuleEntries is the number of flows (views) from which BuildRules uses two
// goroutines (a variable so that the test can make it small).
var parallelRuleEntries = 20000

// BuildRules returns the minimal rule set that allows exactly the flows the capture shows
// used or tried (blocked attempts included): one rule per (sources, destination, transport,
// ports), where ports with the same sources share a rule and sources with the same ports
// share a rule, so a rule never allows a (source, port) pair the capture did not show.
// Dynamic RPC ports get their own rules, with the range and the way to pin the port.
func (r *Report) BuildRules(o RuleOptions) []Rule {
	hosts := map[netip.Addr]*Host{}
	for _, h := range r.Hosts {
		hosts[h.Addr] = h
	}
	// Blocked and working flows never share a rule, so the rules to add stand apart.
	type groupKey struct {
		dst       netip.Addr
		transport string
		dyn       bool
		blocked   bool
	}
	groupOf := map[groupKey]int32{}
	var gorder []groupKey
	epm := map[netip.Addr]bool{}
	// An endpoint (source, destination, transport, port) is blocked when every flow to it
	// failed. Plain-byte keys: there is one per client and server port.
	type epKey struct {
		src, dst [16]byte
		bits     int16
		port     uint16
		proto    uint8
		v6       bool
	}
	key := func(f flowView) epKey {
		src := sourcePrefix(f.Client().Addr(), o)
		return epKey{src.Addr().As16(), f.Server().Addr().As16(), int16(src.Bits()), f.Server().Port(), protoOf(f.Transport), !src.Addr().Is4()}
	}
	works := map[epKey]bool{}
	for _, f := range r.kept() {
		if enrollmentRelevant(f.Flow) && !f.IsFailure() {
			works[key(f)] = true
		}
	}
	// Each relevant flow, under its group, server port and source; sorted by those (and
	// in flow order within an atom), a group's ports and each port's sources are runs.
	// A source is its rank among the distinct sources (prefixes), so an entry is 32 bytes
	// and compares by integers: there is one per client and server port.
	type entry struct {
		group int32
		idx   int32 // appended in flow order: ties keep it
		src   int32 // prefixes[src]
		port  uint16
		f     flowView
	}
	var prefixes []netip.Prefix
	prefixID := map[netip.Prefix]int32{}
	entries := make([]entry, 0, len(r.kept()))
	for _, f := range r.kept() {
		if !enrollmentRelevant(f.Flow) {
			continue
		}
		if f.Transport == "tcp" && f.Server().Port() == 135 {
			epm[f.Server().Addr()] = true
		}
		k := groupKey{f.Server().Addr(), f.Transport, dynamicFlow(f.Flow), !works[key(f)]}
		g, ok := groupOf[k]
		if !ok {
			g = int32(len(gorder))
			groupOf[k] = g
			gorder = append(gorder, k)
		}
		p := sourcePrefix(f.Client().Addr(), o)
		id, ok := prefixID[p]
		if !ok {
			id = int32(len(prefixes))
			prefixID[p] = id
			prefixes = append(prefixes, p)
		}
		entries = append(entries, entry{g, int32(len(entries)), id, f.Server().Port(), f})
	}
	prefixID = nil
	rank := make([]int32, len(prefixes)) // prefix id -> rank
	byRank := make([]int32, len(prefixes))
	for i := range byRank {
		byRank[i] = int32(i)
	}
	slices.SortFunc(byRank, func(a, b int32) int {
		return comparePrefix(prefixes[a], prefixes[b])
	})
	sorted := make([]netip.Prefix, len(prefixes))
	for r, id := range byRank {
		rank[id] = int32(r)
		sorted[r] = prefixes[id]
	}
	prefixes = sorted
	for i := range entries {
		entries[i].src = rank[entries[i].src]
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := cmp.Compare(a.group, b.group); c != 0 {
			return c
		}
		if c := cmp.Compare(a.port, b.port); c != 0 {
			return c
		}
		if c := cmp.Compare(a.src, b.src); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	srcKey := make([]string, len(prefixes)) // a source as the key of a source set writes it
	for i, p := range prefixes {
		srcKey[i] = p.String() + " "
	}
	// The rules of the groups from entries[from] to entries[to]; each call has its own
	// scratch, so two can run side by side.
	build := func(from, to int) []Rule {
		names := addrNames{}
		var sums endpointSums
		var rules []Rule
		var timed []timedView
		for gs := from; gs < to; {
			k := gorder[entries[gs].group]
			ge := gs
			for ge < len(entries) && entries[ge].group == entries[gs].group {
				ge++
			}
			// Ports with the same source set share a rule.
			bySources := map[string][]uint16{}
			srcsOf := map[string][]netip.Prefix{}
			portAt := map[uint16][2]int{} // the port's entries
			var sorder []string
			for ps := gs; ps < ge; {
				port := entries[ps].port
				pe := ps
				var srcs []netip.Prefix
				var kb strings.Builder
				for pe < ge && entries[pe].port == port {
					if src := entries[pe].src; pe == ps || src != entries[pe-1].src {
						srcs = append(srcs, prefixes[src])
						kb.WriteString(srcKey[src])
					}
					pe++
				}
				portAt[port] = [2]int{ps, pe}
				key := kb.String()
				if bySources[key] == nil {
					sorder = append(sorder, key)
					srcsOf[key] = srcs
				}
				bySources[key] = append(bySources[key], port)
				ps = pe
			}
			sort.Strings(sorder)
			for _, key := range sorder {
				ports := bySources[key] // ascending: the entries are sorted by port
				var srcs []string
				for _, s := range srcsOf[key] {
					srcs = append(srcs, names.prefix(s))
				}
				// The rule's flows in the order they started (each start time made once:
				// a member's is made from its Unix nanoseconds).
				timed = timed[:0]
				for _, p := range ports {
					at := portAt[p]
					for _, e := range entries[at[0]:at[1]] {
						timed = append(timed, timedView{e.f.First(), e.f})
					}
				}
				slices.SortStableFunc(timed, func(a, b timedView) int { return a.t.Compare(b.t) })
				flows := make([]flowView, len(timed))
				for i := range timed {
					flows[i] = timed[i].v
				}
				to := k.dst.String()
				rule := Rule{From: srcs, To: []string{to}, Transport: k.transport, Ports: portsString(ports),
					portList: ports, Dynamic: k.dyn, family6: k.dst.Is6() && !k.dst.Is4In6(), toOrder: parseSource(to)}
				if h := hosts[k.dst]; h != nil {
					rule.ToNames = h.Names
					rule.ToRoles = h.Roles
				}
				r.fillRule(&rule, flows, epm[k.dst], names, &sums)
				rules = append(rules, rule)
			}
			gs = ge
		}
		return rules
	}
	// On a large capture the first half of the groups and the second are built on two
	// goroutines and put back in group order: the same rules as one pass.
	split := len(entries)
	if len(entries) >= parallelRuleEntries {
		split = len(entries) / 2
		for split < len(entries) && entries[split].group == entries[split-1].group {
			split++
		}
	}
	var rules []Rule
	if split < len(entries) {
		second := make(chan []Rule)
		go func() { second <- build(split, len(entries)) }()
		rules = build(0, split)
		rules = append(rules, <-second...)
	} else {
		rules = build(0, len(entries))
	}
	slices.SortStableFunc(rules, func(a, b Rule) int {
		if (a.Status == "blocked") != (b.Status == "blocked") {
			if a.Status == "blocked" {
				return -1 // the rules to add first
			}
			return 1
		}
		if a.To[0] != b.To[0] {
			return comparePrefix(a.toOrder, b.toOrder)
		}
		if a.Dynamic != b.Dynamic {
			if a.Dynamic {
				return 1
			}
			return -1
		}
		if c := cmp.Compare(a.portList[0], b.portList[0]); c != 0 {
			return c
		}
		return cmp.Compare(a.Transport, b.Transport)
	})
	return rules
}

// sourcePrefix is a flow's source as a rule sees it: the address, or its prefix when
// aggregating.
func sourcePrefix(a netip.Addr, o RuleOptions) netip.Prefix {
	bits := o.AggregateV4
	if a.Is6() && !a.Is4In6() {
		bits = o.AggregateV6
	}
	if bits == 0 || bits >= a.BitLen() {
		return netip.PrefixFrom(a, a.BitLen())
	}
	p, _ := a.Prefix(bits)
	return p
}

// addrNames prints each address once for a whole rule set: the same few thousand clients
// appear in many rules.
type addrNames map[netip.Prefix]string

func (n addrNames) prefix(p netip.Prefix) string {
	s, ok := n[p]
	if !ok {
		s = sourceString(p)
		n[p] = s
	}
	return s
}

func (n addrNames) addr(a netip.Addr) string { return n.prefix(netip.PrefixFrom(a, a.BitLen())) }

// sourceString prints a single address without its /32 or /128.
func sourceString(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// timedView is a flow and its start time, for sorting.
type timedView struct {
	t time.Time
	v flowView
}

// comparePrefix orders prefixes by address, then length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func ruleSource(a netip.Addr, o RuleOptions) string {
	bits := o.AggregateV4
	if a.Is6() && !a.Is4In6() {
		bits = o.AggregateV6
	}
	if bits == 0 || bits >= a.BitLen() {
		return a.String()
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return a.String()
	}
	return p.String()
}

func parseSource(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, a.BitLen())
}

func lessAddrString(a, b string) bool {
	return comparePrefix(parseSource(a), parseSource(b)) < 0
}

func sortAddrStrings(list []string) {
	type kv struct {
		s string
		p netip.Prefix
	}
	tmp := make([]kv, len(list))
	for i, s := range list {
		tmp[i] = kv{s, parseSource(s)}
	}
	sort.Slice(tmp, func(i, j int) bool {
		if c := tmp[i].p.Addr().Compare(tmp[j].p.Addr()); c != 0 {
			return c < 0
		}
		return tmp[i].p.Bits() < tmp[j].p.Bits()
	})
	for i := range tmp {
		list[i] = tmp[i].s
	}
}

// portRanges collapses sorted ports into ranges.
func portRanges(ports []uint16) [][2]uint16 {
	var out [][2]uint16
	for _, p := range ports {
		if n := len(out); n > 0 && out[n-1][1]+1 == p {
			out[n-1][1] = p
			continue
		}
		out = append(out, [2]uint16{p, p})
	}
	return out
}

// portsText formats ports with a range separator ("-" or ":"); runs of 3 or more become
// ranges.
func portsText(ports []uint16, rangeSep, listSep string) string {
	var parts []string
	for _, r := range portRanges(ports) {
		switch {
		case r[0] == r[1]:
			parts = append(parts, strconv.Itoa(int(r[0])))
		case r[1] == r[0]+1:
			parts = append(parts, strconv.Itoa(int(r[0])), strconv.Itoa(int(r[1])))
		default:
			parts = append(parts, strconv.Itoa(int(r[0]))+rangeSep+strconv.Itoa(int(r[1])))
		}
	}
	return strings.Join(parts, listSep)
}

func portsString(ports []uint16) string { return portsText(ports, "-", ",") }

// fillRule writes the justification: the flows, their outcomes, first frame and time, and
// for dynamic RPC ports the warning, the range and how to pin the port.
func (r *Report) fillRule(rule *Rule, flows []flowView, epmSeen bool, names addrNames, sums *endpointSums) {
	multi := len(r.Captures) > 1
	caIface := false
	for _, f := range flows {
		rule.Services = appendUnique(rule.Services, serviceLabel(f.Flow))
		rule.FlowCount += f.Count()
		if caInterfaces[f.RPCInterface] || strings.Contains(f.RPCInterface, "CCertRequestD") {
			caIface = true
		}
		if len(rule.Evidence) >= maxRuleEvidence {
			continue
		}
		ref := f.FirstFrame()
		ev := RuleEvidence{Client: names.addr(f.Client().Addr()), Server: names.addr(f.Server().Addr()), Port: f.Server().Port(),
			Service: serviceLabel(f.Flow), Outcome: f.Outcome, FirstFrame: ref.Frame,
			First: f.First().UTC().Format("2006-01-02T15:04:05.000Z")}
		if multi && ref.File < len(r.Captures) {
			ev.Capture = r.Captures[ref.File].File
		}
		rule.Evidence = append(rule.Evidence, ev)
	}
	for i, e := range sums.of(flows) {
		if e.failed == e.flows {
			rule.Unblocks = append(rule.Unblocks, sums.blocked(&sums.out[i], true))
		}
	}
	rule.Status = "in-use"
	if len(rule.Unblocks) > 0 {
		rule.Status = "blocked"
	}
	// Why: per port, the services, how many flows, their outcomes and the first one.
	var parts []string
	byPort := map[uint16][]flowView{}
	for _, f := range flows {
		byPort[f.Server().Port()] = append(byPort[f.Server().Port()], f)
	}
	for _, p := range rule.portList {
		pf := byPort[p]
		var svcs []string
		outc := map[string]int{}
		for _, f := range pf {
			svcs = appendUnique(svcs, serviceLabel(f.Flow))
			outc[f.Outcome] += f.Count()
		}
		f0, n := pf[0], countFlows(pf)
		parts = append(parts, fmt.Sprintf("%d/%s %s: %d flow%s (%s), first frame %d at %s",
			p, rule.Transport, strings.Join(svcs, ", "), n, plural(n), outcomeCounts(outc),
			f0.FirstFrame().Frame, f0.First().UTC().Format("15:04:05.000")))
	}
	// Why holds the unblocked flows and the warning too: those fields are slices of it
	// (a rule set can have thousands of rules, each with a long warning).
	why := sums.text[:0] // the scratch of this goroutine
	var spans [][2]int
	if len(rule.Unblocks) > 0 {
		why = append(why, "UNBLOCKS "...)
		for i, u := range rule.Unblocks {
			if i > 0 {
				why = append(why, "; "...)
			}
			spans = append(spans, [2]int{len(why), len(why) + len(u)})
			why = append(why, u...)
		}
		why = append(why, ". "...)
	}
	for i, p := range parts {
		if i > 0 {
			why = append(why, "; "...)
		}
		why = append(why, p...)
	}
	warning := -1
	if rule.Dynamic {
		var ranges []string
		old, modern := false, false
		for _, p := range rule.portList {
			if p >= OldDynamicLow && p <= OldDynamicHigh {
				old = true
			} else {
				modern = true
			}
		}
		if old {
			ranges = append(ranges, fmt.Sprintf("%d-%d", OldDynamicLow, OldDynamicHigh))
		}
		if modern {
			ranges = append(ranges, fmt.Sprintf("%d-%d", DynamicLow, DynamicHigh))
		}
		rule.DynamicRange = strings.Join(ranges, ",")
		w := fmt.Sprintf("dynamic RPC: port%s %s %s handed out at run time and change%s when the service restarts; open tcp %s to %s from these sources (the server's RPC dynamic range%s), ",
			plural(len(rule.portList)), rule.Ports, map[bool]string{true: "were", false: "was"}[len(rule.portList) > 1],
			map[bool]string{true: "", false: "s"}[len(rule.portList) > 1], rule.DynamicRange, rule.To[0],
			map[bool]string{true: ": the capture shows the old Windows 2000/XP/2003 range", false: " on Windows Vista/Server 2008 and later"}[old])
		if caIface || contains(rule.ToRoles, RoleCA) {
			w += "or " + pinCAAdvice
		} else {
			w += "or " + pinRPCAdvice
		}
		if !epmSeen {
			w += fmt.Sprintf("; tcp/135 to %s is not in the capture but the client needs it to learn the port", rule.To[0])
		}
		why = append(why, ". "...)
		warning = len(why)
		why = append(why, w...)
	}
	rule.Why = string(why)
	sums.text = why
	for i, sp := range spans {
		rule.Unblocks[i] = rule.Why[sp[0]:sp[1]]
	}
	if warning >= 0 {
		rule.Warning = rule.Why[warning:]
	}
}

// RuleFormats lists the --format values of WriteRules.
var RuleFormats = []string{"table", "csv", "json", "powershell", "netsh", "nftables", "iptables", "ip6tables"}

// WriteRules writes a rule set in one of RuleFormats. source names the captures.
func WriteRules(w io.Writer, rules []Rule, format, source string, width int) error {
	ew := &errWriter{w: w}
	switch format {
	case "table", "text":
		if len(rules) == 0 {
			ew.printf("no flows to allow\n")
			return ew.err
		}
		writeRulesText(ew, rules, width)
	case "csv":
		cw := csv.NewWriter(ew)
		cw.Write([]string{"status", "from", "to", "transport", "ports", "dynamic_range", "services", "why"})
		for _, r := range rules {
			cw.Write([]string{r.Status, strings.Join(r.From, " "), strings.Join(r.To, " "), r.Transport, r.Ports,
				r.DynamicRange, strings.Join(r.Services, " "), r.Why})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "json":
		if rules == nil {
			rules = []Rule{}
		}
		enc := json.NewEncoder(ew)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"version": ReportVersion, "source": source, "rules": rules}); err != nil {
			return err
		}
	case "powershell":
		writePowerShell(ew, rules, source)
	case "netsh":
		writeNetsh(ew, rules, source)
	case "nftables":
		writeNftables(ew, rules, source)
	case "iptables":
		writeIptables(ew, rules, source, false)
	case "ip6tables":
		writeIptables(ew, rules, source, true)
	default:
		return fmt.Errorf("unknown rules format %q (%s)", format, strings.Join(RuleFormats, ", "))
	}
	return ew.err
}

func writeRulesText(w *errWriter, rules []Rule, width int) {
	blocked := 0
	for _, r := range rules {
		if r.Status == "blocked" {
			blocked++
		}
	}
	w.printf("RULES TO ADD: %d of %d rules would unblock flows the capture saw fail; the others allow what already works\n", blocked, len(rules))
	w.printf("(minimal set: exactly the flows the capture used or tried; `adcsflow rules --format powershell|netsh|nftables|iptables` prints them for a firewall)\n")
	t := TextTable(w, width)
	t.Header("#", "STATUS", "FROM", "TO", "PROTO", "PORTS", "SERVICES")
	for i, r := range rules {
		to := strings.Join(r.To, ",")
		if len(r.ToRoles) > 0 {
			to += " (" + strings.Join(r.ToRoles, ",") + ")"
		}
		t.Append([]string{strconv.Itoa(i + 1), r.Status, strings.Join(r.From, ","), to, r.Transport, r.Ports,
			strings.Join(r.Services, ", ")})
	}
	t.Render()
	for i, r := range rules {
		w.printf("  %d. %s\n", i+1, r.Why)
	}
	w.printf("\n")
}

// asciiText keeps printable ASCII and turns the rest into spaces or '?'.
func asciiText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			b.WriteByte(' ')
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// psQuote quotes a PowerShell single-quoted string: ' doubles, and the typographic quotes
// PowerShell also treats as single quotes cannot occur (ASCII only).
func psQuote(s string) string {
	return "'" + strings.ReplaceAll(asciiText(s), "'", "''") + "'"
}

func ruleTitle(i int, r Rule) string {
	return fmt.Sprintf("adcsflow %d: %s %s from %s", i+1, strings.ToUpper(r.Transport), r.Ports, truncate(strings.Join(r.From, ","), 80))
}

func ruleDescription(r Rule) string {
	return truncate(r.Why, 1000)
}

func groupByDestination(rules []Rule) ([]string, map[string][]int) {
	by := map[string][]int{}
	var order []string
	for i, r := range rules {
		d := r.To[0]
		if by[d] == nil {
			order = append(order, d)
		}
		by[d] = append(by[d], i)
	}
	sortAddrStrings(order)
	return order, by
}

func destinationHeader(r Rule) string {
	s := r.To[0]
	var extra []string
	if len(r.ToNames) > 0 {
		extra = append(extra, strings.Join(r.ToNames, ", "))
	}
	if len(r.ToRoles) > 0 {
		extra = append(extra, "roles: "+strings.Join(r.ToRoles, ", "))
	}
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, "; ") + ")"
	}
	return asciiText(s)
}

func commentLines(w *errWriter, prefix, text string) {
	for _, l := range wrapWords(asciiText(text), 100) {
		w.printf("%s%s\n", prefix, l)
	}
}

func wrapWords(s string, width int) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}

func writePowerShell(w *errWriter, rules []Rule, source string) {
	w.printf("# adcsflow: Windows Firewall inbound allow rules for what %s used or tried.\n", asciiText(source))
	w.printf("# Run each section in an elevated PowerShell on the destination host it names. Each rule\n")
	w.printf("# allows exactly the listed remote addresses to the listed local ports, nothing more.\n")
	order, by := groupByDestination(rules)
	for _, d := range order {
		w.printf("\n# ---- on %s ----\n", destinationHeader(rules[by[d][0]]))
		for _, i := range by[d] {
			r := rules[i]
			if r.Status == "blocked" {
				commentLines(w, "# ", "BLOCKED in the capture; this rule unblocks: "+strings.Join(r.Unblocks, "; "))
			}
			w.printf("New-NetFirewallRule -DisplayName %s -Direction Inbound -Action Allow -Protocol %s -LocalAddress %s -LocalPort %s -RemoteAddress %s -Group %s -Description %s\n",
				psQuote(ruleTitle(i, r)), strings.ToUpper(r.Transport), r.To[0], portsText(r.portList, "-", ","),
				strings.Join(r.From, ","), psQuote("adcsflow"), psQuote(ruleDescription(r)))
			if r.Dynamic {
				commentLines(w, "# ", fmt.Sprintf("Dynamic RPC: the port(s) of rule %d change when the service restarts. Instead of rule %d use the range, or Windows' dynamic-RPC keyword, or pin the port:", i+1, i+1))
				w.printf("#   New-NetFirewallRule -DisplayName %s -Direction Inbound -Action Allow -Protocol TCP -LocalAddress %s -LocalPort %s -RemoteAddress %s -Group %s\n",
					psQuote(fmt.Sprintf("adcsflow %d: RPC dynamic range", i+1)), r.To[0], r.DynamicRange, strings.Join(r.From, ","), psQuote("adcsflow"))
				w.printf("#   New-NetFirewallRule -DisplayName %s -Direction Inbound -Action Allow -Protocol TCP -LocalAddress %s -LocalPort RPC -RemoteAddress %s -Group %s\n",
					psQuote(fmt.Sprintf("adcsflow %d: RPC dynamic (keyword)", i+1)), r.To[0], strings.Join(r.From, ","), psQuote("adcsflow"))
				commentLines(w, "#   ", pinAdviceFor(r))
			}
		}
	}
}

func pinAdviceFor(r Rule) string {
	if strings.Contains(r.Warning, "AppID") {
		return pinCAAdvice
	}
	return pinRPCAdvice
}

func netshQuote(s string) string {
	s = asciiText(s)
	s = strings.NewReplacer(`"`, "'", "%", " pct").Replace(s)
	return `"` + s + `"`
}

func writeNetsh(w *errWriter, rules []Rule, source string) {
	w.printf("rem adcsflow: Windows Firewall inbound allow rules (netsh) for what %s used or tried.\n", netshQuote(source))
	w.printf("rem Run each section in an elevated command prompt on the destination host it names.\n")
	order, by := groupByDestination(rules)
	for _, d := range order {
		w.printf("\nrem ---- on %s ----\n", strings.ReplaceAll(destinationHeader(rules[by[d][0]]), "%", " pct"))
		for _, i := range by[d] {
			r := rules[i]
			w.printf("netsh advfirewall firewall add rule name=%s dir=in action=allow protocol=%s localip=%s localport=%s remoteip=%s description=%s\n",
				netshQuote(ruleTitle(i, r)), strings.ToUpper(r.Transport), r.To[0], portsText(r.portList, "-", ","),
				strings.Join(r.From, ","), netshQuote(ruleDescription(r)))
			if r.Dynamic {
				w.printf("rem Dynamic RPC: the port(s) of rule %d change when the service restarts; instead open the range or use the RPC keyword:\n", i+1)
				w.printf("rem   netsh advfirewall firewall add rule name=%s dir=in action=allow protocol=TCP localip=%s localport=%s remoteip=%s\n",
					netshQuote(fmt.Sprintf("adcsflow %d: RPC dynamic range", i+1)), r.To[0], r.DynamicRange, strings.Join(r.From, ","))
				w.printf("rem   netsh advfirewall firewall add rule name=%s dir=in action=allow protocol=TCP localip=%s localport=RPC remoteip=%s\n",
					netshQuote(fmt.Sprintf("adcsflow %d: RPC dynamic (keyword)", i+1)), r.To[0], strings.Join(r.From, ","))
				commentLines(w, "rem   ", strings.ReplaceAll(pinAdviceFor(r), "%", " pct"))
			}
		}
	}
}

// nftComment is a comment nft accepts: ASCII, no double quote or backslash, at most 128 bytes.
func nftComment(s string) string {
	s = strings.NewReplacer(`"`, "'", `\`, "/").Replace(asciiText(s))
	return `"` + truncate(s, 120) + `"`
}

func nftSet(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return "{ " + strings.Join(items, ", ") + " }"
}

func writeNftables(w *errWriter, rules []Rule, source string) {
	w.printf("#!/usr/sbin/nft -f\n")
	commentLines(w, "# ", "adcsflow: allow rules for what "+source+" used or tried. Check with nft -c -f FILE.")
	commentLines(w, "# ", "An accept in this table does not override a drop in another table or chain: jump to the chain enrollment from your own filter chain before its drop rules (forward on a router, input on the destination host). Loaded as is, the base chains below only jump to it and accept everything else.")
	w.printf("table inet adcsflow {\n")
	w.printf("\tchain enrollment {\n")
	for i, r := range rules {
		fam := "ip"
		if r.family6 {
			fam = "ip6"
		}
		var ports []string
		for _, pr := range portRanges(r.portList) {
			if pr[0] == pr[1] {
				ports = append(ports, strconv.Itoa(int(pr[0])))
			} else {
				ports = append(ports, fmt.Sprintf("%d-%d", pr[0], pr[1]))
			}
		}
		commentLines(w, "\t\t# ", fmt.Sprintf("rule %d (%s): %s", i+1, r.Status, r.Why))
		w.printf("\t\t%s saddr %s %s daddr %s %s dport %s accept comment %s\n", fam, nftSet(r.From), fam, r.To[0],
			r.Transport, nftSet(ports), nftComment(ruleTitle(i, r)))
		if r.Dynamic {
			w.printf("\t\t# instead of the dynamic port(s) above (they change at each restart): open the range, or pin the port\n")
			w.printf("\t\t# %s saddr %s %s daddr %s tcp dport %s accept\n", fam, nftSet(r.From), fam, r.To[0],
				nftSet(strings.Split(r.DynamicRange, ",")))
		}
	}
	w.printf("\t}\n")
	w.printf("\tchain forward {\n\t\ttype filter hook forward priority filter - 1; policy accept;\n\t\tjump enrollment\n\t}\n")
	w.printf("\tchain input {\n\t\ttype filter hook input priority filter - 1; policy accept;\n\t\tjump enrollment\n\t}\n")
	w.printf("}\n")
}

func iptQuote(s string) string {
	s = strings.NewReplacer(`"`, "'", `\`, "/").Replace(asciiText(s))
	return `"` + truncate(s, 250) + `"`
}

func writeIptables(w *errWriter, rules []Rule, source string, v6 bool) {
	tool := "iptables"
	if v6 {
		tool = "ip6tables"
	}
	other := 0
	for _, r := range rules {
		if r.family6 != v6 {
			other++
		}
	}
	w.printf("# adcsflow: %s-restore input for what %s used or tried.\n", tool, asciiText(source))
	w.printf("# Load with: %s-restore --noflush < FILE; then hook the chain: %s -I FORWARD -j ADCSFLOW (router)\n", tool, tool)
	w.printf("# or %s -I INPUT -j ADCSFLOW (on the destination host).\n", tool)
	if other > 0 {
		if v6 {
			w.printf("# %d IPv4 rule(s) are not here: see --format iptables\n", other)
		} else {
			w.printf("# %d IPv6 rule(s) are not here: see --format ip6tables\n", other)
		}
	}
	w.printf("*filter\n:ADCSFLOW - [0:0]\n")
	for i, r := range rules {
		if r.family6 != v6 {
			continue
		}
		commentLines(w, "# ", fmt.Sprintf("rule %d (%s): %s", i+1, r.Status, r.Why))
		// multiport takes at most 15 ports, a range counting as two.
		var chunks [][]string
		var cur []string
		n := 0
		for _, pr := range portRanges(r.portList) {
			item, cost := strconv.Itoa(int(pr[0])), 1
			if pr[0] != pr[1] {
				item, cost = fmt.Sprintf("%d:%d", pr[0], pr[1]), 2
			}
			if n+cost > 15 {
				chunks = append(chunks, cur)
				cur, n = nil, 0
			}
			cur = append(cur, item)
			n += cost
		}
		chunks = append(chunks, cur)
		for _, c := range chunks {
			match := "--dport " + c[0]
			if len(c) > 1 {
				match = "-m multiport --dports " + strings.Join(c, ",")
			}
			w.printf("-A ADCSFLOW -s %s -d %s -p %s %s -m comment --comment %s -j ACCEPT\n",
				strings.Join(r.From, ","), r.To[0], r.Transport, match, iptQuote(ruleTitle(i, r)))
		}
		if r.Dynamic {
			w.printf("# instead of the dynamic port(s) above (they change at each restart): open the range, or pin the port:\n")
			w.printf("# -A ADCSFLOW -s %s -d %s -p tcp -m multiport --dports %s -j ACCEPT\n",
				strings.Join(r.From, ","), r.To[0], strings.ReplaceAll(r.DynamicRange, "-", ":"))
		}
	}
	w.printf("COMMIT\n")
}
