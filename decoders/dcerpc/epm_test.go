package dcerpc

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

func mustParse(t *testing.T, f fixture) *PDU {
	t.Helper()
	p, err := Parse(f.raw)
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return p
}

func TestEptMapResponsesAgainstTshark(t *testing.T) {
	for _, name := range []string{"epm_map_resp_drsuapi_2towers", "epm_map_resp_netlogon_2towers",
		"epm_map_resp_drsuapi_1tower", "epm_map_resp_svcctl_1tower", "epm_map_resp_nspi"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			p := mustParse(t, f)
			if p.PType != PTypeResponse || OpName(IfEPM, 3) != "ept_map" {
				t.Fatalf("not an ept_map response")
			}
			m, err := ParseEptMapResponse(p.Stub, encodingOfFixture(t, f, p))
			if err != nil {
				t.Fatal(err)
			}
			eq(t, name, "handle", hex.EncodeToString(m.Handle[:]), f.get(t, "epm.hnd", 0))
			eq(t, name, "num_towers", uint64(m.NumTowers), f.num(t, "epm.num_towers", 0))
			eq(t, name, "status", uint64(m.Status), f.num(t, "epm.rc", 0))
			want := loadTowers(t, name)
			if len(m.Towers) != len(want) || len(want) == 0 {
				t.Fatalf("%d towers, tshark %d", len(m.Towers), len(want))
			}
			for i := range want {
				checkTower(t, name+" tower "+strconv.Itoa(i), m.Towers[i], want[i])
			}
		})
	}
}

// TestEptMapExpectedAssignments pins the hand-outs EXPECTED.md names, independent of
// the tshark-derived files.
func TestEptMapExpectedAssignments(t *testing.T) {
	cases := []struct {
		name  string
		iface string
		want  []string // addr:port
	}{
		{"epm_map_resp_drsuapi_2towers", "DRSUAPI", []string{"172.18.38.5:49674", "172.18.38.5:49667"}},
		{"epm_map_resp_netlogon_2towers", "NETLOGON", []string{"192.168.56.102:49674", "192.168.56.102:49667"}},
		{"epm_map_resp_drsuapi_1tower", "DRSUAPI", []string{"192.168.56.102:49667"}},
		{"epm_map_resp_svcctl_1tower", "SVCCTL", []string{"192.168.10.10:49163"}},
		{"epm_map_resp_nspi", "NSPI", []string{"192.168.0.2:4997"}},
	}
	for _, c := range cases {
		f := loadFixture(t, c.name)
		p := mustParse(t, f)
		m, err := ParseEptMapResponse(p.Stub, encodingOfFixture(t, f, p))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got []string
		for _, tw := range m.Towers {
			if InterfaceName(tw.Interface) != c.iface || tw.Protocol != "ncacn_ip_tcp" {
				t.Errorf("%s: tower %v %q", c.name, tw.Interface, tw.Protocol)
			}
			got = append(got, netip.AddrPortFrom(tw.Addr, tw.Port).String())
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if m.StatusName() != "success" {
			t.Errorf("%s: status %s", c.name, m.StatusName())
		}
	}
}

func TestEptMapRequestsAgainstTshark(t *testing.T) {
	for _, c := range []struct{ name, iface string }{
		{"epm_map_req_drsuapi", "DRSUAPI"}, {"epm_map_req_netlogon", "NETLOGON"},
		{"epm_map_req_svcctl", "SVCCTL"}, {"epm_map_req_nspi", "NSPI"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := loadFixture(t, c.name)
			p := mustParse(t, f)
			if p.PType != PTypeRequest || p.Opnum != 3 {
				t.Fatalf("not ept_map: %v opnum %d", p.PType, p.Opnum)
			}
			m, err := ParseEptMapRequest(p.Stub, encodingOfFixture(t, f, p))
			if err != nil {
				t.Fatal(err)
			}
			if !m.HasTower {
				t.Fatal("no map_tower")
			}
			uuids := f.ts["epm.uuid"]
			k := 0
			if m.HasObject {
				eq(t, c.name, "object", m.Object.String(), uuids[0])
				k = 1
			}
			eq(t, c.name, "interface", m.Tower.Interface.String(), uuids[k])
			eq(t, c.name, "transfer", m.Tower.Transfer.String(), uuids[k+1])
			eq(t, c.name, "interface name", InterfaceName(m.Tower.Interface), c.iface)
			eq(t, c.name, "floors", uint64(m.Tower.Floors), f.num(t, "epm.tower.num_floors", 0))
			eq(t, c.name, "port", uint64(m.Tower.Port), f.num(t, "epm.proto.tcp_port", 0))
			eq(t, c.name, "addr", m.Tower.Addr.String(), f.get(t, "epm.proto.ip", 0))
			eq(t, c.name, "max_towers", uint64(m.MaxTowers), f.num(t, "epm.max_towers", 0))
			eq(t, c.name, "handle", hex.EncodeToString(m.Handle[:]), f.get(t, "epm.hnd", 0))
			// tshark reads the floor-1 version as a big-endian u16 (C706 says little-endian).
			eq(t, c.name, "version major<<8", uint64(m.Tower.VersionMajor)<<8, f.num(t, "epm.uuid_version", 0))
		})
	}
}

func TestEptLookupRequestsAgainstTshark(t *testing.T) {
	for _, name := range []string{"epm_lookup_req_mapi", "epm_lookup_req_rpcdump"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			p := mustParse(t, f)
			if p.Opnum != 2 || OpName(IfEPM, p.Opnum) != "ept_lookup" {
				t.Fatalf("opnum %d", p.Opnum)
			}
			m, err := ParseEptLookupRequest(p.Stub, NDR)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, name, "inq_type", uint64(m.InquiryType), f.num(t, "epm.inq_type", 0))
			eq(t, name, "max_ents", uint64(m.MaxEntries), f.num(t, "epm.max_ents", 0))
			eq(t, name, "handle", hex.EncodeToString(m.Handle[:]), f.get(t, "epm.hnd", 0))
			if m.HasObject {
				eq(t, name, "object", m.Object.String(), f.get(t, "epm.object", 0))
			}
			if m.HasIf {
				eq(t, name, "if_id", m.Interface.UUID.String(), f.get(t, "epm.if_id", 0))
				eq(t, name, "ver_maj", uint64(m.Interface.VersionMajor), f.num(t, "epm.ver_maj", 0))
				eq(t, name, "ver_min", uint64(m.Interface.VersionMinor), f.num(t, "epm.ver_min", 0))
				eq(t, name, "ver_opt", uint64(m.VersOption), f.num(t, "epm.ver_opt", 0))
			}
		})
	}
}

func TestEptLookupResponseHTTPTower(t *testing.T) {
	f := loadFixture(t, "epm_lookup_resp_http")
	p := mustParse(t, f)
	m, err := ParseEptLookupResponse(p.Stub, NDR)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, f.name, "num_ents", uint64(m.NumEntries), f.num(t, "epm.num_ents", 0))
	want := loadTowers(t, f.name)
	if len(m.Entries) != len(want) {
		t.Fatalf("%d entries, tshark %d towers", len(m.Entries), len(want))
	}
	for i, e := range m.Entries {
		checkTower(t, "entry "+strconv.Itoa(i), e.Tower, want[i])
	}
	if ann, ok := f.ts["epm.annotation"]; ok {
		eq(t, f.name, "annotation", m.Entries[0].Annotation, ann[0])
	}
	tw := m.Entries[0].Tower
	if tw.Protocol != "ncacn_http" || tw.Port != 5000 {
		t.Errorf("tower %q port %d, want ncacn_http 5000", tw.Protocol, tw.Port)
	}
}

// TestEptLookupRpcdump reassembles impacket rpcdump's ept_lookup reply (11 fragments
// spread over 8 TCP segments) and compares all 346 towers with tshark's PDML.
func TestEptLookupRpcdump(t *testing.T) {
	var a CallAssembler
	var stub []byte
	var done bool
	var le bool
	for i := 0; i < 11; i++ {
		f := loadFixture(t, fmt.Sprintf("epm_lookup_resp_rpcdump_frag%02d", i))
		p := mustParse(t, f)
		le = p.LittleEndian()
		var err error
		stub, done, err = a.Add(p)
		if err != nil {
			t.Fatalf("frag %d: %v", i, err)
		}
		if done != (i == 10) {
			t.Fatalf("frag %d: done=%v", i, done)
		}
	}
	if a.Pending() != 0 {
		t.Errorf("pending %d", a.Pending())
	}
	m, err := ParseEptLookupResponse(stub, Encoding{LittleEndian: le})
	if err != nil {
		t.Fatal(err)
	}
	want := loadTowers(t, "epm_lookup_resp_rpcdump")
	if len(want) != 346 || len(m.Entries) != 346 || m.NumEntries != 346 {
		t.Fatalf("entries %d (num_ents %d), tshark towers %d; want 346", len(m.Entries), m.NumEntries, len(want))
	}
	tcp := map[string]bool{}
	for i, e := range m.Entries {
		checkTower(t, "entry "+strconv.Itoa(i), e.Tower, want[i])
		if e.Tower.Protocol == "ncacn_ip_tcp" {
			tcp[e.Tower.Interface.String()+"@"+netip.AddrPortFrom(e.Tower.Addr, e.Tower.Port).String()] = true
		}
	}
	// SOURCES.md: 13 distinct TCP towers on 10.0.2.16:49664-49671.
	for k := range tcp {
		_, ap, _ := strings.Cut(k, "@")
		a := netip.MustParseAddrPort(ap)
		if a.Addr().String() != "10.0.2.16" || a.Port() < 49664 || a.Port() > 49671 {
			t.Errorf("tcp tower %s outside 10.0.2.16:49664-49671", k)
		}
	}
	t.Logf("%d distinct TCP (interface, addr:port); status %s", len(tcp), m.StatusName())
}

// encodingOfFixture: the dcsync EPM connection negotiated NDR64 for context 1 (its
// bind_ack rejects NDR on context 0 and accepts NDR64 on context 1, see
// epm_bind_ack_3res.tshark); everything else is NDR 2.0.
func encodingOfFixture(t *testing.T, f fixture, p *PDU) Encoding {
	t.Helper()
	if strings.Contains(f.name, "drsuapi_2towers") || f.name == "epm_map_req_drsuapi" {
		bind, ack := loadFixture(t, "epm_bind_3ctx"), loadFixture(t, "epm_bind_ack_3res")
		res := BindResults(mustParse(t, bind), mustParse(t, ack))
		for _, r := range res {
			if r.ContextID == p.ContextID {
				if !r.Accepted() {
					t.Fatalf("context %d not accepted", p.ContextID)
				}
				return EncodingFor(p, r.Transfer.UUID)
			}
		}
		t.Fatalf("context %d not in bind", p.ContextID)
	}
	return EncodingFor(p, TransferNDR)
}

// TestBindResultsReal pairs the dcsync EPM bind (NDR, NDR64, bind time feature
// negotiation) with its bind_ack: tshark shows results 2|0|3, reason 2 for the first.
func TestBindResultsReal(t *testing.T) {
	bind := mustParse(t, loadFixture(t, "epm_bind_3ctx"))
	ack := mustParse(t, loadFixture(t, "epm_bind_ack_3res"))
	res := BindResults(bind, ack)
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	want := []struct {
		result, transfer, reason string
	}{
		{"provider_rejection", "", "proposed_transfer_syntaxes_not_supported"},
		{"accepted", "NDR64", ""},
		{"negotiate_ack", "", ""},
	}
	for i, w := range want {
		r := res[i]
		if InterfaceName(r.Interface.UUID) != "EPM" || r.ContextID != uint16(i) || r.ResultName() != w.result ||
			TransferName(r.Transfer.UUID) != w.transfer || (w.reason != "" && r.ReasonName() != w.reason) {
			t.Errorf("result %d: %+v (%s %s)", i, r, r.ResultName(), r.ReasonName())
		}
	}
	if !IsBindTimeFeature(bind.Contexts[2].Transfer[0].UUID) || BindTimeFeatures(bind.Contexts[2].Transfer[0].UUID) != 3 {
		t.Errorf("bind time feature %v", bind.Contexts[2].Transfer[0].UUID)
	}
}

// TestAuthOnRealBinds checks the auth names the JSON report uses on real binds.
func TestAuthOnRealBinds(t *testing.T) {
	for name, want := range map[string]string{
		"drsuapi_bind_spnego_privacy":  "spnego/privacy",
		"drsuapi_bind_ntlm_privacy":    "ntlmssp/privacy",
		"netlogon_bind_privacy":        "netlogon/privacy",
		"isysact_bind_ntlm_connect":    "ntlmssp/connect",
		"isysact_bind_spnego_kerberos": "spnego/connect",
		"remunk2_bind_spnego":          "spnego/connect",
	} {
		p := mustParse(t, loadFixture(t, name))
		if got := p.Auth.TypeName() + "/" + p.Auth.LevelName(); !p.HasAuth || got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	p := mustParse(t, loadFixture(t, "drsuapi_request_privacy"))
	drs, _ := InterfaceByName("drsuapi")
	if !p.Encrypted || OpName(drs, p.Opnum) != "DRSBind" {
		t.Errorf("DRSUAPI request: encrypted %v op %d", p.Encrypted, p.Opnum)
	}
}
