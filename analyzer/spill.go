package analyzer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"time"
)

// spill holds the report records of the retired flows in memory up to spillMemory and in
// an unlinked temporary file past that. A record is a flow's FlowReport in a compact binary
// form (a fifth of its JSON line): numbers as varints, addresses as their bytes, and strings
// and details JSON that repeat (services, outcomes, summaries, the same exchange from the
// same client again and again) written once and named by number after. Reading the records
// back (eachRecord) gives the FlowReports again; the JSON report writes them as it reads.
//
// A record: its length (uvarint), then the fields in the order of encodeFlow.
type spill struct {
	mem   bytes.Buffer
	file  *os.File
	w     *bufio.Writer
	size  int64
	lines int // records
	buf   []byte
	err   error

	strs spillTable // short strings: service, outcome, summary, ...
	dets spillTable // the details' JSON

	workers int // the analysis' Options.Workers: how many goroutines make the JSON back
}

const (
	spillMemory = 8 << 20
	// What the details table holds at most: 1 MB, and no details over 4 KB; the strings
	// table 256 KB of strings of up to 256 bytes.
	spillDictBytes = 1 << 20
	spillDictEntry = 4 << 10
	spillStrBytes  = 256 << 10
	spillStrEntry  = 256
	// No record is longer than this (a flow's details are bounded well below it).
	spillMaxRecord = 64 << 20
)

var errSpillDamaged = errors.New("the flows written aside: a damaged record")

// spillTable numbers the values that repeat, bounded: while writing a map from value to
// number, while reading the values by number. A value is written as a uvarint kind, then:
//
//	0           the empty value
//	1, len, v   a value not numbered
//	2, len, v   a value numbered next
//	3+n         the value numbered n
type spillTable struct {
	ids             map[string]int
	n, bytes        int
	maxBytes, entry int
	read            []string // the strings table's, by number
	readRaw         [][]byte // the details table's, by number
}

// appendValue appends v as a value of t (numbering it if t has room).
func appendValue[T string | []byte](t *spillTable, b []byte, v T) []byte {
	if len(v) == 0 {
		return append(b, 0)
	}
	if id, ok := t.ids[string(v)]; ok {
		return binary.AppendUvarint(b, uint64(id)+3)
	}
	if len(v) > t.entry || t.bytes+len(v) > t.maxBytes {
		b = append(b, 1)
	} else {
		if t.ids == nil {
			t.ids = map[string]int{}
		}
		t.ids[string(v)] = t.n
		t.n++
		t.bytes += len(v)
		b = append(b, 2)
	}
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// sealed lets the writing map go (the analyses at the end of the capture need the memory).
func (t *spillTable) sealed() { t.ids = nil }

// recordReader decodes one record; any damage makes it fail (it never panics).
type recordReader struct {
	b   []byte
	err bool
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.err, r.b = true, nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) byte() byte {
	if v := r.bytes(1); len(v) == 1 {
		return v[0]
	}
	return 0
}

// str reads a value of t, a string (numbered ones are made once, when numbered).
func (r *recordReader) str(t *spillTable) string {
	kind := r.uvarint()
	switch {
	case r.err || kind == 0:
		return ""
	case kind >= 3:
		if kind-3 >= uint64(len(t.read)) {
			r.err = true
			return ""
		}
		return t.read[kind-3]
	}
	s := string(r.bytes(r.uvarint()))
	if kind == 2 && !r.err {
		t.read = append(t.read, s)
	}
	return s
}

// raw reads a value of t as bytes (valid until the next record, never to be changed).
func (r *recordReader) raw(t *spillTable) []byte {
	kind := r.uvarint()
	switch {
	case r.err || kind == 0:
		return nil
	case kind >= 3:
		if kind-3 >= uint64(len(t.readRaw)) {
			r.err = true
			return nil
		}
		return t.readRaw[kind-3]
	}
	v := r.bytes(r.uvarint())
	if kind == 2 && !r.err {
		v = bytes.Clone(v)
		t.readRaw = append(t.readRaw, v)
	}
	return v
}

func (r *recordReader) addr() netip.Addr {
	var a netip.Addr
	if v := r.bytes(uint64(r.byte())); !r.err && a.UnmarshalBinary(v) != nil {
		r.err = true
	}
	return a
}

func (r *recordReader) time() time.Time {
	sec := r.varint()
	nsec := r.varint()
	return time.Unix(sec, nsec).UTC()
}

func appendSpillAddr(b []byte, a netip.Addr) []byte {
	n := len(b)
	b = append(b, 0)
	b, _ = a.AppendBinary(b) // never fails
	b[n] = byte(len(b) - n - 1)
	return b
}

func appendSpillTime(b []byte, t time.Time) []byte {
	return binary.AppendVarint(binary.AppendVarint(b, t.Unix()), int64(t.Nanosecond()))
}

// Which of the optional parts a record has.
const (
	spillHasICMP = 1 << iota
	spillHasAssignment
	spillHasWhere
	spillHasDetails
)

// encodeFlow appends fr's record body; details is fr.Details' JSON (made if nil).
func (s *spill) encodeFlow(b []byte, fr *FlowReport, details []byte) []byte {
	flags := byte(0)
	if fr.ICMP != nil {
		flags |= spillHasICMP
	}
	if fr.RPCAssignedBy != nil {
		flags |= spillHasAssignment
	}
	if fr.Where != nil {
		flags |= spillHasWhere
	}
	if fr.Details != nil {
		flags |= spillHasDetails
	}
	b = append(b, flags)
	b = appendValue(&s.strs, b, fr.Transport)
	b = appendSpillAddr(b, fr.Client)
	b = binary.AppendUvarint(b, uint64(fr.ClientPort))
	b = appendSpillAddr(b, fr.Server)
	b = binary.AppendUvarint(b, uint64(fr.ServerPort))
	b = appendValue(&s.strs, b, fr.Service)
	b = appendValue(&s.strs, b, fr.Outcome)
	b = binary.AppendVarint(b, int64(fr.Packets))
	b = binary.AppendVarint(b, fr.Bytes)
	b = appendSpillTime(b, fr.First)
	b = appendSpillTime(b, fr.Last)
	b = appendValue(&s.strs, b, fr.RPCInterface)
	if fr.Details != nil {
		if details == nil {
			details = appendDetailsJSON(nil, fr.Details)
		}
		b = appendValue(&s.dets, b, details)
	}
	b = binary.AppendVarint(b, int64(fr.FirstFrame))
	b = appendValue(&s.strs, b, fr.Capture)
	b = binary.AppendVarint(b, int64(fr.PacketsToSrv))
	b = binary.AppendVarint(b, int64(fr.PacketsToCli))
	b = binary.AppendVarint(b, fr.BytesToSrv)
	b = binary.AppendVarint(b, fr.BytesToCli)
	b = binary.AppendVarint(b, int64(fr.SYNs))
	b = appendValue(&s.strs, b, fr.End)
	if x := fr.ICMP; x != nil {
		b = append(b, x.Type, x.Code)
		b = appendValue(&s.strs, b, x.Name)
		b = appendSpillAddr(b, x.From)
		b = binary.AppendVarint(b, int64(x.Frame))
		b = appendBool(b, x.Firewall)
	}
	if x := fr.RPCAssignedBy; x != nil {
		b = binary.AppendVarint(b, int64(x.Frame))
		b = appendSpillTime(b, x.Time)
		b = appendValue(&s.strs, b, x.Via)
	}
	b = appendValue(&s.strs, b, fr.RPCMismatch)
	b = appendValue(&s.strs, b, fr.LostAt)
	if fr.Where != nil {
		w, _ := json.Marshal(fr.Where) // plain data: never fails
		b = appendValue(&s.dets, b, w)
	}
	return appendValue(&s.strs, b, fr.Summary)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// flowRecord is one record read back: the report (its ICMP and assignment parts are the
// record's own, overwritten by the next) and its details' JSON.
type flowRecord struct {
	fr      FlowReport
	details []byte
	icmp    ICMPReport
	as      AssignmentRef
}

// decodeFlow reads a record body into rec.
func (s *spill) decodeFlow(body []byte, rec *flowRecord) error {
	r := recordReader{b: body}
	fr := &rec.fr
	*fr = FlowReport{}
	rec.details = nil
	flags := r.byte()
	fr.Transport = r.str(&s.strs)
	fr.Client = r.addr()
	fr.ClientPort = uint16(r.uvarint())
	fr.Server = r.addr()
	fr.ServerPort = uint16(r.uvarint())
	fr.Service = r.str(&s.strs)
	fr.Outcome = r.str(&s.strs)
	fr.Packets = int(r.varint())
	fr.Bytes = r.varint()
	fr.First = r.time()
	fr.Last = r.time()
	fr.RPCInterface = r.str(&s.strs)
	if flags&spillHasDetails != 0 {
		rec.details = r.raw(&s.dets)
	}
	fr.FirstFrame = int(r.varint())
	fr.Capture = r.str(&s.strs)
	fr.PacketsToSrv = int(r.varint())
	fr.PacketsToCli = int(r.varint())
	fr.BytesToSrv = r.varint()
	fr.BytesToCli = r.varint()
	fr.SYNs = int(r.varint())
	fr.End = r.str(&s.strs)
	if flags&spillHasICMP != 0 {
		x := &rec.icmp
		x.Type, x.Code = r.byte(), r.byte()
		x.Name = r.str(&s.strs)
		x.From = r.addr()
		x.Frame = int(r.varint())
		x.Firewall = r.byte() != 0
		fr.ICMP = x
	}
	if flags&spillHasAssignment != 0 {
		x := &rec.as
		x.Frame = int(r.varint())
		x.Time = r.time()
		x.Via = r.str(&s.strs)
		fr.RPCAssignedBy = x
	}
	fr.RPCMismatch = r.str(&s.strs)
	fr.LostAt = r.str(&s.strs)
	if flags&spillHasWhere != 0 {
		raw := r.raw(&s.dets)
		fr.Where = &FlowWhere{}
		if !r.err && json.Unmarshal(raw, fr.Where) != nil {
			r.err = true
		}
	}
	fr.Summary = r.str(&s.strs)
	if r.err || len(r.b) != 0 || flags >= spillHasDetails<<1 {
		return errSpillDamaged
	}
	return nil
}

// sealed ends the writing: the tables' numbers are in the records, their maps are let go.
func (s *spill) sealed() {
	s.strs.sealed()
	s.dets.sealed()
}

func (s *spill) init() {
	s.strs.maxBytes, s.strs.entry = spillStrBytes, spillStrEntry
	s.dets.maxBytes, s.dets.entry = spillDictBytes, spillDictEntry
}

// add writes fr's record; details is fr.Details' JSON when the caller made it already.
func (s *spill) add(fr *FlowReport, details []byte) {
	if s.strs.maxBytes == 0 {
		s.init()
	}
	// Room for the length in front, then the body after it.
	const room = binary.MaxVarintLen64
	s.buf = s.encodeFlow(append(s.buf[:0], make([]byte, room)...), fr, details)
	n := len(s.buf) - room
	var head [room]byte
	h := binary.PutUvarint(head[:], uint64(n))
	rec := s.buf[room-h:]
	copy(rec, head[:h])
	s.lines++
	s.size += int64(len(rec))
	if s.file == nil && s.mem.Len()+len(rec) > spillMemory {
		f, err := os.CreateTemp("", "adcsflow-flows-*.bin")
		if err != nil {
			s.err = err
		} else {
			s.file = f
			removeTemp(f)
			s.w = bufio.NewWriterSize(f, 1<<20)
			s.w.Write(s.mem.Bytes())
			s.mem = bytes.Buffer{}
		}
	}
	if s.w != nil {
		s.w.Write(rec) // an error sticks in the writer: flush reports it
		return
	}
	s.mem.Write(rec)
}

// flush makes the spilled records readable; it reports a failure to write them.
func (s *spill) flush() error {
	if s.err != nil {
		return s.err
	}
	if s.w != nil {
		return s.w.Flush()
	}
	return nil
}

// eachBody reads the records' bodies from the start, in the order written, calling fn with
// each (valid until fn returns).
func (s *spill) eachBody(fn func([]byte) error) error {
	if err := s.flush(); err != nil {
		return fmt.Errorf("the flows written aside: %v", err)
	}
	var src io.Reader = bytes.NewReader(s.mem.Bytes())
	if s.file != nil {
		src = bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.size), 1<<20)
	}
	br := src.(io.ByteReader)
	var body []byte
	for {
		n, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return nil
		}
		if err != nil || n > spillMaxRecord {
			return errSpillDamaged
		}
		if uint64(cap(body)) < n {
			body = make([]byte, n, max(n, 4096))
		}
		body = body[:n]
		if _, err := io.ReadFull(src, body); err != nil {
			return errSpillDamaged
		}
		if err := fn(body); err != nil {
			return err
		}
	}
}

// reading starts a reading of the records (the tables' numbers start over) and returns
// what ends it.
func (s *spill) reading() func() {
	s.strs.read, s.dets.readRaw = s.strs.read[:0], s.dets.readRaw[:0]
	return func() { s.strs.read, s.dets.readRaw = nil, nil }
}

// eachRecord reads the records from the start, in the order written, calling fn with each
// (valid until fn returns).
func (s *spill) eachRecord(fn func(*flowRecord) error) error {
	defer s.reading()()
	rec := &flowRecord{}
	return s.eachBody(func(body []byte) error {
		if err := s.decodeFlow(body, rec); err != nil {
			return err
		}
		return fn(rec)
	})
}

// spillBatch is a run of records read back, made into JSON lines on its own.
type spillBatch struct {
	body []byte // the records' bodies, one after the other
	ends []int  // where each ends in body
	recs []flowRecord
	err  error // a damaged record: the batch is not written
	out  []byte
	done chan struct{}
}

const spillBatchRecords = 256

// eachJSON calls fn, in the order written, with the records' JSON lines (each after prefix)
// in chunks of up to spillBatchRecords lines. One goroutine reads and decodes the records in
// order (the tables number values as they come); the JSON, the costly part, is made on
// several, a batch each.
func (s *spill) eachJSON(prefix string, fn func(chunk []byte, lines int) error) error {
	workers := s.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers == 1 { // a single-threaded analysis writes single-threaded too
		c := flowChunks{prefix: prefix, fn: fn}
		err := s.eachRecord(func(rec *flowRecord) error { return c.add(&rec.fr, rec.details) })
		if err == nil {
			err = c.flush()
		}
		return err
	}
	workers = min(workers, 4)
	defer s.reading()()
	batches := workers + 2
	free := make(chan *spillBatch, batches)
	for range batches {
		free <- &spillBatch{recs: make([]flowRecord, spillBatchRecords), done: make(chan struct{}, 1)}
	}
	work := make(chan *spillBatch, batches)
	order := make(chan *spillBatch, batches)
	quit := make(chan struct{})
	var readErr error
	go func() { // the reader
		defer close(order)
		defer close(work)
		b := <-free
		send := func() bool {
			start := 0
			b.err = nil
			for i, end := range b.ends { // the details point into the batch's own bodies
				if b.err = s.decodeFlow(b.body[start:end], &b.recs[i]); b.err != nil {
					break
				}
				start = end
			}
			order <- b // never blocks: there are no more batches than room
			work <- b
			if b.err != nil {
				return false
			}
			select {
			case <-quit:
				return false
			case b = <-free:
				b.body, b.ends = b.body[:0], b.ends[:0]
				return true
			}
		}
		readErr = s.eachBody(func(body []byte) error {
			b.body = append(b.body, body...)
			b.ends = append(b.ends, len(b.body))
			if len(b.ends) == spillBatchRecords && !send() {
				return errSpillStopped
			}
			return nil
		})
		if readErr == nil && len(b.ends) > 0 {
			send()
		}
	}()
	for range workers {
		go func() {
			for b := range work {
				b.out = b.out[:0]
				for i := range b.ends {
					if b.err != nil {
						break
					}
					b.out = append(b.out, prefix...)
					b.out = appendFlowJSON(b.out, &b.recs[i].fr, b.recs[i].details)
				}
				b.done <- struct{}{}
			}
		}()
	}
	var err error
	for b := range order {
		<-b.done
		if err == nil {
			if err = b.err; err == nil {
				err = fn(b.out, len(b.ends))
			}
			if err != nil {
				close(quit) // the reader stops; the batches under way are let go
			}
		}
		free <- b
	}
	if err == nil && readErr != errSpillStopped {
		err = readErr
	}
	return err
}

var errSpillStopped = errors.New("stopped")

// flowChunks gathers flow lines, each after prefix, into chunks of up to spillBatchRecords
// lines for fn.
type flowChunks struct {
	prefix string
	fn     func(chunk []byte, lines int) error
	b      []byte
	n      int
}

func (c *flowChunks) add(fr *FlowReport, details []byte) error {
	c.b = appendFlowJSON(append(c.b, c.prefix...), fr, details)
	if c.n++; c.n == spillBatchRecords {
		return c.flush()
	}
	return nil
}

func (c *flowChunks) flush() error {
	if c.n == 0 {
		return nil
	}
	err := c.fn(c.b, c.n)
	c.b, c.n = c.b[:0], 0
	return err
}

// Close releases what the report holds outside memory (the temporary file of the spill).
// The report can still be used, without its flow lines.
func (r *Report) Close() error {
	if r == nil || r.spill == nil || r.spill.file == nil {
		return nil
	}
	err := r.spill.file.Close()
	r.spill = nil
	return err
}
