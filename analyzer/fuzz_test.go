package analyzer

import (
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// FuzzHandle feeds arbitrary frames through the whole pipeline (link layers, IP with
// fragments, TCP reassembly, content detection, every decoder, the report): nothing may
// panic. Seeds are the frames of a lab capture, each followed by its successors so that
// the fuzzer mutates real conversations.
func FuzzHandle(f *testing.F) {
	info := &CaptureInfo{File: "seed"}
	src, err := openFile("../testdata/captures/lab-all-open.pcapng", 0, info)
	if err != nil {
		f.Fatal(err)
	}
	var frames [][]byte
	for {
		p, err := src.Next()
		if err == io.EOF {
			break
		}
		frames = append(frames, append([]byte(nil), p.Data...))
	}
	for i := 0; i+3 <= len(frames); i += 3 {
		f.Add(uint8(0), frames[i], frames[i+1], frames[i+2])
		f.Add(uint8(0x80), frames[i], frames[i+1], frames[i+2])
	}
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeNull, layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6}
	f.Fuzz(func(t *testing.T, link uint8, a, b, c []byte) {
		an := New(Options{MaxFlows: 64})
		an.AddCapture(&CaptureInfo{File: "fuzz"})
		ts := time.Unix(1700000000, 0)
		lt := links[int(link&0x7f)%len(links)]
		step := time.Millisecond
		if link&0x80 != 0 {
			// The streaming analysis of files: sweeps retire idle flows between packets.
			an.streaming = true
			step = 100 * time.Second
		}
		for i, d := range [][]byte{a, b, c, a, c, b} {
			an.Handle(Packet{Data: d, Timestamp: ts.Add(time.Duration(i) * step), Length: len(d), Link: lt, Frame: i + 1})
		}
		r := an.Finish()
		if err := r.WriteJSON(io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteText(io.Discard, TextOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
