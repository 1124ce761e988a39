package analyzer

import (
	"net/netip"
	"sync"
	"time"
)

// Outcomes of a flow, as ../shared/docs/json-report.md defines them.
const (
	OutcomeEstablished = "established"
	OutcomeReset       = "reset"
	OutcomeNoAnswer    = "no-answer"
	OutcomeICMP        = "icmp-unreachable"
	OutcomeMidFlow     = "mid-flow"
	OutcomeAnswered    = "answered"
	OutcomeUnanswered  = "unanswered"
)

// Failed reports whether an outcome means the flow did not get through.
func Failed(outcome string) bool {
	switch outcome {
	case OutcomeReset, OutcomeNoAnswer, OutcomeICMP, OutcomeUnanswered:
		return true
	}
	return false
}

// IsFailure reports whether the flow did not get through. UDP to a multicast or broadcast
// address expects no reply in the flow's sense (LLMNR, NetBIOS, DHCPv6 solicits): its
// "unanswered" is not a failure.
func (f *Flow) IsFailure() bool {
	if !Failed(f.Outcome) {
		return false
	}
	return f.Transport != "udp" || f.Outcome == OutcomeICMP || !groupAddr(f.Server.Addr())
}

// groupAddr reports multicast and (likely) broadcast addresses. Without the netmask a
// directed broadcast is guessed from a last octet of 255.
func groupAddr(a netip.Addr) bool {
	if a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[3] == 255
	}
	return false
}

// FrameRef names a packet: which capture and which frame in it.
type FrameRef struct {
	File  int `json:"file"`
	Frame int `json:"frame"`
}

// ICMPInfo is the ICMP destination-unreachable that quoted a flow.
type ICMPInfo struct {
	V6    bool
	Type  uint8
	Code  uint8
	From  netip.Addr
	Frame FrameRef
}

// Name says what the ICMP code means.
func (i *ICMPInfo) Name() string {
	if i.V6 {
		switch i.Code {
		case 0:
			return "no route to destination"
		case 1:
			return "communication administratively prohibited"
		case 3:
			return "address unreachable"
		case 4:
			return "port unreachable"
		case 5:
			return "source address failed ingress/egress policy"
		case 6:
			return "reject route to destination"
		}
		return "destination unreachable (code " + itoa(int(i.Code)) + ")"
	}
	switch i.Code {
	case 0:
		return "network unreachable"
	case 1:
		return "host unreachable"
	case 2:
		return "protocol unreachable"
	case 3:
		return "port unreachable"
	case 4:
		return "fragmentation needed"
	case 9, 10:
		return "network/host administratively prohibited"
	case 13:
		return "communication administratively prohibited"
	}
	return "destination unreachable (code " + itoa(int(i.Code)) + ")"
}

// Firewall reports whether the ICMP code names a filter rather than a closed port.
func (i *ICMPInfo) Firewall() bool {
	if i.V6 {
		return i.Code == 1 || i.Code == 5 || i.Code == 6
	}
	return i.Code == 9 || i.Code == 10 || i.Code == 13
}

// Flow is one transport conversation: TCP from SYN (or from the first packet seen) to the
// next SYN with a new initial sequence number on the same 4-tuple; UDP for the whole capture.
type Flow struct {
	ID        int
	Transport string // "tcp" or "udp"
	Client    netip.AddrPort
	Server    netip.AddrPort
	Service   string
	// ServiceByContent is set when a decoder recognised the service from the bytes.
	ServiceByContent bool
	Outcome          string

	Packets    [2]int // [0] client to server, [1] server to client
	Bytes      [2]int64
	First      time.Time
	Last       time.Time
	FirstFrame FrameRef
	LastFrame  FrameRef

	// TCP state.
	SYNs          int
	isn           uint32
	sawSYN        bool
	sawSYNACK     bool
	rstFromServer bool // RST from the server before any SYN-ACK
	resetBy       int  // -1 none, 0 client, 1 server
	fin           [2]bool
	ICMP          *ICMPInfo

	// Dynamic RPC correlation (filled by the analyzer).
	RPCInterface  string
	RPCAssignment *Assignment
	// RPCBindMismatch says when the bind on the flow names another interface than the
	// assignment promised.
	RPCBindMismatch string
	rpcBoundSeen    bool

	Details Details

	app   *appState
	ended bool
	seq   uint64 // the analysis-wide number of the flow's first packet

	// Where the worker that retired the flow encoded its details: bytes [detailsAt,
	// detailsAt+detailsLen) of the details of that worker's epoch (none when 0; retire.go).
	detailsAt, detailsLen uint32
	baseSummary           string     // its summary without an RPC assignment, made by that worker (retire.go)
	folded                folded     // like flows of its client and server port folded into it (retire.go)
	members               memberList // the other clients (and ports) of its group of like flows (retire.go)
	pinned                bool       // an RPC assignment lists the flow among those that used it
	wheelAt               int64      // the bucket of its idle-flow entry (retire.go)
	tableKey              flowKey    // its key in the flow table (key() made once)
	group                 uint32     // the number of the group it is the first flow of (retire.go)
	pool                  *sync.Pool // the pool of the analyzer that made it (retire.go)

	points *flowPoints // what each capture saw, with several captures (twopoint.go)
}

// key returns the flow's canonical key, its key in the flow table.
func (f *Flow) key() flowKey {
	return f.tableKey
}

func protoOf(t string) uint8 {
	if t == "udp" {
		return protoUDP
	}
	return protoTCP
}

// flowKey is an undirected 5-tuple: a is the lesser endpoint. Plain bytes (no pointers): the
// flow table hashes one per packet.
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
	v6     bool // IPv6 (an IPv4-mapped IPv6 address is not the IPv4 address)
}

func makeKey(proto uint8, x, y netip.AddrPort) flowKey {
	if lessAddrPort(y, x) {
		x, y = y, x
	}
	return flowKey{a: x.Addr().As16(), b: y.Addr().As16(), pa: x.Port(), pb: y.Port(), proto: proto, v6: !x.Addr().Is4()}
}

func lessAddrPort(x, y netip.AddrPort) bool {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c < 0
	}
	return x.Port() < y.Port()
}

// finish computes the outcome from what was seen.
func (f *Flow) finish() {
	if f.Transport == "udp" {
		switch {
		case f.Packets[1] > 0:
			f.Outcome = OutcomeAnswered
		case f.ICMP != nil:
			f.Outcome = OutcomeICMP
		default:
			f.Outcome = OutcomeUnanswered
		}
		return
	}
	switch {
	case f.sawSYNACK:
		f.Outcome = OutcomeEstablished
	case !f.sawSYN:
		f.Outcome = OutcomeMidFlow
	case f.rstFromServer:
		f.Outcome = OutcomeReset
	case f.ICMP != nil:
		f.Outcome = OutcomeICMP
	default:
		f.Outcome = OutcomeNoAnswer
	}
}

// End says how an established TCP flow ended, for people.
func (f *Flow) End() string {
	switch {
	case f.resetBy == 0:
		return "reset by client"
	case f.resetBy == 1:
		return "reset by server"
	case f.fin[0] && f.fin[1]:
		return "closed"
	case f.fin[0] || f.fin[1]:
		return "half-closed"
	}
	return ""
}

// wellKnownServer reports whether a port names a service we know servers listen on. It
// decides the client of a flow whose start was not captured.
func wellKnownServer(proto uint8, port uint16) bool {
	_, ok := servicePorts[portKey{proto, port}]
	return ok
}

// orient decides client and server for a flow whose first packet is not a SYN.
func orient(proto uint8, src, dst netip.AddrPort) (client, server netip.AddrPort) {
	sk, dk := wellKnownServer(proto, src.Port()), wellKnownServer(proto, dst.Port())
	switch {
	case dk && !sk:
		return src, dst
	case sk && !dk:
		return dst, src
	case src.Port() > dst.Port():
		return src, dst
	}
	return dst, src
}
