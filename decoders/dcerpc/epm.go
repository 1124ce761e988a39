package dcerpc

import (
	"errors"
	"net/netip"
)

// Tower protocol identifiers (C706 appendix I and L; MS-RPCE 2.2.1.1.x).
const (
	ProtoUUID       = 0x0d // floor 1 (interface) and floor 2 (transfer syntax)
	ProtoNCADG      = 0x0a // connectionless RPC
	ProtoNCACN      = 0x0b // connection-oriented RPC
	ProtoNCALRPC    = 0x0c // local RPC
	ProtoTCP        = 0x07 // rhs: port, big-endian
	ProtoUDP        = 0x08 // rhs: port, big-endian
	ProtoIP         = 0x09 // rhs: IPv4 address
	ProtoNamedPipe  = 0x0f // rhs: pipe name, NUL-terminated
	ProtoLRPCName   = 0x10 // rhs: ncalrpc endpoint (or NetBIOS pipe), NUL-terminated
	ProtoNetBIOS    = 0x11 // rhs: NetBIOS host name, NUL-terminated
	ProtoHTTP       = 0x1f // rhs: port, big-endian
	maxTowerFloors  = 32
	maxTowers       = 4096
	ctxHandleLen    = 20
	maxAnnotation   = 64
	twrHeaderLenMin = 2
)

var (
	// ErrTower means a tower's floors run past its bytes.
	ErrTower = errors.New("dcerpc: malformed tower")
	// ErrNDR means an NDR stub is truncated or its counts are inconsistent.
	ErrNDR = errors.New("dcerpc: malformed NDR stub")
	// ErrTooMany means a count exceeds the decoder's cap.
	ErrTooMany = errors.New("dcerpc: too many elements")
)

// Tower is a decoded protocol tower (twr_t contents).
type Tower struct {
	Interface       UUID // floor 1
	VersionMajor    uint16
	VersionMinor    uint16
	Transfer        UUID // floor 2
	TransferVersion uint16
	// Protocol is "ncacn_ip_tcp", "ncacn_np", "ncacn_http", "ncadg_ip_udp", "ncalrpc",
	// or "" when the floors name no transport this package knows.
	Protocol string
	Port     uint16     // TCP, UDP or HTTP port (floor 4)
	Addr     netip.Addr // IPv4 address (floor 5); zero if absent; 0.0.0.0 kept as sent
	Pipe     string     // named pipe (0x0f) or ncalrpc endpoint (0x10)
	Host     string     // NetBIOS host name (0x11)
	Floors   int        // floor_count
}

// ParseTower decodes tower octets: floor_count (u16 LE) then floors, each lhs_len (u16
// LE), lhs (protocol id + data), rhs_len (u16 LE), rhs. Floors it does not know are
// skipped; an error means the floors do not fit.
func ParseTower(b []byte) (Tower, error) {
	var t Tower
	r := newReader(b, true)
	var n uint16
	if !r.u16(&n) {
		return t, ErrTower
	}
	if n > maxTowerFloors {
		return t, ErrTower
	}
	t.Floors = int(n)
	uuidFloors := 0
	var rpcProto, xport byte
	for i := 0; i < int(n); i++ {
		var ll, rl uint16
		var lhs, rhs []byte
		var ok bool
		if !r.u16(&ll) {
			return t, ErrTower
		}
		if lhs, ok = r.bytes(int(ll)); !ok || ll == 0 {
			return t, ErrTower
		}
		if !r.u16(&rl) {
			return t, ErrTower
		}
		if rhs, ok = r.bytes(int(rl)); !ok {
			return t, ErrTower
		}
		switch id := lhs[0]; id {
		case ProtoUUID:
			var u UUID
			var major, minor uint16
			if len(lhs) < 19 {
				return t, ErrTower
			}
			u, _ = UUIDFromLE(lhs[1:17])
			major = uint16(lhs[17]) | uint16(lhs[18])<<8
			if len(rhs) >= 2 {
				minor = uint16(rhs[0]) | uint16(rhs[1])<<8
			}
			switch uuidFloors {
			case 0:
				t.Interface, t.VersionMajor, t.VersionMinor = u, major, minor
			case 1:
				t.Transfer, t.TransferVersion = u, major
			}
			uuidFloors++
		case ProtoNCACN, ProtoNCADG, ProtoNCALRPC:
			rpcProto = id
		case ProtoTCP, ProtoUDP, ProtoHTTP:
			xport = id
			if len(rhs) >= 2 {
				t.Port = uint16(rhs[0])<<8 | uint16(rhs[1])
			}
		case ProtoNamedPipe, ProtoLRPCName:
			xport = id
			t.Pipe = cstring(rhs)
		case ProtoIP:
			if len(rhs) >= 4 {
				t.Addr = netip.AddrFrom4([4]byte(rhs[:4]))
			}
		case ProtoNetBIOS:
			t.Host = cstring(rhs)
		}
	}
	t.Protocol = protocolName(rpcProto, xport)
	return t, nil
}

func protocolName(rpc, xport byte) string {
	switch {
	case rpc == ProtoNCACN && xport == ProtoTCP:
		return "ncacn_ip_tcp"
	case rpc == ProtoNCACN && xport == ProtoNamedPipe:
		return "ncacn_np"
	case rpc == ProtoNCACN && xport == ProtoHTTP:
		return "ncacn_http"
	case rpc == ProtoNCADG && xport == ProtoUDP:
		return "ncadg_ip_udp"
	case rpc == ProtoNCALRPC:
		return "ncalrpc"
	}
	return ""
}

// cstring returns b up to its first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// ContextHandle is an NDR context handle (attributes + UUID), kept raw.
type ContextHandle [ctxHandleLen]byte

// IsZero reports the nil handle.
func (h ContextHandle) IsZero() bool { return h == ContextHandle{} }

// EptMapRequest is the input of ept_map (opnum 3).
type EptMapRequest struct {
	Object    UUID // zero when the pointer is null
	HasObject bool
	Tower     Tower // the map_tower: Tower.Interface is the interface asked for
	HasTower  bool
	Handle    ContextHandle
	MaxTowers uint32
}

// EptMapResponse is the output of ept_map.
type EptMapResponse struct {
	Handle    ContextHandle
	NumTowers uint32
	Towers    []Tower // the non-null towers, in order
	Status    uint32  // 0 on success; see StatusName (ept_s_not_registered 0x16c9a0d6)
}

// StatusName is StatusName(m.Status).
func (m *EptMapResponse) StatusName() string { return StatusName(m.Status) }

// readTwr reads a twr_t pointee: conformance max_count, tower_length, octets; then
// aligns to 4.
func readTwr(r *reader) (Tower, error) {
	var maxCount, length uint32
	if !r.ndrLong(&maxCount) || !r.u32(&length) {
		return Tower{}, ErrNDR
	}
	if length > maxCount || int64(length) > int64(r.remaining()) {
		return Tower{}, ErrNDR
	}
	b, _ := r.bytes(int(length))
	t, err := ParseTower(b)
	if err != nil {
		return t, err
	}
	return t, nil
}

// Encoding is how a stub is marshalled: the PDU header's integer byte order and whether
// the presentation context negotiated NDR64 instead of NDR 2.0 (see BindResults).
type Encoding struct {
	LittleEndian bool
	NDR64        bool
}

// NDR is little-endian NDR 2.0, what Windows almost always uses.
var NDR = Encoding{LittleEndian: true}

// EncodingFor returns the encoding of p's stub when its context negotiated transfer.
func EncodingFor(p *PDU, transfer UUID) Encoding {
	return Encoding{LittleEndian: p.LittleEndian(), NDR64: transfer == TransferNDR64}
}

func (e Encoding) reader(b []byte) *reader {
	r := newReader(b, e.LittleEndian)
	r.ndr64 = e.NDR64
	return r
}

// ParseEptMapRequest decodes an ept_map request stub.
func ParseEptMapRequest(stub []byte, enc Encoding) (*EptMapRequest, error) {
	r := enc.reader(stub)
	m := &EptMapRequest{}
	var ref uint32
	if !r.ndrLong(&ref) {
		return nil, ErrNDR
	}
	if ref != 0 {
		if !r.uuid(&m.Object) {
			return nil, ErrNDR
		}
		m.HasObject = true
	}
	if !r.ndrLong(&ref) {
		return nil, ErrNDR
	}
	if ref != 0 {
		t, err := readTwr(r)
		if err != nil {
			return nil, err
		}
		m.Tower, m.HasTower = t, true
	}
	h, ok := r.bytes(ctxHandleLen)
	if !r.align(4) || !ok || !r.u32(&m.MaxTowers) {
		return nil, ErrNDR
	}
	m.Handle = ContextHandle(h)
	return m, nil
}

// readPtrArray reads a conformant varying array of full pointers: max_count, offset,
// actual_count, then actual_count referent ids (0 = null).
func readPtrArray(r *reader) (refs []uint32, err error) {
	var maxCount, offset, count uint32
	if !r.ndrLong(&maxCount) || !r.ndrLong(&offset) || !r.ndrLong(&count) {
		return nil, ErrNDR
	}
	if count > maxCount || offset > maxCount-count {
		return nil, ErrNDR
	}
	if count > maxTowers {
		return nil, ErrTooMany
	}
	size := int64(4)
	if r.ndr64 {
		size = 8
	}
	if int64(count)*size > int64(r.remaining()) {
		return nil, ErrNDR
	}
	refs = make([]uint32, count)
	for i := range refs {
		if !r.ndrLong(&refs[i]) {
			return nil, ErrNDR
		}
	}
	return refs, nil
}

// ParseEptMapResponse decodes an ept_map response stub.
func ParseEptMapResponse(stub []byte, enc Encoding) (*EptMapResponse, error) {
	r := enc.reader(stub)
	m := &EptMapResponse{}
	h, ok := r.bytes(ctxHandleLen)
	if !ok || !r.u32(&m.NumTowers) {
		return nil, ErrNDR
	}
	m.Handle = ContextHandle(h)
	refs, err := readPtrArray(r)
	if err != nil {
		return nil, err
	}
	seen := map[uint32]int{} // full pointers: a repeated referent aliases, no new pointee
	for _, ref := range refs {
		if ref == 0 {
			continue
		}
		if j, ok := seen[ref]; ok {
			m.Towers = append(m.Towers, m.Towers[j])
			continue
		}
		if !r.alignStruct() {
			return nil, ErrNDR
		}
		t, err := readTwr(r)
		if err != nil {
			return nil, err
		}
		seen[ref] = len(m.Towers)
		m.Towers = append(m.Towers, t)
	}
	if !r.align(4) || !r.u32(&m.Status) {
		return nil, ErrNDR
	}
	return m, nil
}

// Inquiry types of ept_lookup.
const (
	InquiryAll        = 0 // rpc_c_ep_all_elts
	InquiryMatchByIf  = 1
	InquiryMatchByObj = 2
	InquiryMatchBoth  = 3
)

// EptLookupRequest is the input of ept_lookup (opnum 2).
type EptLookupRequest struct {
	InquiryType uint32
	Object      UUID
	HasObject   bool
	Interface   SyntaxID // rpc_if_id_t
	HasIf       bool
	VersOption  uint32
	Handle      ContextHandle
	MaxEntries  uint32
}

// EptEntry is one ept_entry_t.
type EptEntry struct {
	Object     UUID
	Annotation string
	Tower      Tower
	HasTower   bool
}

// EptLookupResponse is the output of ept_lookup.
type EptLookupResponse struct {
	Handle     ContextHandle
	NumEntries uint32
	Entries    []EptEntry
	Status     uint32 // 0 on success, ept_s_not_registered (0x16c9a0d6) at the end of the list
}

// StatusName is StatusName(m.Status).
func (m *EptLookupResponse) StatusName() string { return StatusName(m.Status) }

// ParseEptLookupRequest decodes an ept_lookup request stub.
func ParseEptLookupRequest(stub []byte, enc Encoding) (*EptLookupRequest, error) {
	r := enc.reader(stub)
	m := &EptLookupRequest{}
	var ref uint32
	if !r.u32(&m.InquiryType) || !r.ndrLong(&ref) {
		return nil, ErrNDR
	}
	if ref != 0 {
		if !r.uuid(&m.Object) {
			return nil, ErrNDR
		}
		m.HasObject = true
	}
	if !r.ndrLong(&ref) {
		return nil, ErrNDR
	}
	if ref != 0 {
		if !r.syntax(&m.Interface) {
			return nil, ErrNDR
		}
		m.HasIf = true
	}
	if !r.align(4) || !r.u32(&m.VersOption) {
		return nil, ErrNDR
	}
	h, ok := r.bytes(ctxHandleLen)
	if !ok || !r.u32(&m.MaxEntries) {
		return nil, ErrNDR
	}
	m.Handle = ContextHandle(h)
	return m, nil
}

// ParseEptLookupResponse decodes an ept_lookup response stub (reassemble fragmented
// responses with CallAssembler first).
func ParseEptLookupResponse(stub []byte, enc Encoding) (*EptLookupResponse, error) {
	r := enc.reader(stub)
	m := &EptLookupResponse{}
	h, ok := r.bytes(ctxHandleLen)
	if !ok || !r.u32(&m.NumEntries) {
		return nil, ErrNDR
	}
	m.Handle = ContextHandle(h)
	var maxCount, offset, count uint32
	if !r.ndrLong(&maxCount) || !r.ndrLong(&offset) || !r.ndrLong(&count) {
		return nil, ErrNDR
	}
	if count > maxCount || offset > maxCount-count {
		return nil, ErrNDR
	}
	if count > maxTowers {
		return nil, ErrTooMany
	}
	// Each entry takes at least 16 + 4 + 8 bytes.
	if int64(count)*28 > int64(r.remaining()) {
		return nil, ErrNDR
	}
	m.Entries = make([]EptEntry, count)
	refs := make([]uint32, count)
	for i := range m.Entries {
		e := &m.Entries[i]
		var ref, aOff, aLen uint32
		if !r.alignStruct() || !r.uuid(&e.Object) || !r.ndrLong(&ref) || !r.ndrLong(&aOff) ||
			!r.ndrLong(&aLen) {
			return nil, ErrNDR
		}
		if aLen > maxAnnotation || aOff > maxAnnotation-aLen {
			return nil, ErrNDR
		}
		ann, ok := r.bytes(int(aLen))
		if !ok {
			return nil, ErrNDR
		}
		e.Annotation = cstring(ann)
		e.HasTower = ref != 0
		refs[i] = ref
	}
	seen := map[uint32]int{}
	for i := range m.Entries {
		e := &m.Entries[i]
		if !e.HasTower {
			continue
		}
		if j, ok := seen[refs[i]]; ok {
			e.Tower = m.Entries[j].Tower
			continue
		}
		seen[refs[i]] = i
		if !r.alignStruct() {
			return nil, ErrNDR
		}
		t, err := readTwr(r)
		if err != nil {
			return nil, err
		}
		e.Tower = t
	}
	if !r.align(4) || !r.u32(&m.Status) {
		return nil, ErrNDR
	}
	return m, nil
}
