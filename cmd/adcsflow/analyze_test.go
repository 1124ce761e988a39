package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const labCapture = "../../testdata/captures/lab-ldaps-and-dynrpc-dropped.pcapng"

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestAnalyzeExitCodes(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pcap")
	os.WriteFile(junk, []byte("not a capture"), 0o644)

	code, out, errOut := runCLI("analyze", labCapture)
	if code != exitOK || !strings.Contains(out, "VERDICT  3 flows failed") {
		t.Fatalf("good capture: code %d, stderr %q, report:\n%s", code, errOut, out)
	}
	if !strings.Contains(out, "SAMR (msrpc)") || !strings.Contains(out, "10.77.2.10:636/tcp") {
		t.Errorf("the blocked flows are not named:\n%s", out)
	}

	code, _, errOut = runCLI("analyze", filepath.Join(dir, "missing.pcap"))
	if code != exitBadInput || !strings.Contains(errOut, "missing.pcap") {
		t.Errorf("missing file: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCLI("analyze", junk)
	if code != exitBadInput || !strings.Contains(errOut, "not a pcap or pcapng file") {
		t.Errorf("junk file: code %d, stderr %q", code, errOut)
	}
	if code, _, _ = runCLI("analyze"); code != exitBadInput {
		t.Errorf("no file: code %d", code)
	}
	if code, _, _ = runCLI("analyze", "--format", "yaml", labCapture); code != exitBadInput {
		t.Errorf("bad format: code %d", code)
	}
	if code, _, _ = runCLI("frobnicate"); code != exitBadInput {
		t.Errorf("unknown command: code %d", code)
	}
}

func TestAnalyzeJSONAndCSV(t *testing.T) {
	code, out, _ := runCLI("analyze", labCapture, "--format=json")
	if code != exitOK {
		t.Fatalf("code %d", code)
	}
	var rep struct {
		Version  int `json:"version"`
		Captures []struct {
			File    string `json:"file"`
			Packets int    `json:"packets"`
		} `json:"captures"`
		Flows []struct {
			Transport  string `json:"transport"`
			ServerPort int    `json:"server_port"`
			Outcome    string `json:"outcome"`
			Service    string `json:"service"`
		} `json:"flows"`
		RPCAssignments []struct {
			Port      int    `json:"port"`
			Interface string `json:"interface"`
			Used      bool   `json:"used"`
		} `json:"rpc_assignments"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != 1 || len(rep.Captures) != 1 || rep.Captures[0].Packets == 0 || len(rep.RPCAssignments) != 2 {
		t.Fatalf("report %+v", rep)
	}
	noAnswer := 0
	for _, f := range rep.Flows {
		if f.Outcome == "no-answer" {
			noAnswer++
		}
	}
	if noAnswer != 3 {
		t.Errorf("%d no-answer flows, want 3 (636 and two dynamic RPC ports)", noAnswer)
	}
	code, out, _ = runCLI("analyze", "--format", "csv", labCapture)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || !strings.HasPrefix(lines[0], "transport,client,client_port,server,server_port,service,outcome") || len(lines) != len(rep.Flows)+1 {
		t.Errorf("csv: code %d, %d lines for %d flows, header %q", code, len(lines), len(rep.Flows), lines[0])
	}
}
