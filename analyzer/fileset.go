package analyzer

// Several capture files on the command line are either captures taken at the same time at
// several points (two-point analysis, twopoint.go) or the parts of one capture that was cut
// into files: tcpdump -C (by size), -G (by time) and -W (a ring of N files), Wireshark's and
// dumpcap's file sets (-b filesize:/duration:/files:), editcap -c/-i. A cutting tool writes
// every packet to exactly one file and moves to the next file only after the last packet
// of the current one, so the parts' time spans follow each other without overlapping.
// Captures from several points were taken over the same period: each holds packets from
// all along it, so their spans overlap. That is the decision made here, from the record
// headers alone, before anything is analysed.

import (
	"io"
	"sort"
	"time"
)

// fileSpan is the time span of one capture file and its packet count.
type fileSpan struct {
	First, Last time.Time
	Packets     int
	Err         error
}

// scanSpan reads a capture file (pcap or pcapng, plain or gzip) and returns the earliest
// and latest packet timestamps and the number of packets. It takes min and max over all
// packets rather than the first and last record, since a file can be slightly out of
// order (several interfaces, several capture threads). Only record headers are decoded.
// A file that cannot be opened has Err set; a file truncated in the middle of a packet
// (the part being written when the capture was stopped) counts the packets before the
// cut, as the analysis itself does.
func scanSpan(path string) fileSpan {
	var info CaptureInfo
	src, err := openFile(path, 0, &info)
	if err != nil {
		return fileSpan{Err: err}
	}
	defer src.close()
	var s fileSpan
	for {
		p, err := src.Next()
		if err == io.EOF {
			return s
		}
		if s.Packets == 0 || p.Timestamp.Before(s.First) {
			s.First = p.Timestamp
		}
		if s.Packets == 0 || p.Timestamp.After(s.Last) {
			s.Last = p.Timestamp
		}
		s.Packets++
	}
}

// consecutiveParts reports whether the files are parts of one capture: ordered by their
// first timestamp, each file starts at or after the previous one's last packet (equality is
// allowed: a cut can fall between two packets with the same timestamp, and coarse clocks
// give many of those). Any overlap means the files were written at the same time, so they
// come from several capture points.
//
// It also returns the files' order as indexes into spans: sorted by First, ties kept in the
// given order. Files that are unreadable or empty (Err != nil or Packets == 0) say nothing
// about time; the decision is made on the others and such a file keeps the place it was
// given in. One file (or none readable) is trivially one capture.
func consecutiveParts(spans []fileSpan) (bool, []int) {
	order := make([]int, len(spans))
	var timed []int // indexes of the files with packets
	for i, s := range spans {
		order[i] = i
		if s.Err == nil && s.Packets > 0 {
			timed = append(timed, i)
		}
	}
	sort.SliceStable(timed, func(a, b int) bool {
		return spans[timed[a]].First.Before(spans[timed[b]].First)
	})
	consecutive := true
	for k := 1; k < len(timed); k++ {
		if spans[timed[k]].First.Before(spans[timed[k-1]].Last) {
			consecutive = false
		}
	}
	// Put the timed files, in time order, into the slots the timed files were given in;
	// the other files stay where they are.
	k := 0
	for i := range order {
		if spans[i].Err == nil && spans[i].Packets > 0 {
			order[i] = timed[k]
			k++
		}
	}
	return consecutive, order
}
