// Package capgen builds synthetic captures for tests and benchmarks: TCP connections with
// their handshakes and outcomes, UDP exchanges, ICMP errors and IP fragments, framed for
// any link type the analyzer reads, written as pcap or pcapng. It is not used by the tool
// itself.
package capgen

import (
	"encoding/binary"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frame is one packet ready to be written.
type Frame struct {
	Time time.Time
	Link layers.LinkType
	Data []byte
}

// Capture collects frames.
type Capture struct {
	Link   layers.LinkType // link type for new frames (default Ethernet)
	VLANs  []uint16        // 802.1Q tags on Ethernet frames (two tags: QinQ)
	Frames []Frame
	Clock  time.Time
	// Step is added to Clock for each frame (default 1 ms).
	Step time.Duration
}

// New starts a capture at a fixed time so that outputs are reproducible.
func New() *Capture {
	return &Capture{Link: layers.LinkTypeEthernet, Clock: time.Date(2026, 11, 2, 10, 41, 3, 0, time.UTC),
		Step: time.Millisecond}
}

func (c *Capture) tick() time.Time {
	t := c.Clock
	step := c.Step
	if step == 0 {
		step = time.Millisecond
	}
	c.Clock = c.Clock.Add(step)
	return t
}

// Wait advances the clock.
func (c *Capture) Wait(d time.Duration) { c.Clock = c.Clock.Add(d) }

// IP builds an IPv4 or IPv6 packet around a transport payload (already serialized).
func ipLayer(src, dst netip.Addr, proto layers.IPProtocol) gopacket.SerializableLayer {
	if src.Is4() {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice(), Flags: layers.IPv4DontFragment}
	}
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

var serOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}

// AddIP frames an IP packet (bytes starting with the IP header) for the capture's link type.
func (c *Capture) AddIP(ip []byte) {
	c.Frames = append(c.Frames, Frame{Time: c.tick(), Link: c.Link, Data: c.frame(ip)})
}

func (c *Capture) frame(ip []byte) []byte {
	v6 := len(ip) > 0 && ip[0]>>4 == 6
	etype := layers.EthernetTypeIPv4
	if v6 {
		etype = layers.EthernetTypeIPv6
	}
	switch c.Link {
	case layers.LinkTypeEthernet:
		var hdr []byte
		hdr = append(hdr, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x02, 0x00, 0x15, 0x5d, 0x00, 0x00, 0x01)
		for i, v := range c.VLANs {
			tpid := uint16(0x8100)
			if i == 0 && len(c.VLANs) > 1 {
				tpid = 0x88a8
			}
			hdr = binary.BigEndian.AppendUint16(hdr, tpid)
			hdr = binary.BigEndian.AppendUint16(hdr, v&0x0fff)
		}
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(etype))
		return append(hdr, ip...)
	case layers.LinkTypeLinuxSLL:
		hdr := make([]byte, 16)
		binary.BigEndian.PutUint16(hdr[0:2], 0) // to us
		binary.BigEndian.PutUint16(hdr[2:4], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(hdr[4:6], 6)
		copy(hdr[6:12], []byte{0, 0x15, 0x5d, 0, 0, 1})
		binary.BigEndian.PutUint16(hdr[14:16], uint16(etype))
		return append(hdr, ip...)
	case layers.LinkTypeLinuxSLL2:
		hdr := make([]byte, 20)
		binary.BigEndian.PutUint16(hdr[0:2], uint16(etype))
		binary.BigEndian.PutUint32(hdr[4:8], 2) // interface index
		binary.BigEndian.PutUint16(hdr[8:10], 1)
		hdr[10] = 0 // packet type: to us
		hdr[11] = 6
		copy(hdr[12:18], []byte{0, 0x15, 0x5d, 0, 0, 1})
		return append(hdr, ip...)
	case layers.LinkTypeNull:
		hdr := make([]byte, 4)
		fam := uint32(2)
		if v6 {
			fam = 24
		}
		binary.LittleEndian.PutUint32(hdr, fam)
		return append(hdr, ip...)
	}
	// raw IP
	return append([]byte(nil), ip...)
}

func serialize(ls ...gopacket.SerializableLayer) []byte {
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serOpts, ls...); err != nil {
		panic("capgen: " + err.Error())
	}
	return append([]byte(nil), buf.Bytes()...)
}

// TCPFlags selects flags of a segment.
type TCPFlags struct{ SYN, ACK, RST, FIN, PSH bool }

// TCPPacket adds one TCP segment.
func (c *Capture) TCPPacket(src, dst netip.AddrPort, fl TCPFlags, seq, ack uint32, payload []byte) {
	t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), Seq: seq, Ack: ack,
		SYN: fl.SYN, ACK: fl.ACK, RST: fl.RST, FIN: fl.FIN, PSH: fl.PSH, Window: 64240}
	ip := ipLayer(src.Addr(), dst.Addr(), layers.IPProtocolTCP)
	t.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer))
	c.AddIP(serialize(ip, t, gopacket.Payload(payload)))
}

// UDPPacket adds one UDP datagram.
func (c *Capture) UDPPacket(src, dst netip.AddrPort, payload []byte) {
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	ip := ipLayer(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	u.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer))
	c.AddIP(serialize(ip, u, gopacket.Payload(payload)))
}

// UDPFragmented adds a UDP datagram split into IPv4 fragments of at most mtu bytes of IP
// payload each, in the given order of fragments (nil: in order).
func (c *Capture) UDPFragmented(src, dst netip.AddrPort, payload []byte, mtu int, order []int) {
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: src.Addr().AsSlice(), DstIP: dst.Addr().AsSlice()}
	u.SetNetworkLayerForChecksum(ip4)
	whole := serialize(u, gopacket.Payload(payload)) // UDP header + payload
	mtu &^= 7
	var frags [][]byte
	for off := 0; off < len(whole); off += mtu {
		end := off + mtu
		more := true
		if end >= len(whole) {
			end, more = len(whole), false
		}
		h := *ip4
		h.Id = 0x4242
		h.FragOffset = uint16(off / 8)
		if more {
			h.Flags = layers.IPv4MoreFragments
		}
		frags = append(frags, serialize(&h, gopacket.Payload(whole[off:end])))
	}
	if order == nil {
		for i := range frags {
			order = append(order, i)
		}
	}
	for _, i := range order {
		c.AddIP(frags[i])
	}
}

// ICMPUnreachable adds an ICMP (or ICMPv6) destination-unreachable from router quoting the
// first bytes of a packet from src to dst.
func (c *Capture) ICMPUnreachable(router netip.Addr, code uint8, udp bool, src, dst netip.AddrPort) {
	var quoted []byte
	proto := layers.IPProtocolTCP
	if udp {
		proto = layers.IPProtocolUDP
	}
	ip := ipLayer(src.Addr(), dst.Addr(), proto)
	var l4 gopacket.SerializableLayer
	if udp {
		u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
		u.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer))
		l4 = u
	} else {
		t := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()), SYN: true, Seq: 1000}
		t.SetNetworkLayerForChecksum(ip.(gopacket.NetworkLayer))
		l4 = t
	}
	quoted = serialize(ip, l4, gopacket.Payload([]byte("quoted")))
	if src.Addr().Is4() {
		ic := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, code)}
		out := ipLayer(router, src.Addr(), layers.IPProtocolICMPv4)
		c.AddIP(serialize(out, ic, gopacket.Payload(quoted[:28+8])))
		return
	}
	ic := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, code)}
	out := ipLayer(router, src.Addr(), layers.IPProtocolICMPv6)
	ic.SetNetworkLayerForChecksum(out.(gopacket.NetworkLayer))
	c.AddIP(serialize(out, ic, gopacket.Payload(append([]byte{0, 0, 0, 0}, quoted...))))
}

// Conn is a TCP connection being written.
type Conn struct {
	c              *Capture
	Client, Server netip.AddrPort
	cseq, sseq     uint32
	established    bool
}

// Dial adds a connection attempt: the SYN (and retries more SYNs with the same ISN).
func (c *Capture) Dial(client, server netip.AddrPort, isn uint32, retries int) *Conn {
	k := &Conn{c: c, Client: client, Server: server, cseq: isn, sseq: isn ^ 0x5a5a5a5a}
	for i := 0; i <= retries; i++ {
		c.TCPPacket(client, server, TCPFlags{SYN: true}, k.cseq, 0, nil)
		if i < retries {
			c.Wait(time.Second << i)
		}
	}
	return k
}

// Accept answers the SYN with SYN-ACK and completes the handshake.
func (k *Conn) Accept() *Conn {
	k.c.TCPPacket(k.Server, k.Client, TCPFlags{SYN: true, ACK: true}, k.sseq, k.cseq+1, nil)
	k.cseq++
	k.sseq++
	k.c.TCPPacket(k.Client, k.Server, TCPFlags{ACK: true}, k.cseq, k.sseq, nil)
	k.established = true
	return k
}

// Refuse answers the SYN with RST+ACK.
func (k *Conn) Refuse() {
	k.c.TCPPacket(k.Server, k.Client, TCPFlags{RST: true, ACK: true}, 0, k.cseq+1, nil)
}

// Send writes payload from the client (toServer) or the server in segments of at most mss.
func (k *Conn) Send(toServer bool, payload []byte, mss int) {
	if mss <= 0 {
		mss = 1460
	}
	for len(payload) > 0 {
		n := min(mss, len(payload))
		if toServer {
			k.c.TCPPacket(k.Client, k.Server, TCPFlags{ACK: true, PSH: true}, k.cseq, k.sseq, payload[:n])
			k.cseq += uint32(n)
		} else {
			k.c.TCPPacket(k.Server, k.Client, TCPFlags{ACK: true, PSH: true}, k.sseq, k.cseq, payload[:n])
			k.sseq += uint32(n)
		}
		payload = payload[n:]
	}
}

// Close ends the connection with FINs both ways.
func (k *Conn) Close() {
	k.c.TCPPacket(k.Client, k.Server, TCPFlags{FIN: true, ACK: true}, k.cseq, k.sseq, nil)
	k.cseq++
	k.c.TCPPacket(k.Server, k.Client, TCPFlags{FIN: true, ACK: true}, k.sseq, k.cseq, nil)
	k.sseq++
	k.c.TCPPacket(k.Client, k.Server, TCPFlags{ACK: true}, k.cseq, k.sseq, nil)
}

// WritePcap writes the frames as classic pcap (one link type: the first frame's).
func (c *Capture) WritePcap(w io.Writer) error {
	pw := pcapgo.NewWriterNanos(w)
	link := c.Link
	if len(c.Frames) > 0 {
		link = c.Frames[0].Link
	}
	if err := pw.WriteFileHeader(262144, link); err != nil {
		return err
	}
	for _, f := range c.Frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
		if err := pw.WritePacket(ci, f.Data); err != nil {
			return err
		}
	}
	return nil
}

// WritePcapng writes the frames as pcapng with one interface per link type used.
func (c *Capture) WritePcapng(w io.Writer) error {
	if len(c.Frames) == 0 {
		_, err := pcapgo.NewNgWriter(w, c.Link)
		return err
	}
	ifaces := map[layers.LinkType]int{}
	first := c.Frames[0].Link
	nw, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{Name: "if0", LinkType: first, SnapLength: 262144},
		pcapgo.NgWriterOptions{})
	if err != nil {
		return err
	}
	ifaces[first] = 0
	for _, f := range c.Frames {
		id, ok := ifaces[f.Link]
		if !ok {
			id, err = nw.AddInterface(pcapgo.NgInterface{Name: "if" + string(rune('0'+len(ifaces))), LinkType: f.Link, SnapLength: 262144})
			if err != nil {
				return err
			}
			ifaces[f.Link] = id
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data), InterfaceIndex: id}
		if err := nw.WritePacket(ci, f.Data); err != nil {
			return err
		}
	}
	return nw.Flush()
}

// AP parses "addr:port" for test literals; it panics on a bad literal.
func AP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// Addr parses an address literal.
func Addr(s string) netip.Addr { return netip.MustParseAddr(s) }
