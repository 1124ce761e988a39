package analyzer

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
)

// testFrag is one IPv4 fragment to put on the wire.
type testFrag struct {
	src, dst [4]byte
	id       uint16
	proto    layers.IPProtocol
	off      uint16 // in 8-byte units (13 bits are kept)
	more     bool
	ihl      uint8 // header length in 32-bit words; 0 means 5
	data     []byte
	length   int  // total-length field; 0 means header + data
	tso      bool // total-length field 0, as captured with segmentation offload
	cut      int  // bytes of data missing from the capture
}

// packet encodes the fragment as captured (the checksum is not checked by the decoder).
func (f testFrag) packet() []byte {
	ihl := f.ihl
	if ihl == 0 {
		ihl = 5
	}
	hdr := int(ihl) * 4
	p := make([]byte, hdr+len(f.data))
	p[0] = 0x40 | ihl&0x0f
	length := f.length
	if length == 0 {
		length = hdr + len(f.data)
	}
	if f.tso {
		length = 0
	}
	binary.BigEndian.PutUint16(p[2:], uint16(length))
	binary.BigEndian.PutUint16(p[4:], f.id)
	fl := f.off & 0x1fff
	if f.more {
		fl |= 0x2000
	}
	binary.BigEndian.PutUint16(p[6:], fl)
	p[8] = 64
	p[9] = uint8(f.proto)
	copy(p[12:], f.src[:])
	copy(p[16:], f.dst[:])
	for i := 20; i < hdr; i++ {
		p[i] = 1 // no-operation options
	}
	copy(p[hdr:], f.data)
	return p[:len(p)-min(f.cut, len(f.data))]
}

// fragmentDatagram cuts data into fragments of size bytes (a multiple of 8), in order.
func fragmentDatagram(base testFrag, data []byte, size int) []testFrag {
	var out []testFrag
	for off := 0; off < len(data); off += size {
		f := base
		end := min(off+size, len(data))
		f.off, f.more, f.data = uint16(off/8), end < len(data), data[off:end]
		out = append(out, f)
	}
	return out
}

// defragPair runs our defragmenter and gopacket's ip4defrag side by side on the same
// packets and checks after every fragment that they agree.
type defragPair struct {
	ours      *ipv4Defrag
	ref       *ip4defrag.IPv4Defragmenter
	ip        layers.IPv4 // reused, as in the decoder
	completed int
	refused   int
}

func newDefragPair() *defragPair {
	return &defragPair{ours: newIPv4Defrag(), ref: ip4defrag.NewIPv4Defragmenter()}
}

// feed decodes pkt as the decoder does and hands it to both if it is a fragment. It
// returns the datagram our defragmenter completed, if any.
func (p *defragPair) feed(t testing.TB, pkt []byte, ts time.Time) []byte {
	t.Helper()
	if err := p.ip.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		return nil
	}
	if p.ip.Flags&layers.IPv4MoreFragments == 0 && p.ip.FragOffset == 0 {
		return nil
	}
	// ip4defrag keeps the layer: give it a copy, as decode.go used to.
	in := p.ip
	in.Payload = append([]byte(nil), p.ip.Payload...)
	in.Options = nil
	want, werr := p.ref.DefragIPv4WithTimestamp(&in, ts)
	got, proto, ipLen, gerr := p.ours.add(&p.ip, ts)
	switch {
	case (werr != nil) != (gerr != nil):
		t.Fatalf("id %d off %d more %v: ip4defrag error %v, ours %v", p.ip.Id, p.ip.FragOffset*8,
			p.ip.Flags&layers.IPv4MoreFragments != 0, werr, gerr)
	case (want != nil) != (got != nil):
		t.Fatalf("id %d off %d: ip4defrag complete %v, ours %v", p.ip.Id, p.ip.FragOffset*8, want != nil, got != nil)
	case want != nil:
		if !bytes.Equal(want.Payload, got) {
			t.Fatalf("id %d: reassembled %d bytes differ from ip4defrag's %d", p.ip.Id, len(got), len(want.Payload))
		}
		if want.Protocol != proto || int(want.Length) != ipLen {
			t.Fatalf("id %d: protocol %v length %d, ip4defrag %v %d", p.ip.Id, proto, ipLen, want.Protocol, want.Length)
		}
		p.completed++
	}
	if gerr != nil {
		p.refused++
	}
	p.checkBounds(t)
	return got
}

// discard drops old datagrams from both; they must drop as many.
func (p *defragPair) discard(t testing.TB, before time.Time) {
	t.Helper()
	if w, g := p.ref.DiscardOlderThan(before), p.ours.discardOlderThan(before); w != g {
		t.Fatalf("discarded %d, ip4defrag %d", g, w)
	}
	p.checkBounds(t)
}

// checkBounds checks that the memory held stays within the limits.
func (p *defragPair) checkBounds(t testing.TB) {
	t.Helper()
	f := p.ours
	if len(f.inProgress) > maxDatagramsInProgress || len(f.free) > maxFreeDatagrams {
		t.Fatalf("%d datagrams in progress, %d free", len(f.inProgress), len(f.free))
	}
	for _, dg := range f.inProgress {
		if cap(dg.buf) > maxDatagram4 || dg.end > maxDatagram4 || dg.heldBytes > dg.end {
			t.Fatalf("datagram buffer %d, end %d, held %d", cap(dg.buf), dg.end, dg.heldBytes)
		}
	}
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// TestIPv4DefragMatchesIP4Defrag: on random datagrams cut at random multiples of 8, in
// random order, with repeats, overlapping re-cuts, lost fragments and interleaved datagrams
// of several hosts and ids, our defragmenter completes the same datagrams as ip4defrag with
// the same bytes, protocol and length, refuses the same fragments, and times out as many.
func TestIPv4DefragMatchesIP4Defrag(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newDefragPair()
	hosts := [][4]byte{{10, 0, 0, 1}, {10, 0, 0, 2}, {192, 168, 1, 7}}
	protos := []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolICMPv4}
	ts := time.Unix(1700000000, 0)
	sent := 0
	for round := 0; round < 2000; round++ {
		var frags []testFrag
		for k := 1 + r.IntN(6); k > 0; k-- {
			base := testFrag{
				src:   hosts[r.IntN(len(hosts))],
				dst:   hosts[r.IntN(len(hosts))],
				id:    uint16(r.IntN(8)), // ids collide now and then: both must mix them alike
				proto: protos[r.IntN(len(protos))],
				ihl:   uint8(5 + r.IntN(3)),
			}
			data := randBytes(r, 1+r.IntN(4000))
			cut := fragmentDatagram(base, data, 8*(1+r.IntN(200)))
			sent++
			switch r.IntN(10) {
			case 0: // a fragment is lost
				i := r.IntN(len(cut))
				cut = append(cut[:i], cut[i+1:]...)
			case 1: // the datagram is sent again, cut elsewhere
				cut = append(cut, fragmentDatagram(base, data, 8*(1+r.IntN(200)))...)
			case 2: // a fragment is sent again with other data
				f := cut[r.IntN(len(cut))]
				f.data = randBytes(r, len(f.data))
				cut = append(cut, f)
			case 3: // a non-final fragment carries bytes beyond its last 8-byte unit
				if i := r.IntN(len(cut)); cut[i].more {
					cut[i].data = append(cut[i].data[:len(cut[i].data):len(cut[i].data)], randBytes(r, 1+r.IntN(7))...)
				}
			}
			for i := range cut {
				if r.IntN(4) == 0 { // options only in some fragments: the length comes from the last
					cut[i].ihl = uint8(5 + r.IntN(3))
				}
			}
			for n := r.IntN(3); n > 0 && len(cut) > 0; n-- { // repeats
				cut = append(cut, cut[r.IntN(len(cut))])
			}
			frags = append(frags, cut...)
		}
		r.Shuffle(len(frags), func(i, j int) { frags[i], frags[j] = frags[j], frags[i] })
		for _, f := range frags {
			ts = ts.Add(time.Duration(r.IntN(50)) * time.Millisecond)
			p.feed(t, f.packet(), ts)
		}
		if round%10 == 9 {
			p.discard(t, ts.Add(-time.Second))
		}
	}
	p.discard(t, ts.Add(time.Hour))
	if len(p.ours.inProgress) != 0 {
		t.Fatalf("%d datagrams left", len(p.ours.inProgress))
	}
	t.Logf("%d datagrams sent, %d reassembled, %d fragments refused", sent, p.completed, p.refused)
	if p.completed < sent/2 || p.refused == 0 {
		t.Fatalf("too few cases covered: %d of %d reassembled, %d refused", p.completed, sent, p.refused)
	}
}

// threeFragments is a 3000-byte UDP datagram cut in 3.
func threeFragments(id uint16) ([]byte, [][]byte) {
	r := rand.New(rand.NewPCG(uint64(id), 7))
	data := randBytes(r, 3000)
	base := testFrag{src: [4]byte{10, 1, 1, 1}, dst: [4]byte{10, 1, 1, 2}, id: id, proto: layers.IPProtocolUDP}
	var pkts [][]byte
	for _, f := range fragmentDatagram(base, data, 1480) {
		pkts = append(pkts, f.packet())
	}
	return data, pkts
}

// addPacket decodes pkt and adds it to f.
func addPacket(t testing.TB, f *ipv4Defrag, ip *layers.IPv4, pkt []byte, ts time.Time) ([]byte, error) {
	t.Helper()
	if err := ip.DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
		t.Fatal(err)
	}
	payload, _, _, err := f.add(ip, ts)
	return payload, err
}

// TestIPv4DefragMissingFragment: a datagram stays incomplete while any fragment is
// missing, the first one included, and completes when it arrives.
func TestIPv4DefragMissingFragment(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	data, pkts := threeFragments(1)
	for missing := range pkts {
		f := newIPv4Defrag()
		var ip layers.IPv4
		for i := len(pkts) - 1; i >= 0; i-- {
			if i == missing {
				continue
			}
			if got, err := addPacket(t, f, &ip, pkts[i], ts); got != nil || err != nil {
				t.Fatalf("fragment %d missing: got %d bytes, %v", missing, len(got), err)
			}
		}
		if len(f.inProgress) != 1 {
			t.Fatalf("%d datagrams in progress", len(f.inProgress))
		}
		got, err := addPacket(t, f, &ip, pkts[missing], ts)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("fragment %d added last: got %d bytes, %v", missing, len(got), err)
		}
		if len(f.inProgress) != 0 {
			t.Fatalf("%d datagrams in progress after completion", len(f.inProgress))
		}
	}
}

// TestIPv4DefragOverlaps: the cases of ip4defrag's insert comment.
func TestIPv4DefragOverlaps(t *testing.T) {
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCD")
	base := testFrag{src: [4]byte{1, 2, 3, 4}, dst: [4]byte{5, 6, 7, 8}, id: 9, proto: layers.IPProtocolTCP}
	frag := func(start, end int, more bool, fill byte) []byte {
		f := base
		f.off, f.more, f.data = uint16(start/8), more, append([]byte(nil), data[start:end]...)
		if fill != 0 {
			f.data = bytes.Repeat([]byte{fill}, end-start)
		}
		return f.packet()
	}
	ts := time.Unix(1700000000, 0)
	held := func() (*defragPair, []byte) {
		p := newDefragPair()
		p.feed(t, frag(0, 16, true, 0), ts)
		p.feed(t, frag(24, 32, false, 0), ts)
		return p, data[:32]
	}

	p, want := held()
	if got := p.feed(t, frag(8, 16, true, 'x'), ts); got != nil || p.refused != 0 {
		t.Fatal("a repeat is ignored")
	}
	if got := p.feed(t, frag(16, 24, true, 0), ts); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q (the first copy of repeated bytes is kept)", got, want)
	}

	for _, c := range []struct {
		name       string
		start, end int
		more       bool
	}{
		{"overlap", 8, 24, true},
		{"beyond the final fragment", 32, 40, true},
		{"a second final fragment ending elsewhere", 32, 40, false},
		{"a final fragment ending before held data", 16, 24, false},
	} {
		p, _ := held()
		p.feed(t, frag(c.start, c.end, c.more, 0), ts)
		if p.refused != 1 || len(p.ours.inProgress) != 0 {
			t.Fatalf("%s: %d refused, %d in progress; want the datagram dropped", c.name, p.refused, len(p.ours.inProgress))
		}
	}
}

// TestIPv4DefragTimeout: datagrams no fragment was added to for fragmentTimeout are
// dropped, the others kept.
func TestIPv4DefragTimeout(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	f := newIPv4Defrag()
	var ip layers.IPv4
	_, old := threeFragments(1)
	data, recent := threeFragments(2)
	addPacket(t, f, &ip, old[0], t0)
	addPacket(t, f, &ip, recent[0], t0)
	addPacket(t, f, &ip, recent[1], t0.Add(20*time.Second))
	now := t0.Add(fragmentTimeout + time.Second)
	if n := f.discardOlderThan(now.Add(-fragmentTimeout)); n != 1 {
		t.Fatalf("discarded %d, want 1", n)
	}
	for _, pkt := range old[1:] {
		if got, err := addPacket(t, f, &ip, pkt, now); got != nil || err != nil {
			t.Fatalf("timed-out datagram completed: %d bytes, %v", len(got), err)
		}
	}
	if got, err := addPacket(t, f, &ip, recent[2], now); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("recent datagram: %d bytes, %v", len(got), err)
	}
}

// TestIPv4DefragCap: with maxDatagramsInProgress incomplete datagrams held, a new one
// takes the place of the least recently extended, the first started among equals.
func TestIPv4DefragCap(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	t1 := t0.Add(time.Second)
	f := newIPv4Defrag()
	var ip layers.IPv4
	var rest [][][]byte
	for i := 0; i < maxDatagramsInProgress; i++ {
		_, pkts := threeFragments(uint16(i))
		addPacket(t, f, &ip, pkts[0], t0)
		rest = append(rest, pkts[1:])
	}
	// Datagram 0 is extended last, so datagram 1 is the oldest when 1024 needs room.
	addPacket(t, f, &ip, rest[0][0], t1)
	rest[0] = rest[0][1:]
	_, pkts := threeFragments(maxDatagramsInProgress)
	addPacket(t, f, &ip, pkts[0], t1)
	if len(f.inProgress) != maxDatagramsInProgress || f.evicted != 1 {
		t.Fatalf("%d in progress, %d evicted", len(f.inProgress), f.evicted)
	}
	// Complete the ones that stay first: adding to a datagram that went starts a new one,
	// which would make room again.
	for _, c := range []struct {
		i    int
		want bool
	}{{0, true}, {2, true}, {1, false}} {
		var got []byte
		for _, pkt := range rest[c.i] {
			got, _ = addPacket(t, f, &ip, pkt, t1)
		}
		if (got != nil) != c.want {
			t.Fatalf("datagram %d complete %v, want %v", c.i, got != nil, c.want)
		}
	}
}

// TestIPv4DefragBounds: fragments that would make a datagram longer than 65535 bytes,
// or that are malformed otherwise, are refused without a panic; the longest datagram
// possible is reassembled.
func TestIPv4DefragBounds(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	base := testFrag{src: [4]byte{1, 1, 1, 1}, dst: [4]byte{2, 2, 2, 2}, id: 3, proto: layers.IPProtocolUDP}
	for _, c := range []struct {
		name string
		f    testFrag
	}{
		{"ends beyond 65535", testFrag{off: maxFragOffset4, data: make([]byte, 16)}},
		{"offset too big", testFrag{off: maxFragOffset4 + 1, data: make([]byte, 1)}},
		{"largest offset, more fragments", testFrag{off: 8191, more: true, data: make([]byte, 8)}},
		{"fewer than 8 bytes with more fragments", testFrag{more: true, data: make([]byte, 7)}},
		{"empty final fragment", testFrag{off: 1}},
		{"truncated capture", testFrag{off: 1, data: make([]byte, 64), cut: 1}},
	} {
		f := newIPv4Defrag()
		var ip layers.IPv4
		fr := c.f
		fr.src, fr.dst, fr.id, fr.proto = base.src, base.dst, base.id, base.proto
		if got, err := addPacket(t, f, &ip, fr.packet(), ts); got != nil || err == nil {
			t.Errorf("%s: accepted", c.name)
		}
		if len(f.inProgress) != 0 {
			t.Errorf("%s: datagram kept", c.name)
		}
	}

	// Layers no decoder gives: refused, no panic.
	f := newIPv4Defrag()
	for _, ip := range []*layers.IPv4{
		{Flags: layers.IPv4MoreFragments, IHL: 5, Length: 100},
		{Flags: layers.IPv4MoreFragments, SrcIP: []byte{1, 2, 3, 4}, DstIP: []byte{1, 2, 3, 4}, IHL: 15, Length: 20},
		{FragOffset: 0xffff, SrcIP: []byte{1, 2, 3, 4}, DstIP: []byte{1, 2, 3, 4}, IHL: 5, Length: 28, BaseLayer: layers.BaseLayer{Payload: make([]byte, 8)}},
		{FragOffset: 1, SrcIP: []byte{1, 2, 3, 4}, DstIP: []byte{1, 2, 3, 4}, IHL: 5, Length: 65535, BaseLayer: layers.BaseLayer{Payload: make([]byte, 8)}},
	} {
		if got, _, _, err := f.add(ip, ts); got != nil || err == nil {
			t.Errorf("%+v accepted", ip)
		}
	}

	// The longest datagram: 65515 bytes of data behind a 20-byte header.
	p := newDefragPair()
	data := randBytes(rand.New(rand.NewPCG(3, 4)), maxDatagram4-20)
	var got []byte
	for _, fr := range fragmentDatagram(base, data, 1480) {
		got = p.feed(t, fr.packet(), ts)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("longest datagram: got %d bytes", len(got))
	}
}

// TestIPv4DefragNoAllocs: once warm, reassembling a datagram allocates nothing.
func TestIPv4DefragNoAllocs(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	data, pkts := threeFragments(1)
	ips := make([]layers.IPv4, len(pkts))
	for i, pkt := range pkts {
		if err := ips[i].DecodeFromBytes(pkt, gopacket.NilDecodeFeedback); err != nil {
			t.Fatal(err)
		}
	}
	f := newIPv4Defrag()
	run := func() {
		var got []byte
		for i := range ips {
			got, _, _, _ = f.add(&ips[i], ts)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("not reassembled")
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Fatalf("%v allocations per datagram", n)
	}
}

// FuzzIPv4Defrag feeds arbitrary fragment sequences to our defragmenter and to
// ip4defrag: nothing may panic, memory stays within its bounds, and after every
// fragment both agree (same datagram bytes, protocol and length when one completes,
// refused fragments alike, as many datagrams timed out). The cap on datagrams in progress
// is the one rule ip4defrag lacks; the 32 datagrams named here never reach it.
//
// Each fragment takes 7 bytes: datagram (hosts, id, protocol), flags and offset (2),
// data length in 8-byte units, a byte of extra length/flags, a data seed, a time step.
func FuzzIPv4Defrag(f *testing.F) {
	rec := func(sel, flagsHi, offLo, units, extra, seed, step byte) []byte {
		return []byte{sel, flagsHi, offLo, units, extra, seed, step}
	}
	// a datagram in 3 fragments, in order and reversed, with a repeat, with an overlap
	a := rec(0, 0x20, 0, 2, 0, 1, 0)
	b := rec(0, 0x20, 2, 2, 0, 1, 0)
	c := rec(0, 0x00, 4, 1, 3, 1, 0)
	f.Add(bytes.Join([][]byte{a, b, c}, nil))
	f.Add(bytes.Join([][]byte{c, b, a}, nil))
	f.Add(bytes.Join([][]byte{a, a, c, b}, nil))
	f.Add(bytes.Join([][]byte{a, rec(0, 0x20, 1, 2, 0, 2, 0), b, c}, nil))
	f.Add(bytes.Join([][]byte{a, rec(0xff, 0x20, 0, 2, 0, 1, 0), rec(0, 0, 0, 0, 0, 0, 200), b, c}, nil))
	f.Add(bytes.Join([][]byte{rec(1, 0x1f, 0xfd, 1, 0x20, 0, 0), rec(1, 0, 0, 0, 0x10, 0, 0)}, nil))

	f.Fuzz(func(t *testing.T, in []byte) {
		p := newDefragPair()
		ts := time.Unix(1700000000, 0)
		hosts := [][4]byte{{10, 0, 0, 1}, {10, 0, 0, 2}}
		for ; len(in) >= 7; in = in[7:] {
			sel, fl, units, extra, seed, step := in[0], binary.BigEndian.Uint16(in[1:]), in[3], in[4], in[5], in[6]
			fr := testFrag{
				src:   hosts[sel&1],
				dst:   hosts[sel>>1&1],
				id:    uint16(sel >> 2 & 3),
				proto: []layers.IPProtocol{layers.IPProtocolTCP, layers.IPProtocolUDP}[sel>>4&1],
				off:   fl & 0x1fff,
				more:  fl&0x2000 != 0,
				ihl:   5 + extra>>5, // 5..12 words
				tso:   extra&0x10 != 0,
			}
			fr.data = make([]byte, int(units)*8+int(extra&7))
			for i := range fr.data {
				fr.data[i] = seed + byte(i)
			}
			if extra&0x08 != 0 {
				fr.cut = 1 + int(seed&7)
			}
			ts = ts.Add(time.Duration(step&0x7f) * time.Second)
			if step&0x80 != 0 {
				p.discard(t, ts.Add(-fragmentTimeout))
			}
			p.feed(t, fr.packet(), ts)
		}
		p.discard(t, ts.Add(time.Hour))
		if len(p.ours.inProgress) != 0 {
			t.Fatalf("%d datagrams left", len(p.ours.inProgress))
		}
	})
}
