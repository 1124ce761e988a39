package analyzer

// Captures from two (or more) points: the same flow seen before and after a firewall tells
// where its packets were lost. Each capture's view of a flow is recorded per flow while the
// packets go by (observe, only when there is more than one capture); at Finish the views
// are matched (NAT twins by ports and initial sequence number), the clocks compared, the
// client side of each flow chosen, and every failed flow given the place it died.

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Where a failed flow's packets were lost (FlowReport.LostAt).
const (
	LostPath       = "path"        // left the client side, never reached the server side
	LostServer     = "server"      // reached the server side, which did not answer (or refused)
	LostReturnPath = "return-path" // the server answered; the answer never reached the client side
)

// twoPointState is the analyzer's part of a two-point analysis.
type twoPointState struct {
	multi     bool // more than one capture: record per-capture views
	report    *TwoPointReport
	sideVotes func(clientAddr string) (client, server []int)
}

// pointObs is what one capture saw of one flow.
type pointObs struct {
	packets    [2]int // [0] client to server, [1] server to client
	bytes      [2]int64
	syns       int
	synack     bool
	rst        bool // RST from the server before any SYN-ACK
	first      time.Time
	firstSYN   time.Time
	synackAt   time.Time
	firstFrame int
}

func (o *pointObs) seen() bool { return o.packets[0]+o.packets[1] > 0 }

// flowPoints is a flow's per-capture views and what the matching concluded.
type flowPoints struct {
	obs        []pointObs // by capture index
	nat        []natView
	clientSide int // capture index nearest the client, -1 unknown
	serverSide int // capture index nearest the server, -1 unknown
	lost       string
	why        string
	twinOf     *Flow // set on a NAT twin merged into another flow
}

// natView is a flow as another capture saw it under other addresses.
type natView struct {
	file           int
	client, server string
}

// observe records one packet of a flow for the capture it came from. Called only when the
// analysis has more than one capture.
func (a *Analyzer) observe(f *Flow, seg *segment, dir int) {
	if seg.file < 0 || seg.file >= len(a.captures) {
		return
	}
	if f.points == nil {
		f.points = &flowPoints{obs: make([]pointObs, len(a.captures)), clientSide: -1, serverSide: -1}
	}
	o := &f.points.obs[seg.file]
	if !o.seen() {
		o.first, o.firstFrame = seg.ts, seg.frame
	}
	o.packets[dir]++
	o.bytes[dir] += int64(seg.ipLen)
	if seg.proto != protoTCP {
		return
	}
	switch {
	case seg.flags&(flagSYN|flagACK) == flagSYN && dir == 0:
		o.syns++
		if o.firstSYN.IsZero() {
			o.firstSYN = seg.ts
		}
	case seg.flags&(flagSYN|flagACK) == flagSYN|flagACK && dir == 1:
		if !o.synack {
			o.synack, o.synackAt = true, seg.ts
		}
	}
	if seg.flags&flagRST != 0 && dir == 1 && !o.synack {
		o.rst = true
	}
}

// feedsDecoders says whether a packet's bytes go to the protocol decoders: with several
// captures only those of the capture that saw the flow first, so that a message seen at
// two points is decoded once.
func (a *Analyzer) feedsDecoders(f *Flow, seg *segment) bool {
	return !a.two.multi || f.FirstFrame.File == seg.file
}

// TwoPointReport is the "two_point" object of the JSON report: the capture points, their
// clocks, and the time all of them were capturing.
type TwoPointReport struct {
	Points []CapturePoint `json:"points"`
	// OverlapFirst/Last bound the time every capture was running (in the first capture's
	// clock); flows outside it are not compared.
	OverlapFirst time.Time `json:"overlap_first,omitzero"`
	OverlapLast  time.Time `json:"overlap_last,omitzero"`
	// NATFlows counts flows recognised under other addresses at another point.
	NATFlows int      `json:"nat_flows,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// CapturePoint is one capture in a two-point analysis.
type CapturePoint struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Side is "client" or "server" when every flow this capture shares with another one
	// puts it on the same side; "mixed" otherwise, "" when it shares none.
	Side string `json:"side,omitempty"`
	// ClockOffset is this capture's clock minus the first capture's, estimated as the
	// median difference of the first-SYN times of the TCP flows both saw (so it includes
	// the one-way delay between the points); OffsetFlows is how many flows that took.
	ClockOffset     time.Duration `json:"clock_offset_ns"`
	ClockOffsetText string        `json:"clock_offset"`
	OffsetFlows     int           `json:"offset_flows"`
}

// FlowWhere is, on a flow of a two-point analysis, what each point saw.
type FlowWhere struct {
	SeenAt []string     `json:"seen_at"`
	Points []PointCount `json:"points"`
	// Why says in words where the flow's packets went (or why that cannot be told).
	Why string `json:"why,omitempty"`
}

// PointCount is one capture's view of a flow.
type PointCount struct {
	Point   string `json:"point"`
	Side    string `json:"side,omitempty"`
	ToSrv   int    `json:"packets_to_server"`
	ToCli   int    `json:"packets_to_client"`
	SYNs    int    `json:"syns,omitempty"`
	Answer  string `json:"answer,omitempty"` // "syn-ack", "reset" or "" (TCP)
	Frame   int    `json:"first_frame,omitempty"`
	Address string `json:"as,omitempty"` // "client -> server" as this point saw it, under NAT
}

// pointName is the capture's --point name, else its file name.
func (a *Analyzer) pointName(i int) string {
	c := a.captures[i]
	if c.Point != "" {
		return c.Point
	}
	return filepath.Base(c.File)
}

// twoPoint runs at Finish when there is more than one capture.
func (a *Analyzer) twoPoint() {
	n := len(a.captures)
	tp := &TwoPointReport{}
	a.two.report = tp
	twins := a.mergeTCPTwins()
	offsets, counts := a.clockOffsets()
	twins += a.mergeUDPTwins(offsets)
	tp.NATFlows = twins
	if twins > 0 {
		kept := a.flows[:0]
		for _, f := range a.flows {
			if f.points == nil || f.points.twinOf == nil {
				kept = append(kept, f)
			}
		}
		clear(a.flows[len(kept):])
		a.flows = kept
		for _, as := range a.rpc.assignments {
			used := as.UsedBy[:0]
			for _, f := range as.UsedBy {
				if f.points == nil || f.points.twinOf == nil {
					used = append(used, f)
				}
			}
			as.UsedBy = used
		}
	}
	// The overlap, in the first capture's clock.
	var oFirst, oLast time.Time
	for i, c := range a.captures {
		if c.Packets == 0 {
			continue
		}
		f, l := c.First.Add(-offsets[i]), c.Last.Add(-offsets[i])
		if oFirst.IsZero() || f.After(oFirst) {
			oFirst = f
		}
		if oLast.IsZero() || l.Before(oLast) {
			oLast = l
		}
	}
	if !oFirst.IsZero() && oLast.After(oFirst) {
		tp.OverlapFirst, tp.OverlapLast = oFirst.UTC(), oLast.UTC()
	} else {
		tp.Notes = append(tp.Notes, "the captures do not overlap in time: no flow can be compared between them")
	}
	// Which capture serves which address: a capture "covers" a host when it saw any of its
	// flows (NAT views included).
	covers := make([]map[string]bool, n)
	for i := range covers {
		covers[i] = map[string]bool{}
	}
	for _, f := range a.flows {
		if f.points == nil {
			continue
		}
		for i := range f.points.obs {
			if f.points.obs[i].seen() {
				covers[i][f.Client.Addr().String()] = true
				covers[i][f.Server.Addr().String()] = true
			}
		}
		for _, v := range f.points.nat {
			covers[v.file][hostOf(v.client)] = true
			covers[v.file][hostOf(v.server)] = true
		}
	}
	a.chooseSides()
	sides := make([]map[string]int, n)
	for i := range sides {
		sides[i] = map[string]int{}
	}
	for _, f := range a.flows {
		if f.points == nil {
			continue
		}
		a.judge(f, offsets, covers, oFirst, oLast)
		if p := f.points; p.clientSide >= 0 && p.serverSide >= 0 {
			sides[p.clientSide]["client"]++
			sides[p.serverSide]["server"]++
		}
	}
	for i, c := range a.captures {
		c.Point = a.pointName(i)
		side := ""
		switch {
		case sides[i]["client"] > 0 && sides[i]["server"] > 0:
			side = "mixed"
		case sides[i]["client"] > 0:
			side = "client"
		case sides[i]["server"] > 0:
			side = "server"
		}
		tp.Points = append(tp.Points, CapturePoint{Name: c.Point, File: c.File, Side: side,
			ClockOffset: offsets[i], ClockOffsetText: fmtOffset(offsets[i]), OffsetFlows: counts[i]})
		if i > 0 && counts[i] == 0 {
			tp.Notes = append(tp.Notes, fmt.Sprintf("no TCP flow was seen both at %s and at %s: their clock offset is unknown (taken as 0)",
				a.pointName(0), c.Point))
		}
	}
}

func hostOf(addrPort string) string {
	if i := strings.LastIndexByte(addrPort, ':'); i > 0 {
		return strings.Trim(addrPort[:i], "[]")
	}
	return addrPort
}

// seenCount is how many captures saw the flow.
func (p *flowPoints) seenCount() int {
	n := 0
	for i := range p.obs {
		if p.obs[i].seen() {
			n++
		}
	}
	return n
}

func (p *flowPoints) only() int {
	for i := range p.obs {
		if p.obs[i].seen() {
			return i
		}
	}
	return -1
}

// mergeTCPTwins finds a TCP connection that two captures saw under different addresses
// (NAT): same ports and initial sequence number. The twin's view is moved into the flow
// first seen and the twin is dropped.
func (a *Analyzer) mergeTCPTwins() int {
	type tkey struct {
		cport, sport uint16
		isn          uint32
	}
	byKey := map[tkey]*Flow{}
	merged := 0
	for _, f := range a.flows {
		if f.Transport != "tcp" || !f.sawSYN || f.points == nil || f.points.seenCount() != 1 {
			continue
		}
		k := tkey{f.Client.Port(), f.Server.Port(), f.isn}
		g := byKey[k]
		if g == nil {
			byKey[k] = f
			continue
		}
		if g.points.only() == f.points.only() || (g.Client == f.Client && g.Server == f.Server) {
			continue
		}
		a.mergeTwin(g, f)
		merged++
		delete(byKey, k)
	}
	return merged
}

// mergeUDPTwins pairs UDP flows seen at one point each under different addresses with the
// same ports whose first datagrams are within two seconds of each other (clocks corrected).
func (a *Analyzer) mergeUDPTwins(offsets []time.Duration) int {
	type ukey struct{ cport, sport uint16 }
	byKey := map[ukey][]*Flow{}
	merged := 0
	for _, f := range a.flows {
		if f.Transport != "udp" || f.points == nil || f.points.seenCount() != 1 || f.Client.Port() == f.Server.Port() {
			continue
		}
		k := ukey{f.Client.Port(), f.Server.Port()}
		done := false
		for i, g := range byKey[k] {
			gi, fi := g.points.only(), f.points.only()
			if gi == fi || (g.Client == f.Client && g.Server == f.Server) {
				continue
			}
			d := g.points.obs[gi].first.Add(-offsets[gi]).Sub(f.points.obs[fi].first.Add(-offsets[fi]))
			if d < -2*time.Second || d > 2*time.Second {
				continue
			}
			a.mergeTwin(g, f)
			merged++
			byKey[k] = append(byKey[k][:i], byKey[k][i+1:]...)
			done = true
			break
		}
		if !done {
			byKey[k] = append(byKey[k], f)
		}
	}
	return merged
}

func (a *Analyzer) mergeTwin(into, twin *Flow) {
	j := twin.points.only()
	into.points.obs[j] = twin.points.obs[j]
	into.points.nat = append(into.points.nat, natView{file: j, client: twin.Client.String(), server: twin.Server.String()})
	twin.points.twinOf = into
	if into.Details.Empty() && !twin.Details.Empty() {
		into.Details = twin.Details
	}
}

// clockOffsets estimates each capture's clock relative to the first capture's: the median
// difference of first-SYN times over TCP flows both saw.
func (a *Analyzer) clockOffsets() ([]time.Duration, []int) {
	n := len(a.captures)
	offsets := make([]time.Duration, n)
	counts := make([]int, n)
	for j := 1; j < n; j++ {
		var diffs []time.Duration
		for _, f := range a.flows {
			if f.points == nil || f.Transport != "tcp" {
				continue
			}
			o0, oj := &f.points.obs[0], &f.points.obs[j]
			if !o0.firstSYN.IsZero() && !oj.firstSYN.IsZero() {
				diffs = append(diffs, oj.firstSYN.Sub(o0.firstSYN))
			}
		}
		if len(diffs) == 0 {
			continue
		}
		sort.Slice(diffs, func(x, y int) bool { return diffs[x] < diffs[y] })
		m := diffs[len(diffs)/2]
		if len(diffs)%2 == 0 {
			m = (diffs[len(diffs)/2-1] + m) / 2
		}
		offsets[j], counts[j] = m, len(diffs)
	}
	return offsets, counts
}

// clientPoint reports whether a capture's --point name says it is on the client side.
func clientPoint(name string) bool {
	name = strings.ToLower(name)
	return strings.HasPrefix(name, "client") || strings.HasPrefix(name, "cli") && len(name) <= 4
}

// chooseSides decides, for each flow seen at two or more points, which capture is nearest
// the client and which nearest the server. Evidence, strongest first: --point names; the
// SYN-to-SYN-ACK time (the whole round trip near the client, next to nothing near the
// server; independent of clock offsets); more SYN retransmissions near the client. Flows
// without such evidence take the side most flows of the same client gave the capture.
func (a *Analyzer) chooseSides() {
	n := len(a.captures)
	named := make([]bool, n)
	anyClientName := false
	for i, c := range a.captures {
		named[i] = c.Point != "" && clientPoint(c.Point)
		anyClientName = anyClientName || named[i]
	}
	type vote struct{ client, server []int }
	votes := map[string]*vote{} // by client address
	all := &vote{client: make([]int, n), server: make([]int, n)}
	get := func(addr string) *vote {
		v := votes[addr]
		if v == nil {
			v = &vote{client: make([]int, n), server: make([]int, n)}
			votes[addr] = v
		}
		return v
	}
	var undecided []*Flow
	for _, f := range a.flows {
		p := f.points
		if p == nil || p.seenCount() < 2 {
			continue
		}
		c, s := -1, -1
		var seen []int
		for i := range p.obs {
			if p.obs[i].seen() {
				seen = append(seen, i)
			}
		}
		if anyClientName {
			for _, i := range seen {
				if named[i] && c < 0 {
					c = i
				} else if !named[i] && s < 0 {
					s = i
				}
			}
			if c < 0 || s < 0 {
				c, s = -1, -1
			}
		}
		if c < 0 && f.Transport == "tcp" {
			// The longest SYN-to-SYN-ACK is nearest the client, the shortest nearest the server.
			best, worst := -1, -1
			var bg, wg time.Duration
			for _, i := range seen {
				o := &p.obs[i]
				if !o.synack || o.firstSYN.IsZero() {
					continue
				}
				g := o.synackAt.Sub(o.firstSYN)
				if best < 0 || g > bg {
					best, bg = i, g
				}
				if worst < 0 || g < wg {
					worst, wg = i, g
				}
			}
			if best >= 0 && worst >= 0 && bg > wg {
				c, s = best, worst
			}
			if c < 0 {
				// More SYNs (retransmissions lost on the way) near the client.
				most, fewest := -1, -1
				for _, i := range seen {
					if most < 0 || p.obs[i].syns > p.obs[most].syns {
						most = i
					}
					if fewest < 0 || p.obs[i].syns < p.obs[fewest].syns {
						fewest = i
					}
				}
				if most >= 0 && p.obs[fewest].syns > 0 && p.obs[most].syns > p.obs[fewest].syns {
					c, s = most, fewest
				}
			}
		}
		if c < 0 {
			undecided = append(undecided, f)
			continue
		}
		p.clientSide, p.serverSide = c, s
		v := get(f.Client.Addr().String())
		v.client[c]++
		v.server[s]++
		all.client[c]++
		all.server[s]++
	}
	for _, f := range undecided {
		p := f.points
		v := votes[f.Client.Addr().String()]
		if v == nil {
			v = all
		}
		c, s := -1, -1
		for i := range p.obs {
			if !p.obs[i].seen() {
				continue
			}
			if v.client[i] > v.server[i] && (c < 0 || v.client[i] > v.client[c]) {
				c = i
			}
			if v.server[i] > v.client[i] && (s < 0 || v.server[i] > v.server[s]) {
				s = i
			}
		}
		if c >= 0 && s >= 0 && c != s {
			p.clientSide, p.serverSide = c, s
		}
	}
	a.two.sideVotes = func(addr string) ([]int, []int) {
		v := votes[addr]
		if v == nil {
			v = all
		}
		return v.client, v.server
	}
}

// judge decides where a flow seen by the captures was lost, and sets its outcome as the
// client side saw it.
func (a *Analyzer) judge(f *Flow, offsets []time.Duration, covers []map[string]bool, oFirst, oLast time.Time) {
	p := f.points
	if p.seenCount() == 1 {
		a.judgeOnePoint(f, offsets, covers, oFirst, oLast)
		return
	}
	c, s := p.clientSide, p.serverSide
	if c < 0 || s < 0 {
		if f.IsFailure() {
			p.why = "seen at " + strings.Join(a.seenAt(f), " and ") + ", but the captures do not tell which is nearer the client: not compared"
		}
		return
	}
	oc, os := &p.obs[c], &p.obs[s]
	if os.packets[0] == 0 || oc.packets[0] == 0 {
		// One direction at each point (asymmetric routing, or two interfaces of one host):
		// the views complete each other; the merged outcome stands.
		if f.IsFailure() {
			p.why = "each capture saw only one direction of this flow: not compared"
		}
		return
	}
	// Counts and outcome are what the client side saw (each point's counts are in "where").
	f.Packets, f.Bytes = oc.packets, oc.bytes
	if f.Transport == "tcp" && f.sawSYN {
		f.SYNs = oc.syns
		switch {
		case oc.synack:
			f.Outcome = OutcomeEstablished
		case oc.rst:
			f.Outcome = OutcomeReset
		case f.ICMP != nil && f.ICMP.Frame.File == c:
			f.Outcome = OutcomeICMP
		case oc.syns > 0:
			f.Outcome = OutcomeNoAnswer
		}
	} else if f.Transport == "udp" && oc.packets[0] > 0 {
		switch {
		case oc.packets[1] > 0:
			f.Outcome = OutcomeAnswered
		case f.ICMP != nil && f.ICMP.Frame.File == c:
			f.Outcome = OutcomeICMP
		default:
			f.Outcome = OutcomeUnanswered
		}
	}
	if !f.IsFailure() {
		return
	}
	cn, sn := a.pointName(c), a.pointName(s)
	if f.Transport == "tcp" {
		switch {
		case os.synack:
			p.lost = LostReturnPath
			p.why = fmt.Sprintf("the server answered (SYN-ACK at %s, frame %d) but the answer never reached %s: lost on the way back", sn, os.firstFrame, cn)
		case os.rst && !oc.rst:
			p.lost = LostReturnPath
			p.why = fmt.Sprintf("the server refused with a reset (seen at %s) that never reached %s: lost on the way back", sn, cn)
		case os.rst:
			p.lost = LostServer
			p.why = fmt.Sprintf("the SYN reached %s and the server refused it with a reset: nothing listening on port %d, or its own firewall rejects", sn, f.Server.Port())
		case os.syns > 0:
			p.lost = LostServer
			p.why = fmt.Sprintf("%d SYN%s reached %s and the server never answered (silence, not a reset): dropped by the server's own firewall, or the host is not there",
				os.syns, plural(os.syns), sn)
		default:
			p.lost = LostPath
			p.why = fmt.Sprintf("%d SYN%s left %s, none reached %s: dropped between them", oc.syns, plural(oc.syns), cn, sn)
		}
		return
	}
	switch {
	case os.packets[1] > 0:
		p.lost = LostReturnPath
		p.why = fmt.Sprintf("the server replied (%d datagram%s at %s) but no reply reached %s: lost on the way back", os.packets[1], plural(os.packets[1]), sn, cn)
	case os.packets[0] > 0:
		p.lost = LostServer
		p.why = fmt.Sprintf("%d datagram%s reached %s and the server never replied", os.packets[0], plural(os.packets[0]), sn)
	default:
		p.lost = LostPath
		p.why = fmt.Sprintf("%d datagram%s left %s, none reached %s: dropped between them", oc.packets[0], plural(oc.packets[0]), cn, sn)
	}
}

// judgeOnePoint: a flow only one capture saw. It died on the path only when that capture
// is on the client's side and another capture, on the server's side, was running then and
// saw other traffic of the server; otherwise it is reported as seen at one point.
func (a *Analyzer) judgeOnePoint(f *Flow, offsets []time.Duration, covers []map[string]bool, oFirst, oLast time.Time) {
	p := f.points
	k := p.only()
	kn := a.pointName(k)
	if !f.IsFailure() {
		return
	}
	cv, sv := a.two.sideVotes(f.Client.Addr().String())
	isClient := cv[k] > sv[k] || (a.captures[k].Point != "" && clientPoint(a.captures[k].Point))
	if !isClient {
		p.why = "seen only at " + kn + ", which is not known to be on the client's side: not compared"
		if sv[k] > cv[k] {
			p.why = "seen only at " + kn + " (the server's side): the client-side capture did not see it"
		}
		return
	}
	t := p.obs[k].first.Add(-offsets[k])
	server := f.Server.Addr().String()
	for j := range a.captures {
		if j == k || !covers[j][server] || sv[j] < cv[j] {
			continue
		}
		if oFirst.IsZero() || t.Before(oFirst) || t.After(oLast) {
			p.why = fmt.Sprintf("seen only at %s, at a time %s was not capturing: not compared", kn, a.pointName(j))
			return
		}
		p.serverSide, p.clientSide = j, k
		o := &p.obs[k]
		p.lost = LostPath
		switch {
		case f.Outcome == OutcomeReset:
			p.why = fmt.Sprintf("the SYN left %s but never reached %s; the reset came from between them (a firewall rejecting)", kn, a.pointName(j))
		case f.Outcome == OutcomeICMP:
			p.why = fmt.Sprintf("the packets left %s but never reached %s; ICMP %s from %s (between them)", kn, a.pointName(j), f.ICMP.Name(), f.ICMP.From)
		case f.Transport == "tcp":
			p.why = fmt.Sprintf("%d SYN%s left %s, none reached %s: dropped between them (a network firewall)", o.syns, plural(o.syns), kn, a.pointName(j))
		default:
			p.why = fmt.Sprintf("%d datagram%s left %s, none reached %s: dropped between them (a network firewall)", o.packets[0], plural(o.packets[0]), kn, a.pointName(j))
		}
		return
	}
	p.why = fmt.Sprintf("seen only at %s; no other capture saw any traffic of %s: not compared", kn, server)
}

func (a *Analyzer) seenAt(f *Flow) []string {
	var out []string
	if f.points == nil {
		return nil
	}
	for i := range f.points.obs {
		if f.points.obs[i].seen() {
			out = append(out, a.pointName(i))
		}
	}
	return out
}

// twoPointFlow fills a flow's two-point fields of the report.
func (a *Analyzer) twoPointFlow(f *Flow, fr *FlowReport) {
	p := f.points
	if p == nil || a.two.report == nil {
		return
	}
	fr.LostAt = p.lost
	w := &FlowWhere{SeenAt: a.seenAt(f), Why: p.why}
	for i := range p.obs {
		o := &p.obs[i]
		if !o.seen() {
			continue
		}
		pc := PointCount{Point: a.pointName(i), ToSrv: o.packets[0], ToCli: o.packets[1], Frame: o.firstFrame}
		switch i {
		case p.clientSide:
			pc.Side = "client"
		case p.serverSide:
			pc.Side = "server"
		}
		if f.Transport == "tcp" {
			pc.SYNs = o.syns
			if o.synack {
				pc.Answer = "syn-ack"
			} else if o.rst {
				pc.Answer = "reset"
			}
		}
		for _, v := range p.nat {
			if v.file == i {
				pc.Address = v.client + " -> " + v.server
			}
		}
		w.Points = append(w.Points, pc)
	}
	fr.Where = w
}

// sideWords says which side a capture point is on, for people.
func sideWords(side string) string {
	if side == "" {
		return "shares no flow with another capture:"
	}
	return side + " side,"
}

func fmtOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%s%d µs", sign, d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%s%.1f ms", sign, float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%s%.3f s", sign, d.Seconds())
}

// LostLines says, one line per failed flow, where its packets were lost; nil without
// two-point captures.
func (r *Report) LostLines() []string {
	if r.TwoPoint == nil {
		return nil
	}
	var out []string
	failed := r.FailedFlows()
	sort.SliceStable(failed, func(i, j int) bool { return failureRank(failed[i]) < failureRank(failed[j]) })
	for _, f := range failed {
		p := f.points
		where := "not compared"
		why := ""
		if p != nil {
			why = p.why
			switch p.lost {
			case LostPath:
				where = "lost on the path"
			case LostServer:
				where = "lost at the server"
			case LostReturnPath:
				where = "lost on the return path"
			}
		}
		line := fmt.Sprintf("%s -> %s/%s %s: %s", f.Client.Addr(), f.Server, f.Transport, serviceLabel(f), where)
		if why != "" {
			line += ": " + why
		}
		out = append(out, line)
	}
	return out
}

// writeLost is the WHERE THE PACKETS WERE LOST section of the text report.
func (r *Report) writeLost(w io.Writer) {
	tp := r.TwoPoint
	if tp == nil {
		return
	}
	fmt.Fprintf(w, "WHERE THE PACKETS WERE LOST (captures from %d points)\n", len(tp.Points))
	for i, p := range tp.Points {
		side := p.Side
		if side == "" {
			side = "no flow shared with another capture"
		} else {
			side += " side"
		}
		clock := ""
		if i > 0 {
			if p.OffsetFlows > 0 {
				clock = fmt.Sprintf("; clock %s from %s (median of %d flows' first SYNs)", p.ClockOffsetText, tp.Points[0].Name, p.OffsetFlows)
			} else {
				clock = "; clock offset unknown"
			}
		}
		fmt.Fprintf(w, "  point %s = %s: %s%s\n", p.Name, p.File, side, clock)
	}
	if !tp.OverlapFirst.IsZero() {
		fmt.Fprintf(w, "  compared over the %s all captures ran (%s - %s UTC)\n", fmtDuration(tp.OverlapLast.Sub(tp.OverlapFirst)),
			tp.OverlapFirst.Format("15:04:05.000"), tp.OverlapLast.Format("15:04:05.000"))
	}
	if tp.NATFlows > 0 {
		fmt.Fprintf(w, "  %d flow%s recognised under other addresses at another point (NAT)\n", tp.NATFlows, plural(tp.NATFlows))
	}
	for _, n := range tp.Notes {
		fmt.Fprintf(w, "  ! %s\n", n)
	}
	lines := r.LostLines()
	if len(lines) == 0 {
		fmt.Fprintf(w, "  no failed flows\n")
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  x %s\n", l)
	}
	fmt.Fprintf(w, "\n")
}
