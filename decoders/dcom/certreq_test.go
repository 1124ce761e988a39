package dcom

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// A CCertRequestD activation (MS-WCCE over DCOM) built from the [MS-DCOM] structures,
// written as testdata/certrequestd.pcap and dissected by tshark into
// testdata/certrequestd.tshark. Regenerate both with:
//
//	go test -run TestCertRequestDCapture ./decoders/dcom/ -args -update
var update = flag.Bool("update", false, "rewrite testdata/certrequestd.{pcap,tshark} (needs tshark)")

var (
	clsidCCertRequestD = dcerpc.MustUUID("d99e6e74-fc88-11d0-b498-00a0c90312f3")
	iidICertRequestD   = dcerpc.MustUUID("d99e6e70-fc88-11d0-b498-00a0c90312f3")
	ndrSyntax          = dcerpc.MustUUID("8a885d04-1ceb-11c9-9fe8-08002b104860")
)

// ndrw is a little-endian NDR writer; alignment is relative to the start of b.
type ndrw struct{ b []byte }

func (w *ndrw) u8(v uint8)   { w.b = append(w.b, v) }
func (w *ndrw) u16(v uint16) { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *ndrw) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *ndrw) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *ndrw) raw(p []byte) { w.b = append(w.b, p...) }
func (w *ndrw) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}
func (w *ndrw) uuid(u dcerpc.UUID) {
	w.u32(binary.BigEndian.Uint32(u[0:4]))
	w.u16(binary.BigEndian.Uint16(u[4:6]))
	w.u16(binary.BigEndian.Uint16(u[6:8]))
	w.raw(u[8:])
}

// typeSer wraps an NDR body in the type serialization v1 headers, padded to 8.
func typeSer(body []byte) []byte {
	for len(body)%8 != 0 {
		body = append(body, 0)
	}
	w := ndrw{}
	w.raw([]byte{1, 0x10, 8, 0, 0xcc, 0xcc, 0xcc, 0xcc})
	w.u32(uint32(len(body)))
	w.u32(0)
	w.raw(body)
	return w.b
}

// actBlob builds an ActivationPropertiesIn/Out OBJREF_CUSTOM inside an MInterfacePointer.
func actBlob(objIID, clsid dcerpc.UUID, props []property) []byte {
	h := ndrw{}
	var total uint32
	for _, p := range props {
		total += uint32(len(p.data))
	}
	hdrBodyLen := 4*5 + 16 + 4*3 + 4 + 16*len(props) + 4 + 4*len(props)
	hdrSize := uint32(16 + (hdrBodyLen+7)&^7)
	h.u32(hdrSize + total)
	h.u32(hdrSize)
	h.u32(0)
	h.u32(2) // MSHCTX_DIFFERENTMACHINE
	h.u32(uint32(len(props)))
	h.uuid(dcerpc.UUID{})
	h.u32(0x20000)
	h.u32(0x20004)
	h.u32(0)
	h.u32(uint32(len(props)))
	for _, p := range props {
		h.uuid(p.clsid)
	}
	h.u32(uint32(len(props)))
	for _, p := range props {
		h.u32(uint32(len(p.data)))
	}
	blob := ndrw{}
	blob.u32(hdrSize + total)
	blob.u32(0)
	blob.raw(typeSer(h.b))
	for _, p := range props {
		blob.raw(p.data)
	}
	o := ndrw{}
	o.u32(objrefSignature)
	o.u32(ObjRefCustom)
	o.uuid(objIID)
	o.uuid(clsid)
	o.u32(0)
	o.u32(uint32(len(blob.b)))
	o.raw(blob.b)
	m := ndrw{}
	m.u32(uint32(len(o.b)))
	m.u32(uint32(len(o.b)))
	m.raw(o.b)
	return m.b
}

const (
	crOXID = 0x0123456789abcdef
	crPort = 49712
)

func certRequestDStubs() (req, resp []byte) {
	// InstantiationInfoData: CCertRequestD, CLSCTX_LOCAL_SERVER|CLSCTX_REMOTE_SERVER, one IID.
	ii := ndrw{}
	ii.uuid(clsidCCertRequestD)
	ii.u32(0x14)
	ii.u32(0)
	ii.u32(0)
	ii.u32(1)
	ii.u32(0)
	ii.u32(0x20000)
	ii.u32(88)
	ii.u16(5)
	ii.u16(7)
	ii.u32(1)
	ii.uuid(iidICertRequestD)
	// ScmRequestInfoData: RemoteRequest asking for ncacn_ip_tcp. Two properties keep the
	// CustomHeader body a multiple of 8: tshark 4.0 reads the first property right after
	// the unpadded header body and would misread an odd count (testdata/README.md).
	sq := ndrw{}
	sq.u32(0)
	sq.u32(0x20000)
	sq.u32(2) // RPC_C_IMP_LEVEL_IDENTIFY
	sq.u16(1)
	sq.align(4)
	sq.u32(0x20004)
	sq.u32(1)
	sq.u16(TowerNCACNIPTCP)
	r := ndrw{}
	// ORPCTHIS
	r.u16(5)
	r.u16(7)
	r.u32(0)
	r.u32(0)
	r.uuid(dcerpc.MustUUID("6b1d2a4e-0c3f-4d5e-8f70-112233445566"))
	r.u32(0)
	r.u32(0)       // pUnkOuter NULL
	r.u32(0x20000) // pActProperties
	r.raw(actBlob(dcerpc.MustUUID("000001a2-0000-0000-c000-000000000046"), CLSIDActivationPropertiesIn,
		[]property{{CLSIDInstantiationInfo, typeSer(ii.b)}, {dcerpc.MustUUID("000001aa-0000-0000-c000-000000000046"), typeSer(sq.b)}}))

	resolver := buildDSA([]sb{{7, "CA01"}, {7, "10.0.0.5"}}, []secb{{9, 0xffff, ""}, {0x10, 0xffff, ""}})
	oxidb := buildDSA([]sb{{7, fmt.Sprintf("CA01[%d]", crPort)}, {7, fmt.Sprintf("10.0.0.5[%d]", crPort)}},
		[]secb{{0x10, 0xffff, "host/CA01.corp.example"}, {9, 0xffff, "host/CA01.corp.example"}})
	// OBJREF_STANDARD for ICertRequestD.
	ob := ndrw{}
	ob.u32(objrefSignature)
	ob.u32(ObjRefStandard)
	ob.uuid(iidICertRequestD)
	ob.u32(0)
	ob.u32(5)
	ob.u64(crOXID)
	ob.u64(0x1111222233334444)
	ob.uuid(dcerpc.MustUUID("00001c04-0ac8-0000-1234-56789abcdef0"))
	ob.raw(resolver)
	po := ndrw{}
	po.u32(1)
	po.u32(0x20000)
	po.u32(0x20004)
	po.u32(0x20008)
	po.u32(1)
	po.uuid(iidICertRequestD)
	po.u32(1)
	po.u32(0)
	po.u32(1)
	po.u32(0x2000c)
	po.u32(uint32(len(ob.b)))
	po.u32(uint32(len(ob.b)))
	po.raw(ob.b)
	sr := ndrw{}
	sr.u32(0)
	sr.u32(0x20000)
	sr.align(8)
	sr.u64(crOXID)
	sr.u32(0x20004)
	sr.uuid(dcerpc.MustUUID("00000c04-0ac8-0000-abcd-ef0123456789"))
	sr.u32(4) // authnHint RPC_C_AUTHN_LEVEL_PKT_INTEGRITY
	sr.u16(5)
	sr.u16(7)
	sr.u32(uint32(binary.LittleEndian.Uint16(oxidb)))
	sr.raw(oxidb)
	s := ndrw{}
	s.u32(0) // ORPCTHAT flags
	s.u32(0) // extensions
	s.u32(0x20000)
	s.raw(actBlob(dcerpc.MustUUID("000001a3-0000-0000-c000-000000000046"), CLSIDActivationPropertiesOut,
		[]property{{CLSIDPropsOutInfo, typeSer(po.b)}, {CLSIDScmReplyInfo, typeSer(sr.b)}}))
	s.align(4)
	s.u32(0) // S_OK
	return r.b, s.b
}

// pdu frames a connection-oriented DCE/RPC PDU (little-endian, single fragment).
func pdu(ptype uint8, callID uint32, body []byte) []byte {
	w := ndrw{}
	w.raw([]byte{5, 0, ptype, 3, 0x10, 0, 0, 0})
	w.u16(uint16(16 + len(body)))
	w.u16(0)
	w.u32(callID)
	w.raw(body)
	return w.b
}

func certRequestDPDUs() [][]byte {
	req, resp := certRequestDStubs()
	bind := ndrw{}
	bind.u16(5840)
	bind.u16(5840)
	bind.u32(0)
	bind.u8(1)
	bind.raw([]byte{0, 0, 0})
	bind.u16(0) // context id
	bind.u8(1)
	bind.u8(0)
	bind.uuid(IIDSystemActivator)
	bind.u16(0)
	bind.u16(0)
	bind.uuid(ndrSyntax)
	bind.u32(2)
	ack := ndrw{}
	ack.u16(5840)
	ack.u16(5840)
	ack.u32(0x1234)
	ack.u16(4)
	ack.raw([]byte("135\x00"))
	ack.raw([]byte{0, 0}) // pad to 4 from the PDU start (16+8+2+4 = 30)
	ack.u8(1)
	ack.raw([]byte{0, 0, 0})
	ack.u16(0)
	ack.u16(0)
	ack.uuid(ndrSyntax)
	ack.u32(2)
	rq := ndrw{}
	rq.u32(uint32(len(req)))
	rq.u16(0)
	rq.u16(OpRemoteCreateInstance)
	rq.raw(req)
	rs := ndrw{}
	rs.u32(uint32(len(resp)))
	rs.u16(0)
	rs.u8(0)
	rs.u8(0)
	rs.raw(resp)
	return [][]byte{pdu(11, 1, bind.b), pdu(12, 1, ack.b), pdu(0, 2, rq.b), pdu(2, 2, rs.b)}
}

// certRequestDPcap writes handshake + bind/bind_ack/request/response between
// 10.0.0.20:50123 and the CA 10.0.0.5:135.
func certRequestDPcap() ([]byte, error) {
	var buf bytes.Buffer
	pw := pcapgo.NewWriter(&buf)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	cli, srv := net.IPv4(10, 0, 0, 20).To4(), net.IPv4(10, 0, 0, 5).To4()
	cmac, smac := net.HardwareAddr{0, 0x15, 0x5d, 0, 0, 0x20}, net.HardwareAddr{0, 0x15, 0x5d, 0, 0, 0x05}
	seq := map[bool]uint32{true: 1000, false: 5000}
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	send := func(fromClient, syn, ack bool, payload []byte) error {
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 128, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv, Flags: layers.IPv4DontFragment}
		tcp := &layers.TCP{SrcPort: 50123, DstPort: 135, Seq: seq[fromClient], Ack: seq[!fromClient], SYN: syn, ACK: ack, PSH: len(payload) > 0, Window: 64240}
		if !fromClient {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = srv, cli
			tcp.SrcPort, tcp.DstPort = 135, 50123
		}
		if !ack {
			tcp.Ack = 0
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return err
		}
		sbuf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sbuf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			return err
		}
		seq[fromClient] += uint32(len(payload))
		if syn {
			seq[fromClient]++
		}
		clock = clock.Add(time.Millisecond)
		data := sbuf.Bytes()
		return pw.WritePacket(gopacket.CaptureInfo{Timestamp: clock, CaptureLength: len(data), Length: len(data)}, data)
	}
	pdus := certRequestDPDUs()
	steps := []struct {
		c, syn, ack bool
		p           []byte
	}{
		{true, true, false, nil}, {false, true, true, nil}, {true, false, true, nil},
		{true, false, true, pdus[0]}, {false, false, true, pdus[1]},
		{true, false, true, pdus[2]}, {false, false, true, pdus[3]},
	}
	for _, s := range steps {
		if err := send(s.c, s.syn, s.ack, s.p); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

const crTsharkFields = "-e frame.number -e dcerpc.pkt_type -e dcerpc.opnum -e dcerpc.cn_frag_len -e dcerpc.cn_auth_len -e dcerpc.cn_flags -e dcom.dualstringarray.tower_id -e dcom.dualstringarray.network_addr -e isystemactivator.properties.instninfo.clsid -e isystemactivator.properties.instninfo.iid -e isystemactivator.properties.iid -e isystemactivator.properties.retval -e isystemactivator.properties.scmresp.authhint -e dcom.version_major -e dcom.version_minor -e dcom.hresult -e oxid.opnum"

func TestCertRequestDCapture(t *testing.T) {
	pcapPath := filepath.Join("testdata", "certrequestd.pcap")
	tsPath := filepath.Join("testdata", "certrequestd.tshark")
	pcap, err := certRequestDPcap()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(pcapPath, pcap, 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"-n", "-r", pcapPath, "-o", "dcerpc.desegment_dcerpc:TRUE", "-o", "dcerpc.reassemble_dcerpc:TRUE",
			"-Y", "isystemactivator", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"}
		args = append(args, strings.Fields(crTsharkFields)...)
		out, err := exec.Command("tshark", args...).Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		if err := os.WriteFile(tsPath, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The builder still produces the committed capture byte for byte.
	old, err := os.ReadFile(pcapPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, pcap) {
		t.Fatal("certRequestDPcap output differs from testdata/certrequestd.pcap; rerun with -update")
	}
	raw, err := os.ReadFile(tsPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("tshark output has %d isystemactivator frames, want 2:\n%s", len(lines), raw)
	}
	col := func(line int, name string) []string {
		cols := strings.Split(lines[line], "\t")
		for i, f := range tsharkFields {
			if f == name && i < len(cols) && cols[i] != "" {
				return strings.Split(cols[i], "|")
			}
		}
		return nil
	}
	reqStub, respStub := certRequestDStubs()
	req, err := ParseRequest(IIDSystemActivator, OpRemoteCreateInstance, reqStub)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "clsid", []string{req.CLSID.String()}, col(0, "clsid"))
	eq(t, "iids", uuids(req.IIDs), col(0, "instn_iid"))
	eq(t, "tshark clsid", col(0, "clsid"), []string{"d99e6e74-fc88-11d0-b498-00a0c90312f3"})
	act, err := ParseResponse(IIDSystemActivator, OpRemoteCreateInstance, respStub)
	if err != nil {
		t.Fatal(err)
	}
	var towers, addrs []string
	for _, it := range act.Interfaces {
		for _, b := range it.Resolver {
			towers, addrs = append(towers, fmt.Sprintf("0x%04x", b.TowerID)), append(addrs, b.NetworkAddr)
		}
	}
	for _, b := range act.Bindings {
		towers, addrs = append(towers, fmt.Sprintf("0x%04x", b.TowerID)), append(addrs, b.NetworkAddr)
	}
	eq(t, "tower_id", towers, col(1, "tower_id"))
	eq(t, "network_addr", addrs, col(1, "network_addr"))
	eq(t, "tshark network_addr", col(1, "network_addr"), []string{"CA01", "10.0.0.5", "CA01[49712]", "10.0.0.5[49712]"})
	eq(t, "out iid", []string{act.Interfaces[0].IID.String()}, col(1, "out_iid"))
	eq(t, "authnHint", []string{fmt.Sprint(act.AuthnHint)}, col(1, "authhint"))
	eq(t, "hresult", []string{fmt.Sprintf("0x%08x", act.HResult)}, col(1, "hresult"))
	if act.OXID != crOXID || act.Interfaces[0].OXID != crOXID || act.Bindings[0].Port != crPort || act.Bindings[1].Port != crPort {
		t.Errorf("activation %+v", act)
	}
}
