package analyzer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

// watchSweeps makes every sweep of the analyses run by fn compare the flows it retires with
// a scan of the whole flow table, and fails the test on any difference.
func watchSweeps(t *testing.T, name string, fn func()) {
	t.Helper()
	var mu sync.Mutex
	var bad []string
	sweepMismatch = func(msg string) {
		mu.Lock()
		bad = append(bad, msg)
		mu.Unlock()
	}
	defer func() { sweepMismatch = nil }()
	fn()
	if len(bad) > 0 {
		t.Errorf("%s: %d sweeps differ from a scan of the table, first: %s", name, len(bad), bad[0])
	}
}

// TestSweepFindsEveryIdleFlow: the idle-flow buckets find exactly the flows a scan of the
// whole table finds, at every sweep, on real and generated captures with one and two
// workers, and on a capture whose clock goes back now and then (as captures merged from
// several queues do).
func TestSweepFindsEveryIdleFlow(t *testing.T) {
	for _, p := range equivalenceCaptures(t) {
		for _, n := range []int{1, 2} {
			watchSweeps(t, fmt.Sprintf("%s, %d workers", p, n), func() {
				if _, err := AnalyzeFiles([]string{p}, Options{Workers: n}); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	c := capgen.New()
	port := 20000
	flows := 0
	var lastUDP [2]netip.AddrPort
	for i := 0; i < 3000; i++ {
		port++
		cl := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i % 7), byte(1 + i%200)}), uint16(port))
		srv := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i%3)}), []uint16{88, 389, 135, 445, 50000}[i%5])
		switch rng.IntN(5) {
		case 0:
			c.UDPPacket(cl, srv, []byte("q"))
			c.UDPPacket(srv, cl, []byte("a"))
			lastUDP = [2]netip.AddrPort{cl, srv}
		case 1:
			c.UDPPacket(cl, srv, []byte("q"))
		case 2:
			k := c.Dial(cl, srv, uint32(i), 0).Accept()
			k.Send(true, []byte("hello"), 0)
			if rng.IntN(2) == 0 {
				k.Close()
			}
		case 3:
			c.Dial(cl, srv, uint32(i), 0).Refuse()
		default:
			c.Dial(cl, srv, uint32(i), 1)
		}
		flows++
		c.Wait(time.Duration(rng.IntN(2000)) * time.Millisecond)
		if rng.IntN(40) == 0 {
			c.Wait(-time.Duration(rng.IntN(90)) * time.Second) // the clock goes back
			if lastUDP[0].IsValid() {
				c.UDPPacket(lastUDP[0], lastUDP[1], []byte("late")) // older than the flow's last packet
			}
		}
	}
	p := writeTemp(t, "back.pcapng", func(b *bytes.Buffer) error { return c.WritePcapng(b) })
	for _, n := range []int{1, 2} {
		watchSweeps(t, fmt.Sprintf("clock going back, %d workers", n), func() {
			rep, err := AnalyzeFiles([]string{p}, Options{Workers: n})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary.Flows < flows {
				t.Errorf("%d flows, want at least %d", rep.Summary.Flows, flows)
			}
		})
	}
}

// TestMemberList: members are found by index, in order, and past the first chunk keep
// their address as more are added.
func TestMemberList(t *testing.T) {
	var l memberList
	var ptrs []*member
	for i := 0; i < 3*memberChunk+17; i++ {
		if got := l.add(member{seq: uint64(i)}); got != int32(i) {
			t.Fatalf("add %d: index %d", i, got)
		}
		ptrs = append(ptrs, l.at(int32(i)))
	}
	if l.len() != 3*memberChunk+17 {
		t.Fatalf("len %d", l.len())
	}
	i := 0
	for m := range l.all {
		if m.seq != uint64(i) || l.at(int32(i)) != m || i >= memberChunk && m != ptrs[i] {
			t.Fatalf("member %d: seq %d, moved %v", i, m.seq, m != ptrs[i])
		}
		i++
	}
	if i != l.len() {
		t.Fatalf("all yielded %d of %d", i, l.len())
	}
}

// TestBucketOfRoundsDown: buckets follow each other across the Unix epoch too.
func TestBucketOfRoundsDown(t *testing.T) {
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{{0, 0}, {sweepEvery - 1, 0}, {sweepEvery, 1}, {-1, -1}, {-sweepEvery, -1}, {-sweepEvery - 1, -2}} {
		if got := bucketOf(time.Unix(0, int64(c.at))); got != c.want {
			t.Errorf("bucketOf(%v after the epoch) = %d, want %d", c.at, got, c.want)
		}
	}
}
