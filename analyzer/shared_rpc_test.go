package analyzer

import (
	"strings"
	"testing"
)

// TestSharedCapturesRPC checks every EPM and DCOM port hand-out of the tshark truth
// (server, port, via, interface, used) and that every bind's interfaces are named in the
// details of the flow that carried it.
func TestSharedCapturesRPC(t *testing.T) {
	for _, c := range loadShared(t) {
		t.Run(c.name, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{c.capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.truth.RPCAssignments {
				found := false
				for _, a := range rep.RPCAssignments {
					if a.Server.String() != w.Server || int(a.Port) != w.Port || a.Via != w.Via {
						continue
					}
					if w.InterfaceUUID != "" && a.InterfaceUUID != w.InterfaceUUID {
						continue
					}
					found = true
					if a.Used != w.Used {
						t.Errorf("%s %s:%d %s: used=%v, tshark says %v", w.Via, w.Server, w.Port, w.InterfaceUUID, a.Used, w.Used)
					}
					if w.Host != "" && !strings.EqualFold(a.Host, w.Host) {
						t.Errorf("%s %s:%d: host %q, tshark %q", w.Via, w.Server, w.Port, a.Host, w.Host)
					}
				}
				if !found {
					t.Errorf("missing assignment %s %s:%d %s (frame %d)", w.Via, w.Server, w.Port, w.InterfaceUUID, w.Frame)
				}
			}
			// A bind belongs to the flow to its server endpoint whose frames span it.
			for _, b := range c.truth.RPCBinds {
				var flow *FlowReport
				for i := range rep.Flows {
					f := &rep.Flows[i]
					if f.Server.String() == b.Server && int(f.ServerPort) == b.Port && f.FirstFrame <= b.Frame {
						if flow == nil || f.FirstFrame > flow.FirstFrame {
							flow = f
						}
					}
				}
				if flow == nil {
					t.Errorf("bind frame %d: no flow to %s:%d", b.Frame, b.Server, b.Port)
					continue
				}
				named := map[string]bool{}
				if flow.Details != nil && flow.Details.DCERPC != nil {
					for _, x := range flow.Details.DCERPC.Binds {
						named[x.InterfaceUUID] = true
					}
				}
				for _, u := range b.Interfaces {
					if !named[u] {
						t.Errorf("bind frame %d to %s:%d: interface %s not in the flow's details.dcerpc.binds", b.Frame, b.Server, b.Port, u)
					}
				}
			}
		})
	}
}

// The Kerberos ticket in a DCE/RPC bind names the server it was sent to (tshark:
// kerberos.SNameString RPCSS/BLACKCLOVER-DC.SRT-AD.local in frame 5).
func TestKerberosBindNamesServer(t *testing.T) {
	loadShared(t)
	rep, err := AnalyzeFiles([]string{sharedCaptures + "/zeek__dce-rpc_kerberos135_auth__dcom_remotecreateinstance_no_followup.pcapng"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, h := range rep.Hosts {
		if h.Addr.String() == "10.10.10.100" {
			names = h.Names
		}
	}
	if len(names) == 0 || names[0] != "BLACKCLOVER-DC.SRT-AD.local" {
		t.Errorf("names of 10.10.10.100: %v", names)
	}
	auth := rep.Flows[0].Details.DCERPC.Auth
	if auth == nil || auth.Target != "RPCSS/BLACKCLOVER-DC.SRT-AD.local" || auth.Type != "spnego" {
		t.Errorf("auth %+v", auth)
	}
}
