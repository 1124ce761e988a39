package dcerpc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// fixture is one real PDU from testdata/pdu with tshark's values for its frame.
type fixture struct {
	name string
	raw  []byte
	ts   map[string][]string // tshark field -> values ('|'-separated occurrences)
}

func loadFixture(t testing.TB, name string) fixture {
	t.Helper()
	h, err := os.ReadFile(filepath.Join("testdata", "pdu", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := hex.DecodeString(strings.TrimSpace(string(h)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	f := fixture{name: name, raw: raw, ts: map[string][]string{}}
	tf, err := os.Open(filepath.Join("testdata", "pdu", name+".tshark"))
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	sc := bufio.NewScanner(tf)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if ok {
			f.ts[k] = strings.Split(v, "|")
		}
	}
	return f
}

func fixtureNames(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("testdata", "pdu", "*.hex"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var names []string
	for _, p := range m {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".hex"))
	}
	sort.Strings(names)
	return names
}

// pduIndex returns the index of this PDU among the frame's PDUs (multi-PDU frames).
func (f fixture) pduIndex(t *testing.T) int {
	hdr, err := os.ReadFile(filepath.Join("testdata", "pdu", f.name+".tshark"))
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(hdr), "\n")
	_, after, ok := strings.Cut(line, ", PDU ")
	if !ok {
		t.Fatalf("%s: no PDU index in header", f.name)
	}
	n, _ := strconv.Atoi(strings.Fields(after)[0])
	return n
}

func (f fixture) get(t *testing.T, field string, i int) string {
	t.Helper()
	v, ok := f.ts[field]
	if !ok || i >= len(v) {
		t.Fatalf("%s: tshark has no %s[%d]", f.name, field, i)
	}
	return v[i]
}

func (f fixture) num(t *testing.T, field string, i int) uint64 {
	t.Helper()
	s := f.get(t, field, i)
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", f.name, field, s, err)
	}
	return n
}

func eq[T comparable](t *testing.T, name, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %s = %v, tshark says %v", name, what, got, want)
	}
}

// TestFixturesAgainstTshark parses every real PDU and compares the header, bind
// contexts, results, request/response fields and the auth verifier with tshark.
func TestFixturesAgainstTshark(t *testing.T) {
	counts := map[PType]int{}
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			i := f.pduIndex(t)
			if !LooksLike(f.raw) {
				t.Fatalf("LooksLike false on a real PDU")
			}
			total, err := Frame(f.raw)
			if err != nil || total != len(f.raw) {
				t.Fatalf("Frame = %d, %v; want %d", total, err, len(f.raw))
			}
			p, err := Parse(f.raw)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			counts[p.PType]++
			eq(t, name, "version", uint64(p.Version), f.num(t, "dcerpc.ver", i))
			eq(t, name, "minor", uint64(p.VersionMinor), f.num(t, "dcerpc.ver_minor", i))
			eq(t, name, "ptype", uint64(p.PType), f.num(t, "dcerpc.pkt_type", i))
			eq(t, name, "flags", uint64(p.Flags), f.num(t, "dcerpc.cn_flags", i))
			eq(t, name, "drep", hex.EncodeToString(p.DataRep[:]), f.get(t, "dcerpc.drep", i))
			eq(t, name, "frag_len", uint64(p.FragLen), f.num(t, "dcerpc.cn_frag_len", i))
			eq(t, name, "auth_len", uint64(p.AuthLen), f.num(t, "dcerpc.cn_auth_len", i))
			eq(t, name, "call_id", uint64(p.CallID), f.num(t, "dcerpc.cn_call_id", i))
			if i > 0 {
				return // multi-PDU frame: only per-PDU header fields line up
			}
			switch p.PType {
			case PTypeBind, PTypeAlterContext:
				checkBind(t, f, p)
			case PTypeBindAck, PTypeAlterContextResp:
				checkBindAck(t, f, p)
			case PTypeRequest:
				eq(t, name, "alloc_hint", uint64(p.AllocHint), f.num(t, "dcerpc.cn_alloc_hint", 0))
				eq(t, name, "ctx_id", uint64(p.ContextID), f.num(t, "dcerpc.cn_ctx_id", 0))
				eq(t, name, "opnum", uint64(p.Opnum), f.num(t, "dcerpc.opnum", 0))
				if _, ok := f.ts["dcerpc.obj_id"]; ok != p.HasObject {
					t.Errorf("HasObject %v, tshark obj_id present %v", p.HasObject, ok)
				} else if ok {
					eq(t, name, "object", p.Object.String(), f.get(t, "dcerpc.obj_id", 0))
				}
			case PTypeResponse:
				eq(t, name, "alloc_hint", uint64(p.AllocHint), f.num(t, "dcerpc.cn_alloc_hint", 0))
				eq(t, name, "ctx_id", uint64(p.ContextID), f.num(t, "dcerpc.cn_ctx_id", 0))
				eq(t, name, "cancel_count", uint64(p.CancelCount), f.num(t, "dcerpc.cn_cancel_count", 0))
			}
			if _, ok := f.ts["dcerpc.auth_type"]; ok != p.HasAuth {
				t.Fatalf("HasAuth %v, tshark auth_type present %v", p.HasAuth, ok)
			}
			if p.HasAuth {
				eq(t, name, "auth_type", uint64(p.Auth.Type), f.num(t, "dcerpc.auth_type", 0))
				eq(t, name, "auth_level", uint64(p.Auth.Level), f.num(t, "dcerpc.auth_level", 0))
				eq(t, name, "auth_pad_len", uint64(p.Auth.PadLen), f.num(t, "dcerpc.auth_pad_len", 0))
				eq(t, name, "auth_ctx_id", uint64(p.Auth.ContextID), f.num(t, "dcerpc.auth_ctx_id", 0))
				eq(t, name, "auth value length", len(p.Auth.Value), int(p.AuthLen))
			}
			if enc, ok := f.ts["dcerpc.encrypted_stub_data"]; ok {
				if !p.Encrypted {
					t.Errorf("tshark shows encrypted stub, Encrypted=false")
				}
				// tshark's encrypted_stub_data includes the auth padding (it is encrypted
				// with the stub); Stub stops before it.
				full, _ := hex.DecodeString(enc[0])
				if len(full) != len(p.Stub)+int(p.Auth.PadLen) || !bytes.HasPrefix(full, p.Stub) {
					t.Errorf("encrypted stub %d bytes + pad %d, tshark has %d bytes", len(p.Stub), p.Auth.PadLen, len(full))
				}
			} else if p.Encrypted {
				t.Errorf("Encrypted=true, tshark shows no encrypted stub")
			}
		})
	}
	// The fixture set must cover these packet types.
	for _, pt := range []PType{PTypeBind, PTypeBindAck, PTypeAlterContext, PTypeAlterContextResp,
		PTypeRequest, PTypeResponse, PTypeAuth3} {
		if counts[pt] == 0 {
			t.Errorf("no real fixture of type %v", pt)
		}
	}
}

func checkBind(t *testing.T, f fixture, p *PDU) {
	name := f.name
	eq(t, name, "max_xmit", uint64(p.MaxXmitFrag), f.num(t, "dcerpc.cn_max_xmit", 0))
	eq(t, name, "max_recv", uint64(p.MaxRecvFrag), f.num(t, "dcerpc.cn_max_recv", 0))
	eq(t, name, "assoc_group", uint64(p.AssocGroup), f.num(t, "dcerpc.cn_assoc_group", 0))
	eq(t, name, "num_ctx", uint64(len(p.Contexts)), f.num(t, "dcerpc.cn_num_ctx_items", 0))
	var ids, ifs, ifv, ifm, ntr, trs, trv []string
	for _, c := range p.Contexts {
		ids = append(ids, strconv.Itoa(int(c.ID)))
		ifs = append(ifs, c.Abstract.UUID.String())
		ifv = append(ifv, strconv.Itoa(int(c.Abstract.VersionMajor)))
		ifm = append(ifm, strconv.Itoa(int(c.Abstract.VersionMinor)))
		ntr = append(ntr, strconv.Itoa(len(c.Transfer)))
		for _, s := range c.Transfer {
			trs = append(trs, s.UUID.String())
			// tshark prints the whole u32 if_version of a transfer syntax.
			trv = append(trv, strconv.Itoa(int(s.VersionMajor)|int(s.VersionMinor)<<16))
		}
	}
	j := func(s []string) string { return strings.Join(s, "|") }
	eq(t, name, "ctx ids", j(ids), j(f.ts["dcerpc.cn_ctx_id"]))
	eq(t, name, "abstract uuids", j(ifs), j(f.ts["dcerpc.cn_bind_to_uuid"]))
	eq(t, name, "abstract ver", j(ifv), j(f.ts["dcerpc.cn_bind_if_ver"]))
	eq(t, name, "abstract ver minor", j(ifm), j(f.ts["dcerpc.cn_bind_if_ver_minor"]))
	eq(t, name, "num transfer", j(ntr), j(f.ts["dcerpc.cn_num_trans_items"]))
	eq(t, name, "transfer uuids", j(trs), j(f.ts["dcerpc.cn_bind_trans_id"]))
	eq(t, name, "transfer ver", j(trv), j(f.ts["dcerpc.cn_bind_trans_ver"]))
}

func checkBindAck(t *testing.T, f fixture, p *PDU) {
	name := f.name
	eq(t, name, "max_xmit", uint64(p.MaxXmitFrag), f.num(t, "dcerpc.cn_max_xmit", 0))
	eq(t, name, "max_recv", uint64(p.MaxRecvFrag), f.num(t, "dcerpc.cn_max_recv", 0))
	eq(t, name, "assoc_group", uint64(p.AssocGroup), f.num(t, "dcerpc.cn_assoc_group", 0))
	if sa, ok := f.ts["dcerpc.cn_sec_addr"]; ok {
		eq(t, name, "sec_addr", p.SecAddr, sa[0])
	} else {
		eq(t, name, "sec_addr", p.SecAddr, "")
	}
	eq(t, name, "num_results", uint64(len(p.Results)), f.num(t, "dcerpc.cn_num_results", 0))
	var res, trs, trv []string
	for _, r := range p.Results {
		res = append(res, strconv.Itoa(int(r.Result)))
		trs = append(trs, r.Transfer.UUID.String())
		trv = append(trv, strconv.Itoa(int(r.Transfer.VersionMajor)|int(r.Transfer.VersionMinor)<<16))
	}
	j := func(s []string) string { return strings.Join(s, "|") }
	eq(t, name, "results", j(res), j(f.ts["dcerpc.cn_ack_result"]))
	eq(t, name, "ack transfer", j(trs), j(f.ts["dcerpc.cn_ack_trans_id"]))
	eq(t, name, "ack transfer ver", j(trv), j(f.ts["dcerpc.cn_ack_trans_ver"]))
	// tshark prints cn_ack_reason only for rejected results.
	var reasons []string
	for _, r := range p.Results {
		if r.Result == ResultUserRejection || r.Result == ResultProviderRejection {
			reasons = append(reasons, strconv.Itoa(int(r.Reason)))
		}
	}
	eq(t, name, "reasons", j(reasons), j(f.ts["dcerpc.cn_ack_reason"]))
}

// towerTruth is one tower of tshark's PDML (testdata/pdu/NAME.towers.json).
type towerTruth struct {
	Floors   int      `json:"floors"`
	UUIDs    []string `json:"uuids"`
	ProtoIDs []int    `json:"proto_ids"`
	VerMin   []int    `json:"ver_min"`
	TCPPort  int      `json:"tcp_port"`
	UDPPort  int      `json:"udp_port"`
	HTTPPort int      `json:"http_port"`
	IP       string   `json:"ip"`
	Pipe     string   `json:"named_pipe"`
	NetBIOS  string   `json:"netbios_name"`
}

func loadTowers(t *testing.T, name string) []towerTruth {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pdu", name+".towers.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Towers []towerTruth `json:"towers"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v.Towers
}

func checkTower(t *testing.T, what string, got Tower, want towerTruth) {
	t.Helper()
	eq(t, what, "floors", got.Floors, want.Floors)
	if len(want.UUIDs) > 0 {
		eq(t, what, "interface", got.Interface.String(), want.UUIDs[0])
	}
	if len(want.UUIDs) > 1 {
		eq(t, what, "transfer", got.Transfer.String(), want.UUIDs[1])
	}
	if len(want.VerMin) > 0 {
		// tshark 4.0 reads the floor version fields big-endian; C706 appendix L and
		// the values (WinHttpAutoProxySvc is v5.1, not v5.256) say little-endian.
		eq(t, what, "version minor (byte-swapped)", int(bits.ReverseBytes16(got.VersionMinor)), want.VerMin[0])
	}
	port := want.TCPPort + want.UDPPort + want.HTTPPort
	eq(t, what, "port", int(got.Port), port)
	if want.IP != "" {
		eq(t, what, "addr", got.Addr.String(), want.IP)
	} else if got.Addr.IsValid() {
		t.Errorf("%s: addr %v, tshark shows none", what, got.Addr)
	}
	eq(t, what, "pipe", got.Pipe, want.Pipe)
	eq(t, what, "host", got.Host, want.NetBIOS)
	// Protocol from tshark's floor 3/4 protocol ids.
	var wantProto string
	if len(want.ProtoIDs) >= 4 {
		wantProto = protocolName(byte(want.ProtoIDs[2]), byte(want.ProtoIDs[3]))
	}
	eq(t, what, "protocol", got.Protocol, wantProto)
	switch {
	case want.TCPPort != 0 && got.Protocol != "ncacn_ip_tcp",
		want.HTTPPort != 0 && got.Protocol != "ncacn_http",
		want.UDPPort != 0 && got.Protocol != "ncadg_ip_udp":
		t.Errorf("%s: protocol %q for port %d", what, got.Protocol, port)
	}
}
