package dcom

import (
	"fmt"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// Activation property and blob class identifiers ([MS-DCOM] 1.9).
var (
	CLSIDActivationPropertiesIn  = dcerpc.MustUUID("00000338-0000-0000-c000-000000000046")
	CLSIDActivationPropertiesOut = dcerpc.MustUUID("00000339-0000-0000-c000-000000000046")
	CLSIDInstantiationInfo       = dcerpc.MustUUID("000001ab-0000-0000-c000-000000000046")
	CLSIDPropsOutInfo            = dcerpc.MustUUID("00000339-0000-0000-c000-000000000046")
	CLSIDScmReplyInfo            = dcerpc.MustUUID("000001b6-0000-0000-c000-000000000046")
	CLSIDSpecialSystemProperties = dcerpc.MustUUID("000001b9-0000-0000-c000-000000000046")
)

const (
	maxProperties = 32   // activation property structs in one blob (Windows sends <= 8)
	maxIIDs       = 1024 // interfaces asked for in one activation
)

// ComVersion is [MS-DCOM] 2.2.11 COMVERSION.
type ComVersion struct{ Major, Minor uint16 }

// property is one activation property: its class id and its serialized bytes.
type property struct {
	clsid dcerpc.UUID
	data  []byte
}

// typeSerialized checks the [MS-RPCE] 2.2.6 type serialization version 1 common header
// and private header, returning the NDR body (ObjectBufferLength bytes).
func typeSerialized(b []byte) ([]byte, error) {
	r := reader{b: b}
	var version, endianness uint8
	var hdrLen uint16
	var filler, bufLen, pfiller uint32
	if !r.u8(&version) || !r.u8(&endianness) || !r.u16(&hdrLen) || !r.u32(&filler) ||
		!r.u32(&bufLen) || !r.u32(&pfiller) {
		return nil, fmt.Errorf("dcom: type serialization header: %w", ErrShort)
	}
	if version != 1 {
		return nil, fmt.Errorf("dcom: type serialization version %d", version)
	}
	switch endianness {
	case 0x10:
	case 0x00:
		return nil, ErrBigEndian
	default:
		return nil, fmt.Errorf("dcom: type serialization endianness %#x", endianness)
	}
	if hdrLen != 8 {
		return nil, fmt.Errorf("dcom: type serialization header length %d", hdrLen)
	}
	var body []byte
	if bufLen > uint32(r.remaining()) || !r.bytes(&body, int(bufLen)) {
		return nil, fmt.Errorf("dcom: type serialization body of %d bytes: %w", bufLen, ErrShort)
	}
	return body, nil
}

// parseActivationBlob parses an [MS-DCOM] 2.2.22 activation properties blob (the
// pObjectData of the ActivationPropertiesIn/Out OBJREF_CUSTOM) into its properties.
// The returned property data alias b.
func parseActivationBlob(b []byte) ([]property, error) {
	r := reader{b: b}
	var dwSize, dwReserved uint32
	if !r.u32(&dwSize) || !r.u32(&dwReserved) {
		return nil, fmt.Errorf("dcom: activation blob: %w", ErrShort)
	}
	blob := b[r.off:] // CustomHeader then properties; dwSize counts from here
	if uint64(dwSize) < uint64(len(blob)) {
		blob = blob[:dwSize]
	}
	body, err := typeSerialized(blob)
	if err != nil {
		return nil, fmt.Errorf("dcom: activation custom header: %w", err)
	}
	h := reader{b: body}
	var totalSize, headerSize, reserved, destCtx, cIfs, pClsid, pSizes, pReserved uint32
	var classInfo dcerpc.UUID
	if !h.u32(&totalSize) || !h.u32(&headerSize) || !h.u32(&reserved) || !h.u32(&destCtx) ||
		!h.u32(&cIfs) || !h.uuid(&classInfo) || !h.u32(&pClsid) || !h.u32(&pSizes) || !h.u32(&pReserved) {
		return nil, fmt.Errorf("dcom: activation custom header: %w", ErrShort)
	}
	if cIfs > maxProperties {
		return nil, fmt.Errorf("dcom: %d activation properties exceed limit", cIfs)
	}
	if cIfs > 0 && (pClsid == 0 || pSizes == 0) {
		return nil, fmt.Errorf("dcom: activation custom header: %w", errNullPointer)
	}
	var clsids [maxProperties]dcerpc.UUID
	var sizes [maxProperties]uint32
	if pClsid != 0 {
		var n uint32
		if !h.u32(&n) || n != cIfs {
			return nil, fmt.Errorf("dcom: activation clsid array conformance %d != %d", n, cIfs)
		}
		for i := uint32(0); i < cIfs; i++ {
			if !h.uuid(&clsids[i]) {
				return nil, fmt.Errorf("dcom: activation clsid array: %w", ErrShort)
			}
		}
	}
	if pSizes != 0 {
		var n uint32
		if !h.u32(&n) || n != cIfs {
			return nil, fmt.Errorf("dcom: activation size array conformance %d != %d", n, cIfs)
		}
		for i := uint32(0); i < cIfs; i++ {
			if !h.u32(&sizes[i]) {
				return nil, fmt.Errorf("dcom: activation size array: %w", ErrShort)
			}
		}
	}
	// Properties start headerSize bytes after the custom header's common header.
	if uint64(headerSize) > uint64(len(blob)) || uint64(headerSize) < 16+uint64(len(body)) {
		return nil, fmt.Errorf("dcom: activation header size %d: %w", headerSize, ErrShort)
	}
	p := reader{b: blob[headerSize:]}
	props := make([]property, 0, cIfs)
	for i := uint32(0); i < cIfs; i++ {
		var data []byte
		if uint64(sizes[i]) > uint64(p.remaining()) || !p.bytes(&data, int(sizes[i])) {
			return nil, fmt.Errorf("dcom: activation property %d of %d bytes: %w", i, sizes[i], ErrShort)
		}
		props = append(props, property{clsid: clsids[i], data: data})
	}
	return props, nil
}

// instantiationInfo decodes InstantiationInfoData ([MS-DCOM] 2.2.22.2.1).
func instantiationInfo(data []byte, req *ActivationRequest) error {
	body, err := typeSerialized(data)
	if err != nil {
		return fmt.Errorf("dcom: InstantiationInfoData: %w", err)
	}
	r := reader{b: body}
	var classCtx, actFlags, surrogate, cIID, instFlag, pIID, thisSize uint32
	var ver ComVersion
	if !r.uuid(&req.CLSID) || !r.u32(&classCtx) || !r.u32(&actFlags) || !r.u32(&surrogate) ||
		!r.u32(&cIID) || !r.u32(&instFlag) || !r.u32(&pIID) || !r.u32(&thisSize) ||
		!r.u16(&ver.Major) || !r.u16(&ver.Minor) {
		return fmt.Errorf("dcom: InstantiationInfoData: %w", ErrShort)
	}
	req.ClassContext = classCtx
	if pIID == 0 {
		if cIID != 0 {
			return fmt.Errorf("dcom: InstantiationInfoData IIDs: %w", errNullPointer)
		}
		return nil
	}
	var n uint32
	if !r.u32(&n) || n != cIID {
		return fmt.Errorf("dcom: InstantiationInfoData IID conformance %d != cIID %d", n, cIID)
	}
	if cIID > maxIIDs || uint64(cIID)*16 > uint64(r.remaining()) {
		return fmt.Errorf("dcom: InstantiationInfoData %d IIDs: %w", cIID, ErrShort)
	}
	req.IIDs = make([]dcerpc.UUID, cIID)
	for i := range req.IIDs {
		r.uuid(&req.IIDs[i])
	}
	return nil
}

// propsOutInfo decodes PropsOutInfo ([MS-DCOM] 2.2.22.2.9): the IIDs, their HRESULTs and
// the interface pointers handed back.
func propsOutInfo(data []byte, act *Activation) error {
	body, err := typeSerialized(data)
	if err != nil {
		return fmt.Errorf("dcom: PropsOutInfo: %w", err)
	}
	r := reader{b: body}
	var cIfs, pIID, pHR, pIntf uint32
	if !r.u32(&cIfs) || !r.u32(&pIID) || !r.u32(&pHR) || !r.u32(&pIntf) {
		return fmt.Errorf("dcom: PropsOutInfo: %w", ErrShort)
	}
	// Every interface costs at least 16 (IID) + 4 (HRESULT) bytes.
	if cIfs > maxIIDs || uint64(cIfs)*20 > uint64(r.remaining()) {
		return fmt.Errorf("dcom: PropsOutInfo %d interfaces: %w", cIfs, ErrShort)
	}
	if cIfs > 0 && (pIID == 0 || pHR == 0) {
		return fmt.Errorf("dcom: PropsOutInfo arrays: %w", errNullPointer)
	}
	act.Interfaces = make([]InterfaceResult, cIfs)
	var n uint32
	if pIID != 0 {
		if !r.u32(&n) || n != cIfs {
			return fmt.Errorf("dcom: PropsOutInfo IID conformance %d != %d", n, cIfs)
		}
		for i := range act.Interfaces {
			if !r.uuid(&act.Interfaces[i].IID) {
				return fmt.Errorf("dcom: PropsOutInfo IIDs: %w", ErrShort)
			}
		}
	}
	if pHR != 0 {
		if !r.u32(&n) || n != cIfs {
			return fmt.Errorf("dcom: PropsOutInfo HRESULT conformance %d != %d", n, cIfs)
		}
		for i := range act.Interfaces {
			if !r.u32(&act.Interfaces[i].HResult) {
				return fmt.Errorf("dcom: PropsOutInfo HRESULTs: %w", ErrShort)
			}
		}
	}
	if pIntf == 0 {
		return nil
	}
	if !r.u32(&n) || n != cIfs {
		return fmt.Errorf("dcom: PropsOutInfo interface conformance %d != %d", n, cIfs)
	}
	ptrs := make([]uint32, cIfs) // cIfs is bounded by the bytes left, checked above
	for i := range ptrs {
		if !r.u32(&ptrs[i]) {
			return fmt.Errorf("dcom: PropsOutInfo interface pointers: %w", ErrShort)
		}
	}
	for i, p := range ptrs {
		if p == 0 {
			continue
		}
		abData, err := readMIP(&r)
		if err != nil {
			return fmt.Errorf("dcom: PropsOutInfo interface %d: %w", i, err)
		}
		o, err := parseObjRef(abData)
		if err != nil {
			return fmt.Errorf("dcom: PropsOutInfo interface %d: %w", i, err)
		}
		it := &act.Interfaces[i]
		it.ObjRefFlags, it.OXID, it.IPID = o.Flags, o.OXID, o.IPID
		it.Resolver = o.Resolver.StringBindings
	}
	return nil
}

// scmReplyInfo decodes ScmReplyInfoData ([MS-DCOM] 2.2.22.2.8) and its RemoteReplyInfo:
// the OXID, the OXID bindings (where the object exporter listens), the authentication
// hint and the server's COM version.
func scmReplyInfo(data []byte, act *Activation) error {
	body, err := typeSerialized(data)
	if err != nil {
		return fmt.Errorf("dcom: ScmReplyInfoData: %w", err)
	}
	r := reader{b: body}
	var pReserved, pReply uint32
	if !r.u32(&pReserved) || !r.u32(&pReply) {
		return fmt.Errorf("dcom: ScmReplyInfoData: %w", ErrShort)
	}
	if pReply == 0 {
		return nil // no remote reply (local activation)
	}
	var pDSA uint32
	if !r.align(8) || !r.u64(&act.OXID) || !r.u32(&pDSA) || !r.uuid(&act.IPIDRemUnknown) ||
		!r.u32(&act.AuthnHint) || !r.u16(&act.ComVersion.Major) || !r.u16(&act.ComVersion.Minor) {
		return fmt.Errorf("dcom: RemoteReplyInfo: %w", ErrShort)
	}
	if pDSA == 0 {
		return nil
	}
	d, err := parseNDRDSA(&r)
	if err != nil {
		return fmt.Errorf("dcom: RemoteReplyInfo OXID bindings: %w", err)
	}
	act.Bindings, act.Security = d.StringBindings, d.SecurityBindings
	return nil
}
