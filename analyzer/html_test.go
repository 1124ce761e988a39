package analyzer

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func htmlOf(t *testing.T, files ...string) string {
	t.Helper()
	rep, err := AnalyzeFiles(files, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// chromium finds Debian's headless-capable browser, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed: the HTML page is not rendered (Debian: apt-get install chromium)")
	return ""
}

// renderPage loads a page in headless Chromium and returns the DOM after its scripts ran and
// what the browser logged; with png set it takes a screenshot there instead.
func renderPage(t *testing.T, browser, page, png string) (dom, log string) {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--hide-scrollbars"}
	if png != "" {
		args = append(args, "--window-size=1400,1800", "--screenshot="+png)
	} else {
		args = append(args, "--dump-dom")
	}
	abs, _ := filepath.Abs(page)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, append(args, "file://"+abs)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, errb.String())
	}
	return out.String(), errb.String()
}

// consoleLines are the page's console messages and uncaught errors in Chromium's log.
func consoleLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			out = append(out, l)
		}
	}
	return out
}

// TestHTMLSelfContained: the page asks for nothing over the network: no external scripts,
// styles, fonts or images.
func TestHTMLSelfContained(t *testing.T) {
	page := htmlOf(t, "../testdata/captures/lab-ldaps-and-dynrpc-dropped.pcapng")
	for _, re := range []string{`(?i)<script[^>]+src=`, `(?i)<link\b`, `(?i)@import`, `(?i)url\(\s*['"]?(https?:|//)`,
		`(?i)(src|href)=["']?(https?:|//)`, `(?i)<img\b`, `(?i)<iframe\b`} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("the page loads something from outside: %q", m)
		}
	}
	for _, want := range []string{"<svg", "Verdict:", "3 flows failed", "Failed flows", "Dynamic RPC", "@media print",
		`class="sortable"`, "SAMR 49154/tcp: no-answer", "NETLOGON 49152/tcp: no-answer", "ldaps 636/tcp: no-answer",
		"stroke-dasharray"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHTMLInChromium renders the pages of the lab capture and of the two-point captures in
// headless Chromium: the script runs to its end (data-ready), nothing is logged on the
// console, the text is there, and a screenshot is taken (kept in $ADCSFLOW_SCREENSHOTS).
func TestHTMLInChromium(t *testing.T) {
	browser := chromium(t)
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	cases := []struct {
		name  string
		files []string
		want  []string
	}{
		{"lab-ldaps-and-dynrpc-dropped", []string{"../testdata/captures/lab-ldaps-and-dynrpc-dropped.pcapng"},
			[]string{"3 flows failed", "10.77.2.10:636/tcp", "SAMR (msrpc)", "asked the endpoint mapper on 10.77.2.10 for SAMR"}},
		{"twopoint", []string{tpClient, tpServer},
			[]string{"Where the packets were lost", "lost on the return path", "lost at the server", "lost on the path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			page := filepath.Join(dir, c.name+".html")
			if err := os.WriteFile(page, []byte(htmlOf(t, c.files...)), 0o644); err != nil {
				t.Fatal(err)
			}
			dom, log := renderPage(t, browser, page, "")
			if !strings.Contains(dom, `data-ready="1"`) {
				t.Errorf("the page's script did not run to its end:\n%s", strings.Join(consoleLines(log), "\n"))
			}
			if l := consoleLines(log); len(l) > 0 {
				t.Errorf("console messages:\n%s", strings.Join(l, "\n"))
			}
			if !strings.Contains(dom, "<svg") {
				t.Error("no SVG in the rendered page")
			}
			for _, w := range c.want {
				if !strings.Contains(dom, w) {
					t.Errorf("rendered page lacks %q", w)
				}
			}
			shotDir := os.Getenv("ADCSFLOW_SCREENSHOTS")
			if shotDir == "" {
				shotDir = dir
			}
			png := filepath.Join(shotDir, c.name+".png")
			renderPage(t, browser, page, png)
			if b, err := os.ReadFile(png); err != nil || len(b) < 10000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("screenshot %s: %v (%d bytes)", png, err, len(b))
			}
		})
	}
}
