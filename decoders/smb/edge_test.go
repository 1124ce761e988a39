package smb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func TestFrameNBSS(t *testing.T) {
	req := cat([]byte{0x81, 0, 0, 68}, make([]byte, 68))
	for _, c := range []struct {
		name  string
		b     []byte
		total int
		err   error
	}{
		{"empty", nil, 0, ErrNeedMore},
		{"one byte", []byte{0}, 0, ErrNeedMore},
		{"garbage byte", []byte{0x47}, 0, ErrNotNBSS},
		{"header only", []byte{0, 0, 0, 5}, 0, ErrNeedMore},
		{"short body", []byte{0, 0, 0, 5, 1, 2, 3, 4}, 0, ErrNeedMore},
		{"message", []byte{0, 0, 0, 2, 1, 2, 3}, 6, nil},
		{"empty message", []byte{0, 0, 0, 0}, 4, nil},
		{"24-bit length", []byte{0, 1, 0, 0}, 0, ErrNeedMore},
		{"max length", []byte{0, 0xff, 0xff, 0xff}, 0, ErrNeedMore},
		{"keepalive", []byte{0x85, 0, 0, 0, 0xff}, 4, nil},
		{"keepalive with body", []byte{0x85, 0, 0, 1, 0}, 0, ErrNotNBSS},
		{"positive response", []byte{0x82, 0, 0, 0}, 4, nil},
		{"negative response", []byte{0x83, 0, 0, 1, 0x8f}, 5, nil},
		{"retarget", cat([]byte{0x84, 0, 0, 6}, make([]byte, 6)), 10, nil},
		{"session request", req, 72, nil},
		{"session request short", req[:40], 0, ErrNeedMore},
		{"request reserved flags", []byte{0x81, 2, 0, 68}, 0, ErrNotNBSS},
		{"request tiny", []byte{0x81, 0, 0, 1, 0}, 0, ErrNotNBSS},
		{"unknown type", []byte{0x86, 0, 0, 0}, 0, ErrNotNBSS},
		{"SMB without NBSS", []byte("\xffSMBr\x00\x00\x00"), 0, ErrNotNBSS},
	} {
		total, err := FrameNBSS(c.b)
		if total != c.total || err != c.err {
			t.Errorf("%s: FrameNBSS = %d, %v; want %d, %v", c.name, total, err, c.total, c.err)
		}
	}
}

func TestLooksLike(t *testing.T) {
	ok := map[string][]byte{
		"smb1":      nbss(mkWriteAndX(1, 0, dceBind)),
		"smb2":      nbss(mkWriteReq(0, 1, dceBind)),
		"transform": cat([]byte{0, 0, 0, 52}, magicTransform[:]),
		"compress":  cat([]byte{0, 0, 0, 16}, magicCompress[:]),
	}
	for name, b := range ok {
		if !LooksLike(b) {
			t.Errorf("%s: LooksLike = false", name)
		}
	}
	bad := map[string][]byte{
		"short":           {0, 0, 0, 64, 0xfe, 'S', 'M'},
		"smb2 too short":  cat([]byte{0, 0, 0, 63}, magicSMB2[:]),
		"smb1 too short":  cat([]byte{0, 0, 0, 34}, magicSMB1[:]),
		"keepalive":       {0x85, 0, 0, 0, 0xfe, 'S', 'M', 'B'},
		"session request": cat([]byte{0x81, 0, 0, 68}, make([]byte, 68)),
		"other magic":     {0, 0, 0, 64, 0xfe, 'S', 'M', 'C'},
		"http":            []byte("GET / HTTP/1.1\r\n"),
		"dcerpc":          dceBind,
	}
	for name, b := range bad {
		if LooksLike(b) {
			t.Errorf("%s: LooksLike = true", name)
		}
	}
}

func onePayload(t *testing.T, msg []byte) Payload {
	t.Helper()
	ps, err := PipePayloads(msg)
	if err != nil || len(ps) != 1 {
		t.Fatalf("PipePayloads = %d payloads, %v", len(ps), err)
	}
	return ps[0]
}

func TestSMB2Commands(t *testing.T) {
	fid := hexString(testFileID)
	for _, c := range []struct {
		name     string
		msg      []byte
		command  string
		response bool
		fileID   string
		status   uint32
	}{
		{"write", mkWriteReq(0, 1, dceBind), "WRITE", false, fid, 0},
		{"read", mkReadResp(0, 2, dceBind), "READ", true, "", 0},
		{"read overflow", mkReadResp(StatusBufferOverflow, 2, dceBind), "READ", true, "", StatusBufferOverflow},
		{"ioctl request", mkIoctlReq(FsctlPipeTransceive, dceBind), "IOCTL", false, fid, 0},
		{"ioctl response", mkIoctlResp(0, FsctlPipeTransceive, dceBind), "IOCTL", true, fid, 0},
		{"ioctl overflow", mkIoctlResp(StatusBufferOverflow, FsctlPipeTransceive, dceBind), "IOCTL", true, fid, StatusBufferOverflow},
	} {
		p := onePayload(t, c.msg)
		if p.Command != c.command || p.Response != c.response || p.FileID != c.fileID || p.Status != c.status || !bytes.Equal(p.Data, dceBind) {
			t.Errorf("%s: %+v", c.name, p)
		}
	}
	// a request's Status field is ChannelSequence/Reserved, not an error
	w := mkWriteReq(0, 1, dceBind)
	binary.LittleEndian.PutUint32(w[8:], 0xc0000022)
	onePayload(t, w)
}

func TestSMB2Skipped(t *testing.T) {
	for name, msg := range map[string][]byte{
		"read error":        mkReadResp(0xc000014b, 2, dceBind), // STATUS_PIPE_BROKEN
		"read pending":      mkReadResp(0x103, 2, nil),
		"ioctl other fsctl": mkIoctlReq(0x0011400c, dceBind), // FSCTL_PIPE_PEEK
		"ioctl error":       mkIoctlResp(0xc0000001, FsctlPipeTransceive, dceBind),
		"empty write":       mkWriteReq(0, 1, nil),
		"create":            mkCreateReq("svcctl"),
		"bare header":       smb2Header(smb2Write, false, 0, 0, 1),                       // no body: only WRITE would care
		"write response":    cat(smb2Header(smb2Write, true, 0, 0, 1), make([]byte, 16)), // carries a count, not data
	} {
		ps, err := PipePayloads(msg)
		if len(ps) != 0 {
			t.Errorf("%s: %d payloads", name, len(ps))
		}
		if err != nil && name != "bare header" {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSMB2Malformed(t *testing.T) {
	lie := func(m []byte, at int, v uint32, size int) []byte {
		m = bytes.Clone(m)
		switch size {
		case 1:
			m[at] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(m[at:], uint16(v))
		default:
			binary.LittleEndian.PutUint32(m[at:], v)
		}
		return m
	}
	w := mkWriteReq(0, 1, dceBind)
	r := mkReadResp(0, 1, dceBind)
	io := mkIoctlReq(FsctlPipeTransceive, dceBind)
	ior := mkIoctlResp(0, FsctlPipeTransceive, dceBind)
	for _, c := range []struct {
		name string
		msg  []byte
		err  error
	}{
		{"short", []byte{0xfe, 'S'}, ErrTruncated},
		{"header cut", w[:63], ErrTruncated},
		{"body cut", w[:64+20], ErrTruncated},
		{"data cut", w[:len(w)-1], ErrMalformed},
		{"header size", lie(w, 4, 65, 2), ErrMalformed},
		{"write structure size", lie(w, 64, 48, 2), ErrMalformed},
		{"write offset past end", lie(w, 66, 0xffff, 2), ErrMalformed},
		{"write offset into header", lie(w, 66, 10, 2), ErrMalformed},
		{"write huge length", lie(w, 68, 0xffffffff, 4), ErrMalformed},
		{"read offset past end", lie(r, 66, 0xff, 1), ErrMalformed},
		{"read huge length", lie(r, 68, 0xfffffff0, 4), ErrMalformed},
		{"ioctl input offset", lie(io, 88, 0xfffffff8, 4), ErrMalformed},
		{"ioctl input count", lie(io, 92, 0x7fffffff, 4), ErrMalformed},
		{"ioctl output offset", lie(ior, 96, 0x80000000, 4), ErrMalformed},
		{"ioctl output count", lie(ior, 100, 73, 4), ErrMalformed},
		{"encrypted", cat(magicTransform[:], make([]byte, 48)), ErrEncrypted},
		{"compressed", cat(magicCompress[:], make([]byte, 12)), ErrCompressed},
		{"not smb", []byte("GET / HTTP/1.1\r\n\r\n"), ErrNotSMB},
		{"nbss header left on", nbss(w), ErrNotSMB},
	} {
		ps, err := PipePayloads(c.msg)
		if err != c.err || len(ps) != 0 {
			t.Errorf("%s: %d payloads, %v; want %v", c.name, len(ps), err, c.err)
		}
	}
}

func TestSMB2Compound(t *testing.T) {
	first := mkWriteReq(184, 1, dceBind) // 64 + 48 + 72 = 184, 8-aligned
	second := mkWriteReq(0, 2, dceBind)
	ps, err := PipePayloads(cat(first, second))
	if err != nil || len(ps) != 2 || ps[0].MessageID != 1 || ps[1].MessageID != 2 {
		t.Fatalf("compound: %+v, %v", ps, err)
	}
	// the first command's data may not reach into the second command
	long := cat(first, second)
	binary.LittleEndian.PutUint32(long[68:], 72+8)
	if ps, err := PipePayloads(long); err != ErrMalformed || len(ps) != 0 {
		t.Errorf("data across commands: %d, %v", len(ps), err)
	}
	// a faulty second command keeps the first payload
	bad := cat(first, second[:70])
	if ps, err := PipePayloads(bad); err != ErrTruncated || len(ps) != 1 {
		t.Errorf("truncated second: %d, %v", len(ps), err)
	}
	for _, next := range []uint32{8, 63, 100, 190, 1 << 20, 0xffffffff} {
		m := cat(first, second)
		binary.LittleEndian.PutUint32(m[20:], next)
		if ps, err := PipePayloads(m); err != ErrMalformed || len(ps) != 0 {
			t.Errorf("NextCommand %d: %d, %v", next, len(ps), err)
		}
	}
	// chains of bare headers, each pointing to the next: MaxChain passes, one more fails
	chain := func(n int) []byte {
		var m []byte
		for i := 0; i < n; i++ {
			next := uint32(64)
			if i == n-1 {
				next = 0
			}
			m = append(m, smb2Header(smb2Create, true, 0xc0000034, next, uint64(i))...)
		}
		return m
	}
	if _, err := PipePayloads(chain(MaxChain)); err != nil {
		t.Errorf("chain of %d: %v", MaxChain, err)
	}
	if _, err := PipePayloads(chain(MaxChain + 1)); err != ErrChain {
		t.Errorf("chain of %d: %v", MaxChain+1, err)
	}
	// NextCommand pointing at a header that points at itself (64) again and again is the
	// same as a long chain: it always moves forward, so the cap ends it.
	if _, err := PipePayloads(bytes.Repeat(smb2Header(0, true, 0, 64, 0), 1000)); err != ErrChain {
		t.Errorf("repeated headers: %v", err)
	}
}

func TestSMB1Commands(t *testing.T) {
	p := onePayload(t, mkWriteAndX(0x4001, writeModeMsgStart, dceBind))
	if p.Command != "WRITE_ANDX" || p.Response || p.FileID != "4001" || !bytes.Equal(p.Data, dceBind) {
		t.Errorf("write_andx: %+v", p)
	}
	// raw mode + message start: a 2-byte message length precedes the data
	p = onePayload(t, mkWriteAndX(0x4001, writeModeRaw|writeModeMsgStart, cat(le16b(72), dceBind)))
	if !bytes.Equal(p.Data, dceBind) {
		t.Errorf("raw write_andx: %x", p.Data)
	}
	p = onePayload(t, mkReadAndXResp(0, smb1Flags2NTError, dceBind))
	if p.Command != "READ_ANDX" || !p.Response || p.FileID != "" || p.MessageID != 9 || !bytes.Equal(p.Data, dceBind) {
		t.Errorf("read_andx: %+v", p)
	}
	p = onePayload(t, mkReadAndXResp(StatusBufferOverflow, smb1Flags2NTError, dceBind))
	if p.Status != StatusBufferOverflow {
		t.Errorf("read_andx overflow: %+v", p)
	}
	p = onePayload(t, mkReadAndXResp(dosMoreData, 0, dceBind)) // ERRDOS/ERRmoredata
	if p.Status != StatusBufferOverflow {
		t.Errorf("read_andx DOS moredata: %+v", p)
	}
	p = onePayload(t, mkTransReq([]uint16{transTransactNmPipe, 0x800a}, dceBind))
	if p.Command != "TRANS" || p.FileID != "800a" || p.MessageID != 11 || !bytes.Equal(p.Data, dceBind) {
		t.Errorf("trans: %+v", p)
	}
	for name, msg := range map[string][]byte{
		"read error":         mkReadAndXResp(0xc000014b, smb1Flags2NTError, dceBind),
		"read DOS error":     mkReadAndXResp(0x00050001, 0, dceBind), // ERRDOS/ERRnoaccess
		"mailslot":           mkTransReq([]uint16{1, 1, 2}, dceBind),
		"pipe state":         mkTransReq([]uint16{0x0001, 0x4001}, dceBind),
		"no setup":           mkTransReq(nil, dceBind),
		"setup count lies":   func() []byte { m := mkTransReq([]uint16{transTransactNmPipe, 1}, dceBind); m[33+26] = 200; return m }(),
		"write_andx no data": mkWriteAndX(1, 0, nil),
		"nt_create":          mkNTCreate("lsarpc", true),
	} {
		if ps, err := PipePayloads(msg); len(ps) != 0 || (err != nil && name != "setup count lies") {
			t.Errorf("%s: %d payloads, %v", name, len(ps), err)
		}
	}
}

func TestSMB1Malformed(t *testing.T) {
	w := mkWriteAndX(0x4001, 0, dceBind)
	set16 := func(m []byte, at int, v uint16) []byte {
		m = bytes.Clone(m)
		binary.LittleEndian.PutUint16(m[at:], v)
		return m
	}
	const words = 33 // offset of the first parameter word
	for _, c := range []struct {
		name string
		msg  []byte
		err  error
	}{
		{"header cut", w[:31], ErrTruncated},
		{"no word count", w[:32], ErrTruncated},
		{"words cut", w[:40], ErrTruncated},
		{"bytes cut", w[:len(w)-1], ErrTruncated},
		{"word count too small", func() []byte { m := bytes.Clone(w); m[32] = 3; return m }(), ErrTruncated},
		{"data offset past end", set16(w, words+22, 0xffff), ErrMalformed},
		{"data offset into header", set16(w, words+22, 4), ErrMalformed},
		{"data length high", set16(w, words+18, 0xffff), ErrMalformed},
		{"data length", set16(w, words+20, 200), ErrMalformed},
		{"byte count lies", set16(w, words+28, 0xffff), ErrTruncated},
	} {
		ps, err := PipePayloads(c.msg)
		if err != c.err || len(ps) != 0 {
			t.Errorf("%s: %d payloads, %v; want %v", c.name, len(ps), err, c.err)
		}
	}
}

func TestSMB1AndX(t *testing.T) {
	// WRITE_ANDX chained to a second WRITE_ANDX block later in the message
	first := mkWriteAndX(0x4001, 0, dceBind)
	secondBlock := mkWriteAndX(0x4002, 0, dceBind)[smb1HeaderLen:]
	next := len(first)
	m := cat(first, secondBlock)
	m[33] = smb1WriteAndX
	binary.LittleEndian.PutUint16(m[33+2:], uint16(next))
	// the second block's DataOffset is relative to the header: shift it
	dataOff := binary.LittleEndian.Uint16(m[next+1+22:])
	binary.LittleEndian.PutUint16(m[next+1+22:], dataOff+uint16(next-smb1HeaderLen))
	ps, err := PipePayloads(m)
	if err != nil || len(ps) != 2 || ps[0].FileID != "4001" || ps[1].FileID != "4002" ||
		!bytes.Equal(ps[1].Data, dceBind) {
		t.Fatalf("andx chain: %+v, %v", ps, err)
	}
	// an AndX offset that points back (a loop) or past the end
	for _, off := range []uint16{0, 32, 33, uint16(len(m)), 0xffff} {
		b := bytes.Clone(m)
		binary.LittleEndian.PutUint16(b[33+2:], off)
		ps, err := PipePayloads(b)
		want := ErrMalformed
		if int(off) >= len(m) {
			want = ErrTruncated
		}
		if err != want || len(ps) != 1 {
			t.Errorf("AndX offset %d: %d payloads, %v", off, len(ps), err)
		}
	}
	// a long forward chain of minimal AndX blocks hits MaxChain
	var c []byte
	c = append(c, smb1Header(smb1LogoffAndX, true, 0, 0, 1)...)
	for i := 0; i < 100; i++ {
		nextOff := len(c) + 7
		c = append(c, smb1Blk(cat([]byte{smb1LogoffAndX, 0}, le16b(uint16(nextOff))), nil)...)
	}
	if _, err := PipePayloads(c); err != ErrChain {
		t.Errorf("long AndX chain: %v", err)
	}
}

func TestCreateNames(t *testing.T) {
	for _, c := range []struct {
		msg  []byte
		name string
		ok   bool
	}{
		{mkCreateReq("svcctl"), "svcctl", true},
		{mkCreateReq(`PIPE\cert`), "cert", true},
		{mkCreateReq(`\pipe\lsarpc`), "lsarpc", true},
		{mkCreateReq(`share\pipe\x.txt`), `share\pipe\x.txt`, true},
		{mkCreateReq(""), "", false},
		{mkCreateReq("svcctl")[:120], "", false},
		{mkNTCreate(`\lsarpc`, true), "lsarpc", true},
		{mkNTCreate(`\PIPE\cert`, false), "cert", true},
		{mkNTCreate(`\samr`, false)[:70], "", false},
		{mkWriteReq(0, 1, dceBind), "", false},
		{[]byte{0xfe, 'S', 'M', 'B'}, "", false},
		{nil, "", false},
	} {
		name, ok := CreatePipeName(c.msg)
		if name != c.name || ok != c.ok {
			t.Errorf("CreatePipeName = %q, %v; want %q, %v", name, ok, c.name, c.ok)
		}
	}
	// a CREATE in second place of a compound is found
	first := mkWriteReq(184, 1, dceBind)
	if name, ok := CreatePipeName(cat(first, mkCreateReq("winreg"))); name != "winreg" || !ok {
		t.Errorf("compound create: %q, %v", name, ok)
	}
	// a lying name length is rejected
	m := mkCreateReq("svcctl")
	binary.LittleEndian.PutUint16(m[64+46:], 0xfff0)
	if _, ok := CreatePipeName(m); ok {
		t.Error("lying NameLength accepted")
	}
	// odd UTF-16 and unpaired surrogates do not panic
	m = mkCreateReq("ab")
	binary.LittleEndian.PutUint16(m[len(m)-4:], 0xd800)
	binary.LittleEndian.PutUint16(m[64+46:], 3)
	if name, ok := CreatePipeName(m); !ok || name != "\uFFFD" {
		t.Errorf("surrogate: %q, %v", name, ok)
	}
	if _, _, ok := CreatedFileID(mkCreateReq("svcctl")); ok {
		t.Error("CreatedFileID on a request")
	}
	if _, _, ok := CreatedFileID(nil); ok {
		t.Error("CreatedFileID on nothing")
	}
}

func TestErrorsDistinct(t *testing.T) {
	all := []error{ErrNeedMore, ErrNotNBSS, ErrNotSMB, ErrEncrypted, ErrCompressed, ErrTruncated, ErrMalformed, ErrChain}
	for i, a := range all {
		for j, b := range all {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v is %v", a, b)
			}
		}
	}
}
