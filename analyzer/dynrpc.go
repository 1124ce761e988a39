package analyzer

import (
	"fmt"
	"strings"
)

// DynamicRPCLines says, one line per assignment, who asked whom for which interface, which
// port came back, and what became of the connection to it: the line an administrator
// behind a firewall is looking for.
func (r *Report) DynamicRPCLines() []string {
	var out []string
	for _, as := range r.assignments {
		iface := as.Interface
		if iface == "" {
			iface = as.InterfaceUUID
		}
		if iface == "" {
			iface = "an object"
		}
		if as.Via == "dcom" && as.Requested != "" && as.Requested != iface {
			if iface == "an object" {
				iface = as.Requested
			} else {
				iface = as.Requested + " (" + iface + ")"
			}
		}
		who := "a client"
		if as.Client.IsValid() {
			who = as.Client.String()
		}
		target := as.Server.String()
		if as.Host != "" && !strings.EqualFold(as.Host, target) {
			target = as.Host + " (" + as.Server.String() + ")"
		}
		var line string
		if as.Via == "dcom" {
			line = fmt.Sprintf("%s activated %s over DCOM on %s -> port %d (frame %d)", who, iface, target, as.Port, as.Frame.Frame)
		} else {
			line = fmt.Sprintf("%s asked the endpoint mapper on %s for %s -> port %d (frame %d)", who, as.Server, iface, as.Port, as.Frame.Frame)
		}
		if len(as.UsedBy) == 0 {
			line += "; no connection to it followed in the capture"
		}
		for i, f := range as.UsedBy {
			if i == 3 {
				line += fmt.Sprintf("; and %d more", len(as.UsedBy)+as.usedMore-3)
				break
			}
			line += fmt.Sprintf("; then %s -> %s: %s", f.Client.Addr(), f.Server, outcomePhrase(f))
		}
		out = append(out, line)
	}
	for _, nr := range r.RPCNotFound {
		out = append(out, fmt.Sprintf("%s asked the endpoint mapper on %s for %s: not registered (%s, frame %d): the server does not offer %s",
			nr.Client, nr.Server, nr.Interface, nr.Status, nr.Frame.Frame, nr.Interface))
	}
	unassigned := 0
	for _, f := range r.kept() {
		if f.Service == "msrpc (unassigned)" {
			unassigned += f.Count()
		}
	}
	if unassigned > 0 {
		out = append(out, fmt.Sprintf("%d flow%s to dynamic RPC ports with no assignment in the capture: the endpoint-mapper/DCOM exchange on 135 was not captured (or happened earlier)",
			unassigned, plural(unassigned)))
	}
	return out
}

func outcomePhrase(f *Flow) string {
	switch f.Outcome {
	case OutcomeEstablished:
		return "connected"
	case OutcomeNoAnswer:
		return "got no answer (dropped)"
	case OutcomeReset:
		return "refused (reset)"
	case OutcomeICMP:
		return "ICMP " + f.ICMP.Name()
	case OutcomeMidFlow:
		return "already open (mid-flow)"
	}
	return f.Outcome
}
