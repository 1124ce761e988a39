package dcerpc

// reader is a bounds-checked cursor over a byte slice in the style of
// golang.org/x/crypto/cryptobyte.String, extended with the little-endian integers and
// NDR alignment that DCE/RPC needs (cryptobyte reads big-endian only). Every Read
// method checks the remaining length first and reports failure instead of panicking;
// on failure the cursor is left unchanged.
type reader struct {
	b     []byte // the whole buffer; alignment is relative to its start
	off   int
	le    bool
	ndr64 bool // NDR64 transfer syntax: 8-byte pointers and counts
}

func newReader(b []byte, le bool) *reader { return &reader{b: b, le: le} }

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) rest() []byte { return r.b[r.off:] }

func (r *reader) skip(n int) bool {
	if n < 0 || n > r.remaining() {
		return false
	}
	r.off += n
	return true
}

// align moves to the next multiple of n (a power of two) from the buffer start.
func (r *reader) align(n int) bool {
	pad := (n - r.off%n) % n
	return r.skip(pad)
}

func (r *reader) bytes(n int) ([]byte, bool) {
	if n < 0 || n > r.remaining() {
		return nil, false
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v, true
}

func (r *reader) u8(out *uint8) bool {
	if r.remaining() < 1 {
		return false
	}
	*out = r.b[r.off]
	r.off++
	return true
}

func (r *reader) u16(out *uint16) bool {
	if r.remaining() < 2 {
		return false
	}
	b := r.b[r.off:]
	if r.le {
		*out = uint16(b[0]) | uint16(b[1])<<8
	} else {
		*out = uint16(b[1]) | uint16(b[0])<<8
	}
	r.off += 2
	return true
}

func (r *reader) u32(out *uint32) bool {
	if r.remaining() < 4 {
		return false
	}
	b := r.b[r.off:]
	if r.le {
		*out = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	} else {
		*out = uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
	}
	r.off += 4
	return true
}

func (r *reader) uuid(out *UUID) bool {
	if r.remaining() < 16 {
		return false
	}
	var err error
	if r.le {
		*out, err = UUIDFromLE(r.b[r.off:])
	} else {
		*out, err = UUIDFromBE(r.b[r.off:])
	}
	if err != nil {
		return false
	}
	r.off += 16
	return true
}

// syntax reads a p_syntax_id_t: UUID then version (major u16, minor u16).
func (r *reader) syntax(out *SyntaxID) bool {
	save := r.off
	if !r.uuid(&out.UUID) || !r.u16(&out.VersionMajor) || !r.u16(&out.VersionMinor) {
		r.off = save
		return false
	}
	return true
}

func (r *reader) u64(out *uint64) bool {
	var lo, hi uint32
	save := r.off
	if r.le {
		if !r.u32(&lo) || !r.u32(&hi) {
			r.off = save
			return false
		}
	} else if !r.u32(&hi) || !r.u32(&lo) {
		r.off = save
		return false
	}
	*out = uint64(hi)<<32 | uint64(lo)
	return true
}

// ndrLong reads an NDR pointer referent, conformance or variance count: a 4-byte value
// for NDR 2.0, an 8-byte aligned value for NDR64. Values above 2^32-1 are rejected.
func (r *reader) ndrLong(out *uint32) bool {
	if !r.ndr64 {
		return r.u32(out)
	}
	save := r.off
	var v uint64
	if !r.align(8) || !r.u64(&v) || v > 0xffffffff {
		r.off = save
		return false
	}
	*out = uint32(v)
	return true
}

// alignStruct aligns for a structure that contains pointers or NDR64 counts.
func (r *reader) alignStruct() bool {
	if r.ndr64 {
		return r.align(8)
	}
	return r.align(4)
}
