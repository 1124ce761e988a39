package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const allOpenCapture = "../../testdata/captures/lab-all-open.pcapng"

func TestDiffCommand(t *testing.T) {
	code, out, errOut := runCLI("diff", labCapture)
	if code != exitBlocked {
		t.Fatalf("diff on the dropped lab capture: exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, s := range []string{"AGAINST THE DOCUMENTED TABLE", "blocked  LDAP 636 CES -> DC", "blocked  DCOM/RPC >1023 CES, clients -> CA",
		"extra    Kerberos 88/tcp clients -> DC", "VERDICT  3 required flows blocked", "matched any client"} {
		if !strings.Contains(out, s) {
			t.Errorf("diff text lacks %q:\n%s", s, out)
		}
	}

	code, out, _ = runCLI("diff", "--format", "json", labCapture)
	var js struct {
		Baseline struct{ Name, Source string }
		Hosts    []struct {
			Addr  string
			Roles []string
		}
		Diff []struct {
			Rule, Status string
			Blocked      []string
			Flows        []map[string]any
		}
		Blocked bool
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != exitBlocked {
		t.Fatalf("json: exit %d, %v\n%s", code, err, out)
	}
	var blocked []string
	for _, d := range js.Diff {
		for _, b := range d.Blocked {
			blocked = append(blocked, strings.Fields(b)[0])
		}
	}
	sort.Strings(blocked)
	if strings.Join(blocked, " ") != "tcp/49152 tcp/49154 tcp/636" || !js.Blocked || js.Baseline.Name != "documented" || len(js.Diff) < 5 {
		t.Errorf("json diff: blocked %v, %+v", blocked, js.Baseline)
	}

	if code, out, _ = runCLI("diff", allOpenCapture); code != exitOK || !strings.Contains(out, "no required flow was blocked") {
		t.Errorf("all open: exit %d\n%s", code, out)
	}
	if code, out, _ = runCLI("diff", "--baseline", "complete", allOpenCapture); code != exitOK || !strings.Contains(out, `AGAINST THE BASELINE "complete"`) {
		t.Errorf("--baseline complete: exit %d\n%s", code, out)
	}
}

func TestDiffCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\ntitle: t\nsource: s\nrows:\n  - id: a\n    name: n\n    from: [client]\n    to: [dc]\n    transport: tcp\n    ports: \"http\"\n    description: d\n"), 0o644)
	if code, _, errOut := runCLI("diff", "--baseline", bad, labCapture); code != exitBadInput || !strings.Contains(errOut, "bad.yaml:10: row a: ports") {
		t.Errorf("bad baseline: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("diff", "--baseline", "nosuch", labCapture); code != exitBadInput || !strings.Contains(errOut, "neither a built-in baseline") {
		t.Errorf("unknown baseline: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("diff", filepath.Join(dir, "missing.pcap")); code != exitBadInput || !strings.Contains(errOut, "missing.pcap") {
		t.Errorf("missing capture: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCLI("diff", "--role", "ca=ca9.example", labCapture); code != exitBadInput || !strings.Contains(errOut, "no host in the capture is known by that name") {
		t.Errorf("unknown role target: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI("diff", "--format", "csv", labCapture); code != exitBadInput {
		t.Errorf("diff --format csv: exit %d", code)
	}
	if code, _, _ := runCLI("diff"); code != exitBadInput {
		t.Errorf("no file: exit %d", code)
	}
}

// TestRoleOverridesCLI: --role by a name the capture proved and --roles FILE change the
// roles the diff matches with.
func TestRoleOverridesCLI(t *testing.T) {
	code, out, errOut := runCLI("diff", "--format", "json", "--role", "ca=ces.lab.adcsflow.test", "--role", "dc=10.77.2.10", labCapture)
	if code != exitBlocked {
		t.Fatalf("exit %d %q", code, errOut)
	}
	if !strings.Contains(out, `"evidence": [`) || !strings.Contains(out, "given by --role ca=ces.lab.adcsflow.test") {
		t.Errorf("no override evidence:\n%s", out)
	}
	if strings.Contains(out, "no host was seen in the role CA") {
		t.Errorf("with a CA given, the dynamic row should not fall back:\n%s", out)
	}
	roles := filepath.Join(t.TempDir(), "roles.txt")
	os.WriteFile(roles, []byte("# lab\nces=10.77.1.10\n"), 0o644)
	code, out, _ = runCLI("diff", "--roles", roles, labCapture)
	if code != exitBlocked || strings.Contains(out, "no host in the role CES opened a flow") {
		t.Errorf("--roles: exit %d\n%s", code, out)
	}
	os.WriteFile(roles, []byte("ces 10.77.1.10\n"), 0o644)
	if code, _, errOut := runCLI("diff", "--roles", roles, labCapture); code != exitBadInput || !strings.Contains(errOut, "roles.txt:1:") {
		t.Errorf("bad roles file: exit %d %q", code, errOut)
	}
}

func TestBaselineCommand(t *testing.T) {
	code, out, _ := runCLI("baseline")
	if code != exitOK || !strings.Contains(out, "documented") || !strings.Contains(out, "complete") {
		t.Errorf("list: %d\n%s", code, out)
	}
	code, out, _ = runCLI("baseline", "documented")
	if code != exitOK || !strings.Contains(out, "name: documented") || !strings.Contains(out, "port_text: Random port above port 1023") {
		t.Errorf("print: %d\n%s", code, out)
	}
	// The printed YAML is a valid --baseline FILE.
	f := filepath.Join(t.TempDir(), "mine.yaml")
	os.WriteFile(f, []byte(out), 0o644)
	if code, out, errOut := runCLI("diff", "--baseline", f, labCapture); code != exitBlocked || !strings.Contains(out, "blocked  LDAP 636") {
		t.Errorf("diff with the printed baseline: %d %q\n%s", code, errOut, out)
	}
	if code, out, _ = runCLI("baseline", "--format", "table", "complete"); code != exitOK || !strings.Contains(out, "in the documented table: no") {
		t.Errorf("table: %d\n%s", code, out)
	}
}

func TestRulesCommand(t *testing.T) {
	code, out, errOut := runCLI("rules", labCapture)
	if code != exitOK || !strings.Contains(out, "RULES TO ADD: 2 of 5 rules") {
		t.Fatalf("rules: %d %q\n%s", code, errOut, out)
	}
	code, out, _ = runCLI("rules", "--format", "nftables", labCapture)
	if code != exitOK || !strings.Contains(out, "tcp dport 636 accept") {
		t.Fatalf("nftables: %d\n%s", code, out)
	}
	if nft, err := exec.LookPath("nft"); err == nil {
		f := filepath.Join(t.TempDir(), "r.nft")
		os.WriteFile(f, []byte(out), 0o644)
		if b, err := exec.Command(nft, "-c", "-f", f).CombinedOutput(); err != nil {
			t.Errorf("nft -c -f: %v\n%s", err, b)
		}
	} else {
		t.Log("nft is not installed (Debian package nftables): syntax check skipped")
	}
	if code, out, _ = runCLI("rules", "--aggregate", "/24", "--format", "csv", labCapture); code != exitOK || !strings.Contains(out, "10.77.1.0/24") {
		t.Errorf("aggregate: %d\n%s", code, out)
	}
	for _, args := range [][]string{{"rules", "--aggregate", "/40", labCapture}, {"rules", "--format", "pf", labCapture}, {"rules"}} {
		if code, _, _ := runCLI(args...); code != exitBadInput {
			t.Errorf("%v: exit %d", args, code)
		}
	}
}

func TestAnalyzeShowsDiffAndRules(t *testing.T) {
	code, out, _ := runCLI("analyze", labCapture)
	if code != exitOK || !strings.Contains(out, "AGAINST THE DOCUMENTED TABLE") || !strings.Contains(out, "RULES TO ADD") ||
		!strings.Contains(out, "dc: serves") {
		t.Errorf("analyze: %d\n%s", code, out)
	}
	code, out, _ = runCLI("analyze", "--baseline", "complete", "--format", "json", labCapture)
	var js struct {
		Diff  []struct{ Baseline string }
		Rules []struct{ Why string }
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != exitOK || len(js.Diff) == 0 || js.Diff[0].Baseline != "complete" || len(js.Rules) != 5 {
		t.Errorf("analyze json: %d %v %+v", code, err, js)
	}
}
