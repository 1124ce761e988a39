package analyzer

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/adcsflow/adcsflow/decoders/intern"
)

// Bounded memory for captures of any size. A flow that has gone quiet is retired: taken out
// of the flow table, its decoders released, its report line written out (to a spill that
// the JSON and CSV writers copy from), and what the analyses over all flows need (roles,
// diff, rules, hosts, the tables) kept once per group of like flows: same server address
// and port, transport, service, outcome, RPC interface and decoder summary (failed attempts
// at ports no service is known on: whatever the port). Past foldAfter kept flows the flows
// kept so far are folded into their groups, and so is every later one: counted in the
// group's first flow when it comes from the same client and port, else in a compact
// member (about 100 bytes) for its client and port. The analyses read the kept flows and
// members through views (flowView), one per member. Memory then grows with the number of
// services (a full Flow each) and of their clients (a member each), not with packets,
// flows or ports tried. A packet on the 4-tuple of a retired flow starts a new flow, as
// after a TCP takeover.
//
// Retiring happens on a sweep every sweepEvery of capture time (the flows due are found
// from time buckets), and at the end; the sweeps are run at the same packet whatever the
// number of workers, and flows retire in the order they started, so the report does not
// depend on the workers (parallel.go).

const (
	sweepEvery = 15 * time.Second
	// A TCP connection closed by both sides or reset is over once quiet that long (Zeek
	// waits 5 s); a late retransmission would start a mid-flow flow.
	idleClosed = 30 * time.Second
	// An answered UDP exchange idle that long is over (Zeek's UDP inactivity timeout).
	idleAnswered = time.Minute
	// SYNs and datagrams that got nothing back wait for the client's retries.
	idleShort = 2 * time.Minute
	// An established TCP connection that is still open is kept much longer.
	idleLong = 15 * time.Minute
	// Flows an assignment keeps for the text report; the count and outcomes cover all.
	maxUsedByKept = 8
)

// foldAfter is how many flows are kept before like flows are folded (a variable for tests).
var foldAfter = 20000

// sweepDue tells, for the packet stream as a whole, when a sweep is due (at ts).
func (a *Analyzer) sweepDue(ts time.Time) bool {
	if !a.streaming {
		return false
	}
	if a.nextSweep.IsZero() {
		a.nextSweep = ts.Add(sweepEvery)
		return false
	}
	if ts.Before(a.nextSweep) {
		return false
	}
	a.nextSweep = ts.Add(sweepEvery)
	return true
}

func idleLimit(f *Flow) time.Duration {
	switch {
	case f.Transport != "tcp":
		if f.Packets[1] > 0 {
			return idleAnswered
		}
	case f.resetBy >= 0 || f.rstFromServer || f.fin[0] && f.fin[1]:
		return idleClosed
	case f.sawSYNACK:
		return idleLong
	}
	return idleShort
}

// Finding the idle flows without looking at every flow at every sweep: each flow of the
// table has an entry in the bucket (of sweepEvery) of the time it would be idle, its last
// packet plus its timeout. A packet that makes that time earlier (a FIN, a reset, an
// answer: a shorter timeout; or a time stamp older than the last one) gives it a new entry
// (idleSooner); a later time needs none, the sweep that finds it still busy gives it one.
// A sweep looks only at the buckets that are due. An entry is valid while the flow it
// names is the same flow (seq) and still points back at that bucket (wheelAt).
type wheelEntry struct {
	f   *Flow
	seq uint64
}

// A bucket holds its entries in chunks of wheelChunk, taken from and given back to one
// pool: the buckets soon due fill with thousands of entries, most others hold a few, and
// neither grows a slice of its own (a list handed on from bucket to bucket keeps the room
// of the largest; a list made anew for each bucket is garbage at each sweep).
const wheelChunk = 256

func (a *Analyzer) newChunk() []wheelEntry {
	if n := len(a.freeChunks); n > 0 {
		c := a.freeChunks[n-1]
		a.freeChunks = a.freeChunks[:n-1]
		return c
	}
	return make([]wheelEntry, 0, wheelChunk)
}

// bucketOf numbers the bucket of t (rounding down, also before 1970).
func bucketOf(t time.Time) int64 {
	n, d := t.UnixNano(), int64(sweepEvery)
	if n < 0 {
		return (n - d + 1) / d
	}
	return n / d
}

// noBucket is no bucket: before any sweep, and for a flow that has left the table.
const noBucket = math.MinInt64

// schedule gives f its entry for a possible idle time at due (never a bucket already swept).
func (a *Analyzer) schedule(f *Flow, due time.Time) {
	b := bucketOf(due)
	if b <= a.swept {
		b = a.swept + 1
	}
	if a.wheel == nil {
		a.wheel = map[int64][][]wheelEntry{}
	}
	chunks := a.wheel[b]
	if n := len(chunks); n == 0 || len(chunks[n-1]) == cap(chunks[n-1]) {
		chunks = append(chunks, a.newChunk())
		a.wheel[b] = chunks
	}
	last := &chunks[len(chunks)-1]
	*last = append(*last, wheelEntry{f, f.seq})
	f.wheelAt = b
}

// idleSooner gives f a new entry when its last packet made it idle sooner than its entry
// says (last0 and limit0: its last packet time and timeout before that packet).
func (a *Analyzer) idleSooner(f *Flow, last0 time.Time, limit0 time.Duration) {
	if !a.streaming {
		return
	}
	if limit := idleLimit(f); limit < limit0 || f.Last.Before(last0) {
		a.schedule(f, f.Last.Add(limit))
	}
}

// sweep retires the flows of the table idle at now, in the order they started.
func (a *Analyzer) sweep(now time.Time) {
	cur := bucketOf(now)
	due := a.sweepBuckets[:0]
	for b := range a.wheel {
		if b <= cur {
			due = append(due, b)
		}
	}
	a.swept = cur
	old := a.sweepFlows[:0]
	for _, b := range due {
		chunks := a.wheel[b]
		delete(a.wheel, b)
		for _, list := range chunks {
			for _, e := range list {
				f := e.f
				if f.seq != e.seq || f.wheelAt != b {
					continue // retired, taken over, or rescheduled since
				}
				if now.Sub(f.Last) > idleLimit(f) {
					old = append(old, f)
					f.wheelAt = noBucket // another entry for it in this bucket is now stale
					continue
				}
				a.schedule(f, f.Last.Add(idleLimit(f)))
			}
			clear(list)
			a.freeChunks = append(a.freeChunks, list[:0])
		}
	}
	if sweepMismatch != nil {
		a.checkIdle(now, old)
	}
	slices.SortFunc(old, func(x, y *Flow) int { return cmp.Compare(x.seq, y.seq) }) // seqs are unique
	for _, f := range old {
		delete(a.table, f.key())
		if f == a.lastFlow {
			a.lastFlow = nil
		}
		a.sub = f.seq
		a.retire(f)
	}
	a.sub = packetSub
	clear(old) // kept for the next sweep, it must not hold the retired flows
	a.sweepBuckets, a.sweepFlows = due, old[:0]
}

// sweepMismatch, when set (tests), is told of every difference between the flows a sweep
// retires and those a scan of the whole table finds idle.
var sweepMismatch func(msg string)

func (a *Analyzer) checkIdle(now time.Time, got []*Flow) {
	want := map[*Flow]bool{}
	for _, f := range a.table {
		if now.Sub(f.Last) > idleLimit(f) {
			want[f] = true
		}
	}
	for _, f := range got {
		if !want[f] {
			sweepMismatch(fmt.Sprintf("sweep at %v: %v -> %v retired but not idle", now, f.Client, f.Server))
		}
		delete(want, f)
	}
	for f := range want {
		sweepMismatch(fmt.Sprintf("sweep at %v: %v -> %v idle (last packet %v) but not retired", now, f.Client, f.Server, f.Last))
	}
}

// retire ends a flow for good (streaming analyses): decoders released, outcome set, and
// handed to the shared state.
func (a *Analyzer) retire(f *Flow) {
	f.wheelAt = noBucket
	if f.app != nil {
		c := &a.retireCtx // reused, as handleSegment's: one allocation per flow else
		*c = appCtx{a: a, f: f, ts: f.Last, frame: f.LastFrame, seq: a.seq}
		a.releaseApp(f, c)
		*c = appCtx{}
	}
	f.finish()
	if !f.Details.Empty() {
		// The costly part of the report line, done on the worker, into the bytes its
		// epoch hands to the merge with its actions.
		out := a.detailsOut()
		at := len(*out)
		*out = appendDetailsJSON(*out, &f.Details)
		f.detailsAt, f.detailsLen = uint32(at), uint32(len(*out)-at)
	}
	// The summary too, while the details are in this core's cache: all but the part of an
	// RPC assignment, which the merge sets (retired adds it).
	f.baseSummary = a.summaries.of(f, nil)
	a.globalFlow(flowRetired, f)
}

// retired takes a finished flow into the shared state: counts, RPC correlation, the report
// line, and the kept flows. epochDetails are the details its worker encoded in the flow's
// epoch (detailsOut).
func (g *Analyzer) retired(f *Flow, epochDetails []byte) {
	g.flowsDone++
	if g.outcomes == nil {
		g.outcomes = map[string]int{}
	}
	g.outcomes[f.Outcome]++
	if f.IsFailure() {
		g.failed++
	}
	g.rpc.flowRetired(f)
	if g.spill == nil {
		g.spill = &spill{workers: g.opts.Workers}
	}
	summary := f.baseSummary
	if f.RPCAssignment != nil {
		summary = g.summaries.of(f, f.RPCAssignment)
	}
	fr := flowReportWith(f, summary)
	var details []byte
	if f.detailsLen > 0 {
		details = epochDetails[f.detailsAt : f.detailsAt+f.detailsLen]
	}
	g.spill.add(&fr, details)
	g.keep(f, fr.Summary)
}

// summaryCache makes the summaries of the retired flows: like flows have like summaries
// ("AS-REQ -> AS-REP"), so one string serves them all (at most 4,096 summaries of up to 256
// bytes).
type summaryCache struct {
	t   intern.Table
	buf []byte
}

func (c *summaryCache) of(f *Flow, as *Assignment) string {
	c.buf = appendDetailSummary(c.buf[:0], f, as)
	if c.t.Max == 0 {
		c.t = intern.Table{Max: 4096, MaxLen: 256}
	}
	return c.t.String(c.buf)
}

// An analyzer's flowPool recycles its flows once they are folded into their group (by
// the merge, with several workers). Nothing else refers to a folded flow then, unless an
// RPC assignment lists it among the flows that used it (pinned), but the analyzer that
// made it: the idle-flow wheel may hold stale entries for it, which a sweep tells apart by
// reading the flow's seq. So a flow goes back to the pool of the analyzer that made it;
// another worker taking it would write it while that sweep reads it.
func (a *Analyzer) newFlowStruct() *Flow {
	if f, ok := a.flowPool.Get().(*Flow); ok {
		return f
	}
	return new(Flow)
}

// detailsOut is where retire encodes a flow's details: a worker's epoch's bytes (they go
// to the merge with the epoch's actions and come back for reuse), or, on a single
// analyzer, bytes that retired, run at once, reads before the next flow is retired.
func (a *Analyzer) detailsOut() *[]byte {
	if a.shard != nil {
		return &a.shard.details
	}
	a.ownDetails = a.ownDetails[:0]
	return &a.ownDetails
}

// foldKey is what makes flows alike for the analyses over all flows. It leaves out the
// client: like flows from several clients fold into one group, with one member per client.
type foldKey struct {
	transport, service, outcome, iface, mismatch, end, summary string
	server                                                     netip.AddrPort
	as                                                         *Assignment
	answered, failure, icmpFirewall, anyPort, dynamic          bool
	roleSig                                                    string
}

func makeFoldKey(f *Flow, summary string) foldKey {
	k := foldKey{transport: f.Transport, service: f.Service, outcome: f.Outcome, iface: f.RPCInterface,
		mismatch: f.RPCBindMismatch, end: f.End(), summary: summary, server: f.Server,
		as: f.RPCAssignment, answered: f.Packets[1] > 0, failure: f.IsFailure()}
	// Failed attempts at ports no service is known on, handed out by nothing seen: a scan,
	// or clients trying dynamic RPC ports through a firewall, can try thousands of ports.
	// They fold whatever the port (the member keeps it), dynamic RPC ports apart.
	if port := f.Server.Port(); Failed(f.Outcome) && f.RPCAssignment == nil && !wellKnownServer(protoOf(f.Transport), port) {
		k.server, k.anyPort, k.dynamic = netip.AddrPortFrom(f.Server.Addr(), 0), true, InDynamicRange(port)
	}
	if f.ICMP != nil {
		k.icmpFirewall = f.ICMP.Firewall()
	}
	// What role inference reads from the details beyond the summary.
	if d := f.Details.DCERPC; d != nil {
		for _, b := range d.Binds {
			if caInterfaces[b.Interface] && b.Result == "accepted" {
				k.roleSig += b.Interface + ";"
			}
		}
	}
	if webFlow(f) {
		for _, why := range webRoleEvidence(f) {
			k.roleSig += why[0] + ";"
		}
	}
	if f.Details.LDAP != nil {
		k.roleSig += "ldap;"
	}
	return k
}

// memberIndex finds a group's member for a client and server port: per group (its
// number), client address and port, the member's index. Plain integers as keys: a long
// capture has one entry per client of each group (about 40 bytes each with the map's own).
type memberIndex struct {
	v4 map[memberKey4]int32
	v6 map[memberKey6]int32
}

type memberKey4 struct {
	group, client uint32
	port          uint16
}

type memberKey6 struct {
	group  uint32
	port   uint16
	client [16]byte
}

func (x *memberIndex) find(group uint32, client netip.Addr, port uint16) (int32, bool) {
	var i int32
	var ok bool
	if client.Is4() {
		i, ok = x.v4[key4(group, client, port)]
	} else {
		i, ok = x.v6[memberKey6{group, port, client.As16()}]
	}
	return i, ok
}

func (x *memberIndex) add(group uint32, client netip.Addr, port uint16, i int32) {
	if client.Is4() {
		if x.v4 == nil {
			x.v4 = map[memberKey4]int32{}
		}
		x.v4[key4(group, client, port)] = i
		return
	}
	if x.v6 == nil {
		x.v6 = map[memberKey6]int32{}
	}
	x.v6[memberKey6{group, port, client.As16()}] = i
}

func key4(group uint32, client netip.Addr, port uint16) memberKey4 {
	a := client.As4()
	return memberKey4{group, uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), port}
}

// keep adds a retired flow to the kept flows, or folds it into its group: into the group's
// first flow when it comes from the same client, else into the member of its client.
// Flows are kept one by one until foldAfter; then the capture is a large one: the flows
// kept so far are folded into their groups too, and every later like flow is folded.
func (g *Analyzer) keep(f *Flow, summary string) {
	if g.groups == nil {
		g.groups = map[foldKey]*Flow{}
	}
	k := makeFoldKey(f, summary)
	rep := g.groups[k]
	if rep == nil {
		g.groups[k] = f
		f.group = uint32(len(g.groups))
		g.flows = append(g.flows, f)
		return
	}
	if !g.folding {
		if len(g.flows) < foldAfter {
			g.flows = append(g.flows, f)
			return
		}
		g.compact()
	}
	g.fold(rep, f)
}

// compact folds the flows kept one by one so far into their groups.
func (g *Analyzer) compact() {
	g.folding = true
	kept := g.flows[:0]
	for _, f := range g.flows {
		k := makeFoldKey(f, detailSummary(f))
		rep := g.groups[k]
		if rep == nil {
			g.groups[k] = f
			f.group = uint32(len(g.groups))
			rep = f
		}
		if rep == f {
			kept = append(kept, f)
			continue
		}
		g.fold(rep, f)
	}
	clear(g.flows[len(kept):])
	g.flows = kept
}

// fold counts f in its group (rep) and lets go of it.
func (g *Analyzer) fold(rep, f *Flow) {
	if f.Client.Addr() == rep.Client.Addr() && f.Server.Port() == rep.Server.Port() {
		rep.folded.add(f)
	} else {
		c, port := f.Client.Addr(), f.Server.Port()
		if i, ok := g.members.find(rep.group, c, port); ok {
			rep.members.at(i).folded.add(f)
		} else {
			g.members.add(rep.group, c, port, rep.members.add(newMember(f)))
		}
	}
	if !f.pinned {
		if k := f.Details.Kerberos; k != nil {
			kerberosPool.Put(k)
		}
		if l := f.Details.LDAP; l != nil {
			ldapPool.Put(l)
		}
		if f.pool != nil {
			f.pool.Put(f)
		}
	}
}

// folded is what a kept flow, or a member, stands for beyond its first flow.
type folded struct {
	flows   int32
	syns    int32
	packets [2]int32
}

func (x *folded) add(f *Flow) {
	x.flows++
	x.syns += int32(f.SYNs)
	x.packets[0] += int32(f.Packets[0])
	x.packets[1] += int32(f.Packets[1])
}

// member is one more client of a group of like flows: its first flow as the report shows
// it (the rest of the flow is the group's), and the flows of that client folded into it.
// Compact and without pointers (the GC does not scan it): there is one per client and
// group, the bulk of what a long capture keeps.
type member struct {
	seq         uint64
	first, last int64 // Unix nanoseconds
	bytes       [2]int64
	addr        [16]byte
	file, frame int32 // of the first packet
	syns        int32
	packets     [2]int32
	folded      folded
	port, sport uint16 // client port, server port
	is4         bool
}

// memberList holds a group's members: one slice that grows as append grows it up to
// memberChunk, then chunks of memberChunk, so that a big group neither copies its members
// as it grows nor holds room it does not use. Members are found by index while flows are
// folded (the first chunk moves as it grows); views point at them once all are in.
type memberList struct {
	chunks [][]member
}

const memberChunk = 256

func (l *memberList) len() int {
	if len(l.chunks) == 0 {
		return 0
	}
	return (len(l.chunks)-1)*memberChunk + len(l.chunks[len(l.chunks)-1])
}

func (l *memberList) at(i int32) *member { return &l.chunks[i/memberChunk][i%memberChunk] }

// add appends m and returns its index.
func (l *memberList) add(m member) int32 {
	n := l.len()
	switch {
	case n == 0:
		l.chunks = [][]member{{m}}
	case n < memberChunk:
		l.chunks[0] = append(l.chunks[0], m)
	default:
		if n%memberChunk == 0 {
			l.chunks = append(l.chunks, make([]member, 0, memberChunk))
		}
		last := len(l.chunks) - 1
		l.chunks[last] = append(l.chunks[last], m)
	}
	return int32(n)
}

// all yields every member, in the order they were added.
func (l *memberList) all(yield func(*member) bool) {
	for _, c := range l.chunks {
		for i := range c {
			if !yield(&c[i]) {
				return
			}
		}
	}
}

func newMember(f *Flow) member {
	a := f.Client.Addr()
	return member{seq: f.seq, addr: a.As16(), port: f.Client.Port(), sport: f.Server.Port(), is4: a.Is4(),
		first: f.First.UnixNano(), last: f.Last.UnixNano(),
		file: int32(f.FirstFrame.File), frame: int32(f.FirstFrame.Frame), syns: int32(f.SYNs),
		packets: [2]int32{int32(f.Packets[0]), int32(f.Packets[1])}, bytes: f.Bytes}
}

func (m *member) client() netip.AddrPort {
	a := netip.AddrFrom16(m.addr)
	if m.is4 {
		a = a.Unmap()
	}
	return netip.AddrPortFrom(a, m.port)
}

// Count is how many flows f stands for: itself and the flows of its client folded into it
// (not its members: see flowView).
func (f *Flow) Count() int { return 1 + int(f.folded.flows) }

// flowView is a kept flow as the analyses over all flows see it: the flow itself, or one
// member of its group (another client). Client, times, frame and counts are the view's;
// every other field is the group's. The methods shadow the Flow fields of the same name,
// so code written for a Flow cannot read the group's client by mistake.
type flowView struct {
	*Flow
	m *member
}

func (v flowView) Client() netip.AddrPort {
	if v.m != nil {
		return v.m.client()
	}
	return v.Flow.Client
}

// Server is the group's server address and the view's port (a group of flows to ports
// nothing listens on by name folds them all: see makeFoldKey).
func (v flowView) Server() netip.AddrPort {
	if v.m != nil {
		return netip.AddrPortFrom(v.Flow.Server.Addr(), v.m.sport)
	}
	return v.Flow.Server
}

func (v flowView) First() time.Time {
	if v.m != nil {
		return v.time(v.m.first)
	}
	return v.Flow.First
}

func (v flowView) time(ns int64) time.Time {
	return time.Unix(0, ns).In(v.Flow.First.Location())
}

func (v flowView) FirstFrame() FrameRef {
	if v.m != nil {
		return FrameRef{int(v.m.file), int(v.m.frame)}
	}
	return v.Flow.FirstFrame
}

func (v flowView) seq() uint64 {
	if v.m != nil {
		return v.m.seq
	}
	return v.Flow.seq
}

func (v flowView) fold() *folded {
	if v.m != nil {
		return &v.m.folded
	}
	return &v.Flow.folded
}

// Count is how many flows the view stands for.
func (v flowView) Count() int { return 1 + int(v.fold().flows) }

// SYNs counts the SYNs of all the flows the view stands for.
func (v flowView) SYNs() int {
	if v.m != nil {
		return int(v.m.syns + v.m.folded.syns)
	}
	return v.Flow.SYNs + int(v.Flow.folded.syns)
}

// Packets counts the packets of all the flows the view stands for.
func (v flowView) Packets() [2]int {
	p, x := v.Flow.Packets, v.fold().packets
	if v.m != nil {
		p = [2]int{int(v.m.packets[0]), int(v.m.packets[1])}
	}
	return [2]int{p[0] + int(x[0]), p[1] + int(x[1])}
}

// flow returns the view as a Flow of its own (a copy for a member): the view's client,
// times, frame and counts, the group's everything else.
func (v flowView) flow() *Flow {
	if v.m == nil {
		return v.Flow
	}
	m := v.m
	c := *v.Flow
	c.Client, c.Server, c.First, c.Last, c.FirstFrame = m.client(), v.Server(), v.time(m.first), v.time(m.last), v.FirstFrame()
	c.Packets, c.Bytes, c.SYNs = [2]int{int(m.packets[0]), int(m.packets[1])}, m.bytes, int(m.syns)
	c.folded, c.members, c.seq, c.app, c.detailsLen = m.folded, memberList{}, m.seq, nil, 0
	return &c
}

// makeViews lists the kept flows and the members of their groups, in the order their first
// flows started.
func makeViews(flows []*Flow) []flowView {
	n := len(flows)
	for _, f := range flows {
		n += f.members.len()
	}
	out := make([]flowView, 0, n)
	members := false
	for _, f := range flows {
		out = append(out, flowView{Flow: f})
		for m := range f.members.all {
			out = append(out, flowView{Flow: f, m: m})
			members = true
		}
	}
	if members {
		slices.SortFunc(out, func(x, y flowView) int { return cmp.Compare(x.seq(), y.seq()) }) // seqs are unique
	}
	return out
}

// countFlows is how many flows a list of views stands for.
func countFlows(list []flowView) int {
	n := 0
	for _, v := range list {
		n += v.Count()
	}
	return n
}

// flowRetired does the RPC correlation that needs the flow's end: which assignments it
// used and with what outcome, the flows open before an assignment, and the label of flows
// to a dynamic port nothing handed out.
func (r *rpcState) flowRetired(f *Flow) {
	if f.Transport != "tcp" {
		return
	}
	if f.RPCAssignment == nil && f.Service == "msrpc" && InDynamicRange(f.Server.Port()) {
		f.Service = "msrpc (unassigned)"
	}
	k := endpointKey{f.Server.Addr(), f.Server.Port()}
	list := r.byEndpoint[k]
	for _, as := range list {
		if f.First.Before(as.Time) {
			as.OpenBefore++
		}
		if as.seq < f.seq {
			as.usedOutcome(f.Outcome, f.seq)
		}
	}
	if r.retiredTo == nil {
		r.retiredTo = map[endpointKey]int{}
	}
	if len(r.retiredTo) < 1<<16 || r.retiredTo[k] > 0 {
		r.retiredTo[k]++
	}
}

func (as *Assignment) usedOutcome(outcome string, seq uint64) {
	for i := range as.outcomes {
		if as.outcomes[i].outcome == outcome {
			as.outcomes[i].seq = min(as.outcomes[i].seq, seq)
			return
		}
	}
	as.outcomes = append(as.outcomes, usedOutcome{outcome, seq})
}

type usedOutcome struct {
	outcome string
	seq     uint64
}
