// Package analyzer turns packets into flows with their outcomes, runs the protocol
// decoders over each flow's bytes, correlates dynamic RPC port assignments with the flows
// that follow them, and builds the report. Sources (files, live capture) only hand it
// packets: there is one pipeline for both.
package analyzer

import (
	"cmp"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
	"github.com/adcsflow/adcsflow/decoders/kerberos"
	"github.com/adcsflow/adcsflow/decoders/ldap"
	"github.com/gopacket/gopacket/layers"
)

// Options tune an analysis.
type Options struct {
	// MaxFlows caps the flow table (live flows); past it the least recently seen flows
	// are evicted (their summary is kept) and a warning is given. 0 means the default.
	MaxFlows int
	// PointNames names the capture points of AnalyzeFiles' paths, in order ("" for none).
	PointNames []string
	// Workers is how many goroutines decode flows in parallel (parallel.go); 0 means one
	// per CPU, 1 a single-threaded analysis. The report is the same for any number.
	Workers int
}

const defaultMaxFlows = 1 << 20

// Analyzer consumes packets from any source and builds a Report.
type Analyzer struct {
	opts  Options
	dec   *decoder
	seg   segment
	table map[flowKey]*Flow
	// The flow of the last packet and its key: packets come in bursts per flow, and a
	// match skips the table lookup. Cleared when a flow leaves the table.
	lastKey  flowKey
	lastFlow *Flow
	flows    []*Flow
	captures []*CaptureInfo
	packets  int
	first    time.Time
	last     time.Time
	warnings []string
	evicted  int

	bufferedTotal int

	// seq numbers the packets of the analysis in the order they are handled (from 1); a
	// flow remembers the seq of its first packet.
	seq uint64
	// shard is set on the workers of a parallel analysis (parallel.go).
	shard *shardState
	// sub orders the shared-state actions of one packet: packetSub for the packet's own,
	// the flow's seq for flows retired by a sweep before it (retire.go).
	sub uint64

	// Streaming analysis (retire.go): idle flows are retired and folded as the capture is
	// read. Off for live capture and several capture points, which keep every flow.
	streaming  bool
	nextSweep  time.Time
	flowsSeen  int
	flowsDone  int
	outcomes   map[string]int
	failed     int
	spill      *spill
	summaries  summaryCache // of the retired flows (retire.go)
	groups     map[foldKey]*Flow
	members    memberIndex // retire.go
	folding    bool
	wheel      map[int64][][]wheelEntry // idle-flow buckets, in chunks (retire.go)
	freeChunks [][]wheelEntry
	flowPool   *sync.Pool // its flows, once folded (retire.go)
	ownDetails []byte     // a single analyzer's detailsOut (retire.go)
	// A sweep's due buckets and idle flows, kept for the next sweep.
	sweepBuckets []int64
	sweepFlows   []*Flow
	swept        int64 // the last bucket swept

	freeApps []*appState // app.go
	freeBufs [][]byte
	// scratch is the decoders' reused storage: a decoded message is read, never kept.
	scratch struct {
		kerberos kerberos.Message
		ldap     ldap.Decoder
		pdu      dcerpc.PDU
		kpasswd  kerberos.KpasswdDecoder
	}

	rpc   rpcState
	names nameBook
	ctx   appCtx
	// retireCtx is retire's (retire.go).
	retireCtx appCtx
	live      liveState     // Tick's pending SYNs (live.go)
	two       twoPointState // captures from several points (twopoint.go)

	// OnFlowFailed, when set, is called once for each flow the moment it is known to have
	// failed (live capture prints these as they happen).
	OnFlowFailed func(*Flow)
}

// New returns an analyzer.
func New(opts Options) *Analyzer {
	if opts.MaxFlows <= 0 {
		opts.MaxFlows = defaultMaxFlows
	}
	return &Analyzer{opts: opts, dec: newDecoder(), table: make(map[flowKey]*Flow, 1024), sub: packetSub, swept: noBucket,
		flowPool: new(sync.Pool)}
}

// AddCapture registers an input and returns its index for Packet.File.
func (a *Analyzer) AddCapture(info *CaptureInfo) int {
	a.captures = append(a.captures, info)
	a.two.multi = len(a.captures) > 1
	return len(a.captures) - 1
}

// Packets returns how many packets were handled so far.
func (a *Analyzer) Packets() int { return a.packets }

// FlowCount returns how many flows were seen so far.
func (a *Analyzer) FlowCount() int { return a.flowsSeen }

// Handle analyzes one packet.
func (a *Analyzer) Handle(p Packet) {
	if a.admit(&p) {
		a.sweep(p.Timestamp)
	}
	a.handlePacket(p)
}

// admit numbers and counts a packet; it reports whether a sweep is due before it.
func (a *Analyzer) admit(p *Packet) (sweep bool) {
	a.count(p)
	a.seq++
	return a.sweepDue(p.Timestamp)
}

// count does the per-capture bookkeeping of a packet (counts, times, link types).
func (a *Analyzer) count(p *Packet) {
	a.packets++
	if p.File >= 0 && p.File < len(a.captures) {
		ci := a.captures[p.File]
		ci.Packets++
		if ci.First.IsZero() || p.Timestamp.Before(ci.First) {
			ci.First = p.Timestamp
		}
		if p.Timestamp.After(ci.Last) {
			ci.Last = p.Timestamp
		}
		// Captures rarely change link type: the map is only asked when it does.
		if ci.linkSeen == nil || p.Link != ci.lastLink {
			ci.noteLink(*p)
		}
		ci.lastLink = p.Link
	}
	if a.first.IsZero() || p.Timestamp.Before(a.first) {
		a.first = p.Timestamp
	}
	if p.Timestamp.After(a.last) {
		a.last = p.Timestamp
	}
}

// noteLink records a capture's link type the first time a packet has it.
func (ci *CaptureInfo) noteLink(p Packet) {
	if ci.linkSeen == nil {
		ci.linkSeen = map[layers.LinkType]bool{}
	}
	if ci.linkSeen[p.Link] {
		return
	}
	ci.linkSeen[p.Link] = true
	ci.LinkTypes = append(ci.LinkTypes, LinkTypeName(p.Link))
	if _, ok := firstLayer(p.Link, p.Data); !ok {
		ci.warn("%s: packet %d: link type %d is not supported; such packets are skipped",
			ci.File, p.Frame, int(p.Link))
	}
}

// handlePacket decodes a packet and runs it through its flow.
func (a *Analyzer) handlePacket(p Packet) {
	seg := &a.seg
	if a.dec.decode(p, seg) != decodedOK {
		return
	}
	if seg.icmp {
		a.handleICMP(seg)
		return
	}
	a.handleSegment(seg)
}

func (a *Analyzer) handleICMP(seg *segment) {
	q := seg.quoted
	f := a.table[makeKey(q.proto, q.src, q.dst)]
	if f == nil || f.Client != q.src || f.ICMP != nil {
		return
	}
	f.ICMP = &ICMPInfo{V6: seg.icmpV6, Type: seg.icmpType, Code: seg.icmpCode, From: seg.src,
		Frame: FrameRef{seg.file, seg.frame}}
	if f.Transport == "udp" && f.Packets[1] == 0 || f.Transport == "tcp" && !f.sawSYNACK && !f.rstFromServer {
		a.failedNow(f)
	}
}

func (a *Analyzer) handleSegment(seg *segment) {
	src := netip.AddrPortFrom(seg.src, seg.sport)
	dst := netip.AddrPortFrom(seg.dst, seg.dport)
	key := makeKey(seg.proto, src, dst)
	var f *Flow
	if a.lastFlow != nil && key == a.lastKey {
		f = a.lastFlow
	} else {
		f = a.table[key]
	}
	ref := FrameRef{seg.file, seg.frame}
	if seg.proto == protoTCP {
		pureSYN := seg.flags&(flagSYN|flagACK) == flagSYN
		if pureSYN && (f == nil || !f.sawSYN || f.isn != seg.seq || f.Client != src) {
			if f != nil {
				a.endFlow(f)
			}
			f = a.newFlow(key, "tcp", src, dst, seg.ts, ref)
			f.sawSYN, f.isn = true, seg.seq
			f.app.tcpSYN(0, seg.seq)
		} else if f == nil {
			if seg.flags&(flagSYN|flagACK) == flagSYN|flagACK {
				// SYN-ACK without its SYN in the capture: the receiver is the client.
				f = a.newFlow(key, "tcp", dst, src, seg.ts, ref)
			} else {
				c, s := orient(protoTCP, src, dst)
				f = a.newFlow(key, "tcp", c, s, seg.ts, ref)
			}
		}
	} else if f == nil {
		f = a.newFlow(key, "udp", src, dst, seg.ts, ref)
	}
	a.lastKey, a.lastFlow = key, f
	dir := 0
	if src != f.Client {
		dir = 1
	}
	last0, limit0 := f.Last, idleLimit(f) // before the packet (idleSooner)
	f.Packets[dir]++
	f.Bytes[dir] += int64(seg.ipLen)
	if a.two.multi {
		a.observe(f, seg, dir)
	}
	f.Last = seg.ts
	f.LastFrame = ref
	// One context, reused: handing a fresh one to the handlers' interfaces would cost an
	// allocation per packet.
	c := &a.ctx
	*c = appCtx{a: a, f: f, ts: seg.ts, frame: ref, seq: a.seq}
	if seg.proto == protoUDP {
		if a.feedsDecoders(f, seg) {
			a.udpData(f, dir, seg.payload, c)
		}
		a.idleSooner(f, last0, limit0)
		return
	}
	switch {
	case seg.flags&flagSYN != 0 && seg.flags&flagACK == 0 && dir == 0:
		f.SYNs++
	case seg.flags&(flagSYN|flagACK) == flagSYN|flagACK && dir == 1:
		if !f.sawSYNACK {
			f.sawSYNACK = true
			if f.app != nil {
				f.app.tcpSYN(1, seg.seq)
			}
		}
	}
	if seg.flags&flagRST != 0 {
		if f.resetBy < 0 {
			f.resetBy = dir
		}
		if dir == 1 && !f.sawSYNACK && f.sawSYN && !f.rstFromServer {
			f.rstFromServer = true
			a.failedNow(f)
		}
	}
	if seg.flags&flagFIN != 0 {
		f.fin[dir] = true
	}
	if len(seg.payload) > 0 && a.feedsDecoders(f, seg) {
		a.tcpData(f, dir, seg.seq, seg.payload, c)
	}
	if f.resetBy >= 0 || (f.fin[0] && f.fin[1]) {
		a.releaseApp(f, c)
	}
	a.idleSooner(f, last0, limit0)
}

func (a *Analyzer) newFlow(key flowKey, transport string, client, server netip.AddrPort, ts time.Time, ref FrameRef) *Flow {
	proto := protoOf(transport)
	f := a.newFlowStruct()
	*f = Flow{
		ID: a.flowsSeen, Transport: transport, Client: client, Server: server,
		Service: portService(proto, server.Port()),
		First:   ts, Last: ts, FirstFrame: ref, LastFrame: ref,
		resetBy:  -1,
		app:      a.newAppState(),
		seq:      a.seq,
		tableKey: key,
		pool:     a.flowPool,
	}
	a.flowsSeen++
	if !a.streaming {
		a.flows = append(a.flows, f)
	}
	if len(a.table) >= a.opts.MaxFlows {
		a.evict()
	}
	a.table[key] = f
	if a.streaming {
		a.schedule(f, ts.Add(idleLimit(f)))
	}
	if f.Transport == "tcp" {
		a.globalFlow(flowStarted, f)
	}
	return f
}

// endFlow finishes a flow whose 4-tuple is taken over by a new connection.
func (a *Analyzer) endFlow(f *Flow) {
	c := appCtx{a: a, f: f, ts: f.Last, frame: f.LastFrame, seq: a.seq}
	a.releaseApp(f, &c)
	f.ended = true
	if f.Transport == "tcp" && f.sawSYN && !f.sawSYNACK && !f.rstFromServer && f.ICMP == nil {
		a.failedNow(f)
	}
	if a.streaming {
		a.retire(f)
	}
}

// releaseApp ends decoding on a flow and frees its buffers; the summary stays.
func (a *Analyzer) releaseApp(f *Flow, c *appCtx) {
	if f.app == nil {
		return
	}
	a.tcpFlush(f, c)
	if fin, ok := f.app.handler.(interface{ finish(*appCtx) }); ok {
		fin.finish(c)
	}
	for i := range f.app.dirs {
		a.bufferedTotal -= len(f.app.dirs[i].buf)
	}
	a.freeAppState(f.app)
	f.app = nil
}

// evict drops the least recently seen half of the flow table.
func (a *Analyzer) evict() {
	type kv struct {
		k flowKey
		t time.Time
	}
	all := make([]kv, 0, len(a.table))
	for k, f := range a.table {
		all = append(all, kv{k, f.Last})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.Before(all[j].t) })
	for _, e := range all[:len(all)/2] {
		f := a.table[e.k]
		a.endFlow(f)
		delete(a.table, e.k)
		a.evicted++
	}
	a.lastFlow = nil
}

func (a *Analyzer) failedNow(f *Flow) {
	if a.OnFlowFailed != nil {
		f.finish()
		if f.IsFailure() {
			a.OnFlowFailed(f)
		}
	}
}

// Warn adds a warning to the report.
func (a *Analyzer) Warn(msg string) { a.warnings = append(a.warnings, msg) }

// Finish ends the analysis and returns the report.
func (a *Analyzer) Finish() *Report {
	a.releaseAll()
	return a.report()
}

// releaseAll ends decoding on every flow still open, in the order the flows started.
func (a *Analyzer) releaseAll() {
	if a.streaming {
		open := make([]*Flow, 0, len(a.table))
		for _, f := range a.table {
			open = append(open, f)
		}
		clear(a.table)
		a.lastFlow = nil
		sort.Slice(open, func(i, j int) bool { return open[i].seq < open[j].seq })
		for _, f := range open {
			a.seq, a.sub = finalSeq, f.seq
			a.retire(f)
		}
		return
	}
	for _, f := range a.flows {
		if f.app != nil {
			if a.shard != nil {
				a.seq = finalSeq + f.seq
			}
			c := appCtx{a: a, f: f, ts: f.Last, frame: f.LastFrame, seq: a.seq}
			a.releaseApp(f, &c)
		}
	}
}

// report computes the outcomes, runs the analyses over all flows and builds the report.
func (a *Analyzer) report() *Report {
	if a.streaming {
		// Every flow is retired: what found a flow's group is no longer needed, and the
		// analyses over all flows are about to need memory.
		a.groups, a.members = nil, memberIndex{}
		if a.spill != nil {
			a.spill.sealed()
		}
		slices.SortFunc(a.flows, func(x, y *Flow) int { return cmp.Compare(x.seq, y.seq) }) // seqs are unique
		for i, f := range a.flows {
			f.ID = i
		}
	}
	for _, f := range a.flows {
		f.finish()
	}
	if a.two.multi {
		a.twoPoint()
	}
	a.rpc.finish(a)
	if a.evicted > 0 {
		a.Warn("the flow table reached its cap of " + itoa(a.opts.MaxFlows) + " flows: " + itoa(a.evicted) +
			" idle flows were closed early; a later packet of one of them starts a new flow")
	}
	return buildReport(a)
}

// AnalyzeFiles reads the captures (merged in time order) and analyzes them. It returns an
// error wrapping ErrUnreadable when a file cannot be read at all; the report still covers
// the files that could be read. Files that are the consecutive parts of one capture (cut
// by size or time, fileset.go) are read one after the other as that capture; files from
// several capture points are merged in time order (two-point analysis).
func AnalyzeFiles(paths []string, opts Options) (*Report, error) {
	a := New(opts)
	order := make([]int, len(paths))
	for i := range order {
		order[i] = i
	}
	parts := false
	if len(paths) > 1 && len(opts.PointNames) == 0 {
		spans := make([]fileSpan, len(paths))
		for i, p := range paths {
			spans[i] = scanSpan(p)
		}
		parts, order = consecutiveParts(spans)
	}
	var srcs []Source
	var errs []error
	for _, i := range order {
		p := paths[i]
		info := &CaptureInfo{File: p}
		if i < len(opts.PointNames) {
			info.Point = opts.PointNames[i]
		}
		idx := a.AddCapture(info)
		s, err := openFile(p, idx, info)
		if err != nil {
			info.Unreadable = true
			info.Warnings = append(info.Warnings, err.Error())
			errs = append(errs, err)
			continue
		}
		srcs = append(srcs, s)
	}
	if parts {
		a.two.multi = false
	}
	a.streaming = !a.two.multi
	if len(srcs) > 0 {
		var src Source
		if parts {
			src = &concatSource{srcs: srcs}
		} else {
			src = NewMergeSource(srcs...)
		}
		workers := opts.Workers
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		if workers > 1 && !a.two.multi && a.OnFlowFailed == nil {
			if err := a.runParallel(src, workers); err != nil {
				errs = append(errs, err)
			}
		} else {
			for {
				p, err := src.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					errs = append(errs, err)
					break
				}
				a.Handle(p)
			}
			a.releaseAll()
		}
	}
	for _, info := range a.captures {
		if !info.Unreadable && info.Packets == 0 && len(info.Warnings) == 0 {
			info.warn("%s: no packets in this capture", info.File)
		}
	}
	return a.report(), errors.Join(errs...)
}

// concatSource reads sources one after the other (the parts of one capture).
type concatSource struct {
	srcs []Source
}

func (c *concatSource) Next() (Packet, error) {
	for len(c.srcs) > 0 {
		p, err := c.srcs[0].Next()
		if err != io.EOF {
			return p, err
		}
		c.srcs = c.srcs[1:]
	}
	return Packet{}, io.EOF
}
