// Package dcom decodes the DCOM ([MS-DCOM]) calls that hand out dynamic RPC ports:
// ISystemActivator RemoteGetClassObject / RemoteCreateInstance (the activation request's
// CLSID and IIDs; the reply's OXID bindings) and IObjectExporter ResolveOxid /
// ResolveOxid2 / ServerAlive2 (their DUALSTRINGARRAYs).
//
// Input is the complete stub of one call: the request or response PDU body after the
// DCE/RPC header, with fragments concatenated and any auth padding and verifier removed.
// Only little-endian NDR (data representation byte 0x10) is decoded; the caller must not
// pass stubs from PDUs with big-endian data representation. Functions are pure and
// never panic.
package dcom

import (
	"fmt"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// Interfaces decoded by ParseRequest / ParseResponse.
var (
	IIDSystemActivator = dcerpc.MustUUID("000001a0-0000-0000-c000-000000000046") // ISystemActivator (IRemoteSCMActivator)
	IIDObjectExporter  = dcerpc.MustUUID("99fcfec4-5260-101b-bbcb-00aa0021347a") // IObjectExporter (OXID resolver)
)

// Opnums.
const (
	OpRemoteGetClassObject uint16 = 3 // ISystemActivator
	OpRemoteCreateInstance uint16 = 4 // ISystemActivator
	OpResolveOxid          uint16 = 0 // IObjectExporter
	OpServerAlive          uint16 = 3 // IObjectExporter
	OpResolveOxid2         uint16 = 4 // IObjectExporter
	OpServerAlive2         uint16 = 5 // IObjectExporter
)

// maxProtseqs caps the protocol sequences in a ResolveOxid request.
const maxProtseqs = 256

// ActivationRequest is what a client asked for.
type ActivationRequest struct {
	Method       string        // "RemoteCreateInstance", "RemoteGetClassObject", "ResolveOxid2", ...
	CLSID        dcerpc.UUID   // activation: InstantiationInfoData.classId
	IIDs         []dcerpc.UUID // activation: the interfaces requested
	ClassContext uint32        // activation: CLSCTX flags
	OXID         uint64        // ResolveOxid/ResolveOxid2: the OXID to resolve
	Protseqs     []uint16      // ResolveOxid/ResolveOxid2: requested tower ids
}

// InterfaceResult is one interface of an activation reply (PropsOutInfo).
type InterfaceResult struct {
	IID         dcerpc.UUID
	HResult     uint32
	ObjRefFlags uint32          // OBJREF flags of the returned pointer, 0 when NULL
	OXID        uint64          // OXID named in the returned OBJREF
	IPID        dcerpc.UUID     // IPID named in the returned OBJREF
	Resolver    []StringBinding // the OBJREF's resolver address (usually host only, no port)
}

// Activation is what a server replied.
type Activation struct {
	Method         string
	Bindings       []StringBinding   // OXID bindings (ScmReplyInfoData / ResolveOxid*) or resolver bindings (ServerAlive2)
	Security       []SecurityBinding // security bindings of the same DUALSTRINGARRAY
	OXID           uint64            // activation: the OXID the bindings belong to
	IPIDRemUnknown dcerpc.UUID       // activation, ResolveOxid*: IRemUnknown IPID
	AuthnHint      uint32
	ComVersion     ComVersion
	Interfaces     []InterfaceResult // activation: per-IID results
	HResult        uint32            // activation HRESULT, or IObjectExporter error_status_t
	HResultName    string            // "S_OK", "E_ACCESSDENIED", ... or "0x%08x"
}

func methodName(iface dcerpc.UUID, opnum uint16) (string, bool) {
	switch {
	case iface == IIDSystemActivator && opnum == OpRemoteGetClassObject:
		return "RemoteGetClassObject", true
	case iface == IIDSystemActivator && opnum == OpRemoteCreateInstance:
		return "RemoteCreateInstance", true
	case iface == IIDObjectExporter && opnum == OpResolveOxid:
		return "ResolveOxid", true
	case iface == IIDObjectExporter && opnum == OpResolveOxid2:
		return "ResolveOxid2", true
	case iface == IIDObjectExporter && opnum == OpServerAlive2:
		return "ServerAlive2", true
	}
	return "", false
}

// ParseRequest decodes the stub of a request to ISystemActivator (RemoteGetClassObject,
// RemoteCreateInstance) or IObjectExporter (ResolveOxid, ResolveOxid2, ServerAlive2).
// Other interfaces and opnums return ErrNotHandled.
func ParseRequest(iface dcerpc.UUID, opnum uint16, stub []byte) (*ActivationRequest, error) {
	m, ok := methodName(iface, opnum)
	if !ok {
		return nil, ErrNotHandled
	}
	req := &ActivationRequest{Method: m}
	r := reader{b: stub}
	switch m {
	case "ServerAlive2":
		return req, nil // no [in] parameters besides the handle
	case "ResolveOxid", "ResolveOxid2":
		var n uint16
		var maxCount uint32
		if !r.u64(&req.OXID) || !r.u16(&n) || !r.align(4) || !r.u32(&maxCount) {
			return nil, fmt.Errorf("dcom: %s request: %w", m, ErrShort)
		}
		if maxCount != uint32(n) {
			return nil, fmt.Errorf("dcom: %s protseq conformance %d != %d", m, maxCount, n)
		}
		if n > maxProtseqs || 2*int(n) > r.remaining() {
			return nil, fmt.Errorf("dcom: %s %d protseqs: %w", m, n, ErrShort)
		}
		req.Protseqs = make([]uint16, n)
		for i := range req.Protseqs {
			r.u16(&req.Protseqs[i])
		}
		if r.remaining() != 0 {
			return nil, fmt.Errorf("dcom: %s request: %d trailing bytes", m, r.remaining())
		}
		return req, nil
	}

	// Activation: ORPCTHIS, [RemoteCreateInstance: pUnkOuter], pActProperties.
	if err := orpcThis(&r); err != nil {
		return nil, err
	}
	if m == "RemoteCreateInstance" {
		var pUnkOuter uint32
		if !r.u32(&pUnkOuter) {
			return nil, fmt.Errorf("dcom: pUnkOuter: %w", ErrShort)
		}
		if pUnkOuter != 0 {
			if _, err := readMIP(&r); err != nil {
				return nil, fmt.Errorf("dcom: pUnkOuter: %w", err)
			}
		}
	}
	var pAct uint32
	if !r.u32(&pAct) {
		return nil, fmt.Errorf("dcom: pActProperties: %w", ErrShort)
	}
	if pAct == 0 {
		return nil, fmt.Errorf("dcom: pActProperties: %w", errNullPointer)
	}
	props, err := activationProperties(&r, CLSIDActivationPropertiesIn)
	if err != nil {
		return nil, err
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("dcom: %s request: %d trailing bytes", m, r.remaining())
	}
	found := false
	for _, p := range props {
		if p.clsid == CLSIDInstantiationInfo {
			if err := instantiationInfo(p.data, req); err != nil {
				return nil, err
			}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("dcom: %s request without InstantiationInfoData", m)
	}
	return req, nil
}

// ParseResponse decodes the stub of a response from ISystemActivator (RemoteGetClassObject,
// RemoteCreateInstance) or IObjectExporter (ResolveOxid, ResolveOxid2, ServerAlive2).
// A failed call (HResult != 0) usually has no bindings. Other interfaces and opnums
// return ErrNotHandled.
func ParseResponse(iface dcerpc.UUID, opnum uint16, stub []byte) (*Activation, error) {
	m, ok := methodName(iface, opnum)
	if !ok {
		return nil, ErrNotHandled
	}
	act := &Activation{Method: m}
	r := reader{b: stub}
	dsaPtr := func() error {
		var p uint32
		if !r.u32(&p) {
			return fmt.Errorf("dcom: %s bindings pointer: %w", m, ErrShort)
		}
		if p == 0 {
			return nil
		}
		d, err := parseNDRDSA(&r)
		if err != nil {
			return fmt.Errorf("dcom: %s: %w", m, err)
		}
		act.Bindings, act.Security = d.StringBindings, d.SecurityBindings
		return nil
	}
	switch m {
	case "ResolveOxid", "ResolveOxid2":
		if err := dsaPtr(); err != nil {
			return nil, err
		}
		if !r.align(4) || !r.uuid(&act.IPIDRemUnknown) || !r.u32(&act.AuthnHint) {
			return nil, fmt.Errorf("dcom: %s reply: %w", m, ErrShort)
		}
		if m == "ResolveOxid2" && (!r.u16(&act.ComVersion.Major) || !r.u16(&act.ComVersion.Minor)) {
			return nil, fmt.Errorf("dcom: %s reply: %w", m, ErrShort)
		}
	case "ServerAlive2":
		if !r.u16(&act.ComVersion.Major) || !r.u16(&act.ComVersion.Minor) {
			return nil, fmt.Errorf("dcom: %s reply: %w", m, ErrShort)
		}
		if err := dsaPtr(); err != nil {
			return nil, err
		}
		var reserved uint32
		if !r.align(4) || !r.u32(&reserved) {
			return nil, fmt.Errorf("dcom: %s reply: %w", m, ErrShort)
		}
	default: // RemoteGetClassObject, RemoteCreateInstance: ORPCTHAT, ppActProperties
		if err := orpcThat(&r); err != nil {
			return nil, err
		}
		var pAct uint32
		if !r.u32(&pAct) {
			return nil, fmt.Errorf("dcom: ppActProperties: %w", ErrShort)
		}
		if pAct != 0 {
			props, err := activationProperties(&r, CLSIDActivationPropertiesOut)
			if err != nil {
				return nil, err
			}
			for _, p := range props {
				switch p.clsid {
				case CLSIDPropsOutInfo:
					err = propsOutInfo(p.data, act)
				case CLSIDScmReplyInfo:
					err = scmReplyInfo(p.data, act)
				}
				if err != nil {
					return nil, err
				}
			}
		}
	}
	if !r.align(4) || !r.u32(&act.HResult) {
		return nil, fmt.Errorf("dcom: %s status: %w", m, ErrShort)
	}
	if r.remaining() != 0 {
		return nil, fmt.Errorf("dcom: %s reply: %d trailing bytes", m, r.remaining())
	}
	act.HResultName = HResultName(act.HResult)
	return act, nil
}

// activationProperties reads the MInterfacePointer holding an activation properties blob
// and checks it is an OBJREF_CUSTOM of class want.
func activationProperties(r *reader, want dcerpc.UUID) ([]property, error) {
	abData, err := readMIP(r)
	if err != nil {
		return nil, fmt.Errorf("dcom: activation properties: %w", err)
	}
	o, err := parseObjRef(abData)
	if err != nil {
		return nil, fmt.Errorf("dcom: activation properties: %w", err)
	}
	if o.Flags != ObjRefCustom || o.CLSID != want {
		return nil, fmt.Errorf("dcom: activation properties are OBJREF flags %#x class %s, want custom %s", o.Flags, o.CLSID, want)
	}
	return parseActivationBlob(o.Data)
}

// orpcThis skips an ORPCTHIS ([MS-DCOM] 2.2.13.1).
func orpcThis(r *reader) error {
	var major, minor uint16
	var flags, reserved, ext uint32
	var cid dcerpc.UUID
	if !r.u16(&major) || !r.u16(&minor) || !r.u32(&flags) || !r.u32(&reserved) || !r.uuid(&cid) || !r.u32(&ext) {
		return fmt.Errorf("dcom: ORPCTHIS: %w", ErrShort)
	}
	if major != 5 {
		return fmt.Errorf("dcom: ORPCTHIS COM version %d.%d", major, minor)
	}
	return skipExtents(r, ext)
}

// orpcThat skips an ORPCTHAT ([MS-DCOM] 2.2.13.2).
func orpcThat(r *reader) error {
	var flags, ext uint32
	if !r.u32(&flags) || !r.u32(&ext) {
		return fmt.Errorf("dcom: ORPCTHAT: %w", ErrShort)
	}
	return skipExtents(r, ext)
}
