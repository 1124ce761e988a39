package analyzer

import (
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"
)

// The issue asked for gopacket's reassembly unless measurement shows it is the bottleneck.
// This benchmark measures reading and decoding the benchmark capture plus gopacket's
// reassembly alone (no protocol decoding, no flow table): compare its ns/op with
// BenchmarkAnalyze, which does all of the analysis with the analyzer's own in-order
// reassembly (app.go). `make bench` runs both.

type countStream struct{ n *int }

func (s countStream) Accept(*layers.TCP, gopacket.CaptureInfo, reassembly.TCPFlowDirection, reassembly.Sequence, *bool, reassembly.AssemblerContext) bool {
	return true
}
func (s countStream) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	l, _ := sg.Lengths()
	*s.n += l
}
func (s countStream) ReassemblyComplete(reassembly.AssemblerContext) bool { return true }

type countFactory struct{ n int }

func (f *countFactory) New(_, _ gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	return countStream{&f.n}
}

type benchCtx struct{ ci gopacket.CaptureInfo }

func (c *benchCtx) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

func BenchmarkGopacketReassemblyOnly(b *testing.B) {
	path, size := benchCapture(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		info := &CaptureInfo{File: path}
		src, err := openFile(path, 0, info)
		if err != nil {
			b.Fatal(err)
		}
		d := newDecoder()
		fac := &countFactory{}
		asm := reassembly.NewAssembler(reassembly.NewStreamPool(fac))
		ctx := &benchCtx{}
		var last time.Time
		for n := 0; ; n++ {
			p, err := src.Next()
			if err == io.EOF {
				break
			}
			first, _ := firstLayer(p.Link, p.Data)
			d.decoded = d.decoded[:0]
			_ = d.parser(first).DecodeLayers(p.Data, &d.decoded)
			var netFlow gopacket.Flow
			isTCP := false
			for _, lt := range d.decoded {
				switch lt {
				case layers.LayerTypeIPv4:
					netFlow = d.ip4.NetworkFlow()
				case layers.LayerTypeIPv6:
					netFlow = d.ip6.NetworkFlow()
				case layers.LayerTypeTCP:
					isTCP = true
				}
			}
			if !isTCP {
				continue
			}
			ctx.ci = gopacket.CaptureInfo{Timestamp: p.Timestamp, CaptureLength: len(p.Data), Length: p.Length}
			asm.AssembleWithContext(netFlow, &d.tcp, ctx)
			last = p.Timestamp
			if n%10000 == 0 {
				asm.FlushCloseOlderThan(last.Add(-time.Minute))
			}
		}
		asm.FlushAll()
		if fac.n == 0 {
			b.Fatal("nothing reassembled")
		}
		b.ReportMetric(float64(fac.n)/1e6, "MB-reassembled")
	}
}
