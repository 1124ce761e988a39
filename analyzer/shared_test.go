package analyzer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// sharedCaptures is where the real captures and their tshark-derived truth live (beside
// the checkout, in CI too).
const sharedCaptures = "../../shared/captures"

// truthFile is the subset of ../shared/captures/truth/NAME.json the tests compare.
type truthFile struct {
	Flows []struct {
		Transport  string `json:"transport"`
		Client     string `json:"client"`
		ClientPort int    `json:"client_port"`
		Server     string `json:"server"`
		ServerPort int    `json:"server_port"`
		Outcome    string `json:"outcome"`
		FirstFrame int    `json:"first_frame"`
		Packets    int    `json:"packets"`
	} `json:"flows"`
	RPCAssignments []struct {
		Frame         int    `json:"frame"`
		Server        string `json:"server"`
		Port          int    `json:"port"`
		InterfaceUUID string `json:"interface_uuid"`
		Host          string `json:"host"`
		Via           string `json:"via"`
		Used          bool   `json:"used"`
	} `json:"rpc_assignments"`
	RPCBinds []struct {
		Frame      int      `json:"frame"`
		Server     string   `json:"server"`
		Port       int      `json:"port"`
		Interfaces []string `json:"interfaces"`
	} `json:"rpc_binds"`
	Kerberos map[string]struct {
		Messages []string `json:"messages"`
		Errors   []int    `json:"errors"`
	} `json:"kerberos"`
	LDAP map[string]struct {
		Operations  []string `json:"operations"`
		ResultCodes []int    `json:"result_codes"`
	} `json:"ldap"`
	TLS map[string]struct {
		SNI []string `json:"sni"`
	} `json:"tls"`
}

type sharedCase struct {
	name    string
	capture string
	truth   truthFile
}

// loadShared returns every capture with its truth, or skips the test with a message when
// ../shared is not beside the checkout.
func loadShared(t *testing.T) []sharedCase {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(sharedCaptures, "truth", "*.json"))
	if len(files) == 0 {
		t.Skipf("skipping: the real captures are not at %s (they are beside the checkout in CI)", sharedCaptures)
	}
	var out []sharedCase
	for _, tf := range files {
		b, err := os.ReadFile(tf)
		if err != nil {
			t.Fatal(err)
		}
		var tr truthFile
		if err := json.Unmarshal(b, &tr); err != nil {
			t.Fatalf("%s: %v", tf, err)
		}
		name := strings.TrimSuffix(filepath.Base(tf), ".json")
		out = append(out, sharedCase{name: name, capture: filepath.Join(sharedCaptures, name), truth: tr})
	}
	return out
}

func flowKeyString(transport, client string, cport int, server string, sport int) string {
	return transport + " " + client + ":" + itoa(cport) + " " + server + ":" + itoa(sport)
}

// TestSharedCapturesFlows compares every TCP and UDP flow (transport, client, server,
// ports, outcome) with the tshark-derived truth: none missing, none extra.
func TestSharedCapturesFlows(t *testing.T) {
	for _, c := range loadShared(t) {
		t.Run(c.name, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{c.capture}, Options{})
			if err != nil {
				t.Fatalf("analyze: %v", err)
			}
			want := map[string]int{}
			for _, f := range c.truth.Flows {
				want[flowKeyString(f.Transport, f.Client, f.ClientPort, f.Server, f.ServerPort)+" "+f.Outcome]++
			}
			got := map[string]int{}
			for _, f := range rep.Flows {
				got[flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))+" "+f.Outcome]++
			}
			var missing, extra []string
			for k, n := range want {
				for i := got[k]; i < n; i++ {
					missing = append(missing, k)
				}
			}
			for k, n := range got {
				for i := want[k]; i < n; i++ {
					extra = append(extra, k)
				}
			}
			sort.Strings(missing)
			sort.Strings(extra)
			if len(missing)+len(extra) > 0 {
				t.Errorf("%d flows in truth, %d reported\nmissing (%d): %s\nextra (%d): %s", len(c.truth.Flows), len(rep.Flows),
					len(missing), head(missing, 10), len(extra), head(extra, 10))
			}
		})
	}
}

func head(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], "\n  ") + "\n  ..."
	}
	return strings.Join(s, "\n  ")
}
