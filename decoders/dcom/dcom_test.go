package dcom

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// fixture is one real stub from ../shared/captures (see testdata/README.md) with the
// fields tshark 4.0 shows for its frame (testdata/NAME.tshark, produced by extract.sh).
type fixture struct {
	name  string
	iface dcerpc.UUID
	resp  bool
	port  int    // dynamic port in the OXID bindings (truth/NAME.json rpc_assignments)
	host  string // the non-numeric host of those bindings
}

var fixtures = []fixture{
	{"covenant_f140_getclassobject_req", IIDSystemActivator, false, 0, ""},
	{"covenant_f160_getclassobject_resp", IIDSystemActivator, true, 65077, "WORKSTATION6"},
	{"covenant_f211_resolveoxid2_req", IIDObjectExporter, false, 0, ""},
	{"covenant_f216_resolveoxid2_resp", IIDObjectExporter, true, 65082, "WORKSTATION6"},
	{"empire_f151_getclassobject_req", IIDSystemActivator, false, 0, ""},
	{"empire_f153_getclassobject_resp", IIDSystemActivator, true, 49913, "WORKSTATION6"},
	{"empire_f225_resolveoxid2_req", IIDObjectExporter, false, 0, ""},
	{"empire_f226_resolveoxid2_resp", IIDObjectExporter, true, 49913, "WORKSTATION6"},
	{"zeek_f10_createinstance_req", IIDSystemActivator, false, 0, ""},
	{"zeek_f11_createinstance_resp", IIDSystemActivator, true, 49718, "BLACKCLOVER-DC"},
}

// tsharkFields are the -e columns of extract.sh, in order.
var tsharkFields = []string{"frame", "pkt_type", "opnum", "frag_len", "auth_len", "flags",
	"tower_id", "network_addr", "clsid", "instn_iid", "out_iid", "retval", "authhint",
	"ver_major", "ver_minor", "hresult", "oxid_opnum"}

func loadFixture(t testing.TB, name string) (stub []byte, ts map[string][]string) {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	stub, err = hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", name+".tshark"))
	if err != nil {
		t.Fatal(err)
	}
	cols := strings.Split(strings.TrimRight(string(raw), "\n"), "\t")
	if len(cols) != len(tsharkFields) {
		t.Fatalf("%s.tshark: %d columns, want %d", name, len(cols), len(tsharkFields))
	}
	ts = map[string][]string{}
	for i, c := range cols {
		if c != "" {
			ts[tsharkFields[i]] = strings.Split(c, "|")
		}
	}
	// The stub is the PDU minus its 24-byte header: check its length against frag_len.
	if fl, _ := strconv.Atoi(ts["frag_len"][0]); fl-24 != len(stub) {
		t.Fatalf("%s: stub %d bytes, frag_len %d", name, len(stub), fl)
	}
	return stub, ts
}

func uuids(us []dcerpc.UUID) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.String())
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s: got %q, tshark %q", what, got, want)
	}
}

func TestRealStubsAgainstTshark(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			stub, ts := loadFixture(t, f.name)
			op64, _ := strconv.ParseUint(ts["opnum"][0], 10, 16)
			opnum := uint16(op64)
			if !f.resp {
				req, err := ParseRequest(f.iface, opnum, stub)
				if err != nil {
					t.Fatal(err)
				}
				if f.iface == IIDObjectExporter {
					if req.Method != "ResolveOxid2" || req.OXID == 0 || len(req.Protseqs) != 1 || req.Protseqs[0] != TowerNCACNIPTCP {
						t.Errorf("ResolveOxid2 request: %+v", req)
					}
					return
				}
				eq(t, "clsid", []string{req.CLSID.String()}, ts["clsid"])
				eq(t, "iids", uuids(req.IIDs), ts["instn_iid"])
				return
			}
			act, err := ParseResponse(f.iface, opnum, stub)
			if err != nil {
				t.Fatal(err)
			}
			// Every DUALSTRINGARRAY string binding tshark shows, in wire order: the
			// resolver addresses of the returned OBJREFs, then the OXID bindings.
			var towers, addrs []string
			for _, it := range act.Interfaces {
				for _, b := range it.Resolver {
					towers = append(towers, fmt.Sprintf("0x%04x", b.TowerID))
					addrs = append(addrs, b.NetworkAddr)
				}
			}
			for _, b := range act.Bindings {
				towers = append(towers, fmt.Sprintf("0x%04x", b.TowerID))
				addrs = append(addrs, b.NetworkAddr)
			}
			eq(t, "tower_id", towers, ts["tower_id"])
			eq(t, "network_addr", addrs, ts["network_addr"])
			eq(t, "hresult", []string{fmt.Sprintf("0x%08x", act.HResult)}, ts["hresult"])
			if act.HResultName != "S_OK" {
				t.Errorf("HResultName %q", act.HResultName)
			}
			vmaj, vmin := ts["ver_major"], ts["ver_minor"]
			eq(t, "com version", []string{fmt.Sprint(act.ComVersion.Major), fmt.Sprint(act.ComVersion.Minor)},
				[]string{vmaj[len(vmaj)-1], vmin[len(vmin)-1]})
			if f.iface == IIDSystemActivator {
				var iids, hrs []string
				for _, it := range act.Interfaces {
					iids = append(iids, it.IID.String())
					hrs = append(hrs, fmt.Sprint(it.HResult))
				}
				eq(t, "PropsOutInfo iids", iids, ts["out_iid"])
				eq(t, "PropsOutInfo hresults", hrs, ts["retval"])
				eq(t, "authnHint", []string{fmt.Sprint(act.AuthnHint)}, ts["authhint"])
			}
			// The dynamic port: both OXID bindings name it, one by host name, one by IP.
			if len(act.Bindings) != 2 {
				t.Fatalf("bindings %+v", act.Bindings)
			}
			for _, b := range act.Bindings {
				if b.Port != f.port || b.TowerName != "ncacn_ip_tcp" {
					t.Errorf("binding %+v: want ncacn_ip_tcp port %d", b, f.port)
				}
			}
			if act.Bindings[0].Host != f.host {
				t.Errorf("host %q, want %q", act.Bindings[0].Host, f.host)
			}
			if a, ok := act.Bindings[1].Addr(); !ok || !a.Is4() {
				t.Errorf("second binding %q is not an IPv4 address", act.Bindings[1].Host)
			}
			for _, it := range act.Interfaces {
				for _, b := range it.Resolver {
					if b.Port != 0 {
						t.Errorf("resolver binding %+v has a port", b)
					}
				}
			}
		})
	}
}

func TestErrNotHandled(t *testing.T) {
	stub, _ := loadFixture(t, "covenant_f160_getclassobject_resp")
	if _, err := ParseResponse(IIDSystemActivator, 0, stub); !errors.Is(err, ErrNotHandled) {
		t.Errorf("opnum 0: %v", err)
	}
	if _, err := ParseRequest(dcerpc.MustUUID("e1af8308-5d1f-11c9-91a4-08002b14a0fa"), 3, stub); !errors.Is(err, ErrNotHandled) {
		t.Errorf("epm: %v", err)
	}
}
