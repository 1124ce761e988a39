package analyzer

import "time"

// This file is the seam between the flow table and the protocol decoders: it reassembles
// each TCP direction in order (bounded), picks a protocol by content (ports break ties) and
// feeds the bytes to that protocol's handler, which writes findings into the flow's Details.

// appCtx is what a handler sees of the world while it is fed.
type appCtx struct {
	a     *Analyzer
	f     *Flow
	ts    time.Time
	frame FrameRef
	seq   uint64 // the packet's number in the analysis
}

// appHandler consumes one flow's application bytes.
type appHandler interface {
	// feed gets the unconsumed in-order bytes of one direction (0 client to server, 1
	// server to client; for UDP one whole datagram). It returns how many bytes it consumed;
	// the rest is offered again, with more, when more arrives. A count beyond the data
	// skips that many more bytes of the stream unseen (the body of an encrypted record).
	// The data is only valid during the call: a handler copies what it keeps.
	feed(c *appCtx, dir int, data []byte) int
	// gap tells the handler that bytes were lost in a direction: what it held is dropped
	// and the next data starts wherever the capture resumed.
	gap(c *appCtx, dir int)
}

// detection is a protocol's verdict on the first bytes of a flow.
type detection int

const (
	detectNo detection = iota
	detectMaybe
	detectYes
)

// protocol describes one application protocol the analyzer can decode.
type protocol struct {
	name string
	tcp  bool
	udp  bool
	// ports on which this protocol is expected; they only break ties.
	ports []uint16
	// portOnly protocols have no content signature: their port alone selects them, when no
	// content detector claims the flow.
	portOnly bool
	// detect looks at the first bytes seen in a direction.
	detect func(dir int, data []byte) detection
	// newHandler starts decoding a flow; it may set the flow's service.
	newHandler func(f *Flow) appHandler
}

// byContent makes a detector from a decoder's LooksLike: yes when it matches, maybe while
// fewer than min bytes are there, no otherwise.
func byContent(looksLike func([]byte) bool, min int) func(int, []byte) detection {
	return func(_ int, b []byte) detection {
		switch {
		case looksLike(b):
			return detectYes
		case len(b) < min:
			return detectMaybe
		}
		return detectNo
	}
}

// protocols is the registry, filled by the app_*.go files.
var protocols []*protocol

func registerProtocol(p *protocol) { protocols = append(protocols, p) }

func (p *protocol) expects(port uint16) bool {
	for _, q := range p.ports {
		if q == port {
			return true
		}
	}
	return false
}

// Limits on what the analyzer buffers.
const (
	maxStreamBuffer   = 256 << 10 // unconsumed bytes per direction
	maxOutOfOrderSegs = 64
	maxOutOfOrder     = 128 << 10
	maxBufferedTotal  = 256 << 20 // over all flows
	detectWindow      = 64        // bytes to wait for before giving up on detection
)

type oooSeg struct {
	seq  uint32
	data []byte
}

type streamDir struct {
	next     uint32
	haveNext bool
	buf      []byte
	skip     int // bytes still to pass over unseen (feed asked for it)
	ooo      []oooSeg
	oooBytes int
}

type appState struct {
	handler  appHandler
	proto    *protocol
	decided  bool // a protocol was chosen, or none fits
	stopped  bool // no more buffering on this flow
	dirs     [2]streamDir
	buffered int
}

// seqLess compares TCP sequence numbers with wrap-around.
func seqLess(a, b uint32) bool { return int32(a-b) < 0 }

// tcpSYN records the initial sequence number of a direction.
func (s *appState) tcpSYN(dir int, seq uint32) {
	d := &s.dirs[dir]
	d.next = seq + 1
	d.haveNext = true
}

// tcpData takes one TCP segment's payload.
func (a *Analyzer) tcpData(f *Flow, dir int, seq uint32, payload []byte, c *appCtx) {
	st := f.app
	if st == nil || st.stopped || len(payload) == 0 {
		return
	}
	d := &st.dirs[dir]
	if !d.haveNext {
		d.next = seq
		d.haveNext = true
	}
	switch {
	case seq == d.next:
		d.next += uint32(len(payload))
		if len(d.buf) == 0 && len(d.ooo) == 0 && st.decided && st.handler != nil {
			// The usual case: nothing held, in order. Feed the segment as it is and keep
			// only what the handler leaves (a message cut across segments).
			a.feedDirect(f, d, dir, payload, c)
			return
		}
		a.appendStream(f, d, payload)
		a.drainOutOfOrder(f, d)
	case seqLess(seq, d.next):
		off := d.next - seq
		if off < uint32(len(payload)) {
			a.appendStream(f, d, payload[off:])
			d.next = seq + uint32(len(payload))
			a.drainOutOfOrder(f, d)
		}
	default:
		if len(d.ooo) < maxOutOfOrderSegs && d.oooBytes+len(payload) <= maxOutOfOrder {
			d.ooo = append(d.ooo, oooSeg{seq: seq, data: append([]byte(nil), payload...)})
			d.oooBytes += len(payload)
			return
		}
		// Too much is missing: accept the gap and go on from here.
		a.streamGap(f, d, c, dir)
		d.next = seq
		a.appendStream(f, d, payload)
		d.next += uint32(len(payload))
		a.drainOutOfOrder(f, d)
	}
	a.deliver(f, dir, c)
}

// tcpFlush is called at the end: segments still held out of order are delivered after
// reporting the gap before them.
func (a *Analyzer) tcpFlush(f *Flow, c *appCtx) {
	st := f.app
	if st == nil || st.stopped {
		return
	}
	for dir := range st.dirs {
		d := &st.dirs[dir]
		for len(d.ooo) > 0 && !st.stopped {
			// the lowest held segment
			lo := 0
			for i := range d.ooo {
				if seqLess(d.ooo[i].seq, d.ooo[lo].seq) {
					lo = i
				}
			}
			a.streamGap(f, d, c, dir)
			d.next = d.ooo[lo].seq
			a.drainOutOfOrder(f, d)
			a.deliver(f, dir, c)
		}
	}
}

func (a *Analyzer) drainOutOfOrder(f *Flow, d *streamDir) {
	for progress := true; progress && len(d.ooo) > 0; {
		progress = false
		for i := 0; i < len(d.ooo); i++ {
			s := d.ooo[i]
			end := s.seq + uint32(len(s.data))
			if seqLess(d.next, s.seq) {
				continue
			}
			if seqLess(d.next, end) {
				a.appendStream(f, d, s.data[d.next-s.seq:])
				d.next = end
			}
			d.oooBytes -= len(s.data)
			d.ooo[i] = d.ooo[len(d.ooo)-1]
			d.ooo = d.ooo[:len(d.ooo)-1]
			progress = true
			i--
		}
	}
}

func (a *Analyzer) streamGap(f *Flow, d *streamDir, c *appCtx, dir int) {
	st := f.app
	a.bufferedTotal -= len(d.buf)
	st.buffered -= len(d.buf)
	d.buf = d.buf[:0]
	d.skip = 0
	if st.handler != nil {
		st.handler.gap(c, dir)
	}
}

func (a *Analyzer) appendStream(f *Flow, d *streamDir, p []byte) {
	st := f.app
	if st.stopped {
		return
	}
	if d.skip > 0 {
		n := min(d.skip, len(p))
		d.skip -= n
		p = p[n:]
		if len(p) == 0 {
			return
		}
	}
	if len(d.buf)+len(p) > maxStreamBuffer {
		a.stopBuffering(f, "stopped decoding: more than "+itoa(maxStreamBuffer>>10)+" KiB in a row could not be framed")
		return
	}
	if a.bufferedTotal+len(p) > maxBufferedTotal {
		a.stopBuffering(f, "stopped decoding: the analyzer's total buffer cap was reached")
		return
	}
	if d.buf == nil {
		if n := len(a.freeBufs); n > 0 {
			d.buf = a.freeBufs[n-1]
			a.freeBufs = a.freeBufs[:n-1]
		}
	}
	d.buf = append(d.buf, p...)
	a.bufferedTotal += len(p)
	st.buffered += len(p)
}

func (a *Analyzer) stopBuffering(f *Flow, why string) {
	st := f.app
	if st.stopped {
		return
	}
	st.stopped = true
	for i := range st.dirs {
		a.bufferedTotal -= len(st.dirs[i].buf)
		st.dirs[i] = streamDir{}
	}
	st.buffered = 0
	if why != "" {
		f.Details.Notes = append(f.Details.Notes, why)
	}
}

// deliver offers the buffered bytes of a direction to the handler.
func (a *Analyzer) deliver(f *Flow, dir int, c *appCtx) {
	st := f.app
	d := &st.dirs[dir]
	if !st.decided {
		a.detect(f, dir, d.buf, false)
		if !st.decided {
			return
		}
	}
	if st.handler == nil {
		a.stopBuffering(f, "")
		return
	}
	// A handler that stops consuming is not fed the same bytes forever.
	used := 0
	for used < len(d.buf) && !st.stopped {
		n := st.handler.feed(c, dir, d.buf[used:])
		if n <= 0 {
			break
		}
		if rest := len(d.buf) - used; n > rest {
			d.skip += n - rest
			n = rest
		}
		used += n
	}
	if st.stopped {
		return
	}
	a.bufferedTotal -= used
	st.buffered -= used
	// Keep the buffer (its capacity serves the next message) with what is left in front.
	d.buf = d.buf[:copy(d.buf, d.buf[used:])]
	if len(d.buf) == 0 && cap(d.buf) > maxStreamBuffer {
		d.buf = nil
	}
}

// feedDirect feeds an in-order segment to the handler without copying it; what the handler
// does not consume is buffered.
func (a *Analyzer) feedDirect(f *Flow, d *streamDir, dir int, p []byte, c *appCtx) {
	st := f.app
	if d.skip > 0 {
		n := min(d.skip, len(p))
		d.skip -= n
		p = p[n:]
	}
	for len(p) > 0 && !st.stopped {
		n := st.handler.feed(c, dir, p)
		if n <= 0 {
			break
		}
		if n > len(p) {
			d.skip += n - len(p)
			n = len(p)
		}
		p = p[n:]
	}
	if len(p) > 0 && !st.stopped {
		a.appendStream(f, d, p)
	}
}

// udpData feeds one datagram.
func (a *Analyzer) udpData(f *Flow, dir int, payload []byte, c *appCtx) {
	st := f.app
	if st == nil || st.stopped || len(payload) == 0 {
		return
	}
	if !st.decided {
		a.detect(f, dir, payload, true)
		if !st.decided {
			return
		}
	}
	if st.handler == nil {
		st.stopped = true
		return
	}
	st.handler.feed(c, dir, payload)
}

// detect chooses the flow's protocol from the first bytes; ports break ties.
func (a *Analyzer) detect(f *Flow, dir int, data []byte, datagram bool) {
	st := f.app
	udp := f.Transport == "udp"
	port := f.Server.Port()
	var best *protocol
	bestScore := -1
	maybe := false
	for _, p := range protocols {
		if (udp && !p.udp) || (!udp && !p.tcp) {
			continue
		}
		switch p.detect(dir, data) {
		case detectYes:
			score := 1
			if p.expects(port) {
				score = 2
			}
			if score > bestScore {
				best, bestScore = p, score
			}
		case detectMaybe:
			maybe = true
		}
	}
	if best == nil && maybe && !datagram && len(data) < detectWindow {
		return // wait for more bytes
	}
	if best == nil && datagram && a.udpUndecided(f) {
		return // try the next datagram too
	}
	if best == nil {
		for _, p := range protocols {
			if p.portOnly && p.expects(port) && ((udp && p.udp) || (!udp && p.tcp)) {
				best = p
				break
			}
		}
	}
	st.decided = true
	if best == nil {
		return
	}
	st.proto = best
	st.handler = best.newHandler(f)
	f.ServiceByContent = !best.portOnly
}

// udpUndecided lets a UDP flow try detection on a few datagrams before giving up.
func (a *Analyzer) udpUndecided(f *Flow) bool {
	return f.Packets[0]+f.Packets[1] < 4
}

// Reassembly state and stream buffers are reused from flow to flow: a capture of short
// flows would otherwise allocate (and collect) them for every one.
const (
	maxFreeApps    = 1024
	maxFreeBufs    = 256
	maxReusableBuf = 64 << 10
)

func (a *Analyzer) newAppState() *appState {
	if n := len(a.freeApps); n > 0 {
		st := a.freeApps[n-1]
		a.freeApps = a.freeApps[:n-1]
		return st
	}
	return &appState{}
}

func (a *Analyzer) freeAppState(st *appState) {
	for i := range st.dirs {
		if b := st.dirs[i].buf; cap(b) > 0 && cap(b) <= maxReusableBuf && len(a.freeBufs) < maxFreeBufs {
			a.freeBufs = append(a.freeBufs, b[:0])
		}
	}
	if len(a.freeApps) < maxFreeApps {
		*st = appState{}
		a.freeApps = append(a.freeApps, st)
	}
}
