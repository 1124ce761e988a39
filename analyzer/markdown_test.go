package analyzer

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const webTools = "../testdata/web"

// checkMermaid runs Mermaid's own parser (testdata/web, npm) over the Markdown's mermaid
// blocks. It skips when node or the npm packages are not installed.
func checkMermaid(t *testing.T, md string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the Mermaid graph is not checked (Debian: apt-get install nodejs npm; then make deps-web)")
	}
	if _, err := os.Stat(filepath.Join(webTools, "node_modules", "mermaid", "package.json")); err != nil {
		t.Skip("the npm packages of testdata/web are not installed: the Mermaid graph is not checked (cd testdata/web && npm ci)")
	}
	cmd := exec.Command(node, "check-mermaid.mjs")
	cmd.Dir = webTools
	cmd.Stdin = strings.NewReader(md)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok ") {
		t.Fatalf("mermaid rejects the graph: %v\n%s\n--- markdown:\n%s", err, out, md)
	}
}

func markdownOf(t *testing.T, files ...string) string {
	t.Helper()
	rep, err := AnalyzeFiles(files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMarkdownLab: the lab capture with 636 and dynamic RPC dropped: the verdict, the failed
// flows, and a flowchart Mermaid parses with red edges for the blocked services (dashed,
// named by interface, for dynamic RPC) and green ones for the rest.
func TestMarkdownLab(t *testing.T) {
	md := markdownOf(t, "../testdata/captures/lab-ldaps-and-dynrpc-dropped.pcapng")
	for _, want := range []string{
		"**Verdict:** ❌ 3 flows failed",
		"## Failed flows",
		"| 10.77.1.10 | 10.77.2.10:636/tcp | ldaps | no-answer |",
		"```mermaid\nflowchart LR\n",
		`subgraph g0["clients"]`,
		`-->|"ldaps 636/tcp: no-answer"|`,
		`-.->|"SAMR 49154/tcp: no-answer (dynamic RPC)"|`,
		`-.->|"NETLOGON 49152/tcp: no-answer (dynamic RPC)"|`,
		`-->|"kerberos 88/tcp"|`,
		"stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 5",
		"## Dynamic RPC",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	// One edge per (client group, server, service): 7 kerberos/udp flows are one edge.
	if n := strings.Count(md, `"kerberos 88/udp"`); n != 1 {
		t.Errorf("%d kerberos/udp edges, want 1", n)
	}
	checkMermaid(t, md)
}

// TestMarkdownTwoPoint: with two capture points the arrows and the table say where.
func TestMarkdownTwoPoint(t *testing.T) {
	md := markdownOf(t, tpClient, tpServer)
	for _, want := range []string{
		"## Where the packets were lost",
		`"ldap-gc 3268/tcp: no-answer, lost on the return path"`,
		`"kerberos 88/tcp: no-answer, lost at the server"`,
		`"ldaps 636/tcp: no-answer, lost on the path"`,
		"| no-answer | lost on the path |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	checkMermaid(t, md)
}

// TestMermaidEscapes: names with quotes, angle brackets and pipes stay inside their labels.
func TestMermaidEscapes(t *testing.T) {
	for _, s := range []string{`a"b`, "x<y>z", "p|q", "#1"} {
		e := mermaidText(s)
		if strings.ContainsAny(e, "\"<>|") {
			t.Errorf("%q -> %q", s, e)
		}
	}
	checkMermaid(t, "```mermaid\nflowchart LR\n  a[\""+mermaidText(`say "hi" <now> | #1`)+"\"] -->|\""+mermaidText("x|y")+"\"| b\n```\n")
}

// TestMermaidSharedCaptures: the graph of every shared real-world capture (and of each lab
// capture) parses, in one run of the parser.
func TestMermaidSharedCaptures(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	lab, _ := filepath.Glob("../testdata/captures/lab-*.pcapng")
	files = append(files, lab...)
	if len(files) == 0 {
		t.Skip("no captures")
	}
	var all strings.Builder
	for _, f := range files {
		rep, _ := AnalyzeFiles([]string{f}, Options{})
		if len(rep.Flows) > 0 {
			all.WriteString("```mermaid\n" + rep.Mermaid() + "```\n")
		}
	}
	checkMermaid(t, all.String())
}
