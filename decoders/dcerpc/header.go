// Package dcerpc decodes connection-oriented DCE/RPC (C706 chapter 12, MS-RPCE 2.2):
// the 16-byte common header, whole PDUs (bind, bind_ack, request, response, fault, ...),
// the sec_trailer auth verifier, fragment reassembly of call stubs, endpoint mapper
// towers and ept_map / ept_lookup stubs, and names for well-known interfaces, classes,
// operations and status codes. All functions are pure; none panics on any input.
//
// A stream analyzer, per TCP direction: Frame to cut the byte stream into PDUs (LooksLike
// first to recognise DCE/RPC on a port), Parse each PDU, keep the bind/alter_context and
// pair it with its ack through BindResults (interface per context id, and the negotiated
// transfer syntax for EncodingFor), feed requests and responses to one CallAssembler
// per connection, and on a complete EPM stub call ParseEptMapRequest/Response or
// ParseEptLookupRequest/Response (opnum 3 / 2 of IfEPM) to learn port hand-outs.
package dcerpc

import "errors"

// PType is the DCE/RPC packet type (C706 12.6.4.3; MS-RPCE 2.2.2.1).
type PType uint8

// Packet types. Values 1 and 4-10 are connectionless-only.
const (
	PTypeRequest          PType = 0
	PTypePing             PType = 1
	PTypeResponse         PType = 2
	PTypeFault            PType = 3
	PTypeWorking          PType = 4
	PTypeNocall           PType = 5
	PTypeReject           PType = 6
	PTypeAck              PType = 7
	PTypeClCancel         PType = 8
	PTypeFack             PType = 9
	PTypeCancelAck        PType = 10
	PTypeBind             PType = 11
	PTypeBindAck          PType = 12
	PTypeBindNak          PType = 13
	PTypeAlterContext     PType = 14
	PTypeAlterContextResp PType = 15
	PTypeAuth3            PType = 16
	PTypeShutdown         PType = 17
	PTypeCoCancel         PType = 18
	PTypeOrphaned         PType = 19
)

var ptypeNames = [...]string{
	"request", "ping", "response", "fault", "working", "nocall", "reject", "ack",
	"cl_cancel", "fack", "cancel_ack", "bind", "bind_ack", "bind_nak", "alter_context",
	"alter_context_resp", "auth3", "shutdown", "co_cancel", "orphaned",
}

// String returns the C706 name ("bind_ack"), or "ptype_N" for unknown values.
func (p PType) String() string {
	if int(p) < len(ptypeNames) {
		return ptypeNames[p]
	}
	return "ptype_" + itoa(uint64(p))
}

// ConnectionOriented reports whether p is a connection-oriented packet type.
func (p PType) ConnectionOriented() bool {
	switch p {
	case PTypeRequest, PTypeResponse, PTypeFault:
		return true
	}
	return p >= PTypeBind && p <= PTypeOrphaned
}

// pfc_flags (C706 12.6.3.1; MS-RPCE 2.2.2.3).
const (
	FlagFirstFrag     = 0x01 // PFC_FIRST_FRAG
	FlagLastFrag      = 0x02 // PFC_LAST_FRAG
	FlagPendingCancel = 0x04 // PFC_PENDING_CANCEL; PFC_SUPPORT_HEADER_SIGN on bind/bind_ack/alter_context
	FlagConcMPX       = 0x10 // PFC_CONC_MPX
	FlagDidNotExecute = 0x20 // PFC_DID_NOT_EXECUTE
	FlagMaybe         = 0x40 // PFC_MAYBE
	FlagObjectUUID    = 0x80 // PFC_OBJECT_UUID
)

// HeaderLen is the size of the connection-oriented common header.
const HeaderLen = 16

// MaxFragLen is the largest fragment LooksLike accepts as sane. frag_length is a
// uint16, so Frame and Parse accept anything up to 65535.
const MaxFragLen = 65535

var (
	// ErrNeedMore means the buffer holds the start of a PDU but not all of it.
	ErrNeedMore = errors.New("dcerpc: need more data")
	// ErrVersion means the header is not DCE/RPC connection-oriented version 5.0/5.1.
	ErrVersion = errors.New("dcerpc: not version 5.0/5.1")
	// ErrFragLen means frag_length is below the header size or inconsistent with auth_length.
	ErrFragLen = errors.New("dcerpc: bad frag_length")
	// ErrTruncated means a field runs past the end of the PDU.
	ErrTruncated = errors.New("dcerpc: truncated")
	// ErrPType means the packet type is not a connection-oriented one.
	ErrPType = errors.New("dcerpc: unknown packet type")
	// ErrAuth means the auth verifier does not fit in the PDU.
	ErrAuth = errors.New("dcerpc: bad auth verifier")
)

// Header is the connection-oriented common header.
type Header struct {
	Version      uint8 // rpc_vers, always 5
	VersionMinor uint8 // rpc_vers_minor, 0 or 1
	PType        PType
	Flags        uint8   // pfc_flags, see Flag*
	DataRep      [4]byte // packed_drep: [0]&0xf0 == 0x10 means little-endian integers
	FragLen      uint16
	AuthLen      uint16
	CallID       uint32
}

// LittleEndian reports whether integers in this PDU are little-endian (NDR drep 0x10).
func (h Header) LittleEndian() bool { return h.DataRep[0]&0xf0 == 0x10 }

// FirstFrag reports PFC_FIRST_FRAG.
func (h Header) FirstFrag() bool { return h.Flags&FlagFirstFrag != 0 }

// LastFrag reports PFC_LAST_FRAG.
func (h Header) LastFrag() bool { return h.Flags&FlagLastFrag != 0 }

// ParseHeader decodes the 16-byte common header. It checks the version and that
// frag_length is at least 16; it does not require the whole fragment to be present.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, ErrNeedMore
	}
	h.Version, h.VersionMinor = b[0], b[1]
	if h.Version != 5 || h.VersionMinor > 1 {
		return h, ErrVersion
	}
	h.PType = PType(b[2])
	h.Flags = b[3]
	copy(h.DataRep[:], b[4:8])
	r := newReader(b[8:16], h.LittleEndian())
	r.u16(&h.FragLen)
	r.u16(&h.AuthLen)
	r.u32(&h.CallID)
	if h.FragLen < HeaderLen {
		return h, ErrFragLen
	}
	return h, nil
}

// Frame reports the length of the PDU at the start of b, for splitting a TCP byte
// stream. It returns ErrNeedMore (with total set when the header was readable) if b is
// shorter than that, ErrVersion for a non-DCE/RPC header and ErrFragLen for a
// frag_length below 16.
func Frame(b []byte) (total int, err error) {
	h, err := ParseHeader(b)
	if err != nil {
		return 0, err
	}
	total = int(h.FragLen)
	if len(b) < total {
		return total, ErrNeedMore
	}
	return total, nil
}

// LooksLike reports whether b plausibly starts a connection-oriented DCE/RPC PDU:
// version 5.0/5.1, a connection-oriented packet type, a known data representation,
// frag_length of at least 16 and auth_length that fits inside it with its sec_trailer.
// It needs only the first 16 bytes.
func LooksLike(b []byte) bool {
	h, err := ParseHeader(b)
	if err != nil || !h.PType.ConnectionOriented() {
		return false
	}
	// Integer rep 0 (big) or 1 (little); character rep ASCII/EBCDIC; float rep 0-3;
	// the low nibble of byte 0 and byte 3 are reserved and zero in practice.
	if h.DataRep[0]&0xe0 != 0 || h.DataRep[0]&0x0e != 0 || h.DataRep[1] > 3 {
		return false
	}
	if h.AuthLen > 0 && int(h.AuthLen)+8 > int(h.FragLen)-HeaderLen {
		return false
	}
	return true
}

// itoa formats v in decimal without fmt (hot path).
func itoa(v uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(buf[i:])
}

// hex32 formats v as "0x%08x" without fmt.
func hex32(v uint32) string {
	const digits = "0123456789abcdef"
	var buf [10]byte
	buf[0], buf[1] = '0', 'x'
	for i := 9; i >= 2; i-- {
		buf[i] = digits[v&0xf]
		v >>= 4
	}
	return string(buf[:])
}
