package analyzer

import (
	"net/netip"
	"sort"
	"time"
)

// ReportVersion is the "version" of the JSON report.
const ReportVersion = 1

// Report is the result of an analysis. Its JSON form is the stable interface of
// ../shared/docs/json-report.md: listed fields keep their names and meanings.
type Report struct {
	Version        int                `json:"version"`
	Captures       []*CaptureInfo     `json:"captures"`
	Summary        Summary            `json:"summary"`
	Hosts          []*Host            `json:"hosts"`
	Flows          []FlowReport       `json:"flows"`
	RPCAssignments []AssignmentReport `json:"rpc_assignments"`
	RPCNotFound    []NotRegistered    `json:"rpc_not_registered,omitempty"`
	Diff           []DiffRow          `json:"diff,omitempty"`
	Rules          []Rule             `json:"rules,omitempty"`
	Warnings       []string           `json:"warnings,omitempty"`
	TwoPoint       *TwoPointReport    `json:"two_point,omitempty"` // twopoint.go

	flows []*Flow
	// views are the kept flows and the members of their groups (retire.go): what the
	// analyses over all flows read.
	views       []flowView
	assignments []*Assignment
	// spill holds the report record of every flow in a streaming analysis (spill.go);
	// Flows then lists only the flows kept for the analyses.
	spill *spill
}

// Summary is the verdict in numbers.
type Summary struct {
	Packets     int            `json:"packets"`
	Flows       int            `json:"flows"`
	First       time.Time      `json:"first"`
	Last        time.Time      `json:"last"`
	FailedFlows int            `json:"failed_flows"`
	Outcomes    map[string]int `json:"outcomes"`
	Verdict     string         `json:"verdict"`
}

// Host is one address seen in the capture.
type Host struct {
	Addr  netip.Addr `json:"addr"`
	Roles []string   `json:"roles"`
	Names []string   `json:"names"`
	// Evidence says why each role or name was given.
	Evidence []string `json:"evidence,omitempty"`
}

// FlowReport is a flow as the JSON report and the tables show it.
type FlowReport struct {
	Transport     string         `json:"transport"`
	Client        netip.Addr     `json:"client"`
	ClientPort    uint16         `json:"client_port"`
	Server        netip.Addr     `json:"server"`
	ServerPort    uint16         `json:"server_port"`
	Service       string         `json:"service"`
	Outcome       string         `json:"outcome"`
	Packets       int            `json:"packets"`
	Bytes         int64          `json:"bytes"`
	First         time.Time      `json:"first"`
	Last          time.Time      `json:"last"`
	RPCInterface  string         `json:"rpc_interface,omitempty"`
	Details       *Details       `json:"details,omitempty"`
	FirstFrame    int            `json:"first_frame"`
	Capture       string         `json:"capture,omitempty"`
	PacketsToSrv  int            `json:"packets_to_server"`
	PacketsToCli  int            `json:"packets_to_client"`
	BytesToSrv    int64          `json:"bytes_to_server"`
	BytesToCli    int64          `json:"bytes_to_client"`
	SYNs          int            `json:"syns,omitempty"`
	End           string         `json:"end,omitempty"`
	ICMP          *ICMPReport    `json:"icmp,omitempty"`
	RPCAssignedBy *AssignmentRef `json:"rpc_assigned_by,omitempty"`
	RPCMismatch   string         `json:"rpc_bind_mismatch,omitempty"`
	LostAt        string         `json:"lost_at,omitempty"`
	Where         *FlowWhere     `json:"where,omitempty"` // twopoint.go
	Summary       string         `json:"summary,omitempty"`
}

// ICMPReport describes the ICMP error that quoted a flow.
type ICMPReport struct {
	Type     uint8      `json:"type"`
	Code     uint8      `json:"code"`
	Name     string     `json:"name"`
	From     netip.Addr `json:"from"`
	Frame    int        `json:"frame"`
	Firewall bool       `json:"firewall"`
}

// AssignmentRef links a flow to the hand-out of its port.
type AssignmentRef struct {
	Frame int       `json:"frame"`
	Time  time.Time `json:"time"`
	Via   string    `json:"via"`
}

// AssignmentReport is one entry of "rpc_assignments".
type AssignmentReport struct {
	Server        netip.Addr `json:"server"`
	Port          uint16     `json:"port"`
	InterfaceUUID string     `json:"interface_uuid,omitempty"`
	Interface     string     `json:"interface,omitempty"`
	Via           string     `json:"via"`
	Frame         int        `json:"frame"`
	Used          bool       `json:"used"`
	Host          string     `json:"host,omitempty"`
	Client        netip.Addr `json:"client,omitzero"`
	Operation     string     `json:"operation,omitempty"`
	Requested     string     `json:"requested,omitempty"`
	Time          time.Time  `json:"time"`
	UsedOutcomes  []string   `json:"used_outcomes,omitempty"`
	OpenBefore    int        `json:"open_before,omitempty"`
}

func buildReport(a *Analyzer) *Report {
	r := &Report{Version: ReportVersion, Captures: a.captures, flows: a.flows, Warnings: a.warnings,
		assignments: a.rpc.assignments, TwoPoint: a.two.report, spill: a.spill}
	for _, c := range r.Captures {
		if c.LinkTypes == nil {
			c.LinkTypes = []string{}
		}
		if c.Warnings == nil {
			c.Warnings = []string{}
		}
	}
	multi := len(a.captures) > 1
	outcomes := map[string]int{}
	failed := 0
	// When flows were folded (retire.go) the report lines are in the spill only: Flows
	// stays empty rather than list some of them.
	list := a.flows
	if a.streaming && a.flowsDone > len(a.flows) {
		list = nil
	}
	r.Flows = make([]FlowReport, 0, len(list))
	for _, f := range list {
		fr := flowReport(f)
		if multi && f.FirstFrame.File < len(a.captures) {
			fr.Capture = a.captures[f.FirstFrame.File].File
		}
		a.twoPointFlow(f, &fr)
		r.Flows = append(r.Flows, fr)
		if !a.streaming {
			outcomes[f.Outcome]++
			if f.IsFailure() {
				failed++
			}
		}
	}
	r.RPCAssignments = make([]AssignmentReport, 0, len(a.rpc.assignments))
	for _, as := range a.rpc.assignments {
		ar := AssignmentReport{Server: as.Server, Port: as.Port, InterfaceUUID: as.InterfaceUUID,
			Interface: as.Interface, Via: as.Via, Frame: as.Frame.Frame, Used: as.Used(), Host: as.Host,
			Client: as.Client, Operation: as.Op, Requested: as.Requested, Time: as.Time.UTC(),
			OpenBefore: as.OpenBefore}
		if a.streaming {
			sort.SliceStable(as.outcomes, func(i, j int) bool { return as.outcomes[i].seq < as.outcomes[j].seq })
			for _, o := range as.outcomes {
				ar.UsedOutcomes = append(ar.UsedOutcomes, o.outcome)
			}
		} else {
			seen := map[string]bool{}
			for _, f := range as.UsedBy {
				if !seen[f.Outcome] {
					seen[f.Outcome] = true
					ar.UsedOutcomes = append(ar.UsedOutcomes, f.Outcome)
				}
			}
		}
		r.RPCAssignments = append(r.RPCAssignments, ar)
	}
	r.RPCNotFound = a.rpc.notRegistered
	r.Hosts = a.hosts()
	r.Summary = Summary{Packets: a.packets, Flows: len(a.flows), First: a.first.UTC(), Last: a.last.UTC(),
		FailedFlows: failed, Outcomes: outcomes}
	if a.streaming {
		r.Summary.Flows, r.Summary.FailedFlows, r.Summary.Outcomes = a.flowsDone, a.failed, a.outcomes
		if r.Summary.Outcomes == nil {
			r.Summary.Outcomes = map[string]int{}
		}
	}
	r.Summary.Verdict = verdictLine(r)
	r.addDiffAndRules()
	return r
}

func flowReport(f *Flow) FlowReport {
	return flowReportWith(f, detailSummary(f))
}

// flowReportWith is flowReport with the flow's summary already made.
func flowReportWith(f *Flow, summary string) FlowReport {
	fr := FlowReport{
		Transport: f.Transport, Client: f.Client.Addr(), ClientPort: f.Client.Port(),
		Server: f.Server.Addr(), ServerPort: f.Server.Port(), Service: f.Service, Outcome: f.Outcome,
		Packets: f.Packets[0] + f.Packets[1], Bytes: f.Bytes[0] + f.Bytes[1],
		First: f.First.UTC(), Last: f.Last.UTC(), RPCInterface: f.RPCInterface,
		FirstFrame: f.FirstFrame.Frame, PacketsToSrv: f.Packets[0], PacketsToCli: f.Packets[1],
		BytesToSrv: f.Bytes[0], BytesToCli: f.Bytes[1], End: f.End(),
	}
	if f.Transport == "tcp" {
		fr.SYNs = f.SYNs
	}
	if !f.Details.Empty() {
		fr.Details = &f.Details // the flow's own: a report line is written before the flow is let go
	}
	if f.ICMP != nil {
		fr.ICMP = &ICMPReport{Type: f.ICMP.Type, Code: f.ICMP.Code, Name: f.ICMP.Name(), From: f.ICMP.From,
			Frame: f.ICMP.Frame.Frame, Firewall: f.ICMP.Firewall()}
	}
	if as := f.RPCAssignment; as != nil {
		fr.RPCAssignedBy = &AssignmentRef{Frame: as.Frame.Frame, Time: as.Time.UTC(), Via: as.Via}
	}
	fr.RPCMismatch = f.RPCBindMismatch
	fr.Summary = summary
	return fr
}

// kept returns the views of the kept flows (built on first use: the report's flows do not
// change after the analysis).
func (r *Report) kept() []flowView {
	if r.views == nil && len(r.flows) > 0 {
		r.views = makeViews(r.flows)
	}
	return r.views
}

// FailedFlows returns the failed flows, in the order they started. Where like flows were
// folded (retire.go), each client of a group is one Flow standing for its flows (Count).
func (r *Report) FailedFlows() []*Flow {
	var out []*Flow
	for _, v := range r.failedViews() {
		out = append(out, v.flow())
	}
	return out
}

func (r *Report) failedViews() []flowView {
	var out []flowView
	for _, v := range r.kept() {
		if v.IsFailure() {
			out = append(out, v)
		}
	}
	return out
}

// AllFlows returns the analyzed flows, as FailedFlows does.
func (r *Report) AllFlows() []*Flow {
	out := make([]*Flow, 0, len(r.kept()))
	for _, v := range r.kept() {
		out = append(out, v.flow())
	}
	return out
}

// hosts lists every address with the names and roles the capture proves.
func (a *Analyzer) hosts() []*Host {
	m := map[netip.Addr]*Host{}
	get := func(addr netip.Addr) *Host {
		h := m[addr]
		if h == nil {
			h = &Host{Addr: addr, Roles: []string{}, Names: []string{}}
			m[addr] = h
		}
		return h
	}
	for _, f := range a.flows {
		get(f.Client.Addr())
		get(f.Server.Addr())
		for m := range f.members.all {
			get(m.client().Addr())
		}
	}
	for addr, names := range a.names.byAddr {
		h := get(addr)
		for _, n := range names {
			h.Names = appendUnique(h.Names, n)
		}
	}
	out := make([]*Host, 0, len(m))
	for _, h := range m {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
