package capgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Replicate writes copies of a real Ethernet/IPv4 capture (e.g. a lab capture) as one large
// pcap: copy i moves the client side, every address in 10.77.1.0/24, to 10.(100+i/65536).x.y,
// and shifts the time so that the copies follow each other. The protocol bytes stay real;
// the result has as many distinct flows as copies times the flows of the source. IP
// checksums are not recomputed (the analyzer does not check them).
func Replicate(src string, dst io.Writer, copies int) (packets int, err error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return 0, err
	}
	type rec struct {
		ts   time.Time
		data []byte
	}
	var recs []rec
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		recs = append(recs, rec{ci.Timestamp, data})
	}
	if len(recs) == 0 {
		return 0, fmt.Errorf("%s: no packets", src)
	}
	span := recs[len(recs)-1].ts.Sub(recs[0].ts) + time.Second
	bw := bufio.NewWriterSize(dst, 1<<20)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		return 0, err
	}
	buf := make([]byte, 0, 65536)
	for i := 0; i < copies; i++ {
		a, b, c := byte(100+i/65536), byte(i>>8), byte(i)
		shift := time.Duration(i) * span
		for _, rc := range recs {
			buf = append(buf[:0], rc.data...)
			rewriteClient(buf, a, b, c)
			ci := gopacket.CaptureInfo{Timestamp: rc.ts.Add(shift), CaptureLength: len(buf), Length: len(buf)}
			if err := w.WritePacket(ci, buf); err != nil {
				return packets, err
			}
			packets++
		}
	}
	return packets, bw.Flush()
}

// rewriteClient moves 10.77.1.x addresses of an Ethernet/IPv4 frame (outer header, and the
// header an ICMP error quotes) to 10.a.b.c.
func rewriteClient(p []byte, a, b, c byte) {
	off := 14
	for off+4 <= len(p) && binary.BigEndian.Uint16(p[off-2:off]) == 0x8100 {
		off += 4
	}
	if off > len(p) || binary.BigEndian.Uint16(p[off-2:off]) != 0x0800 {
		return
	}
	for depth := 0; depth < 2 && off+20 <= len(p); depth++ {
		for _, at := range []int{off + 12, off + 16} {
			if p[at] == 10 && p[at+1] == 77 && p[at+2] == 1 {
				p[at+1], p[at+2], p[at+3] = a, b, c
			}
		}
		if p[off+9] != 1 { // quoted header only inside ICMP
			return
		}
		off += int(p[off]&0x0f)*4 + 8
	}
}
