package analyzer

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const (
	tpClient = "../testdata/captures/twopoint-client.pcapng"
	tpServer = "../testdata/captures/twopoint-server.pcapng"
)

// lostTable is "transport/port outcome lost_at" for each failed flow, sorted.
func lostTable(r *Report) []string {
	var out []string
	for _, f := range r.Flows {
		if !Failed(f.Outcome) {
			continue
		}
		out = append(out, fmt.Sprintf("%s/%d %s %s", f.Transport, f.ServerPort, f.Outcome, orDash(f.LostAt)))
	}
	sort.Strings(out)
	return out
}

// TestTwoPointNetns: the captures testdata/twopoint/run.sh made in its own namespaces, one
// flow dropped at each place a packet can die (see testdata/twopoint/README.md).
func TestTwoPointNetns(t *testing.T) {
	rep, err := AnalyzeFiles([]string{tpClient, tpServer}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, lostTable(rep), []string{
		"tcp/3268 no-answer return-path",
		"tcp/464 reset server",
		"tcp/636 no-answer path",
		"tcp/88 no-answer server",
		"udp/389 unanswered path",
		"udp/88 unanswered server",
	})
	if rep.Summary.FailedFlows != 6 || rep.Summary.Flows != 10 {
		t.Errorf("summary: %d failed of %d flows, want 6 of 10", rep.Summary.FailedFlows, rep.Summary.Flows)
	}
	tp := rep.TwoPoint
	if tp == nil || len(tp.Points) != 2 || tp.Points[0].Side != "client" || tp.Points[1].Side != "server" {
		t.Fatalf("points: %+v", tp)
	}
	for _, f := range rep.Flows {
		if f.Where == nil {
			t.Fatalf("flow %d has no 'where'", f.ServerPort)
		}
		switch f.ServerPort {
		case 3268:
			// What the client saw: SYNs and nothing back; the server side saw its SYN-ACKs.
			if f.PacketsToCli != 0 || f.SYNs < 2 || len(f.Where.Points) != 2 || f.Where.Points[1].Answer != "syn-ack" {
				t.Errorf("3268: %+v %+v", f, f.Where.Points)
			}
		case 636:
			if strings.Join(f.Where.SeenAt, ",") != "twopoint-client.pcapng" || !strings.Contains(f.Where.Why, "none reached twopoint-server.pcapng") {
				t.Errorf("636: %+v", f.Where)
			}
		case 88:
			if f.Transport == "tcp" && !strings.Contains(f.Where.Why, "silence") {
				t.Errorf("88/tcp: %q", f.Where.Why)
			}
		case 464:
			if !strings.Contains(f.Where.Why, "reset") {
				t.Errorf("464: %q", f.Where.Why)
			}
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"WHERE THE PACKETS WERE LOST",
		"10.99.1.10 -> 10.99.2.10:636/tcp ldaps: lost on the path",
		"10.99.1.10 -> 10.99.2.10:88/tcp kerberos: lost at the server",
		"10.99.1.10 -> 10.99.2.10:3268/tcp ldap-gc: lost on the return path",
		"10.99.1.10 -> 10.99.2.10:88/udp kerberos: lost at the server"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	// The same files the other way round, named: the names decide the sides.
	rep2, err := AnalyzeFiles([]string{tpServer, tpClient}, Options{PointNames: []string{"dc", "client"}})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, lostTable(rep2), lostTable(rep))
	if p := rep2.TwoPoint.Points; p[0].Name != "dc" || p[0].Side != "server" || p[1].Side != "client" {
		t.Errorf("named points: %+v", p)
	}
	// One capture: no two-point fields.
	one, _ := AnalyzeFiles([]string{tpClient}, Options{})
	if one.TwoPoint != nil || one.Flows[0].Where != nil || one.Flows[0].LostAt != "" {
		t.Error("a single capture has two-point fields")
	}
}

// TestTwoPointLab: in every lab scenario the router is the only firewall, so every flow
// that fails at the client is lost on the path, and the two-point analysis fails exactly
// the flows the client-side capture alone fails.
func TestTwoPointLab(t *testing.T) {
	for capture, lt := range labCaptures(t) {
		server := strings.TrimSuffix(capture, ".pcapng") + ".server.pcapng"
		t.Run(lt.Scenario, func(t *testing.T) {
			one, err := AnalyzeFiles([]string{capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			two, err := AnalyzeFiles([]string{capture, server}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, l := range lostTable(one) {
				want = append(want, strings.TrimSuffix(l, " -")+" path")
			}
			equalLines(t, lostTable(two), want)
			if len(two.Flows) != len(one.Flows) {
				t.Errorf("%d flows from two points, %d from the client side", len(two.Flows), len(one.Flows))
			}
			if p := two.TwoPoint.Points; p[0].Side != "client" || p[1].Side != "server" || p[1].OffsetFlows == 0 ||
				p[1].ClockOffset < -time.Second || p[1].ClockOffset > time.Second {
				t.Errorf("points: %+v", p)
			}
		})
	}
}

// rewriteCapture copies a capture, shifting its clock, renaming addresses (IPv4 in
// Ethernet frames, as NAT would) and keeping only packets keep accepts.
func rewriteCapture(t *testing.T, in string, shift time.Duration, nat map[netip.Addr]netip.Addr, keep func(time.Time) bool) string {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	outPath := filepath.Join(t.TempDir(), filepath.Base(in))
	o, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := pcapgo.NewWriterNanos(o)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if keep != nil && !keep(ci.Timestamp) {
			continue
		}
		ci.Timestamp = ci.Timestamp.Add(shift)
		ci.InterfaceIndex = 0
		if len(data) >= 34 && data[12] == 0x08 && data[13] == 0x00 {
			for _, off := range []int{26, 30} {
				a := netip.AddrFrom4([4]byte(data[off : off+4]))
				if b, ok := nat[a]; ok {
					b4 := b.As4()
					copy(data[off:], b4[:])
				}
			}
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return outPath
}

// TestTwoPointClockAndNAT: the server-side capture with its clock 7.5 s ahead and the
// client's address translated (SNAT on the router): flows are still matched (by ports and
// initial sequence number), the offset is found, and every flow is placed as before.
func TestTwoPointClockAndNAT(t *testing.T) {
	base, _ := AnalyzeFiles([]string{tpClient, tpServer}, Options{})
	nat := map[netip.Addr]netip.Addr{netip.MustParseAddr("10.99.1.10"): netip.MustParseAddr("10.99.2.99")}
	srv := rewriteCapture(t, tpServer, 7500*time.Millisecond, nat, nil)
	rep, err := AnalyzeFiles([]string{tpClient, srv}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, lostTable(rep), lostTable(base))
	if len(rep.Flows) != len(base.Flows) {
		t.Errorf("%d flows under NAT, want %d", len(rep.Flows), len(base.Flows))
	}
	p := rep.TwoPoint.Points[1]
	if d := p.ClockOffset - 7500*time.Millisecond; d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("clock offset %v, want about 7.5 s", p.ClockOffset)
	}
	// 135, 443 x2, 53, 88/tcp, 464, 3268, 88/udp were seen at both points.
	if rep.TwoPoint.NATFlows != 8 {
		t.Errorf("%d NAT flows, want 8", rep.TwoPoint.NATFlows)
	}
	for _, f := range rep.Flows {
		if f.ServerPort == 88 && f.Transport == "tcp" && (len(f.Where.Points) != 2 || f.Where.Points[1].Address != "10.99.2.99:"+fmt.Sprint(f.ClientPort)+" -> 10.99.2.10:88") {
			t.Errorf("88/tcp under NAT: %+v", f.Where.Points)
		}
	}
}

// TestTwoPointPartialOverlap: a server-side capture stopped before the later flows began:
// those are not compared (no lost_at), the earlier ones still are.
func TestTwoPointPartialOverlap(t *testing.T) {
	base, _ := AnalyzeFiles([]string{tpClient, tpServer}, Options{})
	var cut time.Time
	for _, f := range base.Flows {
		if f.ServerPort == 3268 {
			cut = f.First.Add(-time.Millisecond) // after 636 and 88/tcp, before 464 and 3268
		}
	}
	srv := rewriteCapture(t, tpServer, 0, nil, func(ts time.Time) bool { return ts.Before(cut) })
	rep, err := AnalyzeFiles([]string{tpClient, srv}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, lostTable(rep), []string{
		"tcp/3268 no-answer -",
		"tcp/464 reset -",
		"tcp/636 no-answer path",
		"tcp/88 no-answer server",
		"udp/389 unanswered -",
		"udp/88 unanswered -",
	})
	for _, f := range rep.Flows {
		if f.LostAt == "" && Failed(f.Outcome) && !strings.Contains(f.Where.Why, "was not capturing") {
			t.Errorf("%s/%d: %q", f.Transport, f.ServerPort, f.Where.Why)
		}
	}
}
