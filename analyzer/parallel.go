package analyzer

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Parallel analysis. One goroutine reads the captures and deals the packets out to workers
// by the pair of IP addresses they carry (both directions, every fragment and the ICMP
// errors quoting them land on the same worker). Each worker is an Analyzer with its own
// flow table, reassembly and decoders. What several flows share (the RPC endpoints handed
// out, the names learnt, the flows bound to them) is never touched by a worker: the worker
// queues it as an action stamped with the packet's number, and the merge runs every
// worker's actions in packet order, epoch by epoch. A worker never reads that shared
// state, so the report is the one a single analyzer gives, whatever the number of workers.

// action is a change to the shared state, queued by a worker: fn, or for the two that
// come with every flow, what to do with f (no closure to allocate per flow).
type action struct {
	seq, sub uint64
	fn       func(g *Analyzer)
	f        *Flow
	kind     flowAction
}

type flowAction uint8

const (
	flowStarted flowAction = iota + 1 // rpcState.flowStarted
	flowRetired                       // Analyzer.retired
)

// run runs the action; details are the bytes of its epoch's details (retire.go).
func (x *action) run(g *Analyzer, details []byte) {
	switch x.kind {
	case flowStarted:
		g.rpc.flowStarted(g, x.f)
	case flowRetired:
		g.retired(x.f, details)
	default:
		x.fn(g)
	}
}

// packetSub orders a packet's own actions after the sweep that ran before it.
const packetSub = ^uint64(0)

type shardState struct {
	actions []action
	details []byte // the details of the flows retired in this epoch (retire.go)
}

// finalSeq orders the actions of the end of the analysis after every packet's.
const finalSeq = 1 << 62

// global runs fn on the state shared by all flows; a worker queues it instead.
func (a *Analyzer) global(fn func(g *Analyzer)) { a.queue(action{fn: fn}) }

// globalFlow is global for the actions that come with every flow.
func (a *Analyzer) globalFlow(kind flowAction, f *Flow) { a.queue(action{f: f, kind: kind}) }

func (a *Analyzer) queue(x action) {
	if a.shard == nil {
		x.run(a, a.ownDetails)
		return
	}
	x.seq, x.sub = a.seq, a.sub
	a.shard.actions = append(a.shard.actions, x)
}

// An epoch, the packets dealt out between two merges, ends at epochPackets packets or
// epochBytes bytes; batchesPerWorker bound what is in flight. A worker may finish up to
// resultsAhead epochs before the merge has run their actions: the merge's work comes in
// bursts (many flows retired at once), and without that slack the workers, then the
// reader, would wait for it while a core stands idle.
const (
	epochPackets     = 2048
	epochBytes       = 1 << 20
	batchesPerWorker = 3
	resultsAhead     = 16
)

type batchPkt struct {
	off, n int // n < 0: not a packet, a sweep at ts (retire.go)
	ts     time.Time
	length int
	link   layers.LinkType
	file   int
	frame  int
	seq    uint64
}

type batch struct {
	data []byte
	pkts []batchPkt
}

// epochResult is what a worker hands the merge for an epoch, and the merge hands back
// for reuse once it has run the actions.
type epochResult struct {
	actions []action
	details []byte
}

// runParallel reads src to the end with n workers and leaves the merged flows in a.
func (a *Analyzer) runParallel(src Source, n int) error {
	workers := make([]*Analyzer, n)
	in := make([]chan *batch, n)
	out := make([]chan epochResult, n)
	free := make([]chan *batch, n)
	spare := make([]chan epochResult, n) // what the merge is done with, for reuse
	done := make(chan struct{}, n)
	opts := a.opts
	opts.MaxFlows = (opts.MaxFlows + n - 1) / n // the cap is shared out
	for i := range workers {
		w := New(opts)
		w.shard = &shardState{}
		w.captures = a.captures
		w.streaming = a.streaming
		workers[i] = w
		in[i] = make(chan *batch, batchesPerWorker)
		out[i] = make(chan epochResult, resultsAhead)
		free[i] = make(chan *batch, batchesPerWorker)
		spare[i] = make(chan epochResult, resultsAhead+1)
		for j := 0; j < batchesPerWorker; j++ {
			free[i] <- &batch{data: make([]byte, 0, epochBytes+64<<10), pkts: make([]batchPkt, 0, epochPackets+8)}
		}
		go func(w *Analyzer, in <-chan *batch, out chan<- epochResult, free chan<- *batch, spare <-chan epochResult) {
			for b := range in {
				for i := range b.pkts {
					p := &b.pkts[i]
					w.seq = p.seq
					if p.n < 0 {
						w.sweep(p.ts)
						continue
					}
					w.handlePacket(Packet{Data: b.data[p.off : p.off+p.n], Timestamp: p.ts, Length: p.length,
						Link: p.link, File: p.file, Frame: p.frame})
				}
				b.data, b.pkts = b.data[:0], b.pkts[:0]
				free <- b
				out <- epochResult{actions: w.shard.actions, details: w.shard.details}
				select {
				case r := <-spare:
					w.shard.actions, w.shard.details = r.actions, r.details
				default:
					w.shard.actions, w.shard.details = nil, nil
				}
			}
			w.releaseAll()
			out <- epochResult{actions: w.shard.actions, details: w.shard.details}
			done <- struct{}{}
		}(w, in[i], out[i], free[i], spare[i])
	}

	// The reader: counts every packet and deals the epochs out.
	var readErr error
	epochs := make(chan int, 64) // tells the merge that an epoch was dealt out
	go func() {
		defer close(epochs)
		cur := make([]*batch, n)
		take := func() {
			for i := range cur {
				cur[i] = <-free[i]
			}
		}
		send := func() {
			for i := range cur {
				in[i] <- cur[i]
			}
			epochs <- 1
		}
		take()
		inEpoch, epochData := 0, 0
		for {
			p, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			if a.admit(&p) {
				for _, b := range cur {
					b.pkts = append(b.pkts, batchPkt{n: -1, ts: p.Timestamp, seq: a.seq})
				}
			}
			b := cur[partition(p.Link, p.Data, n)]
			b.pkts = append(b.pkts, batchPkt{off: len(b.data), n: len(p.Data), ts: p.Timestamp, length: p.Length,
				link: p.Link, file: p.File, frame: p.Frame, seq: a.seq})
			b.data = append(b.data, p.Data...)
			epochData += len(p.Data)
			if inEpoch++; inEpoch == epochPackets || epochData >= epochBytes {
				send()
				take()
				inEpoch, epochData = 0, 0
			}
		}
		send()
		for i := range in {
			close(in[i])
		}
	}()

	// The merge: runs the workers' shared-state actions in packet order, epoch by epoch.
	lists := make([][]action, n)
	details := make([][]byte, n)
	got := make([]epochResult, n)
	merge := func() {
		for i := range out {
			got[i] = <-out[i]
			lists[i], details[i] = got[i].actions, got[i].details
		}
		runInOrder(a, lists, details)
		for i, r := range got {
			clear(r.actions) // the actions hold flows
			select {
			case spare[i] <- epochResult{actions: r.actions[:0], details: r.details[:0]}:
			default:
			}
		}
	}
	for range epochs {
		merge()
	}
	merge() // the actions of the workers' end (flows released in the order they started)
	for range workers {
		<-done
	}

	for _, w := range workers {
		a.evicted += w.evicted
		a.flowsSeen += w.flowsSeen
	}
	return readErr
}

func (x *action) before(y *action) bool {
	return x.seq < y.seq || x.seq == y.seq && x.sub < y.sub
}

// runInOrder runs the actions of several lists, each in packet order, merged by packet;
// details[i] are the details the actions of lists[i] refer to.
func runInOrder(g *Analyzer, lists [][]action, details [][]byte) {
	for {
		best := -1
		for i, l := range lists {
			if len(l) > 0 && (best < 0 || l[0].before(&lists[best][0])) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		l := lists[best]
		// Run this list up to the next list's first action.
		var limit *action
		for i, o := range lists {
			if i != best && len(o) > 0 && (limit == nil || o[0].before(limit)) {
				limit = &o[0]
			}
		}
		k := 0
		for k < len(l) && (limit == nil || l[k].before(limit)) {
			l[k].run(g, details[best])
			k++
		}
		lists[best] = l[k:]
	}
}

// partition deals a frame to a worker by its unordered pair of IP addresses (for an ICMP
// error, the pair of the packet it quotes), so that a flow, its fragments and the ICMP
// errors about it meet on one worker. Frames without IP go to worker 0.
func partition(link layers.LinkType, data []byte, n int) int {
	ip := ipOf(link, data)
	if len(ip) < 20 {
		return 0
	}
	var src, dst []byte
	switch ip[0] >> 4 {
	case 4:
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl {
			return 0
		}
		src, dst = ip[12:16], ip[16:20]
		frag := binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0
		if ip[9] == 1 && !frag && len(ip) >= ihl+8+20 && ip[ihl] == 3 {
			q := ip[ihl+8:]
			if q[0]>>4 == 4 {
				src, dst = q[12:16], q[16:20]
			}
		}
	case 6:
		if len(ip) < 40 {
			return 0
		}
		src, dst = ip[8:24], ip[24:40]
		next, off := ip[6], 40
		for hops := 0; hops < 8; hops++ {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(ip) < off+8 {
					return pairHash(src, dst, n)
				}
				next, off = ip[off], off+8*(int(ip[off+1])+1)
				continue
			case 44: // fragment
				if len(ip) < off+8 {
					return pairHash(src, dst, n)
				}
				if binary.BigEndian.Uint16(ip[off+2:off+4])&0xfff8 != 0 {
					return pairHash(src, dst, n)
				}
				next, off = ip[off], off+8
				continue
			case 58: // ICMPv6 destination unreachable quotes the packet after 8 bytes
				if len(ip) >= off+8+40 && ip[off] == 1 {
					q := ip[off+8:]
					if q[0]>>4 == 6 {
						src, dst = q[8:24], q[24:40]
					}
				}
			}
			break
		}
	default:
		return 0
	}
	return pairHash(src, dst, n)
}

func pairHash(a, b []byte, n int) int {
	var h uint32
	for i := range a {
		h += uint32(a[i]) * 0x9e3779b1 >> (i & 7)
		h = h<<5 | h>>27
	}
	var k uint32
	for i := range b {
		k += uint32(b[i]) * 0x9e3779b1 >> (i & 7)
		k = k<<5 | k>>27
	}
	x := (h ^ k) * 0x85ebca6b
	x ^= x >> 13
	return int(x % uint32(n))
}

// ipOf returns the IP header and what follows in a frame, or nil.
func ipOf(link layers.LinkType, d []byte) []byte {
	switch link {
	case layers.LinkTypeEthernet:
		if len(d) < 14 {
			return nil
		}
		et, off := binary.BigEndian.Uint16(d[12:14]), 14
		for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && len(d) >= off+4 {
			et, off = binary.BigEndian.Uint16(d[off+2:off+4]), off+4
		}
		if et != 0x0800 && et != 0x86dd {
			return nil
		}
		return d[off:]
	case layers.LinkTypeLinuxSLL:
		if len(d) < 16 {
			return nil
		}
		return d[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(d) < 20 {
			return nil
		}
		return d[20:]
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(d) < 4 {
			return nil
		}
		return d[4:]
	case layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeRaw, 12, 14:
		return d
	}
	return nil
}
