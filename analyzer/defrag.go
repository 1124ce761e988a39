package analyzer

import (
	"errors"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// IPv4 reassembly, RFC 791 section 3.2 ("An Example Reassembly Procedure"): the fragments
// of a datagram share source, destination, protocol and identification; each one puts its
// data at fragment offset * 8 in a buffer for the datagram; the fragment without "more
// fragments" tells the total data length; the datagram is complete when every byte of
// [0, total) has arrived.
//
// This replaces gopacket's ip4defrag, which allocates for every fragment (the layer and its
// payload have to be copied because the packet buffer is reused, and each reassembled
// datagram is a new slice). The decisions are ip4defrag's (v1.7.7), so that the datagrams
// it reassembles are exactly the ones reassembled here, with the same bytes:
//
//   - a fragment with "more fragments" set and fewer than 8 data bytes, one whose data is
//     shorter than its header says (truncated capture), one whose offset is above 8189, or
//     one whose offset*8 + total length passes 65535 is refused and the datagram it belongs
//     to is dropped (as a receiver does: what it held could only shadow a resent datagram
//     with the same identification);
//   - a fragment with "more fragments" counts only whole 8-byte units of its data;
//   - a fragment whose bytes are all held already (a retransmission) is ignored, keeping the
//     first copy; any other overlap drops the datagram;
//   - the final fragment may not end before data already held, two final fragments must
//     agree, and nothing may reach beyond the final one: otherwise the datagram is dropped.
//
// Unlike ip4defrag it allocates nothing in the steady state: a datagram's buffer and range
// list come from a free list and go back to it once the datagram is complete or dropped.
// Memory is bounded on any input: at most maxDatagramsInProgress datagrams are held (the
// least recently extended one goes when a new one needs room), each of at most
// maxDatagram4 bytes, and datagrams not extended for fragmentTimeout are dropped by
// discardOlderThan.

const (
	// maxDatagram4 is the largest IPv4 datagram: the total-length field has 16 bits.
	maxDatagram4 = 65535
	// maxFragOffset4 is the largest offset (in 8-byte units) of a fragment that still
	// carries data after a 20-byte header: (65535 - 20) / 8.
	maxFragOffset4 = 8189
	// minFragment4 is the smallest data length of a fragment other than the last (RFC 791:
	// every fragment but the last carries a multiple of 8 bytes, so at least 8).
	minFragment4 = 8
	// maxDatagramsInProgress caps the incomplete datagrams held at once. A real capture has
	// a handful; a flood of first fragments must not make memory grow without bound.
	maxDatagramsInProgress = 1024
	// maxFreeDatagrams caps the buffers kept for reuse, so that after a flood the memory
	// goes back to the garbage collector.
	maxFreeDatagrams = 64
	// minDatagramBuffer is the first capacity of a datagram's buffer: larger than the
	// usual fragmented Kerberos or LDAP datagram, so that buffers rarely grow.
	minDatagramBuffer = 8192
)

// Why a fragment or a datagram is refused. Every one counts as malformed.
var (
	errFragAddress     = errors.New("defrag: not an IPv4 address")
	errFragHeader      = errors.New("defrag: header longer than the total length")
	errFragTooSmall    = errors.New("defrag: non-final fragment with fewer than 8 bytes")
	errFragTruncated   = errors.New("defrag: fragment shorter than its header says")
	errFragOffset      = errors.New("defrag: fragment offset too big")
	errFragOversize    = errors.New("defrag: fragment ends beyond 65535 bytes")
	errFragEmpty       = errors.New("defrag: empty fragment")
	errFragOverlap     = errors.New("defrag: fragment overlaps another one")
	errFragFinal       = errors.New("defrag: final fragment does not end the datagram")
	errFragBeyondFinal = errors.New("defrag: fragment beyond the final fragment")
)

// fragKey4 names a datagram (RFC 791 section 2.3: fragments belong to one datagram when
// source, destination, protocol and identification match).
type fragKey4 struct {
	src, dst [4]byte
	id       uint16
	proto    layers.IPProtocol
}

// byteRange is the data bytes [start, end) of a datagram.
type byteRange struct{ start, end int32 }

// datagram4 is a datagram being reassembled.
type datagram4 struct {
	key fragKey4
	// buf holds each fragment's data at its offset; bytes not in held are garbage.
	buf []byte
	// held lists the bytes received: sorted, disjoint, and adjacent ranges merged, so a
	// complete datagram is the single range [0, end).
	held      []byteRange
	heldBytes int
	// end is the highest end of data seen; once final is set (the fragment without
	// "more fragments" arrived) it is the datagram's data length.
	end      int
	final    bool
	lastSeen time.Time // capture time of the last fragment stored
	seq      uint64    // creation order: breaks lastSeen ties when choosing whom to drop
}

// ipv4Defrag reassembles IPv4 datagrams. It is not safe for concurrent use.
type ipv4Defrag struct {
	inProgress map[fragKey4]*datagram4
	free       []*datagram4
	seq        uint64
	evicted    int // datagrams dropped to make room (maxDatagramsInProgress)
}

func newIPv4Defrag() *ipv4Defrag {
	return &ipv4Defrag{inProgress: make(map[fragKey4]*datagram4)}
}

// add takes a fragment (a packet with "more fragments" set or a non-zero offset). The
// fragment's data is copied, so ip may point into a buffer that is reused afterwards.
//
// When the fragment completes its datagram, add returns the datagram's data (the transport
// header and payload), its protocol, and its total length as ip4defrag gives it (the
// completing fragment's header length plus the data length). The data is valid until the
// next call. Otherwise payload is nil; err says why the fragment was refused, in which case
// the datagram it belongs to is dropped.
func (f *ipv4Defrag) add(ip *layers.IPv4, ts time.Time) (payload []byte, proto layers.IPProtocol, ipLen int, err error) {
	key, ok := fragKeyOf(ip)
	if !ok {
		return nil, 0, 0, errFragAddress
	}
	hdr := int(ip.IHL) * 4
	start, end, more, err := fragmentRange(ip)
	if err != nil {
		f.drop(key)
		return nil, 0, 0, err
	}
	dg := f.inProgress[key]
	if dg == nil {
		dg = f.newDatagram(key)
	}
	stored, err := dg.insert(start, end, more, ip.Payload)
	if err != nil {
		f.drop(key)
		return nil, 0, 0, err
	}
	if !stored {
		return nil, 0, 0, nil // a repeat: it does not count as activity either
	}
	dg.lastSeen = ts
	if !dg.final || dg.heldBytes != dg.end {
		return nil, 0, 0, nil
	}
	// Complete: a final fragment fixed end, nothing lies beyond it and the held ranges,
	// which never overlap, add up to end, so they cover [0, end).
	payload = dg.buf[:dg.end]
	// The length field is 16 bits, as in ip4defrag's result. Every fragment was checked to
	// end within 65535 bytes with its own header, so this only wraps for a datagram of
	// nearly 65535 bytes completed by a fragment with a longer header than the last one
	// (options need not be copied into every fragment).
	ipLen = int(uint16(hdr + dg.end))
	f.release(dg) // the buffer is only reused from the next call on
	return payload, key.proto, ipLen, nil
}

// fragKeyOf returns the datagram a fragment belongs to.
func fragKeyOf(ip *layers.IPv4) (fragKey4, bool) {
	src, dst := ip.SrcIP.To4(), ip.DstIP.To4()
	if src == nil || dst == nil {
		return fragKey4{}, false
	}
	k := fragKey4{id: ip.Id, proto: ip.Protocol}
	copy(k.src[:], src)
	copy(k.dst[:], dst)
	return k, true
}

// fragmentRange checks a fragment on its own and returns the data bytes [start, end) it
// puts in its datagram.
func fragmentRange(ip *layers.IPv4) (start, end int, more bool, err error) {
	more = ip.Flags&layers.IPv4MoreFragments != 0
	size := int(ip.Length) - int(ip.IHL)*4 // data length the header announces
	switch {
	case size < 0:
		return 0, 0, more, errFragHeader
	case more && size < minFragment4:
		return 0, 0, more, errFragTooSmall
	case len(ip.Payload) < size:
		// A receiver discards it, and stored it would shadow the real fragment.
		return 0, 0, more, errFragTruncated
	case ip.FragOffset > maxFragOffset4:
		return 0, 0, more, errFragOffset
	case int(ip.FragOffset)*8+int(ip.Length) > maxDatagram4:
		return 0, 0, more, errFragOversize
	}
	if more {
		// Only whole 8-byte units of a non-final fragment are used: the next fragment
		// starts at a multiple of 8.
		size &^= 7
	}
	if size <= 0 {
		return 0, 0, more, errFragEmpty
	}
	start = int(ip.FragOffset) * 8
	return start, start + size, more, nil
}

// insert stores the data [start, end) of a fragment; data holds at least end-start bytes.
// It reports false for a repeat of bytes held already, which leaves the datagram as it
// was. An error means the fragment contradicts the datagram, which then has to be dropped.
//
//	held:   [0,16)      [24,32) final
//	[8,16)  repeat, ignored
//	[8,24)  overlaps, error
//	[32,40) beyond the final fragment, error
//	[16,24) stored, datagram complete
func (dg *datagram4) insert(start, end int, more bool, data []byte) (bool, error) {
	// i: the first held range that ends after start; [i, j): the held ranges that share
	// bytes with [start, end).
	i := dg.search(start)
	j := i
	for j < len(dg.held) && int(dg.held[j].start) < end {
		j++
	}
	if i < j {
		// Adjacent ranges are merged, so the bytes are all held only if one range has them.
		if j == i+1 && int(dg.held[i].start) <= start && end <= int(dg.held[i].end) {
			return false, nil
		}
		return false, errFragOverlap
	}

	switch {
	case !more:
		if end < dg.end || (dg.final && end != dg.end) {
			return false, errFragFinal
		}
		dg.final, dg.end = true, end
	case end > dg.end:
		if dg.final {
			return false, errFragBeyondFinal
		}
		dg.end = end
	}

	dg.grow(end)
	copy(dg.buf[start:end], data[:end-start])
	dg.heldBytes += end - start

	left := i > 0 && int(dg.held[i-1].end) == start
	right := i < len(dg.held) && int(dg.held[i].start) == end
	switch {
	case left && right:
		dg.held[i-1].end = dg.held[i].end
		dg.held = slices.Delete(dg.held, i, i+1)
	case left:
		dg.held[i-1].end = int32(end)
	case right:
		dg.held[i].start = int32(start)
	default:
		dg.held = slices.Insert(dg.held, i, byteRange{int32(start), int32(end)})
	}
	return true, nil
}

// search returns the index of the first held range that ends after off.
func (dg *datagram4) search(off int) int {
	lo, hi := 0, len(dg.held)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if int(dg.held[m].end) > off {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// grow makes buf at least n bytes long, keeping its content. n is at most maxDatagram4
// (fragmentRange made sure of it).
func (dg *datagram4) grow(n int) {
	if n <= len(dg.buf) {
		return
	}
	if n <= cap(dg.buf) {
		dg.buf = dg.buf[:n]
		return
	}
	c := min(max(n, 2*cap(dg.buf), minDatagramBuffer), maxDatagram4)
	buf := make([]byte, n, c)
	copy(buf, dg.buf)
	dg.buf = buf
}

// newDatagram starts a datagram, dropping the least recently extended one if too many are
// in progress.
func (f *ipv4Defrag) newDatagram(key fragKey4) *datagram4 {
	if len(f.inProgress) >= maxDatagramsInProgress {
		var oldest *datagram4
		for _, dg := range f.inProgress {
			if oldest == nil || dg.lastSeen.Before(oldest.lastSeen) ||
				(dg.lastSeen.Equal(oldest.lastSeen) && dg.seq < oldest.seq) {
				oldest = dg
			}
		}
		f.release(oldest)
		f.evicted++
	}
	var dg *datagram4
	if n := len(f.free); n > 0 {
		dg, f.free = f.free[n-1], f.free[:n-1]
	} else {
		dg = &datagram4{}
	}
	f.seq++
	dg.key, dg.seq = key, f.seq
	f.inProgress[key] = dg
	return dg
}

// drop forgets the datagram named key, if there is one.
func (f *ipv4Defrag) drop(key fragKey4) {
	if dg := f.inProgress[key]; dg != nil {
		f.release(dg)
	}
}

// release forgets a datagram and keeps its storage for the next one.
func (f *ipv4Defrag) release(dg *datagram4) {
	delete(f.inProgress, dg.key)
	if len(f.free) >= maxFreeDatagrams {
		return
	}
	*dg = datagram4{buf: dg.buf[:0], held: dg.held[:0]}
	f.free = append(f.free, dg)
}

// discardOlderThan drops the datagrams no fragment was stored for since t, as ip4defrag's
// DiscardOlderThan does, and returns how many it dropped.
func (f *ipv4Defrag) discardOlderThan(t time.Time) int {
	n := 0
	for _, dg := range f.inProgress {
		if dg.lastSeen.Before(t) {
			f.release(dg) // deleting the current entry while ranging over a map is allowed
			n++
		}
	}
	return n
}
