package analyzer

import "time"

// SYNTimeout is how long a live capture waits for an answer to a SYN before it reports the
// flow as failed (no answer) through OnFlowFailed. A SYN-ACK that arrives later still makes
// the flow established in the report.
const SYNTimeout = 3 * time.Second

// liveState is what Tick needs between calls: the flows it has not looked at yet and the
// TCP flows whose SYN is still unanswered.
type liveState struct {
	next    int     // index into Analyzer.flows of the first flow Tick has not seen
	pending []*Flow // TCP flows with a SYN and no answer yet, oldest first
}

// Drops are the packets a live capture lost before the analyzer saw them, as libpcap
// counts them: Kernel (no room in the capture buffer: the analyzer fell behind) and
// Interface (dropped by the network interface or its driver).
type Drops struct {
	Received  int `json:"received"`
	Kernel    int `json:"kernel"`
	Interface int `json:"interface"`
}

// Tick tells the analyzer the time in a live capture. TCP flows whose SYN has had no
// answer (no SYN-ACK, reset or ICMP) for longer than SYNTimeout are reported once through
// OnFlowFailed. It looks only at flows started since the last call and at those still
// pending, so calling it every second costs little. Files do not need it: their flows are
// judged at Finish.
func (a *Analyzer) Tick(now time.Time) {
	l := &a.live
	for ; l.next < len(a.flows); l.next++ {
		if f := a.flows[l.next]; f.Transport == "tcp" && f.sawSYN && synPending(f) {
			l.pending = append(l.pending, f)
		}
	}
	keep := l.pending[:0]
	for _, f := range l.pending {
		switch {
		case f.ended || !synPending(f):
			// answered, or already judged when its 4-tuple was reused or evicted
		case now.Sub(f.First) > SYNTimeout:
			a.failedNow(f)
		default:
			keep = append(keep, f)
		}
	}
	clear(l.pending[len(keep):])
	l.pending = keep
}

// synPending reports a TCP flow whose SYN has got no answer of any kind yet.
func synPending(f *Flow) bool {
	return !f.sawSYNACK && !f.rstFromServer && f.ICMP == nil
}
