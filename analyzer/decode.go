package analyzer

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
)

// Transport protocol numbers used in flow keys.
const (
	protoTCP = 6
	protoUDP = 17
)

// TCP flag bits as in the header.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// segment is one decoded TCP/UDP packet or one ICMP error, as the flow table needs it.
// It is reused for every packet: nothing in it may be kept after handling.
type segment struct {
	ts       time.Time
	file     int
	frame    int // frame number within its file
	src, dst netip.Addr
	proto    uint8
	sport    uint16
	dport    uint16
	flags    uint8
	seq, ack uint32
	payload  []byte
	ipLen    int // bytes of the IP packet (header included)

	// ICMP destination-unreachable: the quoted packet's transport tuple.
	icmp      bool
	icmpV6    bool
	icmpType  uint8
	icmpCode  uint8
	quoted    flowKeyDir
	quotedSeq uint32
}

// flowKeyDir is a directed 5-tuple.
type flowKeyDir struct {
	proto    uint8
	src, dst netip.AddrPort
}

// decoder turns frames into segments with gopacket's DecodingLayerParser, decoding into
// reused layer structs. IPv4 and IPv6 fragments are reassembled.
type decoder struct {
	eth     ethHeader
	dot1q   layers.Dot1Q
	sll     layers.LinuxSLL
	sll2    layers.LinuxSLL2
	loop    layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6ext  layers.IPv6ExtensionSkipper
	ip6frag layers.IPv6Fragment
	tcp     tcpHeader
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	payload gopacket.Payload
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	// The parser of the last frame and the layer it starts with.
	lastFirst  gopacket.LayerType
	lastParser *gopacket.DecodingLayerParser
	decoded    []gopacket.LayerType
	defrag4    *ipv4Defrag
	defrag6    *ip6defrag.IPv6Defragmenter
	lastGC     time.Time
	fragsNow   int

	// counters for the report
	nonIP       int
	unsupported map[layers.LinkType]int
	malformed   int
}

func newDecoder() *decoder {
	d := &decoder{
		parsers:     map[gopacket.LayerType]*gopacket.DecodingLayerParser{},
		defrag4:     newIPv4Defrag(),
		defrag6:     ip6defrag.NewIPv6Defragmenter(),
		unsupported: map[layers.LinkType]int{},
		decoded:     make([]gopacket.LayerType, 0, 16),
	}
	return d
}

func (d *decoder) parser(first gopacket.LayerType) *gopacket.DecodingLayerParser {
	if d.lastParser != nil && first == d.lastFirst {
		return d.lastParser // a capture's frames mostly start with the same layer
	}
	if p, ok := d.parsers[first]; ok {
		d.lastFirst, d.lastParser = first, p
		return p
	}
	p := gopacket.NewDecodingLayerParser(first)
	// A slice indexed by layer type finds the next decoder faster than the default map.
	c := gopacket.DecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
	for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop, &d.ip4, &d.ip6,
		&d.ip6ext, &d.ip6frag, &d.tcp, &d.udp, &d.icmp4, &d.icmp6, &d.payload} {
		c = c.Put(l)
	}
	p.SetDecodingLayerContainer(c)
	p.IgnoreUnsupported = true
	p.IgnorePanic = true
	d.parsers[first] = p
	return p
}

// firstLayer maps a link type to the layer the frame starts with.
func firstLayer(link layers.LinkType, data []byte) (gopacket.LayerType, bool) {
	switch link {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet, true
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL, true
	case layers.LinkTypeLinuxSLL2:
		return layers.LayerTypeLinuxSLL2, true
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return layers.LayerTypeLoopback, true
	case layers.LinkTypeIPv4:
		return layers.LayerTypeIPv4, true
	case layers.LinkTypeIPv6:
		return layers.LayerTypeIPv6, true
	case layers.LinkTypeRaw, 12, 14: // raw IP (DLT_RAW differs between platforms)
		if len(data) > 0 && data[0]>>4 == 6 {
			return layers.LayerTypeIPv6, true
		}
		return layers.LayerTypeIPv4, true
	}
	return 0, false
}

// LinkTypeName names a link type as a person would.
func LinkTypeName(link layers.LinkType) string {
	switch link {
	case layers.LinkTypeEthernet:
		return "Ethernet"
	case layers.LinkTypeLinuxSLL:
		return "Linux cooked v1"
	case layers.LinkTypeLinuxSLL2:
		return "Linux cooked v2"
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return "BSD loopback"
	case layers.LinkTypeIPv4:
		return "raw IPv4"
	case layers.LinkTypeIPv6:
		return "raw IPv6"
	case layers.LinkTypeRaw, 12, 14:
		return "raw IP"
	}
	return "link type " + itoa(int(link))
}

type decodeResult int

const (
	decodedNone  decodeResult = iota // not TCP/UDP/ICMP error, or a fragment held back
	decodedOK                        // seg is filled
	decodedUnsup                     // unsupported link type
)

// decode fills seg from a frame.
func (d *decoder) decode(p Packet, seg *segment) decodeResult {
	first, ok := firstLayer(p.Link, p.Data)
	if !ok {
		d.unsupported[p.Link]++
		return decodedUnsup
	}
	d.decoded = d.decoded[:0]
	_ = d.parser(first).DecodeLayers(p.Data, &d.decoded)
	*seg = segment{ts: p.Timestamp, file: p.File, frame: p.Frame}
	var haveIP, haveTransport bool
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			haveIP = true
			seg.src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			seg.dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			seg.ipLen = int(d.ip4.Length)
			if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
				return d.defragment4(p.Timestamp, seg)
			}
		case layers.LayerTypeIPv6:
			haveIP = true
			seg.src, _ = netip.AddrFromSlice(d.ip6.SrcIP.To16())
			seg.dst, _ = netip.AddrFromSlice(d.ip6.DstIP.To16())
			seg.ipLen = int(d.ip6.Length) + 40
		case layers.LayerTypeIPv6Fragment:
			if d.ip6frag.FragmentOffset != 0 || d.ip6frag.MoreFragments {
				return d.defragment6(p.Timestamp, seg)
			}
		case layers.LayerTypeTCP:
			haveTransport = true
			d.fillTCP(seg, &d.tcp)
		case layers.LayerTypeUDP:
			haveTransport = true
			d.fillUDP(seg, &d.udp)
		case layers.LayerTypeICMPv4:
			if d.icmp4.TypeCode.Type() == layers.ICMPv4TypeDestinationUnreachable {
				return d.icmpQuote(seg, false, d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code(), d.icmp4.Payload)
			}
			return decodedNone
		case layers.LayerTypeICMPv6:
			if d.icmp6.TypeCode.Type() == layers.ICMPv6TypeDestinationUnreachable && len(d.icmp6.Payload) >= 4 {
				return d.icmpQuote(seg, true, d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code(), d.icmp6.Payload[4:])
			}
			return decodedNone
		}
	}
	if !haveIP {
		d.nonIP++
		return decodedNone
	}
	if !haveTransport {
		return decodedNone
	}
	return decodedOK
}

func (d *decoder) fillTCP(seg *segment, t *tcpHeader) {
	seg.proto = protoTCP
	seg.sport, seg.dport = t.srcPort, t.dstPort
	seg.flags = t.flags & (flagFIN | flagSYN | flagRST | flagPSH | flagACK)
	seg.seq, seg.ack = t.seq, t.ack
	seg.payload = t.payload
}

// tcpHeader decodes TCP as far as the analysis reads it: ports, sequence numbers, flags and
// payload, checked as layers.TCP checks them (header of 20 bytes, data offset of at least 5
// words and inside the packet). layers.TCP also decodes every option into a slice of
// structs holding pointers, for each of the millions of segments of a capture, and nothing
// here reads them (TestTCPHeaderIsLayersTCP, FuzzTCPHeader). A gopacket DecodingLayer.
type tcpHeader struct {
	srcPort, dstPort uint16
	seq, ack         uint32
	flags            uint8
	payload          []byte
}

var (
	errTCPShort     = errors.New("invalid TCP header: shorter than 20 bytes")
	errTCPOffset    = errors.New("invalid TCP data offset: less than 5")
	errTCPTruncated = errors.New("TCP data offset greater than packet length")
)

func (t *tcpHeader) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 20 {
		df.SetTruncated()
		return errTCPShort
	}
	t.srcPort = binary.BigEndian.Uint16(data[0:2])
	t.dstPort = binary.BigEndian.Uint16(data[2:4])
	t.seq = binary.BigEndian.Uint32(data[4:8])
	t.ack = binary.BigEndian.Uint32(data[8:12])
	t.flags = data[13]
	off := int(data[12]>>4) * 4
	if off < 20 {
		t.payload = nil
		return errTCPOffset
	}
	if off > len(data) {
		df.SetTruncated()
		t.payload = nil
		return errTCPTruncated
	}
	t.payload = data[off:]
	return nil
}

// ethHeader decodes an Ethernet header as layers.Ethernet does (14 bytes; an 802.3 length
// in place of the type trims the payload to it and leads to LLC) without keeping the MAC
// addresses, which nothing here reads (TestEthHeaderIsLayersEthernet, FuzzEthHeader).
type ethHeader struct {
	typ     layers.EthernetType
	payload []byte
}

var errEthShort = errors.New("Ethernet packet too small")

func (e *ethHeader) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	if len(data) < 14 {
		return errEthShort
	}
	e.typ = layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
	e.payload = data[14:]
	if e.typ < 0x0600 { // an 802.3 length
		n := int(e.typ)
		e.typ = layers.EthernetTypeLLC
		if len(e.payload) < n {
			df.SetTruncated()
		} else {
			e.payload = e.payload[:n]
		}
	}
	return nil
}

func (e *ethHeader) CanDecode() gopacket.LayerClass    { return layers.LayerTypeEthernet }
func (e *ethHeader) NextLayerType() gopacket.LayerType { return e.typ.LayerType() }
func (e *ethHeader) LayerPayload() []byte              { return e.payload }

func (t *tcpHeader) CanDecode() gopacket.LayerClass    { return layers.LayerTypeTCP }
func (t *tcpHeader) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }
func (t *tcpHeader) LayerPayload() []byte              { return t.payload }

func (d *decoder) fillUDP(seg *segment, u *layers.UDP) {
	seg.proto = protoUDP
	seg.sport, seg.dport = uint16(u.SrcPort), uint16(u.DstPort)
	seg.payload = u.Payload
}

// transport decodes a reassembled datagram's TCP or UDP header.
func (d *decoder) transport(proto layers.IPProtocol, payload []byte, seg *segment) decodeResult {
	switch proto {
	case layers.IPProtocolTCP:
		if err := d.tcp.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			d.malformed++
			return decodedNone
		}
		d.fillTCP(seg, &d.tcp)
		return decodedOK
	case layers.IPProtocolUDP:
		if err := d.udp.DecodeFromBytes(payload, gopacket.NilDecodeFeedback); err != nil {
			d.malformed++
			return decodedNone
		}
		d.fillUDP(seg, &d.udp)
		return decodedOK
	}
	return decodedNone
}

const fragmentTimeout = 30 * time.Second

func (d *decoder) defragment4(ts time.Time, seg *segment) decodeResult {
	// The defragmenter copies the fragment's data out of the reused packet buffer. The
	// datagram it returns lives in its own buffer until its next call, and the segment is
	// handled before the next packet is decoded.
	d.fragsNow++
	d.gcFragments(ts)
	payload, proto, ipLen, err := d.defrag4.add(&d.ip4, ts)
	if err != nil {
		d.malformed++
		return decodedNone
	}
	if payload == nil {
		return decodedNone
	}
	seg.ipLen = ipLen
	return d.transport(proto, payload, seg)
}

func (d *decoder) defragment6(ts time.Time, seg *segment) decodeResult {
	ip := d.ip6
	ip.Payload = nil
	ip.HopByHop = nil
	frag := d.ip6frag
	frag.Contents = append([]byte(nil), d.ip6frag.Contents...)
	frag.Payload = append([]byte(nil), d.ip6frag.Payload...)
	d.fragsNow++
	d.gcFragments(ts)
	out := d.defrag6.DefragIPv6(&ip, &frag)
	if out == nil {
		return decodedNone
	}
	seg.ipLen = len(out.Payload) + 40
	return d.transport(out.NextHeader, out.Payload, seg)
}

// gcFragments drops incomplete datagrams so that memory stays bounded.
func (d *decoder) gcFragments(ts time.Time) {
	if d.fragsNow < 1024 && ts.Sub(d.lastGC) < fragmentTimeout {
		return
	}
	d.fragsNow = 0
	d.lastGC = ts
	d.defrag4.discardOlderThan(ts.Add(-fragmentTimeout))
	// ip6defrag stamps fragments with the wall clock.
	d.defrag6.DiscardOlderThan(time.Now().Add(-fragmentTimeout))
}

// icmpQuote reads the IP header and the first 8 transport bytes quoted by an ICMP
// destination-unreachable message.
func (d *decoder) icmpQuote(seg *segment, v6 bool, typ, code uint8, q []byte) decodeResult {
	seg.icmp, seg.icmpV6, seg.icmpType, seg.icmpCode = true, v6, typ, code
	var proto uint8
	var src, dst netip.Addr
	var rest []byte
	if !v6 {
		if len(q) < 20 || q[0]>>4 != 4 {
			return decodedNone
		}
		ihl := int(q[0]&0x0f) * 4
		if ihl < 20 || len(q) < ihl+8 {
			return decodedNone
		}
		// A quoted non-first fragment carries no ports.
		if binary.BigEndian.Uint16(q[6:8])&0x1fff != 0 {
			return decodedNone
		}
		proto = q[9]
		src = netip.AddrFrom4([4]byte(q[12:16]))
		dst = netip.AddrFrom4([4]byte(q[16:20]))
		rest = q[ihl:]
	} else {
		if len(q) < 48 || q[0]>>4 != 6 {
			return decodedNone
		}
		proto = q[6]
		src = netip.AddrFrom16([16]byte(q[8:24]))
		dst = netip.AddrFrom16([16]byte(q[24:40]))
		rest = q[40:]
		// Skip a fragment header if the quoted packet was the first fragment.
		if proto == 44 && len(rest) >= 16 {
			proto, rest = rest[0], rest[8:]
		}
	}
	if proto != protoTCP && proto != protoUDP || len(rest) < 8 {
		return decodedNone
	}
	sp := binary.BigEndian.Uint16(rest[0:2])
	dp := binary.BigEndian.Uint16(rest[2:4])
	seg.quoted = flowKeyDir{proto: proto, src: netip.AddrPortFrom(src, sp), dst: netip.AddrPortFrom(dst, dp)}
	if proto == protoTCP {
		seg.quotedSeq = binary.BigEndian.Uint32(rest[4:8])
	}
	return decodedOK
}

func itoa(v int) string {
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
