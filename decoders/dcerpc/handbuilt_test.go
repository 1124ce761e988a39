package dcerpc

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The hand-built ICertPassage exchange: EPM bind, ept_map for ICertPassage answered
// with a tower 10.0.0.5:49712, then a bind to ICertPassage on 49712, a CertServerRequest,
// a fault (nca_s_op_rng_error) for opnum 9, a bind_nak, and a bind offering every
// interface of the table (to check the UUIDs against tshark's registrations).
// ADCSFLOW_WRITE_PCAP=1 go test -run TestHandbuiltICertPassage writes
// testdata/handbuilt/icertpassage.pcap; the .tshark files beside it are tshark's view
// (commands in testdata/handbuilt/README.md).

type hbPacket struct {
	toServer bool
	port     uint16 // server port
	pdu      []byte
}

func bindBody(ifaces ...UUID) []byte {
	b := cat(le16(5840), le16(5840), le32(0), []byte{byte(len(ifaces)), 0, 0, 0})
	for i, u := range ifaces {
		b = cat(b, le16(uint16(i)), []byte{1, 0}, uuidLE(u), le16(ifVersion(u)), le16(0), uuidLE(TransferNDR), le32(2))
	}
	return b
}

func ifVersion(u UUID) uint16 {
	switch u {
	case IfEPM:
		return 3
	}
	return 0
}

func bindAckBody(secAddr string, n int) []byte {
	sa := append([]byte(secAddr), 0)
	b := cat(le16(5840), le16(5840), le32(0x1234), le16(uint16(len(sa))), sa)
	for (HeaderLen+len(b))%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, byte(n), 0, 0, 0)
	for i := 0; i < n; i++ {
		b = cat(b, le16(0), le16(0), uuidLE(TransferNDR), le32(2))
	}
	return b
}

func eptMapRequest(tw []byte) []byte {
	obj := cat(le32(1), make([]byte, 16))
	b := cat(obj, le32(2), le32(uint32(len(tw))), le32(uint32(len(tw))), tw)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return cat(b, make([]byte, 20), le32(4))
}

func handbuiltPackets() []hbPacket {
	srv := [4]byte{10, 0, 0, 5}
	req := eptMapRequest(certPassageTower(135, [4]byte{}))
	resp := eptMapResponse(0, certPassageTower(49712, srv))
	var all []UUID
	for _, i := range interfaces {
		all = append(all, i.UUID)
	}
	return []hbPacket{
		{true, 135, pdu(PTypeBind, 3, 1, bindBody(IfEPM), nil)},
		{false, 135, pdu(PTypeBindAck, 3, 1, bindAckBody("135", 1), nil)},
		{true, 135, pdu(PTypeRequest, 3, 2, cat(le32(uint32(len(req))), le16(0), le16(3), req), nil)},
		{false, 135, pdu(PTypeResponse, 3, 2, cat(le32(uint32(len(resp))), le16(0), []byte{0, 0}, resp), nil)},
		{true, 49712, pdu(PTypeBind, 3, 1, bindBody(IfICertPassage), nil)},
		{false, 49712, pdu(PTypeBindAck, 3, 1, bindAckBody("49712", 1), nil)},
		{true, 49712, pdu(PTypeRequest, 3, 2, cat(le32(8), le16(0), le16(0), make([]byte, 8)), nil)},
		{true, 49712, pdu(PTypeRequest, 3, 3, cat(le32(0), le16(0), le16(9)), nil)},
		{false, 49712, pdu(PTypeFault, 3, 3, cat(le32(0), le16(0), []byte{0, 0}, le32(0x1c010002), le32(0)), nil)},
		{true, 49712, pdu(PTypeBind, 3, 4, bindBody(all...), nil)},
		{false, 49712, pdu(PTypeBindNak, 3, 4, cat(le16(4), []byte{1, 5, 0}), nil)},
	}
}

func writeHandbuiltPcap(t *testing.T, path string) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	cli, srv := net.IP{10, 0, 0, 20}, net.IP{10, 0, 0, 5}
	cmac, smac := net.HardwareAddr{2, 0, 0, 0, 0, 20}, net.HardwareAddr{2, 0, 0, 0, 0, 5}
	seq := map[string]uint32{}
	clock := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range handbuiltPackets() {
		cport := layers.TCPPort(50001)
		if p.port != 135 {
			cport = 50002
		}
		sport := layers.TCPPort(p.port)
		kc, ks := "c"+strconv.Itoa(int(p.port)), "s"+strconv.Itoa(int(p.port))
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 128, Protocol: layers.IPProtocolTCP, SrcIP: cli, DstIP: srv}
		tcp := &layers.TCP{SrcPort: cport, DstPort: sport, Seq: 1000 + seq[kc], Ack: 5000 + seq[ks], ACK: true, PSH: true, Window: 64240}
		if !p.toServer {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = srv, cli
			tcp.SrcPort, tcp.DstPort = sport, cport
			tcp.Seq, tcp.Ack = 5000+seq[ks], 1000+seq[kc]
			seq[ks] += uint32(len(p.pdu))
		} else {
			seq[kc] += uint32(len(p.pdu))
		}
		tcp.SetNetworkLayerForChecksum(ip)
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(p.pdu)); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Millisecond)
		d := sb.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: clock, CaptureLength: len(d), Length: len(d)}, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readTsharkTable reads "frame<TAB>field<TAB>..." lines written by tshark -T fields.
func readTsharkTable(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "handbuilt", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

func TestHandbuiltICertPassage(t *testing.T) {
	pcap := filepath.Join("testdata", "handbuilt", "icertpassage.pcap")
	if os.Getenv("ADCSFLOW_WRITE_PCAP") != "" {
		writeHandbuiltPcap(t, pcap)
	}
	pk := handbuiltPackets()
	// The stored pcap must still be what the builder makes (else re-run tshark).
	stored, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pk {
		if !bytes.Contains(stored, p.pdu) {
			t.Fatalf("packet %d changed; regenerate the pcap and the tshark files", i+1)
		}
	}
	// tshark: frame, pkt_type, opnum, bind_to_uuid, sec_addr, status, reject reason,
	// epm.uuid, epm.proto.tcp_port, epm.proto.ip.
	rows := readTsharkTable(t, "icertpassage.fields.tsv")
	if len(rows) != len(pk) {
		t.Fatalf("tshark saw %d DCE/RPC frames, built %d", len(rows), len(pk))
	}
	for i, row := range rows {
		p, err := Parse(pk[i].pdu)
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		eq(t, "frame "+row[0], "ptype", strconv.Itoa(int(p.PType)), row[1])
		switch p.PType {
		case PTypeRequest:
			eq(t, "frame "+row[0], "opnum", strconv.Itoa(int(p.Opnum)), row[2])
		case PTypeBind:
			var us []string
			for _, c := range p.Contexts {
				us = append(us, c.Abstract.UUID.String())
			}
			eq(t, "frame "+row[0], "bind uuids", strings.Join(us, ","), row[3])
		case PTypeBindAck:
			eq(t, "frame "+row[0], "sec_addr", p.SecAddr, row[4])
		case PTypeFault:
			eq(t, "frame "+row[0], "status", StatusHex(p.Status), row[5])
			eq(t, "frame "+row[0], "status name", StatusName(p.Status), "nca_s_op_rng_error")
		case PTypeBindNak:
			eq(t, "frame "+row[0], "reject reason", strconv.Itoa(int(p.RejectReason)), row[6])
		case PTypeResponse:
			m, err := ParseEptMapResponse(p.Stub, NDR)
			if err != nil || len(m.Towers) != 1 {
				t.Fatalf("ept_map response: %v", err)
			}
			tw := m.Towers[0]
			eq(t, "frame "+row[0], "tower uuids", tw.Interface.String()+","+tw.Transfer.String(), row[7])
			eq(t, "frame "+row[0], "tower port", strconv.Itoa(int(tw.Port)), row[8])
			eq(t, "frame "+row[0], "tower ip", tw.Addr.String(), row[9])
		}
	}
	// Interface names: tshark's showname for each bind_to_uuid of the big bind
	// ("Interface: NAME UUID: ..."). Every UUID tshark names must be one we name.
	names := readTsharkTable(t, "icertpassage.ifnames.tsv")
	known := 0
	for _, row := range names {
		u, err := ParseUUID(row[0])
		if err != nil {
			t.Fatal(err)
		}
		ours := InterfaceName(u)
		if ours == "" {
			t.Errorf("%s: we have no name, tshark says %q", row[0], row[1])
		}
		if row[1] != "" {
			known++
			if !strings.EqualFold(strings.ReplaceAll(ours, "_", ""), strings.ReplaceAll(row[1], "_", "")) {
				t.Logf("%s: ours %q, tshark %q", row[0], ours, row[1])
			}
		}
	}
	if known < 30 {
		t.Errorf("tshark knows only %d of our interfaces", known)
	}
}
