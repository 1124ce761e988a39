package analyzer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// labTruth is what testdata/lab/run.sh records beside each lab capture.
type labTruth struct {
	Scenario string `json:"scenario"`
	Flows    []struct {
		Transport  string `json:"transport"`
		Client     string `json:"client"`
		ClientPort int    `json:"client_port"`
		Server     string `json:"server"`
		ServerPort int    `json:"server_port"`
		Service    string `json:"service"`
		Outcome    string `json:"outcome"`
	} `json:"flows"`
	RPCAssignments []struct {
		Server        string `json:"server"`
		Port          int    `json:"port"`
		InterfaceUUID string `json:"interface_uuid"`
		Interface     string `json:"interface"`
		Via           string `json:"via"`
		Used          bool   `json:"used"`
		Outcome       string `json:"outcome"`
	} `json:"rpc_assignments"`
}

func labCaptures(t *testing.T) map[string]labTruth {
	t.Helper()
	files, _ := filepath.Glob("../testdata/captures/lab-*.truth.json")
	if len(files) == 0 {
		t.Fatal("no lab captures in testdata/captures (make lab writes them)")
	}
	out := map[string]labTruth{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lt labTruth
		if err := json.Unmarshal(b, &lt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[strings.TrimSuffix(f, ".truth.json")+".pcapng"] = lt
	}
	return out
}

// TestLabScenarios: on each lab capture (real Samba, MIT Kerberos, OpenLDAP, impacket
// traffic through an nftables firewall), analyze finds exactly the scenario's flows with
// their outcomes and services, and every endpoint-mapper hand-out with the fate of the
// connection that followed.
func TestLabScenarios(t *testing.T) {
	for capture, lt := range labCaptures(t) {
		t.Run(lt.Scenario, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for _, f := range lt.Flows {
				want = append(want, flowKeyString(f.Transport, f.Client, f.ClientPort, f.Server, f.ServerPort)+" "+f.Outcome+" "+f.Service)
			}
			for _, f := range rep.Flows {
				got = append(got, flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))+
					" "+f.Outcome+" "+strings.TrimSuffix(f.Service, " (unassigned)"))
			}
			sort.Strings(want)
			sort.Strings(got)
			equalLines(t, got, want)
			for _, w := range lt.RPCAssignments {
				ok := false
				for _, a := range rep.RPCAssignments {
					if a.Server.String() == w.Server && int(a.Port) == w.Port && a.Via == w.Via && a.InterfaceUUID == w.InterfaceUUID {
						ok = a.Used == w.Used && (w.Outcome == "" || strings.Join(a.UsedOutcomes, ",") == w.Outcome) && a.Interface == w.Interface
						if !ok {
							t.Errorf("assignment %s:%d %s: used=%v outcomes=%v, want used=%v outcome %s", w.Server, w.Port, w.Interface,
								a.Used, a.UsedOutcomes, w.Used, w.Outcome)
						}
					}
				}
				if !ok {
					t.Errorf("assignment %s:%d %s (%s) missing or wrong", w.Server, w.Port, w.Interface, w.Via)
				}
			}
		})
	}
}
