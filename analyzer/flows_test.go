package analyzer

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
	"github.com/gopacket/gopacket/layers"
)

var (
	client  = capgen.AP("10.0.1.20:50123")
	dc88    = capgen.AP("10.0.0.10:88")
	ca135   = capgen.AP("10.0.0.20:135")
	ca49712 = capgen.AP("10.0.0.20:49712")
	dc636   = capgen.AP("10.0.0.10:636")
	dc464   = capgen.AP("10.0.0.10:464")
	router  = capgen.Addr("10.0.1.1")
)

// outcomesScenario writes one flow of every outcome.
func outcomesScenario(c *capgen.Capture) {
	// established, with data and a clean close
	k := c.Dial(client, ca135, 1000, 0).Accept()
	k.Send(true, []byte("hello"), 0)
	k.Close()
	// no answer: a SYN retransmitted twice is one flow
	c.Dial(capgen.AP("10.0.1.20:50124"), ca49712, 2000, 2)
	// reset
	c.Dial(capgen.AP("10.0.1.20:50125"), dc464, 3000, 0).Refuse()
	// icmp administratively prohibited
	c.Dial(capgen.AP("10.0.1.20:50126"), dc636, 4000, 0)
	c.ICMPUnreachable(router, 13, false, capgen.AP("10.0.1.20:50126"), dc636)
	// UDP answered and unanswered and ICMP port unreachable
	c.UDPPacket(capgen.AP("10.0.1.20:50200"), dc88, []byte("q"))
	c.UDPPacket(dc88, capgen.AP("10.0.1.20:50200"), []byte("a"))
	c.UDPPacket(capgen.AP("10.0.1.20:50201"), capgen.AP("10.0.0.10:389"), []byte("q"))
	c.UDPPacket(capgen.AP("10.0.1.20:50202"), capgen.AP("10.0.0.10:464"), []byte("q"))
	c.ICMPUnreachable(capgen.Addr("10.0.0.10"), 3, true, capgen.AP("10.0.1.20:50202"), capgen.AP("10.0.0.10:464"))
}

var outcomesWant = []string{
	"tcp 10.0.1.20:50123 10.0.0.20:135 established epm",
	"tcp 10.0.1.20:50124 10.0.0.20:49712 no-answer msrpc (unassigned)",
	"tcp 10.0.1.20:50125 10.0.0.10:464 reset kpasswd",
	"tcp 10.0.1.20:50126 10.0.0.10:636 icmp-unreachable ldaps",
	"udp 10.0.1.20:50200 10.0.0.10:88 answered kerberos",
	"udp 10.0.1.20:50201 10.0.0.10:389 unanswered cldap",
	"udp 10.0.1.20:50202 10.0.0.10:464 icmp-unreachable kpasswd",
}

func flowLines(r *Report) []string {
	var out []string
	for _, f := range r.Flows {
		out = append(out, flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))+
			" "+f.Outcome+" "+f.Service)
	}
	return out
}

func writeTemp(t *testing.T, name string, write func(*bytes.Buffer) error) string {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func analyzeCapture(t *testing.T, c *capgen.Capture, ng bool) *Report {
	t.Helper()
	var p string
	if ng {
		p = writeTemp(t, "x.pcapng", func(b *bytes.Buffer) error { return c.WritePcapng(b) })
	} else {
		p = writeTemp(t, "x.pcap", func(b *bytes.Buffer) error { return c.WritePcap(b) })
	}
	r, err := AnalyzeFiles([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func equalLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("flows differ\ngot:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestOutcomesEveryLinkType(t *testing.T) {
	for _, tc := range []struct {
		name  string
		link  layers.LinkType
		vlans []uint16
	}{
		{"ethernet", layers.LinkTypeEthernet, nil},
		{"vlan", layers.LinkTypeEthernet, []uint16{42}},
		{"qinq", layers.LinkTypeEthernet, []uint16{100, 42}},
		{"sll", layers.LinkTypeLinuxSLL, nil},
		{"sll2", layers.LinkTypeLinuxSLL2, nil},
		{"null", layers.LinkTypeNull, nil},
		{"raw", layers.LinkTypeRaw, nil},
	} {
		for _, ng := range []bool{false, true} {
			name := tc.name + "/pcap"
			if ng {
				name = tc.name + "/pcapng"
			}
			t.Run(name, func(t *testing.T) {
				c := capgen.New()
				c.Link, c.VLANs = tc.link, tc.vlans
				outcomesScenario(c)
				r := analyzeCapture(t, c, ng)
				equalLines(t, flowLines(r), outcomesWant)
				if r.Summary.FailedFlows != 5 {
					t.Errorf("failed flows = %d, want 5", r.Summary.FailedFlows)
				}
			})
		}
	}
}

func TestSYNRetransmissionIsOneFlowNewISNIsNew(t *testing.T) {
	c := capgen.New()
	c.Dial(client, ca49712, 7000, 3) // 4 SYNs, same ISN
	c.Dial(client, ca49712, 9000, 0).Accept()
	r := analyzeCapture(t, c, false)
	equalLines(t, flowLines(r), []string{
		"tcp 10.0.1.20:50123 10.0.0.20:49712 no-answer msrpc (unassigned)",
		"tcp 10.0.1.20:50123 10.0.0.20:49712 established msrpc (unassigned)",
	})
	if r.Flows[0].SYNs != 4 || r.Flows[0].Packets != 4 {
		t.Errorf("first flow: %d SYNs, %d packets; want 4, 4", r.Flows[0].SYNs, r.Flows[0].Packets)
	}
}

func TestIPv6AndICMPv6(t *testing.T) {
	c := capgen.New()
	cl := capgen.AP("[2001:db8::20]:50000")
	srv := capgen.AP("[2001:db8::10]:389")
	k := c.Dial(cl, srv, 1, 0).Accept()
	k.Send(true, []byte("x"), 0)
	c.Dial(capgen.AP("[2001:db8::20]:50001"), capgen.AP("[2001:db8::10]:636"), 5, 0)
	c.ICMPUnreachable(capgen.Addr("2001:db8::1"), 1, false, capgen.AP("[2001:db8::20]:50001"), capgen.AP("[2001:db8::10]:636"))
	r := analyzeCapture(t, c, true)
	equalLines(t, flowLines(r), []string{
		"tcp 2001:db8::20:50000 2001:db8::10:389 established ldap",
		"tcp 2001:db8::20:50001 2001:db8::10:636 icmp-unreachable ldaps",
	})
	if ic := r.Flows[1].ICMP; ic == nil || !ic.Firewall {
		t.Errorf("ICMPv6 code 1 should name a firewall: %+v", ic)
	}
}

func TestIPv4FragmentsReassembled(t *testing.T) {
	c := capgen.New()
	big := bytes.Repeat([]byte("K"), 3000)
	// out of order: last fragment first
	c.UDPFragmented(capgen.AP("10.0.1.20:50300"), dc88, big, 1480, []int{2, 0, 1})
	c.UDPPacket(dc88, capgen.AP("10.0.1.20:50300"), []byte("reply"))
	r := analyzeCapture(t, c, false)
	equalLines(t, flowLines(r), []string{"udp 10.0.1.20:50300 10.0.0.10:88 answered kerberos"})
	if got := r.Flows[0].BytesToSrv; got != int64(20+8+len(big)) {
		t.Errorf("bytes to server = %d, want the reassembled datagram's %d", got, 20+8+len(big))
	}
}

func TestMidFlowAndSYNACKOnly(t *testing.T) {
	c := capgen.New()
	// data both ways of a connection whose handshake was not captured
	c.TCPPacket(capgen.AP("10.0.0.10:389"), capgen.AP("10.0.1.20:51000"), capgen.TCPFlags{ACK: true, PSH: true}, 10, 20, []byte("resp"))
	c.TCPPacket(capgen.AP("10.0.1.20:51000"), capgen.AP("10.0.0.10:389"), capgen.TCPFlags{ACK: true}, 20, 14, nil)
	// a SYN-ACK whose SYN is missing: the receiver is the client
	c.TCPPacket(capgen.AP("10.0.0.20:49800"), capgen.AP("10.0.1.20:51001"), capgen.TCPFlags{SYN: true, ACK: true}, 1, 2, nil)
	r := analyzeCapture(t, c, false)
	equalLines(t, flowLines(r), []string{
		"tcp 10.0.1.20:51000 10.0.0.10:389 mid-flow ldap",
		"tcp 10.0.1.20:51001 10.0.0.20:49800 established msrpc (unassigned)",
	})
}

func TestMixedLinkTypesPcapngAndMerge(t *testing.T) {
	c := capgen.New()
	c.Link = layers.LinkTypeEthernet
	c.Dial(client, ca135, 1, 0)
	c.Link = layers.LinkTypeLinuxSLL2
	c.UDPPacket(capgen.AP("10.0.1.20:50200"), dc88, []byte("q"))
	r := analyzeCapture(t, c, true)
	if len(r.Flows) != 2 || len(r.Captures[0].LinkTypes) != 2 {
		t.Fatalf("flows %v link types %v", flowLines(r), r.Captures[0].LinkTypes)
	}

	// Two captures of the same time range are merged by timestamp.
	a, b := capgen.New(), capgen.New()
	b.Clock = b.Clock.Add(500 * time.Microsecond)
	k := a.Dial(client, ca135, 1, 0)
	_ = k
	b.TCPPacket(ca135, client, capgen.TCPFlags{SYN: true, ACK: true}, 77, 2, nil)
	pa := writeTemp(t, "a.pcap", func(w *bytes.Buffer) error { return a.WritePcap(w) })
	pb := writeTemp(t, "b.pcapng", func(w *bytes.Buffer) error { return b.WritePcapng(w) })
	r, err := AnalyzeFiles([]string{pb, pa}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, flowLines(r), []string{"tcp 10.0.1.20:50123 10.0.0.20:135 established epm"})
}

func TestGzipTellsFormatByMagic(t *testing.T) {
	c := capgen.New()
	outcomesScenario(c)
	var plain bytes.Buffer
	if err := c.WritePcapng(&plain); err != nil {
		t.Fatal(err)
	}
	p := writeTemp(t, "capture.bin", func(w *bytes.Buffer) error {
		zw := gzip.NewWriter(w)
		zw.Write(plain.Bytes())
		return zw.Close()
	})
	r, err := AnalyzeFiles([]string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalLines(t, flowLines(r), outcomesWant)
	if r.Captures[0].Format != "pcapng+gzip" {
		t.Errorf("format %q", r.Captures[0].Format)
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	c := capgen.New()
	outcomesScenario(c)
	var good bytes.Buffer
	c.WritePcap(&good)

	notCapture := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCapture, []byte("this is not a capture\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	truncated := filepath.Join(dir, "truncated.pcap")
	os.WriteFile(truncated, good.Bytes()[:good.Len()-7], 0o644)
	corrupt := filepath.Join(dir, "corrupt.pcap")
	bad := append([]byte(nil), good.Bytes()...)
	// the 4th record header's caplen: a huge value in the middle of the file
	off := 24
	for i := 0; i < 3; i++ {
		caplen := int(bad[off+8]) | int(bad[off+9])<<8 | int(bad[off+10])<<16 | int(bad[off+11])<<24
		off += 16 + caplen
	}
	copy(bad[off+8:off+12], []byte{0xff, 0xff, 0xff, 0x7f})
	os.WriteFile(corrupt, bad, 0o644)
	missing := filepath.Join(dir, "missing.pcap")

	for _, tc := range []struct {
		name       string
		path       string
		unreadable bool
		flows      int
		warning    string
	}{
		{"not a capture", notCapture, true, 0, "not a pcap or pcapng file"},
		{"empty", empty, true, 0, "empty file"},
		{"missing", missing, true, 0, "no such file"},
		{"truncated last packet", truncated, false, 7, "packet 19: truncated"},
		{"corrupt record in the middle", corrupt, false, 1, "packet 4: cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := AnalyzeFiles([]string{tc.path}, Options{})
			if tc.unreadable != (err != nil) {
				t.Fatalf("err = %v, want unreadable=%v", err, tc.unreadable)
			}
			if err != nil && !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error does not name the file: %v", err)
			}
			if len(r.Flows) != tc.flows {
				t.Errorf("%d flows, want %d", len(r.Flows), tc.flows)
			}
			w := strings.Join(r.Captures[0].Warnings, "\n")
			if !strings.Contains(w, tc.warning) || !strings.Contains(w, tc.path) {
				t.Errorf("warnings %q lack %q and the path", w, tc.warning)
			}
		})
	}

	// An unreadable file among good ones: the good ones are still analyzed.
	goodPath := filepath.Join(dir, "good.pcap")
	os.WriteFile(goodPath, good.Bytes(), 0o644)
	r, err := AnalyzeFiles([]string{notCapture, goodPath}, Options{})
	if err == nil || len(r.Flows) != 7 {
		t.Errorf("err=%v flows=%d: want an error and 7 flows", err, len(r.Flows))
	}
}

func TestUnknownLinkTypeWarns(t *testing.T) {
	c := capgen.New()
	c.Link = layers.LinkType(147) // DLT_USER0
	c.UDPPacket(capgen.AP("10.0.1.20:50200"), dc88, []byte("q"))
	r := analyzeCapture(t, c, false)
	if len(r.Flows) != 0 || !strings.Contains(strings.Join(r.Captures[0].Warnings, " "), "link type 147 is not supported") {
		t.Errorf("flows %d warnings %v", len(r.Flows), r.Captures[0].Warnings)
	}
}

func TestFlowTableCapEvicts(t *testing.T) {
	c := capgen.New()
	for i := 0; i < 50; i++ {
		c.Dial(capgen.AP("10.0.1.20:"+itoa(40000+i)), ca135, uint32(i), 0).Accept()
	}
	var buf bytes.Buffer
	c.WritePcap(&buf)
	p := writeTemp(t, "many.pcap", func(w *bytes.Buffer) error { _, err := w.Write(buf.Bytes()); return err })
	r, err := AnalyzeFiles([]string{p}, Options{MaxFlows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Flows) != 50 || r.Summary.Outcomes[OutcomeEstablished] != 50 {
		t.Errorf("flows %d outcomes %v", len(r.Flows), r.Summary.Outcomes)
	}
	if !strings.Contains(strings.Join(r.Warnings, " "), "cap of 10 flows") {
		t.Errorf("no eviction warning: %v", r.Warnings)
	}
}
