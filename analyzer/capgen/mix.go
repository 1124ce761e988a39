package capgen

// WriteMix: the benchmark capture (make bench, testdata/bench).
//
// WriteMix streams a large pcapng (Ethernet, nanosecond timestamps) that looks like an hour
// at a busy AD CS CA / domain controller, many conversations in flight at once. It never
// holds the capture in memory: conversations are small state machines in a heap ordered
// by the time of their next packet, and new ones start at exponentially distributed
// intervals (a Poisson arrival process) until the size targets are reached. The same
// options give the same bytes (math/rand/v2 PCG, Seed).
//
// What starts, per arrival (probabilities in mixWeights; the shares of packets and bytes
// are those of the default mix, 10.5 M packets and 5.2 GB over an hour, seed 1; MixStats
// reports them for any run):
//
//   - 30%: a client session replayed from a real lab capture (testdata/captures/lab-*.pcapng:
//     Samba AD DC, MIT Kerberos, OpenLDAP, impacket): CLDAP ping, Kerberos over UDP (with
//     its real IPv4 fragments) and TCP, LDAP, Global Catalog, LDAPS, EPM ept_map with the
//     dynamic-port replies and the connections to those ports (SAMR, Netlogon), HTTPS,
//     kpasswd, refused/dropped connections and ICMP errors as the lab scenario had them.
//     The whole session is replayed as a unit (so an EPM reply and the connection to the
//     port it hands out stay together) with its real relative timing, a client address
//     out of 2 000 (10.100.x.y ...), fresh ephemeral ports per connection, and one of
//     four server groups (10.77.2-5.x): the client's own site's, one session in eight another. Of these sessions 25% have the SAMR UUID swapped
//     for ICertPassage's (the EPM map, the tower and the bind on the dynamic port), 8% are
//     802.1Q-tagged, 5% are converted to IPv6 (their Kerberos, LDAP, LDAPS, GC, kpasswd and
//     HTTPS connections only; the checksums are recomputed for the new pseudo-header), 10%
//     have large Kerberos UDP replies fragmented again at a 576-byte path MTU. About 72%
//     of the packets and 45% of the bytes; up to ~180 conversations in flight at once.
//   - 1%: a hand-built ICertPassage-over-EPM or DCOM CCertRequestD activation exchange
//     (decoders/dcerpc/testdata/handbuilt, decoders/dcom/testdata; checked with tshark).
//   - 0.17%: an SMB2 file read over TCP 445 (NEGOTIATE, SESSION_SETUP, TREE_CONNECT
//     \\server\CertEnroll, CREATE, then 64 KiB READs, 256 KiB to 12 MiB, CLOSE), 2-40 MB/s,
//     MSS 1448, the client ACKing every second segment.
//   - 0.47%: an HTTPS download: the real TLS 1.3 handshake and first exchange of the lab's
//     HTTPS connection, then application_data records of 16 KiB (64 KiB to 6 MiB), 10%
//     over IPv6, 8% tagged. SMB and HTTPS together are about 25% of the packets and 55% of
//     the bytes (data segments of 1514 bytes and their ACKs).
//   - 25%: a SYN never answered (two retransmissions, 1 s and 3 s later) to a dynamic RPC
//     port, 636, 445 or 135; 25%: a SYN answered by RST (the client tries again once);
//     17.5%: a CLDAP or Kerberos datagram answered by ICMP port unreachable quoting it.
//     About 2% of the packets.
//
// The packet target is the one that binds: at 10.5 M packets the file is about 5.2 GB
// (500 bytes a packet on average), so the 2.1 GB byte target is met too.
//
// IPv4 header checksums are correct; TCP and UDP checksums are left as the rewrite leaves
// them (wrong after an address change, as with checksum offload) except on IPv6.

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MixVersion changes whenever WriteMix writes other bytes for the same options (cache keys).
const MixVersion = 3

// MixOptions sizes the capture. New conversations start until both Bytes and Packets are
// reached (then the ones in flight finish); when both are zero they default to 2.1 GB and
// 10.5 M packets. The arrival rate is set so that this takes about Duration (default 1 h).
type MixOptions struct {
	Bytes    int64
	Packets  int64
	Duration time.Duration
	Seed     uint64
	// Templates are the capture files sessions are replayed from (default: the lab client
	// captures and the hand-built ICertPassage and DCOM exchanges of this repository).
	Templates []string
	// DCOMTemplates are replayed less often (default: the two hand-built exchanges).
	DCOMTemplates []string
}

// MixStats counts what WriteMix wrote.
type MixStats struct {
	Packets    int64 `json:"packets"`
	Bytes      int64 `json:"bytes"`       // bytes of the file
	FrameBytes int64 `json:"frame_bytes"` // bytes of the frames
	Start      time.Time
	End        time.Time
	// Packets by kind (a packet can be several: a tagged IPv6 TCP segment).
	TCP       int64 `json:"tcp"`
	UDP       int64 `json:"udp"`
	ICMP      int64 `json:"icmp"`
	VLAN      int64 `json:"vlan"`
	IPv6      int64 `json:"ipv6"`
	Fragments int64 `json:"fragments"` // IPv4 packets with MF set or a fragment offset
	// Bulk transfers (SMB2 and HTTPS): packets and frame bytes.
	BulkPackets int64 `json:"bulk_packets"`
	BulkBytes   int64 `json:"bulk_bytes"`
	// Conversations started, by kind.
	Sessions           int64 `json:"sessions"`
	SessionsIPv6       int64 `json:"sessions_ipv6"`
	SessionsVLAN       int64 `json:"sessions_vlan"`
	SessionsFragmented int64 `json:"sessions_fragmented"`
	SessionsICert      int64 `json:"sessions_icertpassage"`
	DCOM               int64 `json:"dcom"`
	SMBTransfers       int64 `json:"smb_transfers"`
	HTTPSTransfers     int64 `json:"https_transfers"`
	SYNDropped         int64 `json:"syn_dropped"`
	SYNReset           int64 `json:"syn_reset"`
	UDPUnreachable     int64 `json:"udp_unreachable"`
	// MaxInFlight is the largest number of conversations in flight at once.
	MaxInFlight int `json:"max_in_flight"`
}

// mixWeights: probability of each kind of conversation per arrival.
var mixWeights = [...]struct {
	kind int
	p    float64
}{
	{kSession, 0.30}, {kDCOM, 0.01}, {kSMB, 0.0017}, {kHTTPS, 0.0047},
	{kSYNDrop, 0.25}, {kSYNReset, 0.25}, {kUDPUnreach, 0.175},
}

const (
	kSession = iota
	kDCOM
	kSMB
	kHTTPS
	kSYNDrop
	kSYNReset
	kUDPUnreach
)

const (
	// A site's client machines: a busy CA and DC see the same few thousand hosts again
	// and again (logons, ticket renewals, autoenrollment), which is what keeps the
	// analyzer's memory flat as the capture grows (it grows with distinct client/service
	// pairs, not with flows).
	nClients = 2000
	mss      = 1448
)

// DefaultMixTemplates returns the capture files of this repository WriteMix replays.
func DefaultMixTemplates() (sessions, dcom []string, err error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return nil, nil, errors.New("capgen: cannot locate the repository")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	all, err := filepath.Glob(filepath.Join(root, "testdata", "captures", "lab-*.pcapng"))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range all {
		if !strings.HasSuffix(f, ".server.pcapng") {
			sessions = append(sessions, f)
		}
	}
	dcom = []string{
		filepath.Join(root, "decoders", "dcerpc", "testdata", "handbuilt", "icertpassage.pcap"),
		filepath.Join(root, "decoders", "dcom", "testdata", "certrequestd.pcap"),
	}
	if len(sessions) == 0 {
		return nil, nil, fmt.Errorf("capgen: no lab captures under %s", root)
	}
	return sessions, dcom, nil
}

// WriteMix writes the mix to w (see the comment at the top of this file).
func WriteMix(w io.Writer, opts MixOptions) (MixStats, error) {
	if opts.Bytes == 0 && opts.Packets == 0 {
		opts.Bytes, opts.Packets = 2_100_000_000, 10_500_000
	}
	if opts.Duration <= 0 {
		opts.Duration = time.Hour
	}
	if opts.Templates == nil {
		s, d, err := DefaultMixTemplates()
		if err != nil {
			return MixStats{}, err
		}
		opts.Templates = s
		if opts.DCOMTemplates == nil {
			opts.DCOMTemplates = d
		}
	}
	g := &mixGen{opts: opts, rng: rand.New(rand.NewPCG(opts.Seed, 0xadc5f10e))}
	for _, f := range opts.Templates {
		t, err := loadTemplate(f)
		if err != nil {
			return MixStats{}, err
		}
		g.sessions = append(g.sessions, t)
	}
	for _, f := range opts.DCOMTemplates {
		t, err := loadTemplate(f)
		if err != nil {
			return MixStats{}, err
		}
		t.keepServers = true
		g.dcom = append(g.dcom, t)
	}
	if err := g.prepare(); err != nil {
		return MixStats{}, err
	}
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	nw, err := pcapgo.NewNgWriterInterface(bw, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 262144},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "adcsflow capgen.WriteMix"}})
	if err != nil {
		return MixStats{}, err
	}
	g.nw = nw
	g.base = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	g.stats.Start = g.base
	g.run()
	if g.err == nil {
		g.err = nw.Flush()
	}
	if g.err == nil {
		g.err = bw.Flush()
	}
	g.stats.Bytes = cw.n
	g.stats.End = g.base.Add(time.Duration(g.last))
	return g.stats, g.err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ---------------------------------------------------------------- templates

const (
	pkOther = iota
	pkTCP
	pkUDP
	pkICMP
	pkFrag // a non-first IPv4 fragment
)

type tplPkt struct {
	dt         int64
	data       []byte // Ethernet frame, tags removed
	conv       int32  // -1: none
	fromClient bool
	kind       uint8
	uuidAt     []int32 // offsets of the SAMR UUID (ICertPassage swap)
}

type template struct {
	name        string
	pkts        []tplPkt
	nconv       int
	convV6      []bool // the connection is kept in an IPv6 copy
	clients     map[[4]byte]bool
	servers     map[[4]byte]bool
	keepServers bool
	bytes       int64
	hasUUID     bool
	// firstPayload[port] is the first client payload of a UDP exchange to that port.
	udpPayload map[uint16][]byte
	// tls443 is the sequence of payloads of the HTTPS connection (client first).
	tls443 []tlsPayload
}

type tlsPayload struct {
	fromClient bool
	data       []byte
}

var (
	uuidSAMR        = []byte{0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xac}
	uuidICertPassag = []byte{0x20, 0x60, 0xae, 0x91, 0x3c, 0x9e, 0xcf, 0x11, 0x8d, 0x7c, 0x00, 0xaa, 0x00, 0xc0, 0x91, 0xbe}
)

var v6Ports = map[uint16]bool{88: true, 389: true, 636: true, 3268: true, 464: true, 443: true}

type convKey struct {
	proto      uint8
	a, b       [4]byte
	aPort, bPo uint16
}

func canon(proto uint8, s, d [4]byte, sp, dp uint16) convKey {
	if bytes.Compare(s[:], d[:]) > 0 || (s == d && sp > dp) {
		s, d, sp, dp = d, s, dp, sp
	}
	return convKey{proto, s, d, sp, dp}
}

func readAll(path string) (pkts [][]byte, ts []time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		src = r
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		if r.LinkType() != layers.LinkTypeEthernet {
			return nil, nil, fmt.Errorf("%s: not Ethernet", path)
		}
		src = r
	}
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return pkts, ts, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		pkts = append(pkts, append([]byte(nil), data...))
		ts = append(ts, ci.Timestamp)
	}
}

// loadTemplate splits a capture into connections (by 5-tuple, the client being the sender
// of a connection's first packet) and keeps its IPv4 packets in order with their timing.
func loadTemplate(path string) (*template, error) {
	raw, ts, err := readAll(path)
	if err != nil {
		return nil, err
	}
	t := &template{name: filepath.Base(path), clients: map[[4]byte]bool{}, servers: map[[4]byte]bool{},
		udpPayload: map[uint16][]byte{}}
	convs := map[convKey]int32{}
	var convClient [][4]byte
	var convServerPort []uint16
	var convProto []uint8
	type fragKey struct {
		s, d [4]byte
		id   uint16
	}
	frags := map[fragKey]int32{}
	var t0 time.Time
	var tls443 int32 = -1
	for i, d := range raw {
		off := 14
		for off+4 <= len(d) && (binary.BigEndian.Uint16(d[off-2:]) == 0x8100 || binary.BigEndian.Uint16(d[off-2:]) == 0x88a8) {
			off += 4
		}
		if off+20 > len(d) || binary.BigEndian.Uint16(d[off-2:]) != 0x0800 || d[off]>>4 != 4 {
			continue
		}
		frame := append(append([]byte(nil), d[:12]...), 0x08, 0x00)
		frame = append(frame, d[off:]...)
		ip := frame[14:]
		ihl := int(ip[0]&15) * 4
		tot := int(binary.BigEndian.Uint16(ip[2:]))
		if tot > len(ip) || tot < ihl {
			continue
		}
		if t0.IsZero() {
			t0 = ts[i]
		}
		p := tplPkt{dt: int64(ts[i].Sub(t0)), data: frame, conv: -1}
		var src, dst [4]byte
		copy(src[:], ip[12:16])
		copy(dst[:], ip[16:20])
		fo := binary.BigEndian.Uint16(ip[6:]) & 0x1fff
		mf := ip[6]&0x20 != 0
		proto := ip[9]
		l4 := ip[ihl:tot]
		switch {
		case fo != 0:
			p.kind = pkFrag
			if c, ok := frags[fragKey{src, dst, binary.BigEndian.Uint16(ip[4:])}]; ok {
				p.conv = c
				p.fromClient = src == convClient[c]
			}
		case (proto == 6 || proto == 17) && len(l4) >= 8:
			sp, dp := binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
			k := canon(proto, src, dst, sp, dp)
			c, ok := convs[k]
			if !ok {
				c = int32(len(convClient))
				convs[k] = c
				convClient = append(convClient, src)
				convServerPort = append(convServerPort, dp)
				convProto = append(convProto, proto)
				t.clients[src] = true
				t.servers[dst] = true
			}
			p.conv = c
			p.fromClient = src == convClient[c]
			if mf {
				frags[fragKey{src, dst, binary.BigEndian.Uint16(ip[4:])}] = c
			}
			if proto == 6 {
				p.kind = pkTCP
				if dp == 443 || sp == 443 {
					if tls443 < 0 {
						tls443 = c
					}
					if c == tls443 && len(l4) >= 20 {
						if pl := l4[int(l4[12]>>4)*4:]; len(pl) > 0 {
							t.tls443 = append(t.tls443, tlsPayload{p.fromClient, pl})
						}
					}
				}
			} else {
				p.kind = pkUDP
				if p.fromClient && !mf && t.udpPayload[dp] == nil && len(l4) > 8 {
					t.udpPayload[dp] = l4[8:]
				}
			}
		case proto == 1 && len(l4) >= 8+20+8 && l4[0] == 3:
			p.kind = pkICMP
			q := l4[8:]
			qihl := int(q[0]&15) * 4
			if len(q) >= qihl+4 && (q[9] == 6 || q[9] == 17) {
				var qs, qd [4]byte
				copy(qs[:], q[12:16])
				copy(qd[:], q[16:20])
				k := canon(q[9], qs, qd, binary.BigEndian.Uint16(q[qihl:]), binary.BigEndian.Uint16(q[qihl+2:]))
				if c, ok := convs[k]; ok {
					p.conv = c
				}
			}
		default:
			p.kind = pkOther
		}
		for j := 0; ; {
			k := bytes.Index(frame[j:], uuidSAMR)
			if k < 0 {
				break
			}
			p.uuidAt = append(p.uuidAt, int32(j+k))
			t.hasUUID = true
			j += k + len(uuidSAMR)
		}
		t.pkts = append(t.pkts, p)
		t.bytes += int64(len(frame))
	}
	for a := range t.clients {
		delete(t.servers, a)
	}
	t.nconv = len(convClient)
	t.convV6 = make([]bool, t.nconv)
	for c := range t.convV6 {
		t.convV6[c] = v6Ports[convServerPort[c]]
	}
	if len(t.pkts) == 0 || t.nconv == 0 {
		return nil, fmt.Errorf("%s: no IPv4 TCP/UDP conversation", path)
	}
	// Drop the HTTPS close (client alert after the server's last data) from the TLS script.
	for len(t.tls443) > 0 && t.tls443[len(t.tls443)-1].fromClient {
		t.tls443 = t.tls443[:len(t.tls443)-1]
	}
	return t, nil
}

// ---------------------------------------------------------------- generator

type stream interface {
	at() int64 // time of the next packet (ns since the start)
	emit(g *mixGen) bool
}

type item struct {
	at int64
	id uint64
	s  stream
}

type streamHeap []item

func (h streamHeap) Len() int { return len(h) }
func (h streamHeap) Less(i, j int) bool {
	return h[i].at < h[j].at || h[i].at == h[j].at && h[i].id < h[j].id
}
func (h streamHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *streamHeap) Push(x any)   { *h = append(*h, x.(item)) }
func (h *streamHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type mixGen struct {
	opts     MixOptions
	rng      *rand.Rand
	sessions []*template
	dcom     []*template
	tlsTpl   *template
	nw       *pcapgo.NgWriter
	base     time.Time
	last     int64
	buf      []byte
	stats    MixStats
	err      error
	ports    []uint16
	ipid     uint16
	random   []byte // payload bytes of bulk transfers
	h        streamHeap
	nextID   uint64
	rate     float64 // arrivals per ns
	bulk     bool    // the packet being written belongs to a bulk transfer
}

func (g *mixGen) prepare() error {
	for _, t := range g.sessions {
		if len(t.tls443) > 2 {
			g.tlsTpl = t
			break
		}
	}
	if g.tlsTpl == nil {
		return errors.New("capgen: no template has an HTTPS connection")
	}
	g.ports = make([]uint16, nClients)
	for i := range g.ports {
		g.ports[i] = uint16(32768 + g.rng.IntN(28000))
	}
	g.random = make([]byte, 1<<20+70000)
	for i := 0; i+8 <= len(g.random); i += 8 {
		binary.LittleEndian.PutUint64(g.random[i:], g.rng.Uint64())
	}
	g.buf = make([]byte, 0, 65536)
	// Expected packets and bytes per arrival, to set the arrival rate.
	var sp, sb float64
	for _, t := range g.sessions {
		sp += float64(len(t.pkts))
		sb += float64(t.bytes)
	}
	sp /= float64(len(g.sessions))
	sb /= float64(len(g.sessions))
	smbBytes := float64(256<<10+12<<20) / 2
	httpsBytes := float64(64<<10+6<<20) / 2
	bulkP := func(b float64) float64 { return b / mss * 1.5 }
	bulkB := func(b float64) float64 { return b/mss*(mss+66+16) + b/mss/2*(66+16) }
	var ep, eb float64
	for _, w := range mixWeights {
		var p, b float64
		switch w.kind {
		case kSession:
			p, b = sp, sb
		case kDCOM:
			p, b = 10, 2500
		case kSMB:
			p, b = bulkP(smbBytes)+20, bulkB(smbBytes)+3000
		case kHTTPS:
			p, b = bulkP(httpsBytes)+20, bulkB(httpsBytes)+6000
		case kSYNDrop:
			p, b = 3, 3*100
		case kSYNReset:
			p, b = 4, 4*100
		case kUDPUnreach:
			p, b = 2, 500
		}
		ep += w.p * p
		eb += w.p * (b + 32*p)
	}
	arrivals := math.Max(float64(g.opts.Packets)/ep, float64(g.opts.Bytes)/eb)
	g.rate = arrivals / float64(g.opts.Duration)
	return nil
}

func (g *mixGen) push(s stream) {
	g.nextID++
	heap.Push(&g.h, item{s.at(), g.nextID, s})
}

// arrivals is the stream that starts the others.
type arrivals struct{ next int64 }

func (a *arrivals) at() int64 { return a.next }
func (a *arrivals) emit(g *mixGen) bool {
	if g.done() {
		return false
	}
	g.start(a.next)
	a.next += int64(g.rng.ExpFloat64() / g.rate)
	return true
}

func (g *mixGen) done() bool {
	fileBytes := g.stats.FrameBytes + 34*g.stats.Packets // EPB overhead, padding included on average
	return fileBytes >= g.opts.Bytes && g.stats.Packets >= g.opts.Packets
}

func (g *mixGen) run() {
	g.push(&arrivals{})
	for len(g.h) > 0 && g.err == nil {
		if n := len(g.h) - 1; n > g.stats.MaxInFlight {
			g.stats.MaxInFlight = n
		}
		it := &g.h[0]
		if it.s.emit(g) {
			it.at = it.s.at()
			heap.Fix(&g.h, 0)
		} else {
			heap.Pop(&g.h)
		}
	}
}

func (g *mixGen) pick() int {
	x := g.rng.Float64()
	for _, w := range mixWeights {
		if x < w.p {
			return w.kind
		}
		x -= w.p
	}
	return kSession
}

func (g *mixGen) client() (int, [4]byte) {
	c := g.rng.IntN(nClients)
	return c, [4]byte{10, byte(100 + c/62500), byte(c / 250 % 250), byte(c%250 + 1)}
}

func client6(c int) [16]byte {
	return [16]byte{0xfd, 0x00, 0xad, 0xc5, 0, 1, 12: byte(c >> 24), 13: byte(c >> 16), 14: byte(c >> 8), 15: byte(c)}
}

func server6(a [4]byte) [16]byte {
	return [16]byte{0xfd, 0x00, 0xad, 0xc5, 0, 2, 13: a[2], 14: 0, 15: a[3]}
}

func (g *mixGen) port(c int) uint16 {
	p := g.ports[c] + 1
	if p < 32768 || p > 60999 {
		p = 32768
	}
	g.ports[c] = p
	return p
}

func (g *mixGen) start(now int64) {
	switch g.pick() {
	case kSession:
		g.startSession(now, false)
	case kDCOM:
		g.startSession(now, len(g.dcom) > 0)
	case kSMB:
		g.startSMB(now)
	case kHTTPS:
		g.startHTTPS(now)
	case kSYNDrop, kSYNReset, kUDPUnreach:
		g.startFailure(now)
	}
}

// write frames a packet and writes it with a strictly increasing timestamp.
func (g *mixGen) write(at int64, frame []byte) {
	if at <= g.last {
		at = g.last + 1
	}
	g.last = at
	ci := gopacket.CaptureInfo{Timestamp: g.base.Add(time.Duration(at)), CaptureLength: len(frame), Length: len(frame)}
	if err := g.nw.WritePacket(ci, frame); err != nil {
		g.err = err
		return
	}
	s := &g.stats
	s.Packets++
	s.FrameBytes += int64(len(frame))
	if g.bulk {
		s.BulkPackets++
		s.BulkBytes += int64(len(frame))
	}
	off := 14
	if binary.BigEndian.Uint16(frame[12:]) == 0x8100 {
		s.VLAN++
		off = 18
	}
	var proto byte
	switch binary.BigEndian.Uint16(frame[off-2:]) {
	case 0x0800:
		ip := frame[off:]
		proto = ip[9]
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			s.Fragments++
		}
	case 0x86dd:
		s.IPv6++
		proto = frame[off+6]
	}
	switch proto {
	case 6:
		s.TCP++
	case 17:
		s.UDP++
	case 1, 58:
		s.ICMP++
	}
}

// ---------------------------------------------------------------- checksums and headers

func sum16(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		sum += v>>48 + v>>32&0xffff + v>>16&0xffff + v&0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

func fold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func ip4Checksum(ip []byte) {
	ihl := int(ip[0]&15) * 4
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], fold(sum16(0, ip[:ihl])))
}

// l4Checksum6 sets the TCP or UDP checksum of an IPv6 packet (40-byte header).
func l4Checksum6(ip []byte) {
	l4 := ip[40:]
	at := 16
	if ip[6] == 17 {
		at = 6
	}
	if len(l4) < at+2 {
		return
	}
	l4[at], l4[at+1] = 0, 0
	s := sum16(0, ip[8:40])
	s += uint64(len(l4)) + uint64(ip[6])
	c := fold(sum16(s, l4))
	if c == 0 && ip[6] == 17 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(l4[at:], c)
}

var (
	macClient = []byte{0x00, 0x15, 0x5d, 0x4a, 0x10, 0x01}
	macServer = []byte{0x00, 0x15, 0x5d, 0x4a, 0x20, 0x01}
)

// ether appends an Ethernet header (tagged when vlan != 0).
func ether(b []byte, toServer bool, vlan uint16, etype uint16) []byte {
	if toServer {
		b = append(append(b, macServer...), macClient...)
	} else {
		b = append(append(b, macClient...), macServer...)
	}
	if vlan != 0 {
		b = binary.BigEndian.AppendUint16(b, 0x8100)
		b = binary.BigEndian.AppendUint16(b, vlan)
	}
	return binary.BigEndian.AppendUint16(b, etype)
}

// addr is an IPv4 or IPv6 address as bytes (4 or 16).
type addr struct {
	b  [16]byte
	v6 bool
}

func a4(a [4]byte) addr  { var x addr; copy(x.b[:], a[:]); return x }
func a6(a [16]byte) addr { return addr{a, true} }

func (a addr) bytes() []byte {
	if a.v6 {
		return a.b[:]
	}
	return a.b[:4]
}

// ipHeader appends an IP header for a payload of n bytes.
func (g *mixGen) ipHeader(b []byte, src, dst addr, proto byte, n int) []byte {
	if src.v6 {
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = append(b, proto, 64)
		b = append(b, src.b[:]...)
		return append(b, dst.b[:]...)
	}
	g.ipid++
	h := len(b)
	b = append(b, 0x45, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(20+n))
	b = binary.BigEndian.AppendUint16(b, g.ipid)
	b = append(b, 0x40, 0, 64, proto, 0, 0)
	b = append(b, src.b[:4]...)
	b = append(b, dst.b[:4]...)
	ip4Checksum(b[h:])
	return b
}

// ---------------------------------------------------------------- replayed sessions

type sessionStream struct {
	t       *template
	start   int64
	i       int
	client  [4]byte
	cidx    int
	group   byte // server group: 10.77.2.x -> 10.77.(2+group).x
	ports   []uint16
	vlan    uint16
	v6      bool
	refrag  bool
	icert   bool
	pending [][]byte // fragments still to write, with their times
	pendAt  int64
}

func (g *mixGen) startSession(now int64, dcom bool) {
	var t *template
	if dcom {
		t = g.dcom[g.rng.IntN(len(g.dcom))]
		g.stats.DCOM++
	} else {
		t = g.sessions[g.rng.IntN(len(g.sessions))]
		g.stats.Sessions++
	}
	s := &sessionStream{t: t, start: now}
	s.cidx, s.client = g.client()
	if !t.keepServers {
		// A client logs on at its own site: its DC and CA are those of its group (one
		// session in eight goes elsewhere: roaming, a site's DC down).
		s.group = byte(s.cidx % 4)
		if g.rng.IntN(8) == 0 {
			s.group = byte(g.rng.IntN(4))
		}
	}
	s.ports = make([]uint16, t.nconv)
	for i := range s.ports {
		s.ports[i] = g.port(s.cidx)
	}
	if !t.keepServers {
		switch x := g.rng.Float64(); {
		case x < 0.05:
			s.v6 = true
			g.stats.SessionsIPv6++
		case x < 0.13:
			s.vlan = uint16(100 + s.group)
			g.stats.SessionsVLAN++
		case x < 0.23:
			s.refrag = true
			g.stats.SessionsFragmented++
		}
		if t.hasUUID && g.rng.Float64() < 0.25 {
			s.icert = true
			g.stats.SessionsICert++
		}
	}
	s.skip()
	if s.i < len(t.pkts) {
		g.push(s)
	}
}

// skip moves past the packets an IPv6 copy leaves out.
func (s *sessionStream) skip() {
	if !s.v6 {
		return
	}
	for s.i < len(s.t.pkts) {
		p := &s.t.pkts[s.i]
		if (p.kind == pkTCP || p.kind == pkUDP) && p.conv >= 0 && s.t.convV6[p.conv] && p.data[14+6]&0x20 == 0 {
			return
		}
		s.i++
	}
}

func (s *sessionStream) at() int64 {
	if len(s.pending) > 0 {
		return s.pendAt
	}
	return s.start + s.t.pkts[s.i].dt
}

func (s *sessionStream) mapAddr(a []byte) {
	var x [4]byte
	copy(x[:], a)
	if s.t.clients[x] {
		copy(a, s.client[:])
	} else if s.group != 0 && s.t.servers[x] && a[0] == 10 {
		a[2] += s.group
	}
}

func (s *sessionStream) emit(g *mixGen) bool {
	g.bulk = false
	if len(s.pending) > 0 {
		g.write(s.pendAt, s.pending[0])
		s.pending = s.pending[1:]
		s.pendAt += 20_000
		return len(s.pending) > 0 || s.i < len(s.t.pkts)
	}
	p := &s.t.pkts[s.i]
	at := s.start + p.dt
	s.i++
	b := append(g.buf[:0], p.data[:12]...)
	if s.vlan != 0 {
		b = append(b, 0x81, 0x00, byte(s.vlan>>8), byte(s.vlan))
	}
	b = append(b, p.data[12:]...)
	off := len(b) - len(p.data) + 14
	if s.icert {
		for _, o := range p.uuidAt {
			o += int32(off - 14)
			copy(b[o:], uuidICertPassag)
			b[o+16], b[o+17] = 0, 0 // interface version 0
		}
	}
	ip := b[off:]
	ihl := int(ip[0]&15) * 4
	s.mapAddr(ip[12:16])
	s.mapAddr(ip[16:20])
	switch p.kind {
	case pkTCP, pkUDP:
		if p.conv >= 0 {
			at := ihl + 2
			if p.fromClient {
				at = ihl
			}
			binary.BigEndian.PutUint16(ip[at:], s.ports[p.conv])
		}
	case pkICMP:
		q := ip[ihl+8:]
		qihl := int(q[0]&15) * 4
		s.mapAddr(q[12:16])
		s.mapAddr(q[16:20])
		if p.conv >= 0 && len(q) >= qihl+2 {
			binary.BigEndian.PutUint16(q[qihl:], s.ports[p.conv])
		}
	}
	if s.v6 {
		tot := int(binary.BigEndian.Uint16(ip[2:]))
		var src, dst [4]byte
		copy(src[:], ip[12:16])
		copy(dst[:], ip[16:20])
		csrc, cdst := server6(src), server6(dst)
		if p.fromClient {
			csrc = client6(s.cidx)
		} else {
			cdst = client6(s.cidx)
		}
		proto := ip[9]
		l4 := append([]byte(nil), ip[ihl:tot]...)
		h := binary.BigEndian.AppendUint16(append([]byte(nil), b[:off-2]...), 0x86dd)
		b = g.ipHeader(h, a6(csrc), a6(cdst), proto, len(l4))
		b = append(b, l4...)
		l4Checksum6(b[off:])
		g.write(at, b)
		g.buf = b[:0]
		s.skip()
		return s.i < len(s.t.pkts)
	}
	ip4Checksum(ip)
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	if s.refrag && p.kind == pkUDP && !p.fromClient && tot > 600 && binary.BigEndian.Uint16(ip[6:])&0x3fff == 0 {
		// Fragment again at a 576-byte path MTU: 552 bytes of IP payload per fragment.
		g.ipid++
		payload := ip[ihl:tot]
		for o := 0; o < len(payload); o += 552 {
			end := min(o+552, len(payload))
			f := append([]byte(nil), b[:off]...)
			f = append(f, ip[:ihl]...)
			f = append(f, payload[o:end]...)
			fi := f[off:]
			binary.BigEndian.PutUint16(fi[2:], uint16(ihl+end-o))
			binary.BigEndian.PutUint16(fi[4:], g.ipid)
			fl := uint16(o / 8)
			if end < len(payload) {
				fl |= 0x2000
			}
			binary.BigEndian.PutUint16(fi[6:], fl)
			ip4Checksum(fi)
			s.pending = append(s.pending, f)
		}
		s.pendAt = at
		g.write(s.pendAt, s.pending[0])
		s.pending = s.pending[1:]
		s.pendAt += 20_000
		g.buf = b[:0]
		return true
	}
	g.write(at, b)
	g.buf = b[:0]
	return s.i < len(s.t.pkts)
}

// ---------------------------------------------------------------- synthetic TCP

type seg struct {
	at         int64
	fromClient bool
	flags      byte
	seq, ack   uint32
	payload    []byte
}

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
)

// tcpStream writes one synthetic TCP connection; refill queues its next exchange.
type tcpStream struct {
	cli, srv   addr
	cport      uint16
	sport      uint16
	vlan       uint16
	cseq, sseq uint32
	now        int64
	q          []seg
	qi         int
	rng        *rand.Rand
	refill     func(s *tcpStream) bool
	bulk       bool
	step       int
	buf        []byte
	udp        []byte // failures: a datagram instead of a connection
}

func (s *tcpStream) at() int64 { return s.q[s.qi].at }

func (s *tcpStream) emit(g *mixGen) bool {
	g.bulk = s.bulk
	sg := s.q[s.qi]
	s.qi++
	src, dst, sp, dp := s.cli, s.srv, s.cport, s.sport
	if !sg.fromClient {
		src, dst, sp, dp = dst, src, dp, sp
	}
	etype := uint16(0x0800)
	if src.v6 {
		etype = 0x86dd
	}
	b := ether(g.buf[:0], sg.fromClient, s.vlan, etype)
	off := len(b)
	if sg.flags == 0xff { // ICMP port unreachable quoting s.udp
		quote := s.udpFrame(g, nil)
		if src.v6 {
			b = g.ipHeader(b, src, dst, 58, 8+len(quote))
			b = append(b, 1, 4, 0, 0, 0, 0, 0, 0) // unreachable, port unreachable
			b = append(b, quote...)
			l4 := b[off+40:]
			cs := sum16(0, b[off+8:off+40]) + uint64(len(l4)) + 58
			binary.BigEndian.PutUint16(l4[2:], fold(sum16(cs, l4)))
		} else {
			b = g.ipHeader(b, src, dst, 1, 8+len(quote))
			b = append(b, 3, 3, 0, 0, 0, 0, 0, 0)
			b = append(b, quote...)
			binary.BigEndian.PutUint16(b[off+22:], fold(sum16(0, b[off+20:])))
		}
	} else if sg.flags == 0xfe { // the datagram
		b = s.udpFrame(g, b)
	} else {
		n := 20
		if sg.flags&fSYN != 0 {
			n = 24
		}
		b = g.ipHeader(b, src, dst, 6, n+len(sg.payload))
		b = binary.BigEndian.AppendUint16(b, sp)
		b = binary.BigEndian.AppendUint16(b, dp)
		b = binary.BigEndian.AppendUint32(b, sg.seq)
		b = binary.BigEndian.AppendUint32(b, sg.ack)
		b = append(b, byte(n/4)<<4, sg.flags)
		b = append(b, 0xfa, 0xf0, 0, 0, 0, 0) // window 64240, checksum, urgent
		if n == 24 {
			b = append(b, 2, 4, 0x05, 0xb4) // MSS 1460
		}
		b = append(b, sg.payload...)
		if src.v6 {
			l4Checksum6(b[off:])
		}
	}
	g.write(sg.at, b)
	g.buf = b[:0]
	if s.qi == len(s.q) {
		s.q, s.qi = s.q[:0], 0
		if s.refill == nil || !s.refill(s) {
			return false
		}
	}
	return true
}

// udpFrame appends the failure's UDP datagram (client to server) as an IP packet; with a
// nil b it returns just the IP packet (what an ICMP error quotes).
func (s *tcpStream) udpFrame(g *mixGen, b []byte) []byte {
	off := len(b)
	save := g.ipid
	g.ipid = uint16(s.cseq) - 1 // the same IP ID in the datagram and its quote
	b = g.ipHeader(b, s.cli, s.srv, 17, 8+len(s.udp))
	g.ipid = save
	b = binary.BigEndian.AppendUint16(b, s.cport)
	b = binary.BigEndian.AppendUint16(b, s.sport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(s.udp)))
	b = append(b, 0, 0)
	b = append(b, s.udp...)
	if s.cli.v6 {
		l4Checksum6(b[off:])
	}
	return b
}

func (s *tcpStream) add(fromClient bool, flags byte, payload []byte) {
	sg := seg{at: s.now, fromClient: fromClient, flags: flags, payload: payload}
	if fromClient {
		sg.seq, sg.ack = s.cseq, s.sseq
		s.cseq += uint32(len(payload))
	} else {
		sg.seq, sg.ack = s.sseq, s.cseq
		s.sseq += uint32(len(payload))
	}
	if flags&(fSYN|fFIN) != 0 {
		if fromClient {
			s.cseq++
		} else {
			s.sseq++
		}
	}
	if flags&fSYN != 0 && flags&fACK == 0 {
		sg.ack = 0
	}
	s.q = append(s.q, sg)
}

func (s *tcpStream) handshake(rtt int64) {
	s.cseq, s.sseq = s.rng.Uint32(), s.rng.Uint32()
	s.add(true, fSYN, nil)
	s.now += rtt
	s.add(false, fSYN|fACK, nil)
	s.now += rtt / 20
	s.add(true, fACK, nil)
}

// send queues data in MSS segments gap apart; the other side ACKs every second segment.
func (s *tcpStream) send(fromClient bool, data []byte, gap int64) {
	n := 0
	for len(data) > 0 {
		k := min(len(data), mss)
		fl := byte(fACK)
		if k == len(data) {
			fl |= fPSH
		}
		s.add(fromClient, fl, data[:k])
		data = data[k:]
		n++
		if n%2 == 0 || len(data) == 0 {
			save := s.now
			s.now += gap / 3
			s.add(!fromClient, fACK, nil)
			s.now = save
		}
		s.now += gap
	}
}

func (s *tcpStream) close(rtt int64) {
	s.add(true, fFIN|fACK, nil)
	s.now += rtt
	s.add(false, fFIN|fACK, nil)
	s.now += rtt / 20
	s.add(true, fACK, nil)
}

func (g *mixGen) newTCP(now int64, srv addr, sport uint16, v6 bool) *tcpStream {
	c, cl := g.client()
	s := &tcpStream{cli: a4(cl), srv: srv, cport: g.port(c), sport: sport, now: now,
		rng: rand.New(rand.NewPCG(g.rng.Uint64(), g.rng.Uint64()))}
	if v6 {
		s.cli = a6(client6(c))
		s.srv = a6(server6([4]byte(srv.b[:4])))
	}
	if g.rng.Float64() < 0.08 {
		s.vlan = uint16(200 + g.rng.IntN(4))
	}
	return s
}

// ---------------------------------------------------------------- SMB2 reads

func nbss(b []byte, n int) []byte { return append(b, 0, byte(n>>16), byte(n>>8), byte(n)) }

func smb2Header(b []byte, cmd uint16, resp bool, msgID uint64, tree uint32, session uint64) []byte {
	b = append(b, 0xfe, 'S', 'M', 'B', 64, 0, 1, 0)
	b = append(b, 0, 0, 0, 0) // status
	b = binary.LittleEndian.AppendUint16(b, cmd)
	b = binary.LittleEndian.AppendUint16(b, 1) // credits
	fl := uint32(0)
	if resp {
		fl = 1
	}
	b = binary.LittleEndian.AppendUint32(b, fl)
	b = binary.LittleEndian.AppendUint32(b, 0) // next command
	b = binary.LittleEndian.AppendUint64(b, msgID)
	b = binary.LittleEndian.AppendUint32(b, 0xfeff) // process id
	b = binary.LittleEndian.AppendUint32(b, tree)
	b = binary.LittleEndian.AppendUint64(b, session)
	return append(b, make([]byte, 16)...) // signature
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

func smb2Msg(cmd uint16, resp bool, msgID uint64, tree uint32, session uint64, body []byte) []byte {
	m := smb2Header(nbss(nil, 64+len(body)), cmd, resp, msgID, tree, session)
	return append(m, body...)
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func (g *mixGen) startSMB(now int64) {
	group := byte(g.rng.IntN(4))
	srv := a4([4]byte{10, 77, 2 + group, 10})
	s := g.newTCP(now, srv, 445, false)
	g.stats.SMBTransfers++
	s.bulk = true
	size := 256<<10 + s.rng.IntN(12<<20-256<<10)
	rate := 2e6 + s.rng.Float64()*38e6 // bytes/s
	gap := int64(mss / rate * 1e9)
	rtt := int64(200_000 + s.rng.IntN(800_000))
	session := s.rng.Uint64()
	tree := uint32(1 + s.rng.IntN(8))
	fileID := make([]byte, 16)
	for i := range fileID {
		fileID[i] = byte(s.rng.Uint32())
	}
	var msgID uint64
	var offset int
	s.refill = func(s *tcpStream) bool {
		switch {
		case s.step == 0:
			s.handshake(rtt)
			s.now += rtt / 10
			neg := cat(le16(36), le16(2), le16(1), le16(0), le32(0x7f), fileID, make([]byte, 8), le16(0x0202), le16(0x0210))
			s.send(true, smb2Msg(0, false, msgID, 0, 0, neg), gap)
			s.now += rtt
			negR := cat(le16(65), le16(1), le16(0x0210), le16(0), fileID, le32(0x7), le32(8<<20), le32(8<<20), le32(8<<20),
				make([]byte, 16), le16(0x80), le16(0), le32(0))
			s.send(false, smb2Msg(0, true, msgID, 0, 0, negR), gap)
			msgID++
			s.now += rtt / 5
			ss := cat(le16(25), []byte{0, 1}, le32(1), le32(0), le16(0x58), le16(0), make([]byte, 8))
			s.send(true, smb2Msg(1, false, msgID, 0, 0, ss), gap)
			s.now += rtt * 3
			s.send(false, smb2Msg(1, true, msgID, 0, session, cat(le16(9), le16(0), le16(0x48), le16(0))), gap)
			msgID++
			s.now += rtt / 5
			path := utf16le(`\\ca01.corp.example\CertEnroll`)
			s.send(true, smb2Msg(3, false, msgID, 0, session, cat(le16(9), le16(0), le16(0x48), le16(uint16(len(path))), path)), gap)
			s.now += rtt
			s.send(false, smb2Msg(3, true, msgID, tree, session, cat(le16(16), []byte{1, 0}, le32(0), le32(0), le32(0x1f01ff))), gap)
			msgID++
			s.now += rtt / 5
			name := utf16le(`corp-CA01-CA(1).crl`)
			cr := cat(le16(57), []byte{0, 0}, le32(2), make([]byte, 16), le32(0x80000000|0x100000), le32(0), le32(7), le32(1), le32(0x40),
				le16(0x78), le16(uint16(len(name))), le32(0), le32(0), name)
			s.send(true, smb2Msg(5, false, msgID, tree, session, cr), gap)
			s.now += rtt
			crR := cat(le16(89), []byte{0, 0}, le32(1), make([]byte, 32), le64(uint64(size)), le64(uint64(size)), le32(0x20), le32(0), fileID, le32(0), le32(0))
			s.send(false, smb2Msg(5, true, msgID, tree, session, crR), gap)
			msgID++
			s.step = 1
			return true
		case offset < size:
			n := min(65536, size-offset)
			s.now += rtt / 5
			rd := cat(le16(49), []byte{0x50, 0}, le32(uint32(n)), le64(uint64(offset)), fileID, le32(0), le32(0), le32(0), le16(0), le16(0), []byte{0})
			s.send(true, smb2Msg(8, false, msgID, tree, session, rd), gap)
			s.now += rtt
			resp := smb2Header(nbss(s.buf[:0], 64+16+n), 8, true, msgID, tree, session)
			resp = append(resp, cat(le16(17), []byte{0x50, 0}, le32(uint32(n)), le32(0), le32(0))...)
			o := s.rng.IntN(len(g.random) - n)
			resp = append(resp, g.random[o:o+n]...)
			s.buf = resp
			s.send(false, resp, gap)
			msgID++
			offset += n
			return true
		case s.step == 1:
			s.now += rtt / 5
			s.send(true, smb2Msg(6, false, msgID, tree, session, cat(le16(24), le16(0), le32(0), fileID)), gap)
			s.now += rtt
			s.send(false, smb2Msg(6, true, msgID, tree, session, cat(le16(60), le16(0), make([]byte, 56))), gap)
			s.now += 2_000_000_000 + int64(s.rng.IntN(8e9))
			s.close(rtt)
			s.step = 2
			return true
		}
		return false
	}
	s.refill(s)
	g.push(s)
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// ---------------------------------------------------------------- HTTPS downloads

func (g *mixGen) startHTTPS(now int64) {
	group := byte(g.rng.IntN(4))
	srv := a4([4]byte{10, 77, 2 + group, 20})
	s := g.newTCP(now, srv, 443, g.rng.Float64() < 0.10)
	g.stats.HTTPSTransfers++
	s.bulk = true
	size := 64<<10 + s.rng.IntN(6<<20-64<<10)
	rate := 1e6 + s.rng.Float64()*20e6
	gap := int64(mss / rate * 1e9)
	rtt := int64(300_000 + s.rng.IntN(2_000_000))
	sent := 0
	s.refill = func(s *tcpStream) bool {
		switch {
		case s.step == 0:
			s.handshake(rtt)
			prev := true
			for _, p := range g.tlsTpl.tls443 {
				if p.fromClient != prev {
					s.now += rtt
				} else {
					s.now += gap
				}
				prev = p.fromClient
				s.send(p.fromClient, p.data, gap)
			}
			s.step = 1
			return true
		case sent < size:
			// up to 16 records of 16 KiB per refill
			b := s.buf[:0]
			for i := 0; i < 16 && sent < size; i++ {
				n := min(16384, size-sent) + 17 // inner content type and AEAD tag
				b = append(b, 0x17, 3, 3, byte(n>>8), byte(n))
				o := s.rng.IntN(len(g.random) - n)
				b = append(b, g.random[o:o+n]...)
				sent += n - 17
			}
			s.buf = b
			s.send(false, b, gap)
			return true
		case s.step == 1:
			s.now += rtt
			alert := make([]byte, 24)
			copy(alert, []byte{0x17, 3, 3, 0, 19})
			copy(alert[5:], g.random[:19])
			s.send(true, alert, gap)
			s.close(rtt)
			s.step = 2
			return true
		}
		return false
	}
	s.refill(s)
	g.push(s)
}

// ---------------------------------------------------------------- failures

var dropPorts = []uint16{636, 445, 135, 3269, 49152, 0, 0, 0} // 0: a dynamic RPC port

func (g *mixGen) startFailure(now int64) {
	group := byte(g.rng.IntN(4))
	kind := g.pick()
	for kind != kSYNDrop && kind != kSYNReset && kind != kUDPUnreach {
		kind = g.pick()
	}
	srv := a4([4]byte{10, 77, 2 + group, byte(10 + 10*g.rng.IntN(2))})
	port := dropPorts[g.rng.IntN(len(dropPorts))]
	if port == 0 {
		port = uint16(49152 + g.rng.IntN(16384))
	}
	s := g.newTCP(now, srv, port, false)
	s.cseq = s.rng.Uint32()
	switch kind {
	case kSYNDrop:
		g.stats.SYNDropped++
		for i := 0; i < 3; i++ {
			s.q = append(s.q, seg{at: s.now, fromClient: true, flags: fSYN, seq: s.cseq})
			s.now += int64(time.Second) << i
		}
	case kSYNReset:
		g.stats.SYNReset++
		rtt := int64(150_000 + s.rng.IntN(500_000))
		for i := 0; i < 2; i++ {
			s.q = append(s.q, seg{at: s.now, fromClient: true, flags: fSYN, seq: s.cseq})
			s.q = append(s.q, seg{at: s.now + rtt, flags: fRST | fACK, ack: s.cseq + 1})
			s.now += 500_000_000
		}
	case kUDPUnreach:
		g.stats.UDPUnreachable++
		t := g.sessions[g.rng.IntN(len(g.sessions))]
		s.sport = 389
		if g.rng.IntN(2) == 0 {
			s.sport = 88
		}
		s.udp = t.udpPayload[s.sport]
		if s.udp == nil {
			s.udp = []byte("\x00")
		}
		s.q = append(s.q, seg{at: s.now, fromClient: true, flags: 0xfe})
		s.q = append(s.q, seg{at: s.now + 300_000, flags: 0xff})
	}
	g.push(s)
}
