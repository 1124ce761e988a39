package analyzer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// atoms expands rules into the (source, destination, transport, port) pairs they allow.
func ruleAtoms(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		for _, src := range r.From {
			for _, p := range r.portList {
				out = append(out, fmt.Sprintf("%s %s %s %d", src, r.To[0], r.Transport, p))
			}
		}
	}
	sort.Strings(out)
	return out
}

// flowAtoms: the pairs the relevant flows need.
func flowAtoms(flows []*Flow, o RuleOptions) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range flows {
		if !enrollmentRelevant(f) {
			continue
		}
		s := fmt.Sprintf("%s %s %s %d", ruleSource(f.Client.Addr(), o), f.Server.Addr(), f.Transport, f.Server.Port())
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func ruleLines(rules []Rule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, fmt.Sprintf("%s %s -> %s %s %s", r.Status, strings.Join(r.From, ","), r.To[0], r.Transport, r.Ports))
	}
	return out
}

func TestRulesMerging(t *testing.T) {
	a, b := "10.0.1.20", "10.0.1.21"
	cases := []struct {
		name  string
		flows []*Flow
		opts  RuleOptions
		want  []string
	}{
		{"ports of one client share a rule", []*Flow{fl("tcp " + a + " " + dc + ":88 established"), fl("tcp " + a + " " + dc + ":389 established")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.10 tcp 88,389"}},
		{"clients of one port share a rule", []*Flow{fl("tcp " + a + " " + dc + ":88 established"), fl("tcp " + b + " " + dc + ":88 established")},
			RuleOptions{}, []string{"in-use 10.0.1.20,10.0.1.21 -> 10.0.0.10 tcp 88"}},
		{"no merge that would let a reach 389", []*Flow{fl("tcp " + a + " " + dc + ":88 established"), fl("tcp " + b + " " + dc + ":88 established"),
			fl("tcp " + b + " " + dc + ":389 established")},
			RuleOptions{}, []string{"in-use 10.0.1.20,10.0.1.21 -> 10.0.0.10 tcp 88", "in-use 10.0.1.21 -> 10.0.0.10 tcp 389"}},
		{"blocked apart from working", []*Flow{fl("tcp " + a + " " + dc + ":389 established"), fl("tcp " + a + " " + dc + ":636 no-answer")},
			RuleOptions{}, []string{"blocked 10.0.1.20 -> 10.0.0.10 tcp 636", "in-use 10.0.1.20 -> 10.0.0.10 tcp 389"}},
		{"transports apart", []*Flow{fl("tcp " + a + " " + dc + ":88 established"), fl("udp " + a + " " + dc + ":88 answered")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.10 tcp 88", "in-use 10.0.1.20 -> 10.0.0.10 udp 88"}},
		{"destinations apart", []*Flow{fl("tcp " + a + " " + dc + ":389 established"), fl("tcp " + a + " 10.0.0.11:389 established")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.10 tcp 389", "in-use 10.0.1.20 -> 10.0.0.11 tcp 389"}},
		{"dynamic apart from 135", []*Flow{fl("tcp " + a + " " + ca + ":135 established"), withAssignment(fl("tcp "+a+" "+ca+":49712 established"), "ICertPassage")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.20 tcp 135", "in-use 10.0.1.20 -> 10.0.0.20 tcp 49712"}},
		{"aggregate /24 on request", []*Flow{fl("tcp " + a + " " + dc + ":88 established"), fl("tcp " + b + " " + dc + ":88 established"),
			fl("tcp 10.0.2.5 " + dc + ":88 established")},
			RuleOptions{AggregateV4: 24}, []string{"in-use 10.0.1.0/24,10.0.2.0/24 -> 10.0.0.10 tcp 88"}},
		{"irrelevant skipped, DNS kept", []*Flow{fl("udp " + a + " 224.0.0.252:5355 unanswered"), fl("udp " + a + " 10.0.1.255:137 unanswered"),
			withService(fl("udp "+a+" 10.0.1.1:5355 unanswered"), "llmnr"), fl("udp " + a + " " + dc + ":53 answered")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.10 udp 53"}},
		{"consecutive ports as a range", []*Flow{fl("tcp " + a + " " + dc + ":8080 established"), fl("tcp " + a + " " + dc + ":8081 established"),
			fl("tcp " + a + " " + dc + ":8082 established")},
			RuleOptions{}, []string{"in-use 10.0.1.20 -> 10.0.0.10 tcp 8080-8082"}},
	}
	for _, c := range cases {
		r := report(t, nil, nil, c.flows...)
		rules := r.BuildRules(c.opts)
		if got := ruleLines(rules); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
		if got, want := ruleAtoms(rules), flowAtoms(c.flows, c.opts); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: rules allow %q, flows need %q", c.name, got, want)
		}
	}
}

// TestRulesExact: on random flow sets the rules allow exactly the (source, destination,
// transport, port) pairs the flows need, nothing more, and each pair once.
func TestRulesExact(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ports := []string{"tcp:88", "udp:88", "tcp:135", "tcp:389", "udp:389", "tcp:443", "tcp:636", "tcp:3268", "udp:53"}
	outcomes := map[string][]string{"tcp": {"established", "no-answer", "reset"}, "udp": {"answered", "unanswered"}}
	for i := 0; i < 200; i++ {
		var flows []*Flow
		for n := rng.Intn(25) + 1; n > 0; n-- {
			tp := strings.Split(ports[rng.Intn(len(ports))], ":")
			o := outcomes[tp[0]][rng.Intn(len(outcomes[tp[0]]))]
			f := fl(fmt.Sprintf("%s 10.0.%d.%d 10.0.0.%d:%s %s", tp[0], rng.Intn(2)+1, rng.Intn(4)+1, rng.Intn(3)+10, tp[1], o))
			if rng.Intn(5) == 0 {
				f = withAssignment(fl(fmt.Sprintf("tcp 10.0.1.%d 10.0.0.20:%d %s", rng.Intn(4)+1, 49152+rng.Intn(3), o)), "ICertPassage")
				f.Outcome = outcomes["tcp"][rng.Intn(3)]
			}
			flows = append(flows, f)
		}
		opts := RuleOptions{}
		if i%4 == 0 {
			opts.AggregateV4 = 24
		}
		r := report(t, nil, nil, flows...)
		rules := r.BuildRules(opts)
		got, want := ruleAtoms(rules), flowAtoms(flows, opts)
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("case %d: rules allow\n%q\nflows need\n%q", i, got, want)
		}
		for _, rule := range rules {
			if rule.Why == "" || len(rule.Evidence) == 0 {
				t.Fatalf("case %d: rule without justification: %+v", i, rule)
			}
			if (rule.Status == "blocked") != (len(rule.Unblocks) > 0) {
				t.Fatalf("case %d: status %s but unblocks %v", i, rule.Status, rule.Unblocks)
			}
		}
	}
}

func TestRulesDynamic(t *testing.T) {
	r := report(t, nil, caOffer,
		fl("tcp "+cli+" "+ca+":135 established"),
		withAssignment(fl("tcp "+cli+" "+ca+":49712 no-answer"), "ICertPassage"),
		withAssignment(fl("tcp "+cli+" "+dc+":1030 established"), "NETLOGON"), // old range, no 135 seen to the DC
	)
	rules := r.BuildRules(RuleOptions{})
	var caRule, dcRule *Rule
	for i := range rules {
		if rules[i].Dynamic && rules[i].To[0] == ca {
			caRule = &rules[i]
		}
		if rules[i].Dynamic && rules[i].To[0] == dc {
			dcRule = &rules[i]
		}
	}
	if caRule == nil || dcRule == nil {
		t.Fatalf("rules: %q", ruleLines(rules))
	}
	if caRule.Ports != "49712" || caRule.DynamicRange != "49152-65535" || caRule.Status != "blocked" ||
		!strings.Contains(caRule.Warning, "when the service restarts; open tcp 49152-65535 to 10.0.0.20") ||
		!strings.Contains(caRule.Warning, `HKLM\SOFTWARE\Classes\AppID\{D99E6E74-FC88-11D0-B498-00A0C90312F3}`) ||
		strings.Contains(caRule.Warning, "not in the capture") {
		t.Errorf("CA rule: %+v", caRule)
	}
	if dcRule.DynamicRange != "1025-5000" || !strings.Contains(dcRule.Warning, "old Windows 2000/XP/2003 range") ||
		!strings.Contains(dcRule.Warning, "Rpc\\Internet") || !strings.Contains(dcRule.Warning, "tcp/135 to 10.0.0.10 is not in the capture") {
		t.Errorf("DC rule: %+v", dcRule)
	}
	for _, rule := range rules {
		if strings.Contains(strings.ToLower(rule.Ports), "any") || rule.Ports == "" {
			t.Errorf("rule with ports %q", rule.Ports)
		}
	}
}

func TestParseAggregate(t *testing.T) {
	if o, err := ParseAggregate("/24"); err != nil || o.AggregateV4 != 24 || o.AggregateV6 != 0 {
		t.Errorf("%+v %v", o, err)
	}
	if o, err := ParseAggregate("/24,/64"); err != nil || o.AggregateV4 != 24 || o.AggregateV6 != 64 {
		t.Errorf("%+v %v", o, err)
	}
	for _, bad := range []string{"/33", "x", "/24,/129", "/0", "/8,/8,/8"} {
		if _, err := ParseAggregate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// --- firewall formats ---

func labRules(t *testing.T, name string) ([]Rule, *Report) {
	t.Helper()
	rep, err := AnalyzeFiles([]string{"../testdata/captures/" + name}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep.BuildRules(RuleOptions{}), rep
}

// psCommand is one New-NetFirewallRule call as PowerShell would bind it.
type psCommand map[string]string

// The parameters of New-NetFirewallRule this output may use (Microsoft's NetSecurity
// documentation for New-NetFirewallRule).
var psParams = map[string]bool{"DisplayName": true, "Name": true, "Description": true, "Direction": true, "Action": true,
	"Protocol": true, "LocalPort": true, "RemotePort": true, "LocalAddress": true, "RemoteAddress": true, "Group": true,
	"Profile": true, "Enabled": true}

var psBare = regexp.MustCompile(`^[A-Za-z0-9.,:/\-]+$`)

// parsePowerShell checks the syntax of the generated script: comments, or one
// New-NetFirewallRule per line with -Name value pairs, values either bare tokens or
// single-quoted strings (” escapes a quote), nothing unbalanced, no typographic quotes.
func parsePowerShell(t *testing.T, script string) []psCommand {
	t.Helper()
	var out []psCommand
	for n, line := range strings.Split(script, "\n") {
		for _, r := range line {
			if r > 0x7e || (r < 0x20 && r != '\t') {
				t.Fatalf("line %d: non-ASCII or control character %q", n+1, r)
			}
		}
		trim := strings.TrimSpace(line)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		rest, ok := strings.CutPrefix(trim, "New-NetFirewallRule ")
		if !ok {
			t.Fatalf("line %d: not a comment nor New-NetFirewallRule: %q", n+1, line)
		}
		cmd := psCommand{}
		for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
			if rest[0] != '-' {
				t.Fatalf("line %d: expected a parameter at %q", n+1, rest)
			}
			name, after, _ := strings.Cut(rest[1:], " ")
			if !psParams[name] {
				t.Fatalf("line %d: unknown parameter -%s", n+1, name)
			}
			if _, dup := cmd[name]; dup {
				t.Fatalf("line %d: -%s twice", n+1, name)
			}
			after = strings.TrimLeft(after, " ")
			var val string
			if strings.HasPrefix(after, "'") {
				i, closed := 1, false
				var b strings.Builder
				for i < len(after) {
					if after[i] == '\'' {
						if i+1 < len(after) && after[i+1] == '\'' {
							b.WriteByte('\'')
							i += 2
							continue
						}
						closed = true
						i++
						break
					}
					b.WriteByte(after[i])
					i++
				}
				if !closed {
					t.Fatalf("line %d: unbalanced quote in -%s", n+1, name)
				}
				if i < len(after) && after[i] != ' ' {
					t.Fatalf("line %d: text glued to the closing quote of -%s", n+1, name)
				}
				val, rest = b.String(), after[i:]
			} else {
				val, rest, _ = strings.Cut(after, " ")
				if !psBare.MatchString(val) {
					t.Fatalf("line %d: -%s value %q must be quoted", n+1, name, val)
				}
			}
			cmd[name] = val
		}
		for _, req := range []string{"DisplayName", "Direction", "Action", "Protocol", "LocalPort", "RemoteAddress", "LocalAddress", "Description"} {
			if cmd[req] == "" {
				t.Fatalf("line %d: no -%s", n+1, req)
			}
		}
		if cmd["Direction"] != "Inbound" || cmd["Action"] != "Allow" || (cmd["Protocol"] != "TCP" && cmd["Protocol"] != "UDP") {
			t.Fatalf("line %d: %v", n+1, cmd)
		}
		out = append(out, cmd)
	}
	return out
}

// expandPorts turns "88,135,3268-3270" into ports.
func expandPorts(t *testing.T, s string) []int {
	var out []int
	for _, p := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(p, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			t.Fatalf("port %q", p)
		}
		b := a
		if isRange {
			b, _ = strconv.Atoi(hi)
		}
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
	}
	return out
}

func TestPowerShellRules(t *testing.T) {
	for _, name := range []string{"lab-ldaps-and-dynrpc-dropped.pcapng", "lab-all-open.pcapng"} {
		rules, rep := labRules(t, name)
		var buf bytes.Buffer
		if err := WriteRules(&buf, rules, "powershell", name, 0); err != nil {
			t.Fatal(err)
		}
		cmds := parsePowerShell(t, buf.String())
		if len(cmds) != len(rules) {
			t.Fatalf("%s: %d commands for %d rules", name, len(cmds), len(rules))
		}
		// Together the rules allow exactly the pairs the flows need.
		var got []string
		for _, c := range cmds {
			for _, src := range strings.Split(c["RemoteAddress"], ",") {
				for _, p := range expandPorts(t, c["LocalPort"]) {
					got = append(got, fmt.Sprintf("%s %s %s %d", src, c["LocalAddress"], strings.ToLower(c["Protocol"]), p))
				}
			}
			if !strings.Contains(c["Description"], "first frame") {
				t.Errorf("%s: description without the evidence: %q", name, c["Description"])
			}
		}
		sort.Strings(got)
		if want := flowAtoms(rep.AllFlows(), RuleOptions{}); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: powershell allows\n%q\nflows need\n%q", name, got, want)
		}
		if name == "lab-ldaps-and-dynrpc-dropped.pcapng" && !strings.Contains(buf.String(), "-LocalPort RPC") {
			t.Errorf("no dynamic-RPC alternative in:\n%s", buf.String())
		}
	}
	// Quotes in the text are doubled.
	if q := psQuote("the server's range \u2019x"); q != "'the server''s range ?x'" {
		t.Errorf("psQuote: %s", q)
	}
}

func TestNftablesRules(t *testing.T) {
	nft, err := exec.LookPath("nft")
	for _, name := range []string{"lab-ldaps-and-dynrpc-dropped.pcapng", "lab-all-open.pcapng"} {
		rules, _ := labRules(t, name)
		var buf bytes.Buffer
		if err := WriteRules(&buf, rules, "nftables", name, 0); err != nil {
			t.Fatal(err)
		}
		text := buf.String()
		if !strings.Contains(text, "table inet adcsflow {") || strings.Count(text, " accept comment ") != len(rules) {
			t.Fatalf("%s:\n%s", name, text)
		}
		if name == "lab-ldaps-and-dynrpc-dropped.pcapng" &&
			!strings.Contains(text, "ip saddr 10.77.1.10 ip daddr 10.77.2.10 tcp dport 636 accept") {
			t.Errorf("no rule for 636:\n%s", text)
		}
		if err != nil {
			continue
		}
		f := filepath.Join(t.TempDir(), "rules.nft")
		os.WriteFile(f, buf.Bytes(), 0o644)
		if out, err := exec.Command(nft, "-c", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("%s: nft -c -f rejects the rules: %v\n%s\n%s", name, err, out, text)
		}
	}
	if err != nil {
		t.Skip("nft is not installed (Debian package nftables): the nft -c -f syntax check was skipped")
	}
}

func TestOtherRuleFormats(t *testing.T) {
	rules, rep := labRules(t, "lab-ldaps-and-dynrpc-dropped.pcapng")
	want := flowAtoms(rep.AllFlows(), RuleOptions{})
	out := func(format string) string {
		var buf bytes.Buffer
		if err := WriteRules(&buf, rules, format, "lab.pcapng", 0); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	// iptables-restore: *filter, the chain, -A lines, COMMIT; the ports cover the flows.
	ipt := out("iptables")
	ruleRe := regexp.MustCompile(`^-A ADCSFLOW -s (\S+) -d (\S+) -p (tcp|udp) (?:--dport (\d+(?::\d+)?)|-m multiport --dports ([\d,:]+)) -m comment --comment "[^"\\]{1,256}" -j ACCEPT$`)
	var got []string
	lines := strings.Split(strings.TrimSpace(ipt), "\n")
	if !strings.Contains(ipt, "*filter\n:ADCSFLOW - [0:0]\n") || lines[len(lines)-1] != "COMMIT" {
		t.Fatalf("iptables:\n%s", ipt)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "#") || l == "*filter" || l == "COMMIT" || strings.HasPrefix(l, ":") {
			continue
		}
		m := ruleRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("iptables line %q", l)
		}
		ports := m[4] + m[5]
		for _, src := range strings.Split(m[1], ",") {
			for _, p := range expandPorts(t, strings.ReplaceAll(ports, ":", "-")) {
				got = append(got, fmt.Sprintf("%s %s %s %d", src, m[2], m[3], p))
			}
		}
	}
	sort.Strings(got)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("iptables allows %q, flows need %q", got, want)
	}
	if v6 := out("ip6tables"); strings.Contains(v6, "-A ADCSFLOW") || !strings.Contains(v6, "IPv4 rule(s) are not here") {
		t.Errorf("ip6tables on an IPv4 capture:\n%s", v6)
	}
	// netsh: one add rule per rule, quoted name and description.
	netsh := out("netsh")
	netshRe := regexp.MustCompile(`^netsh advfirewall firewall add rule name="[^"]+" dir=in action=allow protocol=(TCP|UDP) localip=\S+ localport=[\d,\-]+ remoteip=\S+ description="[^"%]*"$`)
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(netsh), "\n") {
		if l == "" || strings.HasPrefix(l, "rem") {
			continue
		}
		if !netshRe.MatchString(l) {
			t.Errorf("netsh line %q", l)
		}
		n++
	}
	if n != len(rules) {
		t.Errorf("netsh: %d rules, want %d", n, len(rules))
	}
	// CSV and JSON parse and carry every rule.
	recs, err := csv.NewReader(strings.NewReader(out("csv"))).ReadAll()
	if err != nil || len(recs) != len(rules)+1 {
		t.Errorf("csv: %d records, %v", len(recs), err)
	}
	var js struct {
		Rules []Rule `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out("json")), &js); err != nil || len(js.Rules) != len(rules) || js.Rules[0].Why == "" {
		t.Errorf("json: %v %+v", err, js.Rules)
	}
	if txt := out("table"); !strings.Contains(txt, "RULES TO ADD: 2 of 5 rules") {
		t.Errorf("table:\n%s", txt)
	}
	if err := WriteRules(&bytes.Buffer{}, rules, "pf", "x", 0); err == nil {
		t.Error("unknown format accepted")
	}
}

// TestLabDiff: end to end on the lab captures made by real Samba/MIT/OpenLDAP software.
// With tcp/636 and the dynamic RPC ports dropped, the diff names exactly those as blocked;
// with everything open, nothing.
func TestLabDiff(t *testing.T) {
	blockedOf := func(rep *Report) []string {
		var out []string
		for _, d := range rep.Diff {
			for _, b := range d.Blocked {
				out = append(out, strings.Fields(b)[0])
			}
		}
		sort.Strings(out)
		return out
	}
	_, rep := labRules(t, "lab-ldaps-and-dynrpc-dropped.pcapng")
	if got := blockedOf(rep); strings.Join(got, " ") != "tcp/49152 tcp/49154 tcp/636" || !DiffHasBlocked(rep.Diff) {
		t.Errorf("blocked %v", got)
	}
	if x := diffRow(t, rep.Diff, "LDAP 636 CES -> DC"); x.Status != DiffBlocked {
		t.Errorf("%+v", x)
	}
	if x := diffRow(t, rep.Diff, "DCOM/RPC >1023 CES, clients -> CA"); x.Status != DiffBlocked || len(x.Blocked) != 2 {
		t.Errorf("%+v", x)
	}
	for _, d := range rep.Diff {
		if d.Status == DiffBlocked && d.Rule != "LDAP 636 CES -> DC" && d.Rule != "DCOM/RPC >1023 CES, clients -> CA" {
			t.Errorf("also blocked: %+v", d)
		}
	}
	if roles(rep, "10.77.2.10") != "dc" || roles(rep, "10.77.2.20") != "ces" || roles(rep, "10.77.1.10") != "client" {
		t.Errorf("roles: %v", rep.Hosts)
	}
	blockedRules := 0
	for _, r := range rep.Rules {
		if r.Status == "blocked" {
			blockedRules++
			if r.Ports != "636" && r.Ports != "49152,49154" {
				t.Errorf("blocked rule %+v", r)
			}
		}
	}
	if blockedRules != 2 {
		t.Errorf("%d blocked rules: %q", blockedRules, ruleLines(rep.Rules))
	}

	_, open := labRules(t, "lab-all-open.pcapng")
	if got := blockedOf(open); len(got) != 0 || DiffHasBlocked(open.Diff) {
		t.Errorf("all-open: blocked %v", got)
	}
	for _, r := range open.Rules {
		if r.Status != "in-use" {
			t.Errorf("all-open rule %+v", r)
		}
	}
}

// TestSharedDiffSMB207: in suricata-verify smb2-07 (psexec) the SVCCTL port the endpoint
// mapper handed out (49163) is dropped: a blocked dynamic RPC flow in the diff, and a rule.
func TestSharedDiffSMB207(t *testing.T) {
	capture := filepath.Join(sharedCaptures, "suricata-verify__smb2-07_psexec__epm_svcctl_dynport_syn_unanswered.pcap")
	if _, err := os.Stat(capture); err != nil {
		t.Skipf("skipping: %s is not there (the real captures are beside the checkout in CI)", capture)
	}
	rep, err := AnalyzeFiles([]string{capture}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := diffRow(t, rep.Diff, "DCOM/RPC >1023 CES, clients -> CA")
	if x.Status != DiffBlocked || len(x.Blocked) != 1 ||
		!strings.HasPrefix(x.Blocked[0], "tcp/49163 192.168.10.31 -> 192.168.10.10:49163: dropped (3 SYNs, no answer), SVCCTL, port from epm frame 56") ||
		!strings.Contains(x.Match, "matched any client") || !strings.Contains(x.Match, "matched any server") {
		t.Errorf("%+v", x)
	}
	// The one unanswered DNS query among answered ones is not a block; LLMNR/NetBIOS/DHCPv6 are not in the picture.
	for _, d := range rep.Diff {
		if d.Status == DiffBlocked && d.RowID != "4" || strings.Contains(d.Rule, "5355") || strings.Contains(d.Rule, "547") || strings.Contains(d.Rule, " 137/") {
			t.Errorf("%+v", d)
		}
	}
	found := false
	for _, r := range rep.Rules {
		if r.Ports == "49163" && r.Dynamic && r.Status == "blocked" && r.From[0] == "192.168.10.31" && r.To[0] == "192.168.10.10" &&
			r.DynamicRange == "49152-65535" {
			found = true
		}
		if r.Transport == "udp" && (r.Ports == "5355" || r.Ports == "137" || r.Ports == "547") {
			t.Errorf("irrelevant rule %+v", r)
		}
	}
	if !found {
		t.Errorf("no blocked rule for 49163: %q", ruleLines(rep.Rules))
	}
}
