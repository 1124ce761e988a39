package analyzer

import (
	"net/netip"
	"time"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// Assignment is one dynamic RPC endpoint handed out in the capture: by the endpoint
// mapper (a tower in an ept_map / ept_lookup reply) or by DCOM (a string binding in an
// activation or OXID-resolution reply).
type Assignment struct {
	Server        netip.Addr
	Port          uint16
	Host          string // the host name when the binding named one
	InterfaceUUID string
	Interface     string
	Via           string // "epm" or "dcom"
	Op            string // ept_map, ept_lookup, RemoteCreateInstance, ResolveOxid2, ...
	Client        netip.Addr
	Requested     string // the interface the client asked for (EPM) or the CLSID (DCOM)
	Frame         FrameRef
	Time          time.Time
	// Flows that connected to it after the reply (in a streaming analysis the first
	// maxUsedByKept; usedMore counts the others, outcomes has all their outcomes).
	UsedBy   []*Flow
	usedMore int
	outcomes []usedOutcome
	seq      uint64 // the packet that handed it out
	// OpenBefore: flows to the same endpoint already open before the reply.
	OpenBefore int
}

// Used reports whether any flow to the endpoint followed the assignment.
func (as *Assignment) Used() bool { return len(as.UsedBy) > 0 }

type endpointKey struct {
	addr netip.Addr
	port uint16
}

// rpcState holds the assignments and the index the correlation uses.
type rpcState struct {
	assignments []*Assignment
	byEndpoint  map[endpointKey][]*Assignment
	// requests that asked the endpoint mapper for an interface and got no tower
	notRegistered []NotRegistered
	// flows retired per endpoint, for the OpenBefore of later assignments
	retiredTo map[endpointKey]int
	// DCOM object exporters: OXID -> the interface activated, for later ResolveOxid calls
	oxids map[uint64]oxidInfo
}

type oxidInfo struct {
	iface     dcerpc.UUID
	requested string
}

func (r *rpcState) rememberOXID(oxid uint64, iface dcerpc.UUID, requested string) {
	if r.oxids == nil {
		r.oxids = map[uint64]oxidInfo{}
	}
	if len(r.oxids) < 1<<16 {
		r.oxids[oxid] = oxidInfo{iface, requested}
	}
}

func (r *rpcState) oxidInterface(oxid uint64) (dcerpc.UUID, string) {
	o := r.oxids[oxid]
	return o.iface, o.requested
}

// NotRegistered is an ept_map that found no endpoint for the interface asked for.
type NotRegistered struct {
	Client    netip.Addr
	Server    netip.Addr
	Interface string
	UUID      string
	Status    string
	Frame     FrameRef
}

// addAssignment records a hand-out. Duplicates (same endpoint, interface and way) keep
// the first.
func (r *rpcState) addAssignment(as *Assignment) {
	if r.byEndpoint == nil {
		r.byEndpoint = map[endpointKey][]*Assignment{}
	}
	k := endpointKey{as.Server, as.Port}
	for _, o := range r.byEndpoint[k] {
		// An OXID resolution that names an endpoint already handed out (interface unknown)
		// is the same hand-out again.
		if o.Via == as.Via && (o.InterfaceUUID == as.InterfaceUUID || (as.Via == "dcom" && as.InterfaceUUID == "")) {
			if o.Host == "" {
				o.Host = as.Host
			}
			return
		}
	}
	as.OpenBefore += r.retiredTo[k] // flows to the endpoint that were over before it
	r.assignments = append(r.assignments, as)
	r.byEndpoint[k] = append(r.byEndpoint[k], as)
}

// flowStarted ties a new TCP flow to the assignments of its server endpoint.
func (r *rpcState) flowStarted(a *Analyzer, f *Flow) {
	if f.Transport != "tcp" || len(r.byEndpoint) == 0 {
		return
	}
	list := r.byEndpoint[endpointKey{f.Server.Addr(), f.Server.Port()}]
	for _, as := range list {
		if a.streaming && len(as.UsedBy) >= maxUsedByKept {
			as.usedMore++
		} else {
			as.UsedBy = append(as.UsedBy, f)
			f.pinned = true
		}
	}
	if len(list) > 0 {
		// The latest hand-out of the endpoint is the one the client acts on.
		as := list[len(list)-1]
		f.RPCAssignment = as
		f.RPCInterface = as.Interface
		if f.RPCInterface == "" && as.Requested != "" {
			f.RPCInterface = as.Requested
		}
	}
}

// finish labels flows to dynamic ports that no assignment explains.
func (r *rpcState) finish(a *Analyzer) {
	if a.streaming {
		return // done as each flow retired (retire.go)
	}
	for _, f := range a.flows {
		if f.Transport == "tcp" && f.RPCAssignment == nil && f.Service == "msrpc" && InDynamicRange(f.Server.Port()) {
			f.Service = "msrpc (unassigned)"
		}
	}
	if len(r.byEndpoint) == 0 {
		return
	}
	for _, f := range a.flows {
		if f.Transport != "tcp" {
			continue
		}
		for _, as := range r.byEndpoint[endpointKey{f.Server.Addr(), f.Server.Port()}] {
			if f.First.Before(as.Time) {
				as.OpenBefore++
			}
		}
	}
}
