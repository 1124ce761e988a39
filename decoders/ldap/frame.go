package ldap

import (
	"encoding/binary"

	"github.com/adcsflow/adcsflow/decoders/ber"
)

// Frame returns the total length (header included) of the LDAPMessage that starts at b,
// for splitting a plain LDAP TCP stream. It needs only the outer SEQUENCE header (and checks
// the byte after it when present): ErrNeedMore means the header is incomplete; a total
// larger than len(b) means wait for more. ErrNotLDAP means b cannot start an LDAPMessage,
// ErrTooLarge that the length exceeds MaxMessageSize.
func Frame(b []byte) (total int, err error) {
	if len(b) == 0 {
		return 0, ErrNeedMore
	}
	if b[0] != 0x30 { // universal, constructed, SEQUENCE
		return 0, ErrNotLDAP
	}
	_, _, _, vl, hl, err := ber.Header(b)
	switch err {
	case nil:
	case ber.ErrTruncated:
		return 0, ErrNeedMore
	case ber.ErrLength:
		return 0, ErrTooLarge
	default:
		return 0, ErrNotLDAP
	}
	if vl > MaxMessageSize {
		return 0, ErrTooLarge
	}
	// The smallest message is an unbindRequest: 02 01 id 42 00.
	if vl < 5 {
		return 0, ErrNotLDAP
	}
	if len(b) > hl && b[hl] != 0x02 { // messageID INTEGER
		return 0, ErrNotLDAP
	}
	return hl + vl, nil
}

// FrameSASL returns the total length (the 4-byte big-endian length included) of the SASL
// buffer that starts at b (RFC 4422 section 3.7, RFC 4752 section 3.3): after a bind that
// negotiated a SASL security layer every LDAP message travels in one. ErrNeedMore means
// fewer than 4 bytes are present; ErrTooLarge that the length is 0 or above MaxMessageSize.
func FrameSASL(b []byte) (total int, err error) {
	if len(b) < 4 {
		return 0, ErrNeedMore
	}
	n := binary.BigEndian.Uint32(b)
	if n == 0 || n > MaxMessageSize {
		return 0, ErrTooLarge
	}
	return 4 + int(n), nil
}

// LooksLike reports whether b starts like an LDAPMessage: a SEQUENCE of plausible length
// whose first element is a non-negative INTEGER message id and whose second is an
// APPLICATION-tagged protocolOp defined by RFC 4511, with the right primitive/constructed
// form and a length that fits the SEQUENCE. Only the headers need to be present, so the
// first segment of a stream or a CLDAP datagram is enough.
func LooksLike(b []byte) bool {
	if len(b) < 7 || b[0] != 0x30 {
		return false
	}
	_, _, _, vl, hl, err := ber.Header(b)
	if err != nil || vl < 5 || vl > MaxMessageSize {
		return false
	}
	body := b[hl:]
	if len(body) > vl {
		body = body[:vl]
	}
	if len(body) < 2 || body[0] != 0x02 {
		return false
	}
	_, _, _, il, ihl, err := ber.Header(body)
	if err != nil || il < 1 || il > 4 || len(body) < ihl+il+2 {
		return false
	}
	if body[ihl]&0x80 != 0 { // negative message id
		return false
	}
	op := body[ihl+il:]
	class, cons, tag, ol, ohl, err := ber.Header(op)
	if err != nil || class != ber.ClassApplication {
		return false
	}
	o := Op(tag)
	if !o.Valid() || cons == o.primitive() {
		return false
	}
	return ihl+il+ohl+ol <= vl
}

// krb5OID is the DER of 1.2.840.113554.1.2.2, as it follows 0x60 in an RFC 1964 token.
var krb5OID = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}

// LooksLikeSASLWrapped reports whether b starts with a SASL buffer holding a GSS-API
// per-message token as Windows sends after a GSS-SPNEGO / GSSAPI bind with sign or seal:
// a Kerberos RFC 4121 wrap token (05 04), a Kerberos RFC 1964 wrap token (60 ... krb5 OID
// 02 01), or an NTLM message signature (version 01 00 00 00). Only the first bytes are
// needed. Such a stream should be reported as SASL-protected LDAP, not as malformed.
func LooksLikeSASLWrapped(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < 16 || n > MaxMessageSize {
		return false
	}
	return wrapKind(b[4:], n) != WrapUnknown
}

// WrapKind says which GSS-API mechanism produced a SASL buffer's token.
type WrapKind int

// Token kinds recognised in a SASL buffer.
const (
	WrapUnknown   WrapKind = iota
	WrapKerberos           // RFC 4121 Wrap token, TOK_ID 05 04 (AES)
	WrapKerberos1          // RFC 1964 / RFC 4757 Wrap token, TOK_ID 02 01 (RC4-HMAC, DES)
	WrapNTLM               // NTLMSSP message signature, version 1 (MS-NLMP 2.2.2.9)
)

func (k WrapKind) String() string {
	switch k {
	case WrapKerberos:
		return "kerberos"
	case WrapKerberos1:
		return "kerberos-rfc1964"
	case WrapNTLM:
		return "ntlm"
	}
	return "unknown"
}

// wrapKind classifies the token t whose SASL length is n (t may be shorter than n).
func wrapKind(t []byte, n int) WrapKind {
	if len(t) < 4 {
		return WrapUnknown
	}
	switch {
	case t[0] == 0x05 && t[1] == 0x04 && t[2]&^0x07 == 0 && t[3] == 0xff:
		return WrapKerberos
	case t[0] == 0x01 && t[1] == 0 && t[2] == 0 && t[3] == 0:
		return WrapNTLM
	case t[0] == 0x60:
		class, cons, tag, vl, hl, err := ber.Header(t)
		if err != nil || class != ber.ClassApplication || !cons || tag != 0 || hl+vl != n {
			return WrapUnknown
		}
		if len(t) < hl+len(krb5OID)+2 {
			return WrapUnknown
		}
		for i, c := range krb5OID {
			if t[hl+i] != c {
				return WrapUnknown
			}
		}
		if t[hl+len(krb5OID)] == 0x02 && t[hl+len(krb5OID)+1] == 0x01 {
			return WrapKerberos1
		}
	}
	return WrapUnknown
}

// SASLBuffer is one decoded SASL buffer.
type SASLBuffer struct {
	Kind WrapKind
	// Length is the SASL buffer length (tshark's ldap.sasl_buffer_length).
	Length int
	// Sealed is true when the payload is encrypted (or, for NTLM, does not read as LDAP).
	Sealed bool
	// Payload is the plaintext LDAP carried by an integrity-only token; nil when sealed or
	// when the plaintext is not contiguous in the token. It aliases the input.
	Payload []byte
}

// ParseSASL decodes one whole SASL buffer (b[:total] for the total FrameSASL returned).
// For integrity-only tokens it returns the LDAP plaintext, which Parse (or ParseAll)
// decodes; for sealed ones only the kind and length.
func ParseSASL(b []byte) (SASLBuffer, error) {
	var s SASLBuffer
	total, err := FrameSASL(b)
	if err != nil {
		return s, err
	}
	if total != len(b) {
		return s, ErrNotSASL
	}
	s.Length = total - 4
	t := b[4:]
	s.Kind = wrapKind(t, s.Length)
	switch s.Kind {
	case WrapKerberos:
		// RFC 4121 4.2.6.2: TOK_ID(2) Flags(1) Filler(1) EC(2) RRC(2) SND_SEQ(8), then
		// {plaintext | checksum(EC)} rotated right by RRC for an unsealed token.
		if len(t) < 16 {
			return s, ErrNotSASL
		}
		data := t[16:]
		if t[2]&0x02 != 0 {
			s.Sealed = true
			return s, nil
		}
		ec := int(binary.BigEndian.Uint16(t[4:6]))
		rrc := int(binary.BigEndian.Uint16(t[6:8]))
		if ec > len(data) {
			return s, ErrNotSASL
		}
		if len(data) > 0 {
			rrc %= len(data)
		}
		// X = data[rrc:] | data[:rrc]; plaintext = X[:len-ec]. It is contiguous when
		// rrc <= ec (Windows sends rrc == ec).
		if rrc <= ec {
			s.Payload = data[rrc : len(data)-(ec-rrc)]
		}
	case WrapKerberos1:
		// RFC 1964 1.2.2 / RFC 4757: after 0x60 header and OID: TOK_ID(2) SGN_ALG(2)
		// SEAL_ALG(2) Filler(2) SND_SEQ(8) SGN_CKSUM(8) Confounder(8) data pad.
		_, _, _, _, hl, _ := ber.Header(t)
		h := t[hl+len(krb5OID):]
		if len(h) < 32 {
			return s, ErrNotSASL
		}
		if h[4] != 0xff || h[5] != 0xff {
			s.Sealed = true
			return s, nil
		}
		data := h[32:]
		if len(data) > 0 {
			p := int(data[len(data)-1])
			if p >= 1 && p <= 8 && p <= len(data) {
				data = data[:len(data)-p]
			}
		}
		s.Payload = data
	case WrapNTLM:
		if len(t) < 16 {
			return s, ErrNotSASL
		}
		if LooksLike(t[16:]) {
			s.Payload = t[16:]
		} else {
			s.Sealed = true
		}
	default:
		return s, ErrNotSASL
	}
	return s, nil
}
