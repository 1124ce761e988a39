package analyzer

import (
	"bytes"
	"encoding/binary"
	"io"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// sameAsLayersTCP reports how tcpHeader and gopacket's layers.TCP differ on b ("" if not):
// both fail, or both read the same ports, sequence numbers, flags and payload.
func sameAsLayersTCP(b []byte) string {
	var want layers.TCP
	var got tcpHeader
	wantErr := want.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
	gotErr := got.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
	switch {
	case (wantErr == nil) != (gotErr == nil):
		return "layers.TCP: " + errString(wantErr) + ", tcpHeader: " + errString(gotErr)
	case wantErr != nil:
		return ""
	}
	var flags uint8
	for _, f := range []struct {
		set bool
		bit uint8
	}{{want.FIN, flagFIN}, {want.SYN, flagSYN}, {want.RST, flagRST}, {want.PSH, flagPSH}, {want.ACK, flagACK}} {
		if f.set {
			flags |= f.bit
		}
	}
	var seg segment
	(&decoder{}).fillTCP(&seg, &got)
	if seg.sport != uint16(want.SrcPort) || seg.dport != uint16(want.DstPort) || seg.seq != want.Seq ||
		seg.ack != want.Ack || seg.flags != flags || !bytes.Equal(seg.payload, want.Payload) ||
		len(seg.payload) != len(want.Payload) {
		return "fields differ"
	}
	return ""
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// TestTCPHeaderIsLayersTCP: on every TCP segment of the real and generated captures, and on
// headers cut short, with bad data offsets and with options, tcpHeader reads what
// layers.TCP reads.
func TestTCPHeaderIsLayersTCP(t *testing.T) {
	hdr := func(off uint8, flags uint8, opts, payload []byte) []byte {
		b := make([]byte, 20, 20+len(opts)+len(payload))
		binary.BigEndian.PutUint16(b[0:], 49700)
		binary.BigEndian.PutUint16(b[2:], 135)
		binary.BigEndian.PutUint32(b[4:], 0xdeadbeef)
		binary.BigEndian.PutUint32(b[8:], 7)
		b[12], b[13] = off<<4, flags
		return append(append(b, opts...), payload...)
	}
	mss := []byte{2, 4, 5, 0xb4, 1, 1, 4, 2}
	cases := [][]byte{nil, make([]byte, 19), hdr(5, 0x02, nil, nil), hdr(5, 0xff, nil, []byte("data")), hdr(4, 0x10, nil, nil),
		hdr(0, 0x10, nil, nil), hdr(7, 0x12, mss, []byte{1}), hdr(7, 0x12, mss, nil), hdr(8, 0x12, mss, nil),
		hdr(15, 0x18, mss, bytes.Repeat([]byte{9}, 60)), hdr(6, 0x10, []byte{30, 40, 0, 0}, nil), hdr(6, 0x10, []byte{5, 1, 0, 0}, []byte("x"))}
	for i, c := range cases {
		if diff := sameAsLayersTCP(c); diff != "" {
			t.Errorf("case %d: %s", i, diff)
		}
	}
	d := newDecoder()
	n := 0
	eachCaptureFrame(t, func(p string, pk Packet) {
		first, ok := firstLayer(pk.Link, pk.Data)
		if !ok {
			return
		}
		d.decoded = d.decoded[:0]
		_ = d.parser(first).DecodeLayers(pk.Data, &d.decoded)
		for _, lt := range d.decoded {
			var ip []byte
			switch {
			case lt == layers.LayerTypeIPv4 && d.ip4.Protocol == layers.IPProtocolTCP:
				ip = d.ip4.Payload
			case lt == layers.LayerTypeIPv6 && d.ip6.NextHeader == layers.IPProtocolTCP:
				ip = d.ip6.Payload
			default:
				continue
			}
			if diff := sameAsLayersTCP(ip); diff != "" {
				t.Fatalf("%s frame %d: %s", p, pk.Frame, diff)
			}
			n++
		}
	})
	if n < 1000 {
		t.Fatalf("only %d segments compared", n)
	}
}

// eachCaptureFrame calls fn with every frame of the shared and lab captures.
func eachCaptureFrame(t *testing.T, fn func(path string, pk Packet)) {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(sharedCaptures, "*.pcap*"))
	lab, _ := filepath.Glob("../testdata/captures/*.pcap*")
	for _, p := range append(paths, lab...) {
		src, err := openFile(p, 0, &CaptureInfo{File: p})
		if err != nil {
			t.Fatal(err)
		}
		for {
			pk, err := src.Next()
			if err == io.EOF {
				break
			}
			fn(p, pk)
		}
	}
}

func FuzzTCPHeader(f *testing.F) {
	f.Add([]byte{0xc2, 0x24, 0, 135, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, 0x12, 0, 0, 0, 0, 0, 0, 2, 4, 5, 0xb4, 1, 1, 4, 2, 'x'})
	f.Add(make([]byte, 20))
	f.Fuzz(func(t *testing.T, b []byte) {
		if diff := sameAsLayersTCP(b); diff != "" {
			t.Fatal(diff)
		}
	})
}

// sameAsLayersEthernet reports how ethHeader and layers.Ethernet differ on b ("" if not):
// error or not, truncation, next layer and payload.
func sameAsLayersEthernet(b []byte) string {
	var want layers.Ethernet
	var got ethHeader
	var wantDF, gotDF truncFeedback
	wantErr := want.DecodeFromBytes(b, &wantDF)
	gotErr := got.DecodeFromBytes(b, &gotDF)
	switch {
	case (wantErr == nil) != (gotErr == nil):
		return "layers.Ethernet: " + errString(wantErr) + ", ethHeader: " + errString(gotErr)
	case wantErr != nil:
		return ""
	case wantDF != gotDF:
		return "truncation differs"
	case want.NextLayerType() != got.NextLayerType():
		return "next layer: " + want.NextLayerType().String() + " and " + got.NextLayerType().String()
	case !bytes.Equal(want.LayerPayload(), got.LayerPayload()) || len(want.LayerPayload()) != len(got.LayerPayload()):
		return "payload differs"
	}
	return ""
}

type truncFeedback bool

func (t *truncFeedback) SetTruncated() { *t = true }

// TestEthHeaderIsLayersEthernet: on every frame of the real and lab captures, and on short,
// 802.3 (length) and VLAN frames, ethHeader reads what layers.Ethernet reads.
func TestEthHeaderIsLayersEthernet(t *testing.T) {
	frame := func(typ uint16, payload int) []byte {
		b := make([]byte, 14+payload)
		binary.BigEndian.PutUint16(b[12:], typ)
		return b
	}
	cases := [][]byte{nil, make([]byte, 13), frame(0x0800, 20), frame(0x86dd, 0), frame(0x8100, 4), frame(0x88a8, 8),
		frame(0x0806, 28), frame(0x0005, 10), frame(0x0010, 10), frame(0x05ff, 3), frame(0x0600, 1), frame(0, 0)}
	for i, c := range cases {
		if diff := sameAsLayersEthernet(c); diff != "" {
			t.Errorf("case %d: %s", i, diff)
		}
	}
	n := 0
	eachCaptureFrame(t, func(p string, pk Packet) {
		if pk.Link != layers.LinkTypeEthernet {
			return
		}
		if diff := sameAsLayersEthernet(pk.Data); diff != "" {
			t.Fatalf("%s frame %d: %s", p, pk.Frame, diff)
		}
		n++
	})
	if n < 1000 {
		t.Fatalf("only %d frames compared", n)
	}
}

func FuzzEthHeader(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45})
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x00, 0x03, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if diff := sameAsLayersEthernet(b); diff != "" {
			t.Fatal(diff)
		}
	})
}
