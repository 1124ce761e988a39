package dcom

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Limits on what a DUALSTRINGARRAY may make us allocate. Windows sends a handful of
// bindings (one per protocol sequence and address, one per security package).
const (
	maxStringBindings   = 256
	maxSecurityBindings = 256
)

var (
	// ErrShort is returned when a structure runs past the end of its buffer.
	ErrShort = errors.New("dcom: truncated")
	// ErrBigEndian is returned for NDR data in big-endian representation, which Windows
	// never sends and this package does not decode.
	ErrBigEndian = errors.New("dcom: big-endian NDR not supported")
	// ErrNotHandled is returned by ParseRequest/ParseResponse for an interface or opnum
	// this package does not decode.
	ErrNotHandled = errors.New("dcom: interface/opnum not handled")
)

// Tower (protocol sequence) identifiers used in STRINGBINDING.wTowerId ([C706] table I-2,
// [MS-RPCE] 2.2.1.1.7 / [MS-DCOM] 2.2.19.3).
const (
	TowerNCACNDnetNSP uint16 = 0x0004
	TowerNCACNIPTCP   uint16 = 0x0007
	TowerNCADGIPUDP   uint16 = 0x0008
	TowerNCACNSPX     uint16 = 0x000c
	TowerNCACNNbIPX   uint16 = 0x000d
	TowerNCADGIPX     uint16 = 0x000e
	TowerNCACNNP      uint16 = 0x000f
	TowerNCALRPC      uint16 = 0x0010
	TowerNCACNNbNb    uint16 = 0x0012
	TowerNCACNHTTP    uint16 = 0x001f
)

// TowerName returns the protocol sequence name of a tower id ("ncacn_ip_tcp" for 0x0007),
// or "tower_0xNNNN" when unknown.
func TowerName(id uint16) string {
	switch id {
	case TowerNCACNDnetNSP:
		return "ncacn_dnet_nsp"
	case TowerNCACNIPTCP:
		return "ncacn_ip_tcp"
	case TowerNCADGIPUDP:
		return "ncadg_ip_udp"
	case TowerNCACNSPX:
		return "ncacn_spx"
	case TowerNCACNNbIPX:
		return "ncacn_nb_ipx"
	case TowerNCADGIPX:
		return "ncadg_ipx"
	case TowerNCACNNP:
		return "ncacn_np"
	case TowerNCALRPC:
		return "ncalrpc"
	case TowerNCACNNbNb:
		return "ncacn_nb_nb"
	case TowerNCACNHTTP:
		return "ncacn_http"
	}
	return fmt.Sprintf("tower_0x%04x", id)
}

// StringBinding is one [MS-DCOM] 2.2.19.3 STRINGBINDING: a protocol sequence and a
// network address, optionally with an endpoint in brackets ("CA01[49712]").
type StringBinding struct {
	TowerID     uint16
	TowerName   string // "ncacn_ip_tcp", "ncacn_np", ...
	NetworkAddr string // as written on the wire, e.g. "10.0.0.5[49712]"
	Host        string // NetworkAddr before '[' (all of it when there is no '[')
	Port        int    // the bracketed endpoint when it is a decimal port 1-65535, else 0
}

// Addr returns Host as an IP address when it is a literal IPv4/IPv6 address.
func (s StringBinding) Addr() (netip.Addr, bool) {
	a, err := netip.ParseAddr(s.Host)
	return a, err == nil
}

// SecurityBinding is one [MS-DCOM] 2.2.19.4 SECURITYBINDING.
type SecurityBinding struct {
	AuthnSvc  uint16
	AuthzSvc  uint16
	PrincName string
}

// DualStringArray is [MS-DCOM] 2.2.19.2 DUALSTRINGARRAY.
type DualStringArray struct {
	NumEntries       uint16 // size of the array in 16-bit units
	SecurityOffset   uint16 // start of the security bindings, in 16-bit units
	StringBindings   []StringBinding
	SecurityBindings []SecurityBinding
}

// ParseDualStringArray parses a DUALSTRINGARRAY as it appears inside an OBJREF: wNumEntries,
// wSecurityOffset, then wNumEntries 16-bit units. Bytes after the array are ignored; use
// 4+2*NumEntries to find its end.
func ParseDualStringArray(b []byte) (DualStringArray, error) {
	d, _, err := parseDSA(b)
	return d, err
}

// parseDSA is ParseDualStringArray that also reports the bytes consumed.
func parseDSA(b []byte) (DualStringArray, int, error) {
	var d DualStringArray
	r := reader{b: b}
	var arr []byte
	if !r.u16(&d.NumEntries) || !r.u16(&d.SecurityOffset) {
		return DualStringArray{}, 0, fmt.Errorf("dcom: dualstringarray header: %w", ErrShort)
	}
	if !r.bytes(&arr, 2*int(d.NumEntries)) {
		return DualStringArray{}, 0, fmt.Errorf("dcom: dualstringarray of %d entries: %w", d.NumEntries, ErrShort)
	}
	if d.SecurityOffset > d.NumEntries {
		return DualStringArray{}, 0, fmt.Errorf("dcom: dualstringarray security offset %d beyond %d entries", d.SecurityOffset, d.NumEntries)
	}
	sb, err := parseStringBindings(arr[:2*int(d.SecurityOffset)])
	if err != nil {
		return DualStringArray{}, 0, err
	}
	sec, err := parseSecurityBindings(arr[2*int(d.SecurityOffset):])
	if err != nil {
		return DualStringArray{}, 0, err
	}
	d.StringBindings, d.SecurityBindings = sb, sec
	return d, r.off, nil
}

// parseStringBindings reads STRINGBINDINGs until a zero wTowerId or the end of the section.
func parseStringBindings(sec []byte) ([]StringBinding, error) {
	var out []StringBinding
	r := reader{b: sec}
	for r.remaining() > 0 {
		var tower uint16
		if !r.u16(&tower) {
			return nil, fmt.Errorf("dcom: string binding tower id: %w", ErrShort)
		}
		if tower == 0 {
			break
		}
		if len(out) == maxStringBindings {
			return nil, fmt.Errorf("dcom: more than %d string bindings", maxStringBindings)
		}
		addr, n, ok := utf16z(sec[r.off:])
		if !ok {
			return nil, errors.New("dcom: string binding network address not NUL-terminated")
		}
		r.skip(2 * n)
		out = append(out, newStringBinding(tower, addr))
	}
	return out, nil
}

func newStringBinding(tower uint16, addr string) StringBinding {
	s := StringBinding{TowerID: tower, TowerName: TowerName(tower), NetworkAddr: addr, Host: addr}
	if i := strings.IndexByte(addr, '['); i >= 0 {
		s.Host = addr[:i]
		ep := addr[i+1:]
		if j := strings.IndexByte(ep, ']'); j >= 0 {
			s.Port = parsePort(ep[:j])
		}
	}
	return s
}

// parsePort accepts 1-5 decimal digits with a value 1-65535.
func parsePort(s string) int {
	if len(s) == 0 || len(s) > 5 {
		return 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int(s[i]-'0')
	}
	if n > 65535 {
		return 0
	}
	return n
}

// parseSecurityBindings reads SECURITYBINDINGs until a zero wAuthnSvc or the end.
func parseSecurityBindings(sec []byte) ([]SecurityBinding, error) {
	var out []SecurityBinding
	r := reader{b: sec}
	for r.remaining() > 0 {
		var s SecurityBinding
		if !r.u16(&s.AuthnSvc) {
			return nil, fmt.Errorf("dcom: security binding: %w", ErrShort)
		}
		if s.AuthnSvc == 0 {
			break
		}
		if len(out) == maxSecurityBindings {
			return nil, fmt.Errorf("dcom: more than %d security bindings", maxSecurityBindings)
		}
		if !r.u16(&s.AuthzSvc) {
			return nil, fmt.Errorf("dcom: security binding authz: %w", ErrShort)
		}
		name, n, ok := utf16z(sec[r.off:])
		if !ok {
			return nil, errors.New("dcom: security binding principal name not NUL-terminated")
		}
		r.skip(2 * n)
		s.PrincName = name
		out = append(out, s)
	}
	return out, nil
}

// parseNDRDSA reads a DUALSTRINGARRAY marshaled as an NDR conformant structure (the
// pointee of a DUALSTRINGARRAY* in ScmReplyInfoData or IObjectExporter replies): a 4-byte
// conformance (max count) that must equal wNumEntries, then the structure.
func parseNDRDSA(r *reader) (DualStringArray, error) {
	var maxCount uint32
	if !r.align(4) || !r.u32(&maxCount) {
		return DualStringArray{}, fmt.Errorf("dcom: dualstringarray conformance: %w", ErrShort)
	}
	d, n, err := parseDSA(r.b[r.off:])
	if err != nil {
		return DualStringArray{}, err
	}
	if maxCount != uint32(d.NumEntries) {
		return DualStringArray{}, fmt.Errorf("dcom: dualstringarray conformance %d != wNumEntries %d", maxCount, d.NumEntries)
	}
	r.skip(n)
	return d, nil
}
