package dcerpc

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pdu builds a little-endian PDU: header, body, then (if auth != nil) pad to 4, sec_trailer
// and auth value. frag_length and auth_length are computed unless overridden later.
func pdu(ptype PType, flags uint8, callID uint32, body []byte, auth *AuthVerifier) []byte {
	b := []byte{5, 0, byte(ptype), flags, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[12:], callID)
	b = append(b, body...)
	if auth != nil {
		pad := (4 - len(b)%4) % 4
		b = append(b, make([]byte, pad)...)
		b = append(b, auth.Type, auth.Level, uint8(pad), 0)
		b = binary.LittleEndian.AppendUint32(b, auth.ContextID)
		b = append(b, auth.Value...)
		binary.LittleEndian.PutUint16(b[10:], uint16(len(auth.Value)))
	}
	binary.LittleEndian.PutUint16(b[8:], uint16(len(b)))
	return b
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func uuidLE(u UUID) []byte {
	b := binary.LittleEndian.AppendUint32(nil, binary.BigEndian.Uint32(u[0:4]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(u[4:6]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(u[6:8]))
	return append(b, u[8:]...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestHeaderErrors(t *testing.T) {
	good := pdu(PTypeShutdown, 3, 7, nil, nil)
	if _, err := ParseHeader(good[:15]); err != ErrNeedMore {
		t.Errorf("15 bytes: %v", err)
	}
	bad := append([]byte(nil), good...)
	bad[0] = 4
	if _, err := ParseHeader(bad); err != ErrVersion {
		t.Errorf("version 4: %v", err)
	}
	bad[0], bad[1] = 5, 2
	if _, err := ParseHeader(bad); err != ErrVersion {
		t.Errorf("minor 2: %v", err)
	}
	bad = append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(bad[8:], 15)
	if _, err := Frame(bad); err != ErrFragLen {
		t.Errorf("frag 15: %v", err)
	}
	// A stream with 1.5 PDUs: Frame asks for more, with the total.
	req := pdu(PTypeRequest, 3, 1, cat(le32(4), le16(0), le16(3), []byte{1, 2, 3, 4}), nil)
	if n, err := Frame(req[:20]); err != ErrNeedMore || n != len(req) {
		t.Errorf("partial: %d %v", n, err)
	}
	if n, err := Frame(append(req, req[:5]...)); err != nil || n != len(req) {
		t.Errorf("1.x PDUs: %d %v", n, err)
	}
	if _, err := Parse(req[:len(req)-1]); err != ErrTruncated {
		t.Errorf("truncated parse: %v", err)
	}
	// Big-endian data representation.
	be := []byte{5, 0, 17, 3, 0x00, 0, 0, 0, 0, 16, 0, 0, 0, 0, 1, 2}
	h, err := ParseHeader(be)
	if err != nil || h.FragLen != 16 || h.CallID != 0x0102 || h.LittleEndian() {
		t.Errorf("big-endian header %+v %v", h, err)
	}
}

func TestLooksLikeNegatives(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "negatives.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, h, _ := strings.Cut(line, " ")
		b, err := hex.DecodeString(h)
		if err != nil || len(b) < 16 {
			t.Fatalf("%s: %v (%d bytes)", name, err, len(b))
		}
		if LooksLike(b) {
			t.Errorf("LooksLike(%s) = true", name)
		}
		if _, err := Parse(b); err == nil {
			t.Errorf("Parse(%s) succeeded", name)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d negatives", n)
	}
	// Hand-made near misses.
	good := pdu(PTypeBind, 3, 1, make([]byte, 12), nil)
	if !LooksLike(good) {
		t.Fatal("good bind rejected")
	}
	for name, mut := range map[string]func(b []byte){
		"ptype 20 (RTS)":  func(b []byte) { b[2] = 20 },
		"ptype 1 (CL)":    func(b []byte) { b[2] = 1 },
		"drep 0x20":       func(b []byte) { b[4] = 0x20 },
		"auth too long":   func(b []byte) { binary.LittleEndian.PutUint16(b[10:], 20) },
		"frag_length 8":   func(b []byte) { binary.LittleEndian.PutUint16(b[8:], 8) },
		"version 4.0":     func(b []byte) { b[0] = 4 },
		"float rep 7":     func(b []byte) { b[5] = 7 },
		"char rep EBCDIC": func(b []byte) { b[4] = 0x12 },
	} {
		b := append([]byte(nil), good...)
		mut(b)
		if LooksLike(b) {
			t.Errorf("LooksLike(%s) = true", name)
		}
	}
}

func TestParseFault(t *testing.T) {
	for _, c := range []struct {
		status uint32
		name   string
	}{
		{0x1c010003, "nca_s_unk_if"}, {0x1c010002, "nca_s_op_rng_error"}, {5, "nca_s_fault_access_denied"},
		{0x1c01000b, "nca_s_proto_error"}, {0x6f7, "nca_s_fault_ndr"}, {0x16c9a0d6, "ept_s_not_registered"},
		{0x1c01abcd, "0x1c01abcd"},
	} {
		body := cat(le32(32), le16(1), []byte{0, 0}, le32(c.status), le32(0))
		p, err := Parse(pdu(PTypeFault, 3, 9, body, nil))
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != c.status || StatusName(p.Status) != c.name || p.ContextID != 1 || p.AllocHint != 32 {
			t.Errorf("fault %#x: %+v name %s", c.status, p, StatusName(p.Status))
		}
	}
	if StatusHex(0x1c010003) != "0x1c010003" {
		t.Errorf("StatusHex %s", StatusHex(0x1c010003))
	}
	// fault too short for its status
	if _, err := Parse(pdu(PTypeFault, 3, 9, cat(le32(0), le16(0), []byte{0, 0}, []byte{1, 2}), nil)); err != ErrTruncated {
		t.Errorf("short fault: %v", err)
	}
}

func TestParseBindNak(t *testing.T) {
	p, err := Parse(pdu(PTypeBindNak, 3, 2, cat(le16(8), []byte{1, 5, 0}), nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.RejectReason != 8 || BindNakReasonName(p.RejectReason) != "authentication_type_not_recognized" ||
		len(p.Versions) != 1 || p.Versions[0] != [2]uint8{5, 0} {
		t.Errorf("bind_nak %+v", p)
	}
	// lying n_protocols
	if _, err := Parse(pdu(PTypeBindNak, 3, 2, cat(le16(4), []byte{200, 5, 0}), nil)); err != ErrTruncated {
		t.Errorf("lying n_protocols: %v", err)
	}
	if BindNakReasonName(77) != "reason_77" {
		t.Error(BindNakReasonName(77))
	}
}

func TestParseRequestObjectAndAuth(t *testing.T) {
	obj := MustUUID("11223344-5566-7788-99aa-bbccddeeff00")
	stub := []byte{0xde, 0xad, 0xbe, 0xef, 0x01}
	auth := &AuthVerifier{Type: 16, Level: AuthLevelIntegrity, ContextID: 77, Value: make([]byte, 16)}
	b := pdu(PTypeRequest, FlagFirstFrag|FlagLastFrag|FlagObjectUUID, 3,
		cat(le32(5), le16(2), le16(4), uuidLE(obj), stub), auth)
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasObject || p.Object != obj || p.Opnum != 4 || p.ContextID != 2 {
		t.Errorf("request %+v", p)
	}
	if string(p.Stub) != string(stub) {
		t.Errorf("stub % x (auth pad not removed?)", p.Stub)
	}
	if !p.HasAuth || p.Auth.PadLen != 3 || p.Auth.TypeName() != "kerberos" || p.Auth.LevelName() != "integrity" ||
		p.Auth.ContextID != 77 || p.Encrypted {
		t.Errorf("auth %+v", p.Auth)
	}
	// privacy: stub marked encrypted, not parsed
	auth.Level = AuthLevelPrivacy
	p, _ = Parse(pdu(PTypeRequest, 3, 3, cat(le32(5), le16(0), le16(0), stub), auth))
	if p == nil || !p.Encrypted || p.Auth.LevelName() != "privacy" {
		t.Errorf("privacy %+v", p)
	}
	// auth_length larger than the PDU
	bad := append([]byte(nil), b...)
	binary.LittleEndian.PutUint16(bad[10:], 0xfff0)
	if _, err := Parse(bad); err != ErrAuth {
		t.Errorf("lying auth_length: %v", err)
	}
	// auth_pad_length larger than the stub
	bad = append([]byte(nil), b...)
	bad[len(bad)-16-8+2] = 200
	if _, err := Parse(bad); err != ErrAuth {
		t.Errorf("lying auth_pad_length: %v", err)
	}
	// object flag set, no room for the object
	if _, err := Parse(pdu(PTypeRequest, 0x83, 3, cat(le32(0), le16(0), le16(0), []byte{1, 2}), nil)); err != ErrTruncated {
		t.Errorf("short object: %v", err)
	}
}

func TestParseBindLyingCounts(t *testing.T) {
	head := cat(le16(4280), le16(4280), le32(0))
	ctx := cat(le16(0), []byte{1, 0}, uuidLE(IfICertPassage), le16(0), le16(0), uuidLE(TransferNDR), le32(2))
	p, err := Parse(pdu(PTypeBind, 3, 1, cat(head, []byte{1, 0, 0, 0}, ctx), nil))
	if err != nil || len(p.Contexts) != 1 || InterfaceName(p.Contexts[0].Abstract.UUID) != "ICertPassage" ||
		TransferName(p.Contexts[0].Transfer[0].UUID) != "NDR" {
		t.Fatalf("bind %+v %v", p, err)
	}
	// 255 contexts announced, one present
	if _, err := Parse(pdu(PTypeBind, 3, 1, cat(head, []byte{255, 0, 0, 0}, ctx), nil)); err != ErrTruncated {
		t.Errorf("lying n_context_elem: %v", err)
	}
	// 200 transfer syntaxes announced
	bad := append([]byte(nil), ctx...)
	bad[2] = 200
	if _, err := Parse(pdu(PTypeBind, 3, 1, cat(head, []byte{1, 0, 0, 0}, bad), nil)); err != ErrTruncated {
		t.Errorf("lying n_transfer_syn: %v", err)
	}
	// bind_ack: sec_addr length past the end
	if _, err := Parse(pdu(PTypeBindAck, 3, 1, cat(head, le16(900), []byte("49712\x00")), nil)); err != ErrTruncated {
		t.Errorf("lying sec_addr len: %v", err)
	}
	// bind_ack: results announced, not present
	if _, err := Parse(pdu(PTypeBindAck, 3, 1, cat(head, le16(6), []byte("49712\x00"), []byte{9, 0, 0, 0}), nil)); err != ErrTruncated {
		t.Errorf("lying n_results: %v", err)
	}
	// bind_ack with a provider rejection
	res := cat(le16(ResultProviderRejection), le16(1), make([]byte, 20))
	p, err = Parse(pdu(PTypeBindAck, 3, 1, cat(head, le16(6), []byte("49712\x00"), []byte{1, 0, 0, 0}, res), nil))
	if err != nil || p.SecAddr != "49712" || len(p.Results) != 1 || p.Results[0].ResultName() != "provider_rejection" ||
		p.Results[0].ReasonName() != "abstract_syntax_not_supported" || p.Results[0].Accepted() {
		t.Errorf("bind_ack %+v %v", p, err)
	}
}

func TestParseHeaderOnlyTypes(t *testing.T) {
	for _, pt := range []PType{PTypeShutdown, PTypeCoCancel, PTypeOrphaned, PTypeAuth3} {
		p, err := Parse(pdu(pt, 3, 5, []byte{0, 0, 0, 0}, nil))
		if err != nil || p.PType != pt || p.CallID != 5 {
			t.Errorf("%v: %+v %v", pt, p, err)
		}
	}
	if _, err := Parse(pdu(PTypePing, 3, 5, nil, nil)); err != ErrPType {
		t.Errorf("connectionless ping: %v", err)
	}
}

func TestCallAssembler(t *testing.T) {
	frag := func(flags uint8, call uint32, resp bool, stub string) *PDU {
		p := &PDU{Header: Header{Flags: flags, CallID: call}, Stub: []byte(stub)}
		if resp {
			p.PType = PTypeResponse
		}
		return p
	}
	var a CallAssembler
	if _, done, err := a.Add(frag(FlagFirstFrag, 1, true, "ab")); done || err != nil {
		t.Fatal(done, err)
	}
	// interleaved request with the same call id does not disturb the response
	if s, done, _ := a.Add(frag(3, 1, false, "req")); !done || string(s) != "req" {
		t.Fatal(string(s), done)
	}
	a.Add(frag(0, 1, true, "cd"))
	s, done, err := a.Add(frag(FlagLastFrag, 1, true, "ef"))
	if !done || err != nil || string(s) != "abcdef" || a.Pending() != 0 {
		t.Fatalf("%q %v %v pending %d", s, done, err, a.Pending())
	}
	if _, _, err := a.Add(frag(FlagLastFrag, 9, true, "x")); err != ErrNoFirstFrag {
		t.Errorf("orphan fragment: %v", err)
	}
	// size cap
	b := CallAssembler{MaxCallBytes: 5}
	b.Add(frag(FlagFirstFrag, 2, true, "abc"))
	if _, _, err := b.Add(frag(0, 2, true, "def")); err != ErrCallTooLarge || b.Pending() != 0 {
		t.Errorf("cap: %v pending %d", err, b.Pending())
	}
	if _, _, err := b.Add(frag(3, 2, true, "toolong")); err != ErrCallTooLarge {
		t.Errorf("single fragment over cap: %v", err)
	}
	// calls-in-flight cap
	c := CallAssembler{MaxCalls: 2}
	c.Add(frag(FlagFirstFrag, 1, true, "a"))
	c.Add(frag(FlagFirstFrag, 2, true, "a"))
	if _, _, err := c.Add(frag(FlagFirstFrag, 3, true, "a")); err != ErrTooManyCalls || c.Pending() != 2 {
		t.Errorf("too many: %v %d", err, c.Pending())
	}
	// a fault ends the pending response
	c.Add(&PDU{Header: Header{PType: PTypeFault, CallID: 1, Flags: 3}})
	if c.Pending() != 1 {
		t.Errorf("fault did not drop call 1: %d", c.Pending())
	}
	var d CallAssembler
	d.MaxCallBytes = DefaultMaxCallBytes
	big := make([]byte, 1<<20)
	d.Add(&PDU{Header: Header{PType: PTypeResponse, Flags: FlagFirstFrag}, Stub: big})
	var err2 error
	for i := 0; i < 4 && err2 == nil; i++ {
		_, _, err2 = d.Add(&PDU{Header: Header{PType: PTypeResponse}, Stub: big})
	}
	if !errors.Is(err2, ErrCallTooLarge) {
		t.Errorf("4 MiB cap not enforced: %v", err2)
	}
}

// tower builds tower octets from (lhs, rhs) pairs.
func tower(floors ...[]byte) []byte {
	b := le16(uint16(len(floors) / 2))
	for i := 0; i+1 < len(floors); i += 2 {
		b = append(b, le16(uint16(len(floors[i])))...)
		b = append(b, floors[i]...)
		b = append(b, le16(uint16(len(floors[i+1])))...)
		b = append(b, floors[i+1]...)
	}
	return b
}

func certPassageTower(port uint16, ip [4]byte) []byte {
	return tower(
		cat([]byte{0x0d}, uuidLE(IfICertPassage), le16(0)), le16(0),
		cat([]byte{0x0d}, uuidLE(TransferNDR), le16(2)), le16(0),
		[]byte{0x0b}, le16(0),
		[]byte{0x07}, []byte{byte(port >> 8), byte(port)},
		[]byte{0x09}, ip[:],
	)
}

func TestParseTowerEdges(t *testing.T) {
	tw, err := ParseTower(certPassageTower(49712, [4]byte{0, 0, 0, 0}))
	if err != nil || tw.Protocol != "ncacn_ip_tcp" || tw.Port != 49712 || tw.Addr.String() != "0.0.0.0" ||
		InterfaceName(tw.Interface) != "ICertPassage" || tw.Transfer != TransferNDR || tw.TransferVersion != 2 {
		t.Fatalf("%+v %v", tw, err)
	}
	np, err := ParseTower(tower(
		cat([]byte{0x0d}, uuidLE(IfICertPassage), le16(0)), le16(0),
		cat([]byte{0x0d}, uuidLE(TransferNDR), le16(2)), le16(0),
		[]byte{0x0b}, le16(0), []byte{0x0f}, []byte("\\PIPE\\cert\x00"), []byte{0x11}, []byte("CA01\x00")))
	if err != nil || np.Protocol != "ncacn_np" || np.Pipe != `\PIPE\cert` || np.Host != "CA01" || np.Addr.IsValid() {
		t.Errorf("np %+v %v", np, err)
	}
	udp, _ := ParseTower(tower(cat([]byte{0x0d}, uuidLE(IfEPM), le16(3)), le16(0), []byte{0x0a}, le16(0), []byte{0x08}, []byte{0, 135}))
	if udp.Protocol != "ncadg_ip_udp" || udp.Port != 135 || udp.VersionMajor != 3 {
		t.Errorf("udp %+v", udp)
	}
	good := certPassageTower(1, [4]byte{10, 0, 0, 5})
	for i := 0; i < len(good); i++ {
		if _, err := ParseTower(good[:i]); err == nil && i > 2 {
			t.Errorf("truncated at %d accepted", i)
		}
	}
	bad := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(bad, 1000)
	if _, err := ParseTower(bad); err != ErrTower {
		t.Errorf("floor_count 1000: %v", err)
	}
	bad = append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(bad[2:], 0xffff)
	if _, err := ParseTower(bad); err != ErrTower {
		t.Errorf("lhs_len 0xffff: %v", err)
	}
	if _, err := ParseTower(tower([]byte{0x0d, 1, 2}, nil)); err != ErrTower {
		t.Errorf("short uuid floor: %v", err)
	}
}

// eptMapResponse builds an NDR ept_map response stub.
func eptMapResponse(status uint32, towers ...[]byte) []byte {
	n := uint32(len(towers))
	b := cat(make([]byte, 20), le32(n), le32(4), le32(0), le32(n))
	for i := range towers {
		b = append(b, le32(uint32(i+3))...) // Windows numbers referents from 3 here
	}
	for _, tw := range towers {
		b = cat(b, le32(uint32(len(tw))), le32(uint32(len(tw))), tw)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, le32(status)...)
}

func TestEptMapEdges(t *testing.T) {
	// full pointers: a repeated referent id aliases the first tower, no second pointee
	tw := certPassageTower(49712, [4]byte{10, 0, 0, 5})
	alias := cat(make([]byte, 20), le32(2), le32(4), le32(0), le32(2), le32(3), le32(3),
		le32(uint32(len(tw))), le32(uint32(len(tw))), tw, make([]byte, (4-len(tw)%4)%4), le32(0))
	if m, err := ParseEptMapResponse(alias, NDR); err != nil || len(m.Towers) != 2 || m.Towers[1].Port != 49712 {
		t.Errorf("aliased referent: %+v %v", m, err)
	}
	m, err := ParseEptMapResponse(eptMapResponse(0x16c9a0d6), NDR)
	if err != nil || len(m.Towers) != 0 || m.StatusName() != "ept_s_not_registered" {
		t.Fatalf("not registered: %+v %v", m, err)
	}
	ok := eptMapResponse(0, certPassageTower(49712, [4]byte{10, 0, 0, 5}))
	m, err = ParseEptMapResponse(ok, NDR)
	if err != nil || len(m.Towers) != 1 || m.Towers[0].Port != 49712 || m.Towers[0].Addr.String() != "10.0.0.5" {
		t.Fatalf("%+v %v", m, err)
	}
	for i := 0; i < len(ok); i++ {
		if _, err := ParseEptMapResponse(ok[:i], NDR); err == nil {
			t.Errorf("truncated at %d accepted", i)
		}
	}
	lie := func(off int, v uint32) []byte {
		b := append([]byte(nil), ok...)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	for name, b := range map[string][]byte{
		"actual > max":      lie(32, 9),
		"offset past max":   lie(28, 0xfffffff0),
		"huge counts":       lie(32, 0x7fffffff),
		"tower_length lies": lie(44, 0xffff),
		"max < length":      lie(40, 1),
		"floor_count lies":  lie(48, 0x1000),
	} {
		if b2 := b; name == "huge counts" {
			binary.LittleEndian.PutUint32(b2[24:], 0xffffffff)
		}
		if _, err := ParseEptMapResponse(b, NDR); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestNames(t *testing.T) {
	for name, u := range map[string]string{
		"EPM": "e1af8308-5d1f-11c9-91a4-08002b14a0fa", "ISystemActivator": "000001a0-0000-0000-c000-000000000046",
		"IObjectExporter": "99fcfec4-5260-101b-bbcb-00aa0021347a", "IRemUnknown2": "00000143-0000-0000-c000-000000000046",
		"ICertPassage": "91ae6020-9e3c-11cf-8d7c-00aa00c091be", "ICertRequestD": "d99e6e70-fc88-11d0-b498-00a0c90312f3",
		"ICertRequestD2": "5422fd3a-d4b8-4cef-a12e-e87d4ca22e90", "ICertAdminD": "d99e6e71-fc88-11d0-b498-00a0c90312f3",
		"ICertAdminD2": "7fe0d935-dda6-443f-85d0-1cfb58fe41dd", "LSARPC": "12345778-1234-abcd-ef00-0123456789ab",
		"NETLOGON": "12345678-1234-abcd-ef00-01234567cffb", "SAMR": "12345778-1234-abcd-ef00-0123456789ac",
		"DRSUAPI": "e3514235-4b06-11d1-ab04-00c04fc2dcd2", "SVCCTL": "367abb81-9844-35f1-ad32-98f038001003",
		"WINREG": "338cd001-2244-31f1-aaaa-900038001003", "IDispatch": "00020400-0000-0000-c000-000000000046",
	} {
		if got := InterfaceName(MustUUID(u)); got != name {
			t.Errorf("InterfaceName(%s) = %q, want %s", u, got, name)
		}
		if got, ok := InterfaceByName(strings.ToLower(name)); !ok || got.String() != u {
			t.Errorf("InterfaceByName(%s) = %v", name, got)
		}
	}
	if InterfaceName(MustUUID("01234567-89ab-cdef-0123-456789abcdef")) != "" {
		t.Error("unknown interface named")
	}
	if ClassName(MustUUID("d99e6e74-fc88-11d0-b498-00a0c90312f3")) != "CCertRequestD" {
		t.Error("CCertRequestD")
	}
	for _, c := range []struct {
		iface UUID
		op    uint16
		want  string
	}{
		{IfEPM, 0, "ept_insert"}, {IfEPM, 2, "ept_lookup"}, {IfEPM, 3, "ept_map"}, {IfEPM, 6, "ept_mgmt_delete"},
		{IfISystemActivator, 3, "RemoteGetClassObject"}, {IfISystemActivator, 4, "RemoteCreateInstance"},
		{IfIObjectExporter, 0, "ResolveOxid"}, {IfIObjectExporter, 4, "ResolveOxid2"}, {IfIObjectExporter, 5, "ServerAlive2"},
		{IfICertPassage, 0, "CertServerRequest"}, {IfICertRequestD, 3, "Request"}, {IfICertRequestD, 4, "GetCACert"},
		{IfICertRequestD, 5, "Ping"}, {IfICertRequestD2, 6, "Request2"}, {IfICertRequestD2, 7, "GetCAProperty"},
		{IfICertRequestD2, 8, "GetCAPropertyInfo"}, {IfICertRequestD2, 9, "Ping2"}, {IfEPM, 7, ""},
	} {
		if got := OpName(c.iface, c.op); got != c.want {
			t.Errorf("OpName(%s, %d) = %q, want %q", InterfaceName(c.iface), c.op, got, c.want)
		}
	}
	for v, want := range map[uint8]string{0: "none", 9: "spnego", 10: "ntlmssp", 14: "schannel", 16: "kerberos", 68: "netlogon", 200: "auth_200"} {
		if AuthTypeName(v) != want {
			t.Errorf("AuthTypeName(%d) = %s", v, AuthTypeName(v))
		}
	}
	for v, want := range map[uint8]string{1: "none", 2: "connect", 3: "call", 4: "packet", 5: "integrity", 6: "privacy", 9: "level_9"} {
		if AuthLevelName(v) != want {
			t.Errorf("AuthLevelName(%d) = %s", v, AuthLevelName(v))
		}
	}
	if !IsBindTimeFeature(MustUUID("6cb71c2c-9812-4540-0300-000000000000")) ||
		BindTimeFeatures(MustUUID("6cb71c2c-9812-4540-0300-000000000000")) != 3 {
		t.Error("bind time feature")
	}
	if PType(12).String() != "bind_ack" || PType(99).String() != "ptype_99" {
		t.Error("ptype names")
	}
}
