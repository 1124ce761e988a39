package dcom

import (
	"errors"
	"fmt"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// OBJREF flags ([MS-DCOM] 2.2.18.1).
const (
	ObjRefStandard uint32 = 0x1
	ObjRefHandler  uint32 = 0x2
	ObjRefCustom   uint32 = 0x4
	ObjRefExtended uint32 = 0x8
)

const objrefSignature = 0x574f454d // "MEOW" read little-endian

// maxCntData caps an MInterfacePointer; activation blobs are a few kilobytes.
const maxCntData = 1 << 20

// ObjRef is the part of an [MS-DCOM] 2.2.18 OBJREF this package needs.
type ObjRef struct {
	Flags    uint32
	IID      dcerpc.UUID
	OXID     uint64          // standard, handler, extended
	IPID     dcerpc.UUID     // standard, handler, extended
	CLSID    dcerpc.UUID     // handler, custom
	Resolver DualStringArray // standard, handler, extended: the object resolver's address
	Data     []byte          // custom: pObjectData (aliases the input)
}

// parseObjRef parses an OBJREF occupying all of b (the abData of an MInterfacePointer).
func parseObjRef(b []byte) (ObjRef, error) {
	var o ObjRef
	var sig uint32
	r := reader{b: b}
	if !r.u32(&sig) || !r.u32(&o.Flags) || !r.uuid(&o.IID) {
		return ObjRef{}, fmt.Errorf("dcom: objref header: %w", ErrShort)
	}
	if sig != objrefSignature {
		return ObjRef{}, fmt.Errorf("dcom: objref signature %#08x, want MEOW", sig)
	}
	stdobjref := func() bool {
		var flags, refs uint32
		var oid uint64
		return r.u32(&flags) && r.u32(&refs) && r.u64(&o.OXID) && r.u64(&oid) && r.uuid(&o.IPID)
	}
	resolver := func() error {
		d, n, err := parseDSA(b[r.off:])
		if err != nil {
			return err
		}
		r.skip(n)
		o.Resolver = d
		return nil
	}
	switch o.Flags {
	case ObjRefStandard:
		if !stdobjref() {
			return ObjRef{}, fmt.Errorf("dcom: stdobjref: %w", ErrShort)
		}
		if err := resolver(); err != nil {
			return ObjRef{}, err
		}
	case ObjRefHandler:
		if !stdobjref() || !r.uuid(&o.CLSID) {
			return ObjRef{}, fmt.Errorf("dcom: objref_handler: %w", ErrShort)
		}
		if err := resolver(); err != nil {
			return ObjRef{}, err
		}
	case ObjRefExtended:
		var sig1 uint32
		if !stdobjref() || !r.u32(&sig1) {
			return ObjRef{}, fmt.Errorf("dcom: objref_extended: %w", ErrShort)
		}
		if err := resolver(); err != nil {
			return ObjRef{}, err
		}
	case ObjRefCustom:
		var cbExtension, size uint32
		if !r.uuid(&o.CLSID) || !r.u32(&cbExtension) || !r.u32(&size) {
			return ObjRef{}, fmt.Errorf("dcom: objref_custom: %w", ErrShort)
		}
		if cbExtension != 0 {
			// [MS-DCOM] 2.2.18.6: MUST be zero; an extension would shift pObjectData.
			return ObjRef{}, fmt.Errorf("dcom: objref_custom cbExtension %d not supported", cbExtension)
		}
		r.bytes(&o.Data, r.remaining())
	default:
		return ObjRef{}, fmt.Errorf("dcom: objref flags %#x", o.Flags)
	}
	return o, nil
}

// readMIP reads an NDR-marshaled MInterfacePointer (ulCntData, conformance, abData) and
// returns abData.
func readMIP(r *reader) ([]byte, error) {
	var cnt, maxCount uint32
	if !r.align(4) || !r.u32(&cnt) || !r.u32(&maxCount) {
		return nil, fmt.Errorf("dcom: MInterfacePointer header: %w", ErrShort)
	}
	if cnt != maxCount {
		return nil, fmt.Errorf("dcom: MInterfacePointer ulCntData %d != conformance %d", cnt, maxCount)
	}
	if cnt > maxCntData {
		return nil, fmt.Errorf("dcom: MInterfacePointer of %d bytes exceeds limit", cnt)
	}
	var data []byte
	if !r.bytes(&data, int(cnt)) {
		return nil, fmt.Errorf("dcom: MInterfacePointer of %d bytes: %w", cnt, ErrShort)
	}
	return data, nil
}

// maxExtents caps ORPC_EXTENT_ARRAY sizes; Windows sends at most a few extensions.
const maxExtents = 64

// skipExtents skips the pointee of an ORPC_EXTENT_ARRAY* ([MS-DCOM] 2.2.21.2) when ptr is
// not NULL: size, reserved, extent pointer, then the conformant pointer array and the
// ORPC_EXTENTs it points to.
func skipExtents(r *reader, ptr uint32) error {
	if ptr == 0 {
		return nil
	}
	var size, reserved, extPtr uint32
	if !r.u32(&size) || !r.u32(&reserved) || !r.u32(&extPtr) {
		return fmt.Errorf("dcom: orpc extent array: %w", ErrShort)
	}
	if extPtr == 0 {
		return nil
	}
	var maxCount uint32
	if !r.u32(&maxCount) {
		return fmt.Errorf("dcom: orpc extent array: %w", ErrShort)
	}
	if size > maxExtents || maxCount != (size+1)&^1 {
		return fmt.Errorf("dcom: orpc extent array size %d, conformance %d", size, maxCount)
	}
	var ptrs [maxExtents]uint32
	for i := uint32(0); i < maxCount; i++ {
		if !r.u32(&ptrs[i]) {
			return fmt.Errorf("dcom: orpc extent pointers: %w", ErrShort)
		}
	}
	for i := uint32(0); i < maxCount; i++ {
		if ptrs[i] == 0 {
			continue
		}
		var conf, esize uint32
		var id dcerpc.UUID
		if !r.u32(&conf) || !r.uuid(&id) || !r.u32(&esize) {
			return fmt.Errorf("dcom: orpc extent: %w", ErrShort)
		}
		if uint64(conf) != (uint64(esize)+7)&^7 {
			return fmt.Errorf("dcom: orpc extent size %d, conformance %d", esize, conf)
		}
		if !r.skip(int(conf)) {
			return fmt.Errorf("dcom: orpc extent data: %w", ErrShort)
		}
	}
	return nil
}

var errNullPointer = errors.New("dcom: unexpected NULL pointer")
