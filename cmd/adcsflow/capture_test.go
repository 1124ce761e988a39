package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseCaptureArgs(t *testing.T) {
	o, err := parseCaptureArgs([]string{"-i", "eth0", "--duration", "90", "--count=5", "--write", "x.pcapng",
		"--force", "--snaplen", "1500", "--format", "json", "--filter", "tcp port 135"})
	if err != nil {
		t.Fatal(err)
	}
	want := captureOptions{iface: "eth0", filter: "tcp port 135", userFilter: true, duration: 90 * time.Second,
		count: 5, write: "x.pcapng", force: true, snaplen: 1500, format: "json", promisc: true}
	if o != want {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	if o, err := parseCaptureArgs([]string{"--list-interfaces"}); err != nil || !o.list {
		t.Fatalf("--list-interfaces: %+v %v", o, err)
	}
	for _, bad := range [][]string{
		{}, {"-i"}, {"-i", "eth0", "--duration", "soon"}, {"-i", "eth0", "--count", "0"},
		{"-i", "eth0", "--snaplen", "10"}, {"-i", "eth0", "--format", "xml"}, {"-i", "eth0", "tcp"},
		{"-i", "eth0", "--filter", " "}, {"-i", "eth0", "--bogus"},
	} {
		if _, err := parseCaptureArgs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCaptureUsageAndExisting(t *testing.T) {
	var out, errb bytes.Buffer
	if st := run([]string{"capture"}, &out, &errb); st != exitBadInput || !strings.Contains(errb.String(), "-i IFACE") {
		t.Fatalf("no interface: status %d, %q", st, errb.String())
	}
	p := filepath.Join(t.TempDir(), "x.pcapng")
	os.WriteFile(p, []byte("keep"), 0o644)
	errb.Reset()
	if st := run([]string{"capture", "-i", "lo", "--write", p}, &out, &errb); st != exitBadInput ||
		!strings.Contains(errb.String(), "--force") {
		t.Fatalf("existing output: status %d, %q", st, errb.String())
	}
	if b, _ := os.ReadFile(p); string(b) != "keep" {
		t.Fatalf("existing output was changed")
	}
}

func TestDefaultFilterText(t *testing.T) {
	f := defaultFilter(true)
	for _, want := range []string{"port 88 ", "port 593 ", "icmp6", "portrange 49152-65535", "portrange 1025-5000",
		"ip[6:2] & 0x3fff != 0", "or (vlan and ("} {
		if !strings.Contains(f, want) {
			t.Errorf("default filter lacks %q: %s", want, f)
		}
	}
	if strings.Contains(defaultFilter(false), "vlan") {
		t.Errorf("non-Ethernet filter has vlan")
	}
}
