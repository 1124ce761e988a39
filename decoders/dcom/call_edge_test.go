package dcom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func put32(b []byte, off int, v uint32) []byte {
	b = clone(b)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

// Every strict prefix of a real stub is rejected, never a panic.
func TestTruncatedRealStubs(t *testing.T) {
	for _, f := range fixtures {
		stub, ts := loadFixture(t, f.name)
		op := uint16(3)
		if ts["opnum"][0] == "4" {
			op = 4
		}
		for n := 0; n < len(stub); n++ {
			var err error
			if f.resp {
				_, err = ParseResponse(f.iface, op, stub[:n])
			} else {
				_, err = ParseRequest(f.iface, op, stub[:n])
			}
			if err == nil {
				t.Errorf("%s: prefix of %d/%d bytes accepted", f.name, n, len(stub))
				break
			}
		}
	}
}

func TestLyingCountsInRealStubs(t *testing.T) {
	resp, _ := loadFixture(t, "covenant_f160_getclassobject_resp")
	req, _ := loadFixture(t, "zeek_f10_createinstance_req")
	rox, _ := loadFixture(t, "covenant_f216_resolveoxid2_resp")
	roxReq, _ := loadFixture(t, "covenant_f211_resolveoxid2_req")

	// Offsets located by content, so the test follows the structure, not magic numbers.
	tsHdr := []byte{0x01, 0x10, 0x08, 0x00, 0xcc, 0xcc, 0xcc, 0xcc}
	firstHdr := bytes.Index(resp, tsHdr)                              // CustomHeader of ActivationPropertiesOut
	clsidLE := []byte{0x5e, 0xf0, 0xc3, 0x8b, 0x6b, 0xd8, 0xd0, 0x11} // 8bc3f05e-d86b-11d0-...
	instCLSID := bytes.Index(req, clsidLE)
	scm := bytes.LastIndex(resp, tsHdr) // ScmReplyInfoData (the last property)
	if firstHdr < 0 || instCLSID < 0 || scm <= firstHdr {
		t.Fatal("fixture layout changed")
	}
	// ScmReplyInfo body: pvReserved, remoteReply, OXID(8), pdsa, IPID(16), hint, version, then DSA conformance.
	dsaConf := scm + 16 + 8 + 8 + 4 + 16 + 4 + 4

	for _, c := range []struct {
		name string
		resp bool
		op   uint16
		ex   bool
		stub []byte
		want string
	}{
		{"ulCntData huge", true, 3, false, put32(resp, 12, 0xffffffff), "ulCntData"},
		{"ulCntData and conformance huge", true, 3, false, put32(put32(resp, 12, 0x7fffffff), 16, 0x7fffffff), "exceeds limit"},
		{"ulCntData short", true, 3, false, put32(put32(resp, 12, 64), 16, 64), "truncated"},
		{"big-endian properties", true, 3, false, func() []byte { b := clone(resp); b[firstHdr+1] = 0x00; return b }(), "big-endian"},
		{"custom header cIfs", true, 3, false, put32(resp, firstHdr+16+16, 1000), "exceed limit"},
		{"custom header size", true, 3, false, put32(resp, firstHdr+16+4, 0xfffffff0), "header size"},
		{"property size", true, 3, false, put32(resp, firstHdr+16+88, 0x7fffffff), "property"},
		{"oxid dsa conformance", true, 3, false, put32(resp, dsaConf, 999), "conformance"},
		{"oxid dsa numentries", true, 3, false, put32(resp, dsaConf, 0xfffe), "conformance"},
		{"objref signature", true, 3, false, put32(resp, 20, 0x574f4541), "signature"},
		{"objref not custom", true, 3, false, put32(resp, 24, ObjRefStandard), "OBJREF"},
		{"cIID huge", false, 4, false, put32(req, instCLSID+16+12, 0x10000000), "conformance"},
		{"cIID and conformance huge", false, 4, false, put32(put32(req, instCLSID+16+12, 0x10000000), instCLSID+16+32, 0x10000000), "IIDs"},
		{"orpcthis version", false, 4, false, put32(req, 0, 0x00070006), "ORPCTHIS"},
		{"orpcthis extension lies", false, 4, false, put32(req, 28, 0x00020000), "extent"},
		{"resolveoxid2 conformance", true, 4, true, put32(rox, 4, 0x00ff00a3), "conformance"},
		{"resolveoxid2 numentries", true, 4, true, func() []byte { b := put32(rox, 4, 0xfff0); b[8], b[9] = 0xf0, 0xff; return b }(), "truncated"},
		{"resolveoxid2 trailing", true, 4, true, append(clone(rox), 0, 0, 0, 0), "trailing"},
		{"request trailing", false, 4, false, append(clone(req), 0, 0, 0, 0), "trailing"},
		{"resolveoxid2 req trailing", false, 4, true, append(clone(roxReq), 0, 0), "trailing"},
		{"custom header size too small", true, 3, false, put32(resp, firstHdr+16+4, 16), "header size"},
		{"resolveoxid2 req protseqs", false, 4, true, put32(roxReq, 12, 2), "conformance"},
		{"resolveoxid2 req protseqs big", false, 4, true, func() []byte { b := put32(roxReq, 12, 0xffff); b[8], b[9] = 0xff, 0xff; return b }(), "protseqs"},
	} {
		var err error
		iface := IIDSystemActivator
		if c.ex {
			iface = IIDObjectExporter
		}
		if c.resp {
			_, err = ParseResponse(iface, c.op, c.stub)
		} else {
			_, err = ParseRequest(iface, c.op, c.stub)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	b := clone(resp)
	b[firstHdr+1] = 0
	if _, err := ParseResponse(IIDSystemActivator, 3, b); !errors.Is(err, ErrBigEndian) {
		t.Errorf("big-endian: %v", err)
	}
}

// Failed activations carry no properties, only the HRESULT.
func TestFailedActivation(t *testing.T) {
	for _, c := range []struct {
		hr   uint32
		name string
	}{
		{0x80070005, "E_ACCESSDENIED"},
		{0x80040154, "REGDB_E_CLASSNOTREG"},
		{0x80080005, "CO_E_SERVER_EXEC_FAILURE"},
		{0x800706ba, "RPC_S_SERVER_UNAVAILABLE"},
		{0x80004002, "E_NOINTERFACE"},
		{0x8badf00d, "0x8badf00d"},
	} {
		// ORPCTHAT{flags 0, extensions NULL}, ppActProperties NULL, HRESULT.
		stub := binary.LittleEndian.AppendUint32(make([]byte, 12), c.hr)
		for _, op := range []uint16{OpRemoteGetClassObject, OpRemoteCreateInstance} {
			act, err := ParseResponse(IIDSystemActivator, op, stub)
			if err != nil {
				t.Fatal(err)
			}
			if act.HResult != c.hr || act.HResultName != c.name || len(act.Bindings) != 0 {
				t.Errorf("%#x: %+v", c.hr, act)
			}
		}
	}
}

func TestObjectExporterBuilt(t *testing.T) {
	dsa := buildDSA([]sb{{7, "CA01"}, {7, "10.0.0.5"}, {0x0f, `\\CA01`}}, []secb{{9, 0xffff, ""}})
	ndr := func(b []byte) []byte { // NDR conformance before the structure
		return append(binary.LittleEndian.AppendUint32(nil, uint32(binary.LittleEndian.Uint16(b))), b...)
	}
	// ServerAlive2 reply: COMVERSION, DUALSTRINGARRAY* (referent + pointee), pReserved, status.
	stub := le16(5, 7)
	stub = binary.LittleEndian.AppendUint32(stub, 0x00020000)
	stub = append(stub, ndr(dsa)...)
	for len(stub)%4 != 0 {
		stub = append(stub, 0)
	}
	stub = append(stub, make([]byte, 8)...)
	act, err := ParseResponse(IIDObjectExporter, OpServerAlive2, stub)
	if err != nil {
		t.Fatal(err)
	}
	if act.Method != "ServerAlive2" || act.ComVersion != (ComVersion{5, 7}) || len(act.Bindings) != 3 ||
		act.Bindings[1].Host != "10.0.0.5" || act.Bindings[2].TowerName != "ncacn_np" || act.HResultName != "S_OK" {
		t.Errorf("ServerAlive2: %+v", act)
	}
	// ResolveOxid (opnum 0) reply with an unknown OXID: NULL bindings, zero IPID and hint.
	stub = binary.LittleEndian.AppendUint32(make([]byte, 4+16+4), 1910)
	act, err = ParseResponse(IIDObjectExporter, OpResolveOxid, stub)
	if err != nil || act.HResultName != "OR_INVALID_OXID" || act.Bindings != nil {
		t.Errorf("ResolveOxid: %+v %v", act, err)
	}
	// ResolveOxid request for two protseqs.
	req := binary.LittleEndian.AppendUint64(nil, 0x1122334455667788)
	req = append(req, le16(2, 0)...)
	req = binary.LittleEndian.AppendUint32(req, 2)
	req = append(req, le16(7, 0x1f)...)
	r, err := ParseRequest(IIDObjectExporter, OpResolveOxid, req)
	if err != nil || r.OXID != 0x1122334455667788 || len(r.Protseqs) != 2 || r.Protseqs[1] != TowerNCACNHTTP {
		t.Errorf("ResolveOxid request: %+v %v", r, err)
	}
}

// ORPCTHIS extensions ([MS-DCOM] 2.2.21) are skipped.
func TestORPCThisExtensions(t *testing.T) {
	req, _ := loadFixture(t, "zeek_f10_createinstance_req")
	ext := binary.LittleEndian.AppendUint32(nil, 1)      // size
	ext = binary.LittleEndian.AppendUint32(ext, 0)       // reserved
	ext = binary.LittleEndian.AppendUint32(ext, 0x20004) // extent**
	ext = binary.LittleEndian.AppendUint32(ext, 2)       // conformance (size+1)&~1
	ext = binary.LittleEndian.AppendUint32(ext, 0x20008) // extent[0]
	ext = binary.LittleEndian.AppendUint32(ext, 0)       // extent[1] NULL
	ext = binary.LittleEndian.AppendUint32(ext, 8)       // ORPC_EXTENT conformance
	ext = append(ext, make([]byte, 16)...)               // id
	ext = binary.LittleEndian.AppendUint32(ext, 5)       // size
	ext = append(ext, 1, 2, 3, 4, 5, 0, 0, 0)            // data, padded to 8
	stub := append(put32(req[:32], 28, 0x20000), ext...)
	stub = append(stub, req[32:]...)
	r, err := ParseRequest(IIDSystemActivator, OpRemoteCreateInstance, stub)
	if err != nil || r.CLSID != dcerpc.MustUUID("8bc3f05e-d86b-11d0-a075-00c04fb68820") || len(r.IIDs) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	bad := put32(stub, 32+44, 4000) // extent size disagrees with its conformance
	if _, err := ParseRequest(IIDSystemActivator, OpRemoteCreateInstance, bad); err == nil || !strings.Contains(err.Error(), "extent") {
		t.Errorf("lying extent: %v", err)
	}
}
