package analyzer

import (
	"strings"
	"testing"
)

// The AD CS interfaces end to end, on exchanges built to MS-RPCE / MS-DCOM and checked with
// tshark by the decoder tests (see decoders/dcerpc/testdata/handbuilt and
// decoders/dcom/testdata): the endpoint mapper hands out ICertPassage and the flow to that
// port binds it; DCOM activates CCertRequestD and hands out its port.
func TestICertPassageExchange(t *testing.T) {
	rep, err := AnalyzeFiles([]string{"../decoders/dcerpc/testdata/handbuilt/icertpassage.pcap"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RPCAssignments) != 1 {
		t.Fatalf("assignments %+v", rep.RPCAssignments)
	}
	as := rep.RPCAssignments[0]
	if as.InterfaceUUID != "91ae6020-9e3c-11cf-8d7c-00aa00c091be" || as.Interface != "ICertPassage" || as.Port != 49712 ||
		as.Server.String() != "10.0.0.5" || !as.Used || as.Requested != "ICertPassage" {
		t.Errorf("assignment %+v", as)
	}
	var flow *FlowReport
	for i := range rep.Flows {
		if rep.Flows[i].ServerPort == 49712 {
			flow = &rep.Flows[i]
		}
	}
	if flow == nil || flow.RPCInterface != "ICertPassage" || flow.RPCAssignedBy == nil || flow.RPCMismatch != "" {
		t.Fatalf("flow to 49712: %+v", flow)
	}
	binds := flow.Details.DCERPC.Binds
	if len(binds) == 0 || binds[0].InterfaceUUID != as.InterfaceUUID || binds[0].Result != "accepted" {
		t.Errorf("binds %+v", binds)
	}
	if !strings.Contains(strings.Join(rep.DynamicRPCLines(), "\n"), "for ICertPassage -> port 49712") {
		t.Errorf("dynamic RPC lines %q", rep.DynamicRPCLines())
	}
}

func TestCCertRequestDActivation(t *testing.T) {
	rep, err := AnalyzeFiles([]string{"../decoders/dcom/testdata/certrequestd.pcap"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RPCAssignments) != 1 {
		t.Fatalf("assignments %+v", rep.RPCAssignments)
	}
	as := rep.RPCAssignments[0]
	if as.Via != "dcom" || as.Port != 49712 || as.Server.String() != "10.0.0.5" || as.Interface != "ICertRequestD" ||
		as.Requested != "CCertRequestD" || as.Used || !strings.EqualFold(as.Host, "CA01") {
		t.Errorf("assignment %+v", as)
	}
	line := strings.Join(rep.DynamicRPCLines(), "\n")
	if !strings.Contains(line, "CCertRequestD (ICertRequestD)") || !strings.Contains(line, "no connection to it followed") {
		t.Errorf("dynamic RPC lines %q", line)
	}
}
