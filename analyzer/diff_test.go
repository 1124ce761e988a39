package analyzer

import (
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// Hand-made flows: fl("tcp 10.0.1.20 10.0.0.10:88 established").
var flowClock = time.Date(2024, 1, 2, 10, 0, 0, 0, time.UTC)

func fl(spec string) *Flow {
	parts := strings.Fields(spec)
	transport, client, server, outcome := parts[0], parts[1], parts[2], parts[3]
	srv := netip.MustParseAddrPort(server)
	flowClock = flowClock.Add(time.Second)
	f := &Flow{Transport: transport, Client: netip.AddrPortFrom(netip.MustParseAddr(client), 50000),
		Server: srv, Service: portService(protoOf(transport), srv.Port()), Outcome: outcome,
		First: flowClock, Last: flowClock.Add(time.Second), FirstFrame: FrameRef{0, int(flowClock.Unix() % 1000)}, resetBy: -1}
	f.Packets[0] = 3
	switch outcome {
	case OutcomeEstablished, OutcomeAnswered, OutcomeMidFlow:
		f.Packets[1] = 3
	case OutcomeNoAnswer:
		f.SYNs = 3
	}
	return f
}

// withService sets the service; withAssignment marks a dynamic port handed out by EPM.
func withService(f *Flow, s string) *Flow { f.Service = s; return f }

func withAssignment(f *Flow, iface string) *Flow {
	f.RPCAssignment = &Assignment{Server: f.Server.Addr(), Port: f.Server.Port(), Interface: iface, Via: "epm",
		Frame: FrameRef{0, 7}}
	f.RPCInterface = iface
	return f
}

// report builds a Report from flows the way buildReport does (hosts, roles, diff, rules).
func report(t *testing.T, names map[string]string, assignments []*Assignment, flows ...*Flow) *Report {
	t.Helper()
	r := &Report{flows: flows, assignments: assignments, Captures: []*CaptureInfo{{File: "hand.pcap"}}}
	seen := map[netip.Addr]*Host{}
	add := func(a netip.Addr) *Host {
		if seen[a] == nil {
			seen[a] = &Host{Addr: a, Roles: []string{}, Names: []string{}}
			r.Hosts = append(r.Hosts, seen[a])
		}
		return seen[a]
	}
	for _, f := range flows {
		add(f.Client.Addr())
		add(f.Server.Addr())
	}
	for a, n := range names {
		h := add(netip.MustParseAddr(a))
		h.Names = append(h.Names, n)
	}
	sort.Slice(r.Hosts, func(i, j int) bool { return r.Hosts[i].Addr.Less(r.Hosts[j].Addr) })
	r.addDiffAndRules()
	return r
}

func diffRow(t *testing.T, rows []DiffRow, rule string) DiffRow {
	t.Helper()
	for _, d := range rows {
		if d.Rule == rule {
			return d
		}
	}
	var have []string
	for _, d := range rows {
		have = append(have, d.Status+" "+d.Rule)
	}
	t.Fatalf("no diff row %q; have:\n%s", rule, strings.Join(have, "\n"))
	return DiffRow{}
}

// A CA at .20 (offers ICertPassage via EPM), a DC at .10, a CES at .30 and a client .1.20.
var (
	dc, ca, ces, cli = "10.0.0.10", "10.0.0.20", "10.0.0.30", "10.0.1.20"
	caOffer          = []*Assignment{{Server: netip.MustParseAddr("10.0.0.20"), Port: 49712, Interface: "ICertPassage",
		Via: "epm", Frame: FrameRef{0, 57}}}
	cesName = map[string]string{"10.0.0.30": "ces01.corp.example"}
)

func TestDiffStatuses(t *testing.T) {
	r := report(t, cesName, caOffer,
		fl("tcp "+ces+" "+dc+":389 established"),                                   // row 2 ok
		fl("tcp "+ces+" "+dc+":636 no-answer"),                                     // row 3 blocked
		withAssignment(fl("tcp "+cli+" "+ca+":49712 no-answer"), "ICertPassage"),   // row 4 blocked
		withAssignment(fl("tcp "+ces+" "+ca+":49712 established"), "ICertPassage"), // row 4 ok part
		fl("tcp "+cli+" "+ces+":443 established"),                                  // row 5 ok
		fl("udp "+cli+" "+dc+":88 answered"),                                       // extra, needed
		fl("tcp "+cli+" "+ca+":135 established"),                                   // extra, needed
		fl("udp "+cli+" "+dc+":389 unanswered"),                                    // extra, blocked
		fl("tcp "+cli+" 10.9.9.9:8080 established"),                                // extra, unknown
		fl("udp "+cli+" 224.0.0.252:5355 unanswered"),                              // LLMNR: ignored
	)
	for _, h := range r.Hosts {
		t.Logf("%s %v %v", h.Addr, h.Roles, h.Evidence)
	}
	if got := r.RolesOf(netip.MustParseAddr(ces)); strings.Join(got, ",") != "ces" {
		t.Fatalf("CES roles %v", got)
	}
	d := r.Diff
	if x := diffRow(t, d, "Kerberos 464 CES -> DC"); x.Status != DiffNotObserved || !strings.Contains(x.Reason, "password change") {
		t.Errorf("464: %+v", x)
	}
	if x := diffRow(t, d, "LDAP 389 CES -> DC"); x.Status != DiffOK || len(x.Flows) != 1 || x.Match != "" {
		t.Errorf("389: %+v", x)
	}
	if x := diffRow(t, d, "LDAP 636 CES -> DC"); x.Status != DiffBlocked || len(x.Blocked) != 1 ||
		!strings.HasPrefix(x.Blocked[0], "tcp/636 10.0.0.30 -> 10.0.0.10:636: dropped (3 SYNs") {
		t.Errorf("636: %+v", x)
	}
	x := diffRow(t, d, "DCOM/RPC >1023 CES, clients -> CA")
	if x.Status != DiffBlocked || len(x.Flows) != 2 || len(x.Blocked) != 1 || !strings.Contains(x.Blocked[0], "10.0.1.20 -> 10.0.0.20:49712") ||
		!strings.Contains(x.Blocked[0], "ICertPassage, port from epm frame 7") {
		t.Errorf("dynamic: %+v", x)
	}
	if x := diffRow(t, d, "HTTPS 443 clients -> CES"); x.Status != DiffOK {
		t.Errorf("443: %+v", x)
	}
	k := diffRow(t, d, "Kerberos 88/udp clients -> DC")
	if k.Status != DiffExtra || !k.Required || !strings.Contains(k.Reason, "authentication") ||
		!strings.Contains(k.Reason, "the documented table lists only 464, which is kpasswd") {
		t.Errorf("88: %+v", k)
	}
	if e := diffRow(t, d, "RPC EPM 135/tcp clients -> CA"); !strings.Contains(e.Reason, "135 before any dynamic port") {
		t.Errorf("135: %+v", e)
	}
	c := diffRow(t, d, "CLDAP 389/udp clients -> DC")
	if !strings.HasPrefix(c.Reason, "BLOCKED") || len(c.Blocked) != 1 || !c.Required {
		t.Errorf("cldap: %+v", c)
	}
	u := diffRow(t, d, "unknown 8080/tcp clients -> 10.9.9.9")
	if u.Required || !strings.Contains(u.Reason, "not in the complete baseline") {
		t.Errorf("8080: %+v", u)
	}
	for _, row := range d {
		if strings.Contains(row.Rule, "5355") {
			t.Errorf("LLMNR in the diff: %+v", row)
		}
	}
	if !DiffHasBlocked(d) {
		t.Error("DiffHasBlocked false")
	}
}

// TestDiffRoleFallback: a client-only capture has no CES opening flows: the CES rows match
// any client and say so; with no CA, the DCOM/RPC row matches any server and says so.
func TestDiffRoleFallback(t *testing.T) {
	r := report(t, nil, nil,
		fl("tcp "+cli+" "+dc+":88 established"),
		fl("tcp "+cli+" "+dc+":636 no-answer"),
		withAssignment(fl("tcp "+cli+" "+dc+":49152 no-answer"), "NETLOGON"),
	)
	x := diffRow(t, r.Diff, "LDAP 636 CES -> DC")
	if x.Status != DiffBlocked || !strings.Contains(x.Match, "no host in the role CES opened a flow in this capture: matched any client (10.0.1.20)") {
		t.Errorf("636: %+v", x)
	}
	y := diffRow(t, r.Diff, "DCOM/RPC >1023 CES, clients -> CA")
	if y.Status != DiffBlocked || !strings.Contains(y.Match, "no host was seen in the role CA: matched any server (10.0.0.10)") ||
		strings.Contains(y.Match, "any client") {
		t.Errorf("dynamic: %+v", y)
	}
	if z := diffRow(t, r.Diff, "LDAP 389 CES -> DC"); z.Status != DiffNotObserved || z.Match != "" {
		t.Errorf("389: %+v", z)
	}
}

// TestDiffStrictRoles: when a CES is seen talking to the DC, the CES rows cover only its
// flows; the same flow from a client is extra.
func TestDiffStrictRoles(t *testing.T) {
	r := report(t, cesName, nil,
		fl("tcp "+ces+" "+dc+":389 established"),
		fl("tcp "+cli+" "+dc+":389 no-answer"),
		fl("tcp "+cli+" "+ces+":443 established"),
	)
	x := diffRow(t, r.Diff, "LDAP 389 CES -> DC")
	if x.Status != DiffOK || len(x.Flows) != 1 || x.Flows[0].Client.String() != ces {
		t.Errorf("389 CES: %+v", x)
	}
	e := diffRow(t, r.Diff, "LDAP 389/tcp clients -> DC")
	if e.Status != DiffExtra || len(e.Blocked) != 1 || !strings.Contains(e.Reason, "the documented table lists 389 from the CES only") {
		t.Errorf("389 client: %+v", e)
	}
}

// TestDiffPartialFailure: one unanswered DNS query among answered ones is not a block.
func TestDiffPartialFailure(t *testing.T) {
	a, b, c := fl("udp "+cli+" "+dc+":53 answered"), fl("udp "+cli+" "+dc+":53 unanswered"), fl("udp "+cli+" "+dc+":53 answered")
	b.Client = netip.AddrPortFrom(b.Client.Addr(), 50001)
	c.Client = netip.AddrPortFrom(c.Client.Addr(), 50002)
	r := report(t, nil, nil, a, b, c)
	x := diffRow(t, r.Diff, "DNS 53/udp 10.0.1.20 -> 10.0.0.10")
	if len(x.Blocked) != 0 || !strings.Contains(x.Reason, "1 flow failed but others to the same port got through") {
		t.Errorf("dns: %+v", x)
	}
	if DiffHasBlocked(r.Diff) {
		t.Error("blocked")
	}
}

func TestDiffAgainstComplete(t *testing.T) {
	r := report(t, nil, caOffer,
		fl("tcp "+cli+" "+dc+":88 established"),
		fl("tcp "+cli+" "+ca+":135 established"),
		withAssignment(fl("tcp "+cli+" "+ca+":49712 established"), "ICertPassage"),
	)
	rows := r.DiffAgainst(mustBuiltin("complete"))
	for _, d := range rows {
		if d.Status == DiffExtra || d.Status == DiffBlocked {
			t.Errorf("against complete: %+v", d)
		}
	}
	if x := diffRow(t, rows, "RPC endpoint mapper 135 clients, CES -> CA"); x.Status != DiffOK {
		t.Errorf("%+v", x)
	}
}
