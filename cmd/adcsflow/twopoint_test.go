package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAnalyzePoints: --point NAME=FILE names the captures; the JSON says where each failed
// flow was lost.
func TestAnalyzePoints(t *testing.T) {
	const dir = "../../testdata/captures/"
	code, out, errOut := runCLI("analyze", "--point", "ca="+dir+"twopoint-server.pcapng",
		"--point=client="+dir+"twopoint-client.pcapng", "--format", "json")
	if code != exitOK {
		t.Fatalf("code %d: %s", code, errOut)
	}
	var rep struct {
		TwoPoint struct {
			Points []struct{ Name, Side string }
		} `json:"two_point"`
		Flows []struct {
			Transport  string
			ServerPort int    `json:"server_port"`
			LostAt     string `json:"lost_at"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if p := rep.TwoPoint.Points; len(p) != 2 || p[0].Name != "ca" || p[0].Side != "server" || p[1].Name != "client" || p[1].Side != "client" {
		t.Errorf("points: %+v", p)
	}
	lost := map[string]string{}
	for _, f := range rep.Flows {
		if f.LostAt != "" {
			lost[f.Transport+"/"+itoa(f.ServerPort)] = f.LostAt
		}
	}
	want := map[string]string{"tcp/636": "path", "tcp/88": "server", "tcp/464": "server", "tcp/3268": "return-path",
		"udp/389": "path", "udp/88": "server"}
	for k, v := range want {
		if lost[k] != v {
			t.Errorf("%s: lost_at %q, want %q", k, lost[k], v)
		}
	}
	code, _, errOut = runCLI("analyze", "--point", "client", dir+"twopoint-client.pcapng")
	if code != exitBadInput || !strings.Contains(errOut, "NAME=FILE") {
		t.Errorf("bad --point: code %d, %q", code, errOut)
	}
	code, out, _ = runCLI("analyze", "--point", "client="+dir+"twopoint-client.pcapng", "--point", "ca="+dir+"twopoint-server.pcapng")
	if code != exitOK || !strings.Contains(out, "lost on the return path: the server answered (SYN-ACK at ca") {
		t.Errorf("text: code %d\n%s", code, out)
	}
}

func itoa(n int) string {
	b := []byte{}
	for n >= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(append([]byte{byte('0' + n)}, b...))
}

// TestAnalyzePictureFormats: --format markdown and html write the report with its picture.
func TestAnalyzePictureFormats(t *testing.T) {
	code, out, errOut := runCLI("analyze", labCapture, "--format", "markdown")
	if code != exitOK || !strings.Contains(out, "```mermaid\nflowchart LR") || !strings.Contains(out, "**Verdict:**") {
		t.Errorf("markdown: code %d %s\n%s", code, errOut, out)
	}
	code, out, errOut = runCLI("analyze", labCapture, "--format=html")
	if code != exitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "<svg") {
		t.Errorf("html: code %d %s", code, errOut)
	}
	code, _, errOut = runCLI("analyze", labCapture, "--format", "pdf")
	if code != exitBadInput || !strings.Contains(errOut, "markdown, html") {
		t.Errorf("unknown format: code %d %q", code, errOut)
	}
}
