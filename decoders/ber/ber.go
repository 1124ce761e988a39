// Package ber reads ASN.1 BER/DER TLVs as Kerberos (RFC 4120) and LDAP (RFC 4511) put them
// on the wire. It is lenient where real implementations are: long-form lengths that are not
// minimal (Active Directory writes 0x84 00 00 00 nn) are accepted; indefinite lengths and tag
// numbers above 2^28 are not. Nothing here allocates: values are sub-slices of the input.
package ber

import "errors"

// Classes of a tag.
const (
	ClassUniversal   = 0
	ClassApplication = 1
	ClassContext     = 2
	ClassPrivate     = 3
)

// Universal tag numbers used by the decoders.
const (
	TagBoolean     = 1
	TagInteger     = 2
	TagBitString   = 3
	TagOctetString = 4
	TagNull        = 5
	TagOID         = 6
	TagEnumerated  = 10
	TagUTF8String  = 12
	TagSequence    = 16
	TagSet         = 17
	TagGeneralStr  = 27
	TagGeneralized = 24
)

// Errors returned by the reader.
var (
	ErrTruncated  = errors.New("ber: truncated")
	ErrIndefinite = errors.New("ber: indefinite length not supported")
	ErrTag        = errors.New("ber: tag number too large")
	ErrLength     = errors.New("ber: length too large")
	ErrUnexpected = errors.New("ber: unexpected tag")
	ErrInteger    = errors.New("ber: integer out of range")
)

// Element is one decoded TLV. Value aliases the input.
type Element struct {
	Class       int
	Constructed bool
	Tag         int
	Value       []byte
	// HeaderLen is the number of bytes of identifier and length octets.
	HeaderLen int
}

// Is reports whether e has the given class and tag number.
func (e Element) Is(class, tag int) bool { return e.Class == class && e.Tag == tag }

// Len is the whole encoded length of the element, header included.
func (e Element) Len() int { return e.HeaderLen + len(e.Value) }

// Header parses only the identifier and length octets at the start of b. It returns the
// element's header, the length of its value and the header length. It does not require the
// value to be present, so callers framing a stream can learn how many bytes to wait for.
func Header(b []byte) (class int, constructed bool, tag int, valueLen int, headerLen int, err error) {
	if len(b) < 2 {
		return 0, false, 0, 0, 0, ErrTruncated
	}
	class = int(b[0] >> 6)
	constructed = b[0]&0x20 != 0
	tag = int(b[0] & 0x1f)
	i := 1
	if tag == 0x1f {
		tag = 0
		for {
			if i >= len(b) {
				return 0, false, 0, 0, 0, ErrTruncated
			}
			c := b[i]
			i++
			if tag > 1<<21 {
				return 0, false, 0, 0, 0, ErrTag
			}
			tag = tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return 0, false, 0, 0, 0, ErrTruncated
	}
	l := b[i]
	i++
	switch {
	case l < 0x80:
		valueLen = int(l)
	case l == 0x80:
		return 0, false, 0, 0, 0, ErrIndefinite
	default:
		n := int(l & 0x7f)
		if n > 4 {
			return 0, false, 0, 0, 0, ErrLength
		}
		if i+n > len(b) {
			return 0, false, 0, 0, 0, ErrTruncated
		}
		v := 0
		for _, c := range b[i : i+n] {
			v = v<<8 | int(c)
		}
		if v > 1<<30 {
			return 0, false, 0, 0, 0, ErrLength
		}
		valueLen = v
		i += n
	}
	return class, constructed, tag, valueLen, i, nil
}

// Read parses the TLV at the start of b and returns it and the rest of b.
func Read(b []byte) (Element, []byte, error) {
	// Most elements have a low tag number and a short length: read those here, small
	// enough to be inlined into the decoders' loops.
	if len(b) >= 2 && b[0]&0x1f != 0x1f && b[1] < 0x80 && int(b[1]) <= len(b)-2 {
		end := 2 + int(b[1])
		return Element{Class: int(b[0] >> 6), Constructed: b[0]&0x20 != 0, Tag: int(b[0] & 0x1f),
			Value: b[2:end], HeaderLen: 2}, b[end:], nil
	}
	return readLong(b)
}

func readLong(b []byte) (Element, []byte, error) {
	class, cons, tag, vl, hl, err := Header(b)
	if err != nil {
		return Element{}, b, err
	}
	if vl > len(b)-hl {
		return Element{}, b, ErrTruncated
	}
	e := Element{Class: class, Constructed: cons, Tag: tag, Value: b[hl : hl+vl], HeaderLen: hl}
	return e, b[hl+vl:], nil
}

// Expect reads one element and checks its class and tag.
func Expect(b []byte, class, tag int) (Element, []byte, error) {
	e, rest, err := Read(b)
	if err != nil {
		return e, b, err
	}
	if !e.Is(class, tag) {
		return e, b, ErrUnexpected
	}
	return e, rest, nil
}

// Children splits a constructed value into its elements. It stops at the first error and
// returns the elements read so far with that error. max bounds how many are returned
// (0 means no bound); the rest are skipped without error.
func Children(v []byte, max int) ([]Element, error) {
	var out []Element
	for len(v) > 0 {
		e, rest, err := Read(v)
		if err != nil {
			return out, err
		}
		if max == 0 || len(out) < max {
			out = append(out, e)
		}
		v = rest
	}
	return out, nil
}

// Int parses a two's-complement INTEGER or ENUMERATED value that fits in an int64.
func Int(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, ErrInteger
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// OID formats an OBJECT IDENTIFIER value in dotted form. It returns "" for an invalid one.
func OID(v []byte) string {
	if len(v) == 0 || len(v) > 64 {
		return ""
	}
	var buf [128]byte
	out := buf[:0]
	var arc uint64
	first := true
	for i, c := range v {
		if arc > 1<<50 {
			return ""
		}
		arc = arc<<7 | uint64(c&0x7f)
		if c&0x80 != 0 {
			if i == len(v)-1 {
				return ""
			}
			continue
		}
		if first {
			a, b := arc/40, arc%40
			if a > 2 {
				a, b = 2, arc-80
			}
			out = appendUint(out, a)
			out = append(out, '.')
			out = appendUint(out, b)
			first = false
		} else {
			out = append(out, '.')
			out = appendUint(out, arc)
		}
		arc = 0
	}
	return string(out)
}

func appendUint(b []byte, v uint64) []byte {
	var t [20]byte
	i := len(t)
	for {
		i--
		t[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, t[i:]...)
}
