//go:build linux && cgo

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// netnsLab is two network namespaces joined by a veth pair: a server side (10.99.N.1) with
// a TCP listener on 80, nothing on 445, an nftables rule dropping TCP 135, nothing on UDP
// 53; and a client side (10.99.N.2).
type netnsLab struct {
	srv, cli       string // namespace names
	srvIf, cliIf   string // veth names
	srvIP, cliIP   string
	srvAddr        net.IP
	listener       net.Listener
	t              *testing.T
	bin            string
	dir            string
	serverAccepted chan struct{}
}

func needRootTools(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("live capture test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		t.Skip("live capture test needs root (it creates network namespaces); CI runs it as root")
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("live capture test needs %s (apt-get install %s)", tool,
				map[string]string{"ip": "iproute2", "nft": "nftables"}[tool])
		}
	}
}

func run1(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// newNetnsLab creates the namespaces; t.Cleanup removes them on every exit path.
func newNetnsLab(t *testing.T) *netnsLab {
	n := rand.IntN(250) + 1
	tag := fmt.Sprintf("%d%03d", os.Getpid()%100000, rand.IntN(1000))
	l := &netnsLab{t: t, srv: "afcap-s" + tag, cli: "afcap-c" + tag, srvIf: "afs" + tag, cliIf: "afc" + tag,
		srvIP: fmt.Sprintf("10.99.%d.1", n), cliIP: fmt.Sprintf("10.99.%d.2", n), dir: t.TempDir()}
	l.srvAddr = net.ParseIP(l.srvIP)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", l.srv).Run()
		exec.Command("ip", "netns", "del", l.cli).Run()
	})
	run1(t, "ip", "netns", "add", l.srv)
	run1(t, "ip", "netns", "add", l.cli)
	run1(t, "ip", "link", "add", l.srvIf, "netns", l.srv, "type", "veth", "peer", "name", l.cliIf, "netns", l.cli)
	for _, s := range []struct{ ns, ifc, ip string }{{l.srv, l.srvIf, l.srvIP}, {l.cli, l.cliIf, l.cliIP}} {
		run1(t, "ip", "-n", s.ns, "addr", "add", s.ip+"/24", "dev", s.ifc)
		run1(t, "ip", "-n", s.ns, "link", "set", s.ifc, "up")
		run1(t, "ip", "-n", s.ns, "link", "set", "lo", "up")
	}
	nft := exec.Command("ip", "netns", "exec", l.srv, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(`table inet afcap {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 135 drop
	}
}
`)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Skipf("nftables does not work here (%v: %s); the live capture test needs it", err, out)
	}
	return l
}

// inNetns runs fn on an OS thread moved into the namespace. Sockets created there stay in
// it. The thread is never unlocked, so Go discards it when fn returns.
func inNetns(t *testing.T, ns string, fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Errorf("open netns %s: %v", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			t.Errorf("setns %s: %v", ns, err)
			return
		}
		fn()
	}()
	<-done
}

// serve starts the HTTP-ish server on port 80 of the server namespace.
func (l *netnsLab) serve() {
	inNetns(l.t, l.srv, func() {
		ln, err := net.Listen("tcp4", l.srvIP+":80")
		if err != nil {
			l.t.Errorf("listen: %v", err)
			return
		}
		l.listener = ln
	})
	if l.listener == nil {
		l.t.FailNow()
	}
	l.t.Cleanup(func() { l.listener.Close() })
	l.serverAccepted = make(chan struct{}, 4)
	go func() {
		for {
			c, err := l.listener.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(2 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
			c.Close()
			l.serverAccepted <- struct{}{}
		}
	}()
}

// clientTraffic makes the four flows from the client namespace.
func (l *netnsLab) clientTraffic(t *testing.T) {
	inNetns(t, l.cli, func() {
		// Open port: established.
		if c, err := net.DialTimeout("tcp4", l.srvIP+":80", 2*time.Second); err != nil {
			t.Errorf("dial open port: %v", err)
		} else {
			io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
			c.SetDeadline(time.Now().Add(2 * time.Second))
			io.ReadAll(c)
			c.Close()
		}
		// Closed port: reset.
		if _, err := net.DialTimeout("tcp4", l.srvIP+":445", 2*time.Second); err == nil {
			t.Errorf("dial closed port 445 succeeded")
		}
		// Dropped by nftables: no answer (the SYN and one retransmission).
		if _, err := net.DialTimeout("tcp4", l.srvIP+":135", 1500*time.Millisecond); err == nil {
			t.Errorf("dial dropped port 135 succeeded")
		}
		// UDP to a port nobody listens on: ICMP port unreachable.
		if c, err := net.Dial("udp4", l.srvIP+":53"); err != nil {
			t.Errorf("udp: %v", err)
		} else {
			// A DNS query for example.com A.
			c.Write([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"))
			time.Sleep(100 * time.Millisecond)
			c.Close()
		}
	})
}

// buildBinary builds adcsflow once for the test.
func buildBinary(t *testing.T, dir string) string {
	bin := filepath.Join(dir, "adcsflow")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startCapture starts adcsflow capture in the server namespace and waits until it captures.
func (l *netnsLab) startCapture(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder, <-chan string, <-chan error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.srv, l.bin, "capture", "-i", l.srvIf}, args...)...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	ready := make(chan struct{})
	stderrAll := make(chan string, 1)
	go func() {
		var all strings.Builder
		sc := bufio.NewScanner(errPipe)
		once := false
		for sc.Scan() {
			all.WriteString(sc.Text() + "\n")
			if !once && strings.HasPrefix(sc.Text(), "capturing on") {
				once = true
				close(ready)
			}
		}
		if !once {
			close(ready)
		}
		stderrAll <- all.String()
	}()
	exited := make(chan error, 1)
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("adcsflow capture did not start within 10 s")
	}
	go func() { exited <- cmd.Wait() }()
	return cmd, &stdout, stderrAll, exited
}

type flowJSON struct {
	Transport  string `json:"transport"`
	Client     string `json:"client"`
	Server     string `json:"server"`
	ServerPort int    `json:"server_port"`
	Outcome    string `json:"outcome"`
	ICMP       *struct {
		Code int `json:"code"`
	} `json:"icmp"`
}

type reportJSON struct {
	Captures []struct {
		File    string `json:"file"`
		Format  string `json:"format"`
		Packets int    `json:"packets"`
		Dropped *struct {
			Received, Kernel, Interface int
		} `json:"dropped"`
	} `json:"captures"`
	Summary struct {
		Packets     int `json:"packets"`
		FailedFlows int `json:"failed_flows"`
	} `json:"summary"`
	Flows []flowJSON `json:"flows"`
}

// TestCaptureNetns runs the real adcsflow capture on a veth in a private namespace.
func TestCaptureNetns(t *testing.T) {
	needRootTools(t)
	l := newNetnsLab(t)
	l.bin = buildBinary(t, l.dir)
	l.serve()
	t.Run("duration-json", l.testDuration)
	t.Run("sigterm-csv", l.testSIGTERM)
}

// testDuration: while a client in another namespace makes an established, a refused, a
// dropped and an ICMP-rejected flow, the JSON report must say so, the failures must be
// printed as they become known, and tshark must read the written pcapng.
func (l *netnsLab) testDuration(t *testing.T) {
	pcapng := filepath.Join(l.dir, "live.pcapng")
	began := time.Now()
	_, stdout, stderrC, exited := l.startCapture(t, "--duration", "5s", "--write", pcapng, "--format", "json")
	l.clientTraffic(t)
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("adcsflow capture --duration 5s still runs after %s", time.Since(began))
	}
	stderr := <-stderrC
	if exitErr != nil {
		t.Fatalf("adcsflow capture: %v\nstderr:\n%s", exitErr, stderr)
	}
	t.Logf("stderr:\n%s", stderr)

	var rep reportJSON
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	want := map[string]string{"tcp/80": "established", "tcp/445": "reset", "tcp/135": "no-answer",
		"udp/53": "icmp-unreachable"}
	got := map[string]string{}
	for _, f := range rep.Flows {
		if f.Server != l.srvIP || f.Client != l.cliIP {
			continue
		}
		k := f.Transport + "/" + strconv.Itoa(f.ServerPort)
		if prev, dup := got[k]; dup {
			t.Errorf("%s: two flows (%s, %s)", k, prev, f.Outcome)
		}
		got[k] = f.Outcome
	}
	for k, o := range want {
		if got[k] != o {
			t.Errorf("%s %s: outcome %q, want %q", l.srvIP, k, got[k], o)
		}
	}
	if len(rep.Captures) != 1 || rep.Captures[0].Dropped == nil || rep.Captures[0].Format != "live" {
		t.Errorf("capture entry: %+v", rep.Captures)
	} else if d := rep.Captures[0].Dropped; d.Kernel != 0 || d.Received < rep.Summary.Packets {
		t.Errorf("drops %+v for %d packets", *d, rep.Summary.Packets)
	}
	if rep.Summary.FailedFlows != 3 {
		t.Errorf("failed flows: %d, want 3", rep.Summary.FailedFlows)
	}
	// Each failure was printed when it became known (the dropped SYN after the timeout).
	for _, line := range []string{
		l.cliIP + " -> " + l.srvIP + ":445/tcp smb: refused (reset)",
		l.cliIP + " -> " + l.srvIP + ":135/tcp epm: no answer",
		l.cliIP + " -> " + l.srvIP + ":53/udp dns: ICMP port unreachable from " + l.srvIP,
	} {
		if strings.Count(stderr, line) != 1 {
			t.Errorf("stderr has %q %d times, want once", line, strings.Count(stderr, line))
		}
	}
	if !strings.Contains(stderr, "stopped (--duration 5s)") {
		t.Errorf("stderr does not say why the capture stopped")
	}

	// adcsflow analyze on the written file gives the same flows.
	out, err := exec.Command(l.bin, "analyze", "--format", "json", pcapng).Output()
	if err != nil {
		t.Fatalf("adcsflow analyze %s: %v", pcapng, err)
	}
	type raw struct{ Summary, Flows, Hosts json.RawMessage }
	var live, again raw
	if err := json.Unmarshal([]byte(stdout.String()), &live); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	if string(again.Flows) != string(live.Flows) || string(again.Summary) != string(live.Summary) ||
		string(again.Hosts) != string(live.Hosts) {
		t.Errorf("analyze of the written pcapng differs from the live report:\nlive %s\n%s\nfile %s\n%s",
			live.Summary, live.Flows, again.Summary, again.Flows)
	}

	// tshark reads the written pcapng to the end, packet for packet.
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Logf("tshark not installed: the pcapng is not checked with it")
		return
	}
	out, err = exec.Command("tshark", "-r", pcapng, "-T", "fields", "-e", "frame.number").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", pcapng, err, out)
	}
	n := 0
	for _, ln := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, err := strconv.Atoi(strings.TrimSpace(ln)); err == nil {
			n++
		}
	}
	if n != rep.Summary.Packets || n == 0 {
		t.Errorf("tshark reads %d packets in %s, the report counts %d\n%s", n, pcapng, rep.Summary.Packets, out)
	}
}

// testSIGTERM: SIGTERM ends the capture cleanly: status 0, a report, a complete pcapng.
func (l *netnsLab) testSIGTERM(t *testing.T) {
	pcapng := filepath.Join(l.dir, "term.pcapng")
	cmd, stdout, stderrC, exited := l.startCapture(t, "--write", pcapng, "--format", "csv")
	inNetns(t, l.cli, func() {
		if c, err := net.DialTimeout("tcp4", l.srvIP+":80", 2*time.Second); err == nil {
			c.Close()
		}
	})
	time.Sleep(300 * time.Millisecond)
	// ip netns exec runs adcsflow in its place (exec), so the PID is adcsflow's.
	cmd.Process.Signal(syscall.SIGTERM)
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("adcsflow capture did not stop within 5 s of SIGTERM")
	}
	stderr := <-stderrC
	if exitErr != nil {
		t.Fatalf("exit: %v\n%s", exitErr, stderr)
	}
	if !strings.Contains(stderr, "stopped (interrupted)") {
		t.Errorf("stderr:\n%s", stderr)
	}
	if !strings.Contains(stdout.String(), ","+l.srvIP+",80,http,established,") {
		t.Errorf("CSV report lacks the established flow:\n%s", stdout.String())
	}
	if _, err := exec.LookPath("tshark"); err == nil {
		if out, err := exec.Command("tshark", "-r", pcapng, "-c", "1").CombinedOutput(); err != nil {
			t.Errorf("tshark -r %s: %v\n%s", pcapng, err, out)
		}
	}
}
