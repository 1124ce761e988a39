package analyzer

import (
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

// TestTick: a SYN without answer is reported once, after SYNTimeout and not before; a SYN
// answered by SYN-ACK or reset is reported only for the reset (at once, not by Tick).
func TestTick(t *testing.T) {
	c := capgen.New()
	c.Dial(capgen.AP("10.0.0.20:50001"), capgen.AP("10.0.0.5:49712"), 1000, 0)        // dropped
	c.Dial(capgen.AP("10.0.0.20:50002"), capgen.AP("10.0.0.5:135"), 2000, 0).Accept() // open
	c.Dial(capgen.AP("10.0.0.20:50003"), capgen.AP("10.0.0.5:445"), 3000, 0).Refuse() // closed
	a := New(Options{})
	var failed []string
	a.OnFlowFailed = func(f *Flow) { failed = append(failed, f.Server.String()+" "+f.Outcome) }
	start := c.Frames[0].Time
	for i, fr := range c.Frames {
		a.Handle(Packet{Data: fr.Data, Timestamp: fr.Time, Length: len(fr.Data), Link: fr.Link, Frame: i + 1})
		a.Tick(fr.Time)
	}
	if len(failed) != 1 || failed[0] != "10.0.0.5:445 reset" {
		t.Fatalf("before the timeout: %q", failed)
	}
	a.Tick(start.Add(SYNTimeout - time.Millisecond))
	if len(failed) != 1 {
		t.Fatalf("reported before the timeout: %q", failed)
	}
	a.Tick(start.Add(SYNTimeout + time.Second))
	a.Tick(start.Add(SYNTimeout + 2*time.Second))
	if len(failed) != 2 || failed[1] != "10.0.0.5:49712 no-answer" {
		t.Fatalf("after the timeout: %q", failed)
	}
	if n := len(a.live.pending); n != 0 {
		t.Fatalf("%d flows still pending", n)
	}
	rep := a.Finish()
	if rep.Summary.FailedFlows != 2 {
		t.Fatalf("report: %d failed flows", rep.Summary.FailedFlows)
	}
}
