package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// labCLIDir is where the lab captures are: testdata/captures, or $ADCSFLOW_LAB_DIR (make lab
// points it at the captures it has just made).
func labCLIDir() string {
	if d := os.Getenv("ADCSFLOW_LAB_DIR"); d != "" {
		return d
	}
	return "../../testdata/captures"
}

// labCLITruth: the parts of lab-<scenario>.truth.json the CLI test needs.
type labCLITruth struct {
	Scenario      string `json:"scenario"`
	ExpectedFlows []struct {
		Transport    string `json:"transport"`
		Client       string `json:"client"`
		Server       string `json:"server"`
		ServerPort   int    `json:"server_port"`
		Firewall     string `json:"firewall"` // "allowed" or what the firewall rule did
		Observed     bool   `json:"observed"`
		RPCInterface string `json:"rpc_interface"`
	} `json:"expected_flows"`
}

// labCLIRequired: whether blocking transport/port makes an enrollment fail in the lab (a
// client, a DC, a CES; no CA): the documented table's rows (tcp/464, 389, 636, 443 and the
// dynamic RPC ports, matched to any server when no CA is seen) and the complete baseline's
// non-optional rows (Kerberos 88 udp+tcp, CLDAP udp/389, GC 3268); kpasswd udp/464 and RPC
// to the DC's endpoint mapper are optional. analyzer/lab_test.go says the same.
func labCLIRequired(transport string, port int, dynamic bool) bool {
	if dynamic {
		return transport == "tcp"
	}
	switch fmt.Sprintf("%s/%d", transport, port) {
	case "tcp/464", "tcp/389", "tcp/636", "tcp/443", "tcp/88", "udp/88", "udp/389", "tcp/3268":
		return true
	}
	return false
}

// TestLabScenariosCLI runs `adcsflow diff` and `adcsflow rules` in-process on every lab
// capture: diff exits 1 exactly when the scenario's firewall blocked a required flow (0 for
// all-open and for udp/464 answered with ICMP, where kpasswd fell back to tcp/464), its JSON
// says the same, and the JSON rules have one blocked rule entry per endpoint the firewall
// blocked (destination, transport, port), all from the capture's client.
func TestLabScenariosCLI(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(labCLIDir(), "lab-*.truth.json"))
	if len(files) == 0 {
		t.Fatalf("no lab captures in %s (make lab writes them)", labCLIDir())
	}
	seenAllOpen := false
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lt labCLITruth
		if err := json.Unmarshal(b, &lt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		capture := strings.TrimSuffix(f, ".truth.json") + ".pcapng"
		seenAllOpen = seenAllOpen || lt.Scenario == "all-open"
		t.Run(lt.Scenario, func(t *testing.T) {
			var blocked []string
			wantExit := exitOK
			for _, e := range lt.ExpectedFlows {
				if e.Firewall == "allowed" || !e.Observed {
					continue
				}
				blocked = append(blocked, fmt.Sprintf("%s %s -> %s:%d", e.Transport, e.Client, e.Server, e.ServerPort))
				if labCLIRequired(e.Transport, e.ServerPort, e.RPCInterface != "") {
					wantExit = exitBlocked
				}
			}
			sort.Strings(blocked)
			if lt.Scenario == "all-open" && (len(blocked) > 0 || wantExit != exitOK) {
				t.Fatalf("all-open truth blocks %v", blocked)
			}

			code, out, errOut := runCLI("diff", capture)
			if code != wantExit {
				t.Errorf("diff: exit %d, want %d (blocked by the firewall: %v)\n%s%s", code, wantExit, blocked, out, errOut)
			}
			if wantExit == exitBlocked && !strings.Contains(out, "VERDICT  ") || wantExit == exitOK && !strings.Contains(out, "VERDICT  no required flow was blocked") {
				t.Errorf("diff text verdict:\n%s", out)
			}
			code, out, errOut = runCLI("diff", "--format", "json", capture)
			var dj struct {
				Blocked bool `json:"blocked"`
			}
			if err := json.Unmarshal([]byte(out), &dj); err != nil || code != wantExit || dj.Blocked != (wantExit == exitBlocked) {
				t.Errorf("diff --format json: exit %d, blocked %v, %v %s", code, dj.Blocked, err, errOut)
			}

			code, out, errOut = runCLI("rules", "--format", "json", capture)
			var rj struct {
				Rules []struct {
					From      []string `json:"from"`
					To        []string `json:"to"`
					Transport string   `json:"transport"`
					Ports     string   `json:"ports"`
					Status    string   `json:"status"`
					Unblocks  []string `json:"unblocks"`
				} `json:"rules"`
			}
			if err := json.Unmarshal([]byte(out), &rj); err != nil || code != exitOK {
				t.Fatalf("rules --format json: exit %d, %v %s", code, err, errOut)
			}
			var got []string
			for _, r := range rj.Rules {
				if r.Status != "blocked" {
					continue
				}
				for _, c := range r.From {
					for _, s := range r.To {
						for _, p := range strings.Split(r.Ports, ",") {
							if _, err := strconv.Atoi(p); err != nil {
								t.Errorf("blocked rule with port range %q (the lab blocks single ports)", r.Ports)
							}
							got = append(got, fmt.Sprintf("%s %s -> %s:%s", r.Transport, c, s, p))
						}
					}
				}
			}
			sort.Strings(got)
			if strings.Join(got, "\n") != strings.Join(blocked, "\n") {
				t.Errorf("blocked rules cover\n  %s\nthe firewall blocked\n  %s", strings.Join(got, "\n  "), strings.Join(blocked, "\n  "))
			}
		})
	}
	if !seenAllOpen {
		t.Error("no all-open scenario among the lab captures")
	}
}
