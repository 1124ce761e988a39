package analyzer

import (
	"bufio"
	"compress/gzip"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is one captured frame as a source hands it to the analyzer. Data is only valid
// until the source's next call to Next.
type Packet struct {
	Data      []byte
	Timestamp time.Time
	Length    int // original length on the wire
	Link      layers.LinkType
	File      int // index of the capture this packet came from
	Frame     int // 1-based frame number within that capture
}

// Source yields packets in time order. Next returns io.EOF at the end.
type Source interface {
	Next() (Packet, error)
}

// CaptureInfo is what the report says about one input capture.
type CaptureInfo struct {
	File      string    `json:"file"`
	Format    string    `json:"format"`
	Packets   int       `json:"packets"`
	LinkTypes []string  `json:"link_types"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	Warnings  []string  `json:"warnings"`
	// Point names the capture point (e.g. "client", "ca") when the user gave one.
	Point string `json:"point,omitempty"`
	// Unreadable is set when nothing at all could be read from the file.
	Unreadable bool `json:"unreadable,omitempty"`
	// Dropped is set for a live capture: packets libpcap counted as lost (see live.go).
	Dropped *Drops `json:"dropped,omitempty"`

	linkSeen map[layers.LinkType]bool
	lastLink layers.LinkType
}

func (c *CaptureInfo) warn(format string, args ...any) {
	if len(c.Warnings) < maxWarningsPerCapture {
		c.Warnings = append(c.Warnings, fmt.Sprintf(format, args...))
	} else if len(c.Warnings) == maxWarningsPerCapture {
		c.Warnings = append(c.Warnings, "further warnings suppressed")
	}
}

const maxWarningsPerCapture = 50

// ErrUnreadable wraps errors for inputs of which nothing at all could be read.
var ErrUnreadable = errors.New("unreadable capture")

type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// fileSource reads one pcap or pcapng file, plain or gzip-compressed, streaming.
type fileSource struct {
	info   *CaptureInfo
	index  int
	f      *os.File
	gz     *gzip.Reader
	r      packetReader
	ng     bool
	link   layers.LinkType
	frame  int
	closed bool
}

// Magic numbers of the formats we read.
var (
	magicPcapLE     = [4]byte{0xd4, 0xc3, 0xb2, 0xa1}
	magicPcapBE     = [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	magicPcapNanoLE = [4]byte{0x4d, 0x3c, 0xb2, 0xa1}
	magicPcapNanoBE = [4]byte{0xa1, 0xb2, 0x3c, 0x4d}
	magicPcapng     = [4]byte{0x0a, 0x0d, 0x0d, 0x0a}
)

// openFile opens a capture, telling its format from the magic number (not the name).
func openFile(path string, index int, info *CaptureInfo) (*fileSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrUnreadable, err)
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: %w: is a directory", path, ErrUnreadable)
	}
	src := &fileSource{info: info, index: index, f: f}
	var br *bufio.Reader = bufio.NewReaderSize(f, 1<<20)
	head, _ := br.Peek(4)
	if len(head) == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: %w: empty file", path, ErrUnreadable)
	}
	compressed := false
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w: gzip: %v", path, ErrUnreadable, err)
		}
		src.gz = gz
		compressed = true
		br = bufio.NewReaderSize(gz, 1<<16)
		head, _ = br.Peek(4)
	}
	var magic [4]byte
	if len(head) < 4 {
		f.Close()
		return nil, fmt.Errorf("%s: %w: too short to be a capture (%d bytes)", path, ErrUnreadable, len(head))
	}
	copy(magic[:], head)
	switch magic {
	case magicPcapLE, magicPcapBE, magicPcapNanoLE, magicPcapNanoBE:
		r, err := pcapgo.NewReader(br)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w: pcap header: %v", path, ErrUnreadable, err)
		}
		// Captures taken with segmentation offload hold frames larger than the snap length
		// the header claims; tshark reads them, so do we.
		if r.Snaplen() < 262144 {
			r.SetSnaplen(262144)
		}
		src.r = r
		src.link = r.LinkType()
		info.Format = "pcap"
	case magicPcapng:
		r, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w: pcapng header: %v", path, ErrUnreadable, err)
		}
		src.r = r
		src.ng = true
		info.Format = "pcapng"
	default:
		f.Close()
		return nil, fmt.Errorf("%s: %w: not a pcap or pcapng file (magic %x)", path, ErrUnreadable, magic)
	}
	if compressed {
		info.Format += "+gzip"
	}
	return src, nil
}

// Next returns the next packet of the file. A read error ends the file with a warning
// naming the packet; it is not returned as an error (the analysis goes on).
func (s *fileSource) Next() (Packet, error) {
	if s.closed {
		return Packet{}, io.EOF
	}
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		if err != io.EOF {
			s.info.warn("%s: packet %d: %s; stopped reading this file after %d packets",
				s.info.File, s.frame+1, describeReadError(err), s.frame)
		}
		s.close()
		return Packet{}, io.EOF
	}
	s.frame++
	link := s.link
	if s.ng && len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			link = lt
		}
	}
	return Packet{Data: data, Timestamp: ci.Timestamp, Length: ci.Length, Link: link, File: s.index, Frame: s.frame}, nil
}

func describeReadError(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated (the file ends in the middle of this packet)"
	default:
		return "cannot be read: " + err.Error()
	}
}

func (s *fileSource) close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.gz != nil {
		s.gz.Close()
	}
	s.f.Close()
}

// mergeSource merges several sources in time order (captures taken at the same time on
// several hosts). Each source's pending packet stays valid until that source is advanced.
type mergeSource struct {
	h       packetHeap
	pending int // index into srcs of the packet returned last, to advance on the next call
	srcs    []Source
	started bool
}

type heapItem struct {
	pkt Packet
	src int
	seq uint64
}

type packetHeap []heapItem

func (h packetHeap) Len() int { return len(h) }
func (h packetHeap) Less(i, j int) bool {
	if !h[i].pkt.Timestamp.Equal(h[j].pkt.Timestamp) {
		return h[i].pkt.Timestamp.Before(h[j].pkt.Timestamp)
	}
	if h[i].src != h[j].src {
		return h[i].src < h[j].src
	}
	return h[i].seq < h[j].seq
}
func (h packetHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *packetHeap) Push(x any)   { *h = append(*h, x.(heapItem)) }
func (h *packetHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

// NewMergeSource merges sources by timestamp; with one source it is that source.
func NewMergeSource(srcs ...Source) Source {
	if len(srcs) == 1 {
		return srcs[0]
	}
	return &mergeSource{srcs: srcs, pending: -1}
}

func (m *mergeSource) Next() (Packet, error) {
	if !m.started {
		m.started = true
		for i, s := range m.srcs {
			m.pull(i, s)
		}
	} else if m.pending >= 0 {
		m.pull(m.pending, m.srcs[m.pending])
	}
	if len(m.h) == 0 {
		m.pending = -1
		return Packet{}, io.EOF
	}
	it := heap.Pop(&m.h).(heapItem)
	m.pending = it.src
	return it.pkt, nil
}

func (m *mergeSource) pull(i int, s Source) {
	p, err := s.Next()
	if err != nil {
		return
	}
	heap.Push(&m.h, heapItem{pkt: p, src: i})
}
