package analyzer

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// labTruth is what testdata/lab/run.sh records beside each lab capture.
type labTruth struct {
	Scenario string `json:"scenario"`
	Firewall struct {
		Rules []struct {
			Transport string `json:"transport"`
			Ports     string `json:"ports"`   // "636", "49152-49167", "49154,49152"
			Action    string `json:"action"`  // drop, reset, icmp
			Outcome   string `json:"outcome"` // the client-side outcome the rule causes
		} `json:"rules"`
	} `json:"firewall"`
	ExpectedFlows []struct {
		Transport    string `json:"transport"`
		Client       string `json:"client"`
		Server       string `json:"server"`
		ServerPort   int    `json:"server_port"`
		Service      string `json:"service"`
		Outcome      string `json:"outcome"`
		Firewall     string `json:"firewall"` // "allowed" or what the rule did
		Observed     bool   `json:"observed"`
		RPCInterface string `json:"rpc_interface"`
	} `json:"expected_flows"`
	Flows []struct {
		Transport  string `json:"transport"`
		Client     string `json:"client"`
		ClientPort int    `json:"client_port"`
		Server     string `json:"server"`
		ServerPort int    `json:"server_port"`
		Service    string `json:"service"`
		Outcome    string `json:"outcome"`
	} `json:"flows"`
	RPCAssignments []struct {
		Server        string `json:"server"`
		Port          int    `json:"port"`
		InterfaceUUID string `json:"interface_uuid"`
		Interface     string `json:"interface"`
		Via           string `json:"via"`
		Used          bool   `json:"used"`
		Outcome       string `json:"outcome"`
	} `json:"rpc_assignments"`
}

// labDir is where the lab captures are: testdata/captures, or $ADCSFLOW_LAB_DIR (make lab
// points it at the captures it has just made).
func labDir() string {
	if d := os.Getenv("ADCSFLOW_LAB_DIR"); d != "" {
		return d
	}
	return "../testdata/captures"
}

func labCaptures(t *testing.T) map[string]labTruth {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(labDir(), "lab-*.truth.json"))
	if len(files) == 0 {
		t.Fatalf("no lab captures in %s (make lab writes them)", labDir())
	}
	out := map[string]labTruth{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lt labTruth
		if err := json.Unmarshal(b, &lt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(f, ".truth.json")+".pcapng"] = lt
	}
	return out
}

// TestLabScenarios: on each lab capture (real Samba, MIT Kerberos, OpenLDAP, impacket
// traffic through an nftables firewall), analyze finds exactly the scenario's flows with
// their outcomes and services, and every endpoint-mapper hand-out with the fate of the
// connection that followed.
func TestLabScenarios(t *testing.T) {
	for capture, lt := range labCaptures(t) {
		t.Run(lt.Scenario, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, f := range lt.Flows {
				want = append(want, flowKeyString(f.Transport, f.Client, f.ClientPort, f.Server, f.ServerPort)+" "+f.Outcome+" "+f.Service)
			}
			for _, f := range rep.Flows {
				got = append(got, flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))+
					" "+f.Outcome+" "+strings.TrimSuffix(f.Service, " (unassigned)"))
			}
			sort.Strings(want)
			sort.Strings(got)
			equalLines(t, got, want)
			for _, w := range lt.RPCAssignments {
				ok := false
				for _, a := range rep.RPCAssignments {
					if a.Server.String() == w.Server && int(a.Port) == w.Port && a.Via == w.Via && a.InterfaceUUID == w.InterfaceUUID {
						ok = a.Used == w.Used && (w.Outcome == "" || strings.Join(a.UsedOutcomes, ",") == w.Outcome) && a.Interface == w.Interface
						if !ok {
							t.Errorf("assignment %s:%d %s: used=%v outcomes=%v, want used=%v outcome %s", w.Server, w.Port, w.Interface,
								a.Used, a.UsedOutcomes, w.Used, w.Outcome)
						}
					}
				}
				if !ok {
					t.Errorf("assignment %s:%d %s (%s) missing or wrong", w.Server, w.Port, w.Interface, w.Via)
				}
			}
		})
	}
}

// labEndpoint names a (client, server, transport, port) endpoint the way DiffRow.Blocked
// starts: "tcp/636 10.77.1.10 -> 10.77.2.10:636".
func labEndpoint(transport, client, server string, port int) string {
	return fmt.Sprintf("%s/%d %s -> %s:%d", transport, port, client, server, port)
}

// parsePortList parses the ports of a truth firewall rule: "636", "49152-49167", "49154,49152".
func parsePortList(t *testing.T, s string) func(int) bool {
	t.Helper()
	var ranges [][2]int
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("ports %q: not a port list", s)
		}
		ranges = append(ranges, [2]int{a, b})
	}
	return func(p int) bool {
		for _, r := range ranges {
			if r[0] <= p && p <= r[1] {
				return true
			}
		}
		return false
	}
}

// labFirewallBlocked is the set of endpoints the scenario's firewall blocked, found two
// independent ways that must agree: the truth's firewall rules applied to every flow of
// the capture (client net 10.77.1.0/24 to server net 10.77.2.0/24, as in the nft ruleset),
// and the expected flow groups whose firewall verdict is not "allowed".
func labFirewallBlocked(t *testing.T, lt labTruth) map[string]bool {
	t.Helper()
	clientNet, serverNet := netip.MustParsePrefix("10.77.1.0/24"), netip.MustParsePrefix("10.77.2.0/24")
	byRules := map[string]bool{}
	for _, r := range lt.Firewall.Rules {
		in := parsePortList(t, r.Ports)
		for _, f := range lt.Flows {
			c, s := netip.MustParseAddr(f.Client), netip.MustParseAddr(f.Server)
			if f.Transport == r.Transport && in(f.ServerPort) && clientNet.Contains(c) && serverNet.Contains(s) {
				byRules[labEndpoint(f.Transport, f.Client, f.Server, f.ServerPort)] = true
				if f.Outcome != r.Outcome {
					t.Errorf("truth: flow %s %s:%d -> %s:%d outcome %s, but the firewall rule %s/%s %s gives %s",
						f.Transport, f.Client, f.ClientPort, f.Server, f.ServerPort, f.Outcome, r.Transport, r.Ports, r.Action, r.Outcome)
				}
			}
		}
	}
	byExpected := map[string]bool{}
	for _, e := range lt.ExpectedFlows {
		if e.Firewall != "allowed" && e.Observed {
			byExpected[labEndpoint(e.Transport, e.Client, e.Server, e.ServerPort)] = true
		}
	}
	equalLines(t, sortedKeys(byRules), sortedKeys(byExpected))
	return byRules
}

func sortedKeys(m map[string]bool) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// labRequired says whether blocking transport/port makes an enrollment fail in the lab, by
// the two built-in baselines as the diff applies them to the lab's hosts (a client, a DC and
// a CES; no CA, no host opening flows as a CES):
//   - every row of the documented table is required; with no CES client and no CA seen, its
//     rows match any client and any server: tcp/464 (kpasswd), tcp/389, tcp/636, tcp/443 and
//     the dynamic RPC ports (here the DC's SAMR/NETLOGON ports);
//   - flows no documented row covers are "extra" and required when the complete baseline's
//     row is not optional: Kerberos 88 (udp and tcp), CLDAP udp/389, GC 3268 are; kpasswd
//     (udp/464) and RPC to the DC (135 + dynamic) are optional.
func labRequired(transport string, port int, dynamic bool) bool {
	if dynamic {
		return transport == "tcp"
	}
	switch fmt.Sprintf("%s/%d", transport, port) {
	case "tcp/464", "tcp/389", "tcp/636", "tcp/443", "tcp/88", "udp/88", "udp/389", "tcp/3268":
		return true
	}
	return false
}

// labExpectBlockedExit: diff exits 1 when a blocked endpoint is required.
func labExpectBlockedExit(lt labTruth, blocked map[string]bool) bool {
	for _, e := range lt.ExpectedFlows {
		if blocked[labEndpoint(e.Transport, e.Client, e.Server, e.ServerPort)] && labRequired(e.Transport, e.ServerPort, e.RPCInterface != "") {
			return true
		}
	}
	return false
}

var blockedEndpointRE = regexp.MustCompile(`^(tcp|udp)/(\d+) (\S+) -> (\S+):(\d+): `)

// TestLabScenariosDiff: against the built-in documented table, the rows (baseline rows with status
// blocked, extra rows with blocked endpoints) list exactly the endpoints the scenario's
// firewall blocked, nothing else; the flows that got through after a fallback (tcp/88
// after udp/88 was dropped, udp/464 after tcp/464 was reset, tcp/464 after udp/464 got
// ICMP) are not blocked; and the verdict (diff's exit 1) is "a required flow was blocked"
// exactly when one of the blocked endpoints is required (all-open: never).
func TestLabScenariosDiff(t *testing.T) {
	documented, err := BuiltinBaseline("documented")
	if err != nil {
		t.Fatal(err)
	}
	for capture, lt := range labCaptures(t) {
		t.Run(lt.Scenario, func(t *testing.T) {
			want := labFirewallBlocked(t, lt)
			if lt.Scenario == "all-open" && len(want) > 0 {
				t.Fatalf("all-open truth has blocked flows: %v", sortedKeys(want))
			}
			if lt.Scenario != "all-open" && len(want) == 0 {
				t.Fatalf("truth: the firewall of %s blocked nothing in the capture", lt.Scenario)
			}
			rep, err := AnalyzeFiles([]string{capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.ApplyRoles(nil); err != nil {
				t.Fatal(err)
			}
			rows := rep.DiffAgainst(documented)
			got := map[string]bool{}
			for _, d := range rows {
				switch {
				case d.Status == DiffBlocked && len(d.Blocked) == 0:
					t.Errorf("row %q: status blocked with no blocked endpoint", d.Rule)
				case len(d.Blocked) > 0 && d.RowID != "" && d.Status != DiffBlocked:
					t.Errorf("baseline row %q: status %s with blocked endpoints %v", d.Rule, d.Status, d.Blocked)
				case len(d.Blocked) > 0 && d.RowID == "" && d.Status != DiffExtra:
					t.Errorf("row %q (not in the baseline): status %s with blocked endpoints %v", d.Rule, d.Status, d.Blocked)
				}
				for _, b := range d.Blocked {
					m := blockedEndpointRE.FindStringSubmatch(b)
					if m == nil || m[2] != m[5] {
						t.Errorf("row %q: blocked endpoint %q not in the form \"tcp/636 C -> S:636: ...\"", d.Rule, b)
						continue
					}
					port, _ := strconv.Atoi(m[2])
					k := labEndpoint(m[1], m[3], m[4], port)
					if got[k] {
						t.Errorf("endpoint %s blocked in two rows", k)
					}
					got[k] = true
				}
			}
			equalLines(t, sortedKeys(got), sortedKeys(want))
			if g, w := DiffHasBlocked(rows), labExpectBlockedExit(lt, want); g != w {
				t.Errorf("a required flow was blocked: got %v, want %v (blocked: %v)", g, w, sortedKeys(want))
			}
		})
	}
}

// TestLabScenariosRules: the minimal rule set has a rule for every endpoint the firewall blocked
// (status blocked, listing it under unblocks) and for nothing else blocked, and every
// (source, destination, transport, port) any rule allows is a flow of the capture: no rule
// for traffic the capture does not show.
func TestLabScenariosRules(t *testing.T) {
	for capture, lt := range labCaptures(t) {
		t.Run(lt.Scenario, func(t *testing.T) {
			want := labFirewallBlocked(t, lt)
			seen := map[string]bool{}
			for _, f := range lt.Flows {
				seen[labEndpoint(f.Transport, f.Client, f.Server, f.ServerPort)] = true
			}
			rep, err := AnalyzeFiles([]string{capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := rep.ApplyRoles(nil); err != nil {
				t.Fatal(err)
			}
			rules := rep.BuildRules(RuleOptions{})
			allowed, blocked := map[string]bool{}, map[string]bool{}
			unblocks := 0
			for _, r := range rules {
				in := parsePortList(t, r.Ports)
				var ports []int
				for p := 1; p <= 65535; p++ {
					if in(p) {
						ports = append(ports, p)
					}
				}
				for _, c := range r.From {
					for _, s := range r.To {
						for _, p := range ports {
							k := labEndpoint(r.Transport, c, s, p)
							if allowed[k] {
								t.Errorf("%s allowed by two rules", k)
							}
							allowed[k] = true
							if r.Status == "blocked" {
								blocked[k] = true
							}
						}
					}
				}
				if (r.Status == "blocked") != (len(r.Unblocks) > 0) {
					t.Errorf("rule %v -> %v %s/%s: status %s, unblocks %v", r.From, r.To, r.Transport, r.Ports, r.Status, r.Unblocks)
				}
				unblocks += len(r.Unblocks)
			}
			// every rule allows only what the capture shows, and all of it
			equalLines(t, sortedKeys(allowed), sortedKeys(seen))
			// the rules marked blocked are exactly for the blocked endpoints
			equalLines(t, sortedKeys(blocked), sortedKeys(want))
			if unblocks != len(want) {
				t.Errorf("rules unblock %d endpoints, the firewall blocked %d", unblocks, len(want))
			}
		})
	}
}
