package kerberos

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"
)

// kpasswd protocol versions (RFC 3244 section 2).
const (
	KpasswdVersionChange = 0x0001 // change password (RFC 3244 / MS "change"); also every reply
	KpasswdVersionSet    = 0xff80 // set password (RFC 3244)
)

// kpasswd result codes (RFC 3244 section 2).
const (
	KpasswdSuccess           = 0
	KpasswdMalformed         = 1
	KpasswdHardError         = 2
	KpasswdAuthError         = 3
	KpasswdSoftError         = 4
	KpasswdAccessDenied      = 5
	KpasswdBadVersion        = 6
	KpasswdInitialFlagNeeded = 7
)

// Errors returned by ParseKpasswd (besides those of Parse, for the embedded messages).
var (
	ErrKpasswdShort   = errors.New("kpasswd: truncated header")
	ErrKpasswdLength  = errors.New("kpasswd: message length does not match the data")
	ErrKpasswdVersion = errors.New("kpasswd: unknown protocol version")
	ErrKpasswdAP      = errors.New("kpasswd: AP-REQ/AP-REP length exceeds the message")
	ErrKpasswdContent = errors.New("kpasswd: unexpected message inside kpasswd")
)

// KpasswdMessage is one kpasswd request or reply (RFC 3244):
//
//	message length (2) | version (2) | AP-REQ or AP-REP length (2) | AP-REQ/AP-REP | KRB-PRIV
//
// A reply whose AP-REP length is 0 carries a KRB-ERROR instead of AP-REP and KRB-PRIV. The
// result code of a normal reply is inside the encrypted KRB-PRIV and is not available
// (HasResult is false); only a KRB-ERROR reply whose e-data holds the clear result
// (2-byte code + string) fills ResultCode and ResultString.
type KpasswdMessage struct {
	TCP      bool   // the 4-byte TCP record mark was present and has been stripped
	Bare     bool   // a bare KRB-ERROR with no kpasswd header (some servers send that)
	Length   uint16 // message length field
	Version  uint16 // 0x0001 change password (and replies), 0xff80 set password
	APLength uint16 // AP-REQ (request) or AP-REP (reply) length; 0 in an error reply

	Request bool     // AP-REQ present: a request; false: a reply
	AP      *Message // the AP-REQ or AP-REP, nil when APLength is 0
	Priv    *Message // the KRB-PRIV (encrypted password data or result), if present
	Error   *Message // the KRB-ERROR of an error reply

	HasResult    bool
	ResultCode   uint16
	ResultString string // as sent; RFC 3244 says UTF-8, Windows may send a binary policy blob
}

// Kind is "request" or "reply", as the report's kpasswd messages list spells them.
func (k *KpasswdMessage) Kind() string {
	if k.Request {
		return "request"
	}
	return "reply"
}

// ResultName is KpasswdResultName(k.ResultCode) when HasResult, "" otherwise.
func (k *KpasswdMessage) ResultName() string {
	if !k.HasResult {
		return ""
	}
	return KpasswdResultName(k.ResultCode)
}

// KpasswdResultName names a kpasswd result code as RFC 3244 does; "" for other values.
func KpasswdResultName(code uint16) string {
	switch code {
	case KpasswdSuccess:
		return "KRB5_KPASSWD_SUCCESS"
	case KpasswdMalformed:
		return "KRB5_KPASSWD_MALFORMED"
	case KpasswdHardError:
		return "KRB5_KPASSWD_HARDERROR"
	case KpasswdAuthError:
		return "KRB5_KPASSWD_AUTHERROR"
	case KpasswdSoftError:
		return "KRB5_KPASSWD_SOFTERROR"
	case KpasswdAccessDenied:
		return "KRB5_KPASSWD_ACCESSDENIED"
	case KpasswdBadVersion:
		return "KRB5_KPASSWD_BAD_VERSION"
	case KpasswdInitialFlagNeeded:
		return "KRB5_KPASSWD_INITIAL_FLAG_NEEDED"
	}
	return ""
}

// stripMark removes a TCP record mark when b is exactly one marked kpasswd record.
func stripMark(b []byte) ([]byte, bool) {
	if len(b) < 6 {
		return b, false
	}
	n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n != len(b)-4 {
		return b, false
	}
	if b[4] == 0x7e { // bare KRB-ERROR
		return b[4:], true
	}
	if int(b[4])<<8|int(b[5]) == n {
		return b[4:], true
	}
	return b, false
}

// ParseKpasswd decodes one kpasswd message: a UDP datagram, or a whole TCP record with or
// without its 4-byte record mark (use FrameTCP to find the record).
func ParseKpasswd(b []byte) (*KpasswdMessage, error) {
	return new(KpasswdDecoder).Parse(b)
}

// KpasswdDecoder decodes kpasswd messages into storage it reuses, for a hot path that reads
// many: the message Parse returns, and the Kerberos messages in it, are valid until the
// next Parse.
type KpasswdDecoder struct {
	msg           KpasswdMessage
	ap, priv, err Message
}

// Parse is ParseKpasswd into the decoder's storage.
func (d *KpasswdDecoder) Parse(b []byte) (*KpasswdMessage, error) {
	k := &d.msg
	*k = KpasswdMessage{}
	b, k.TCP = stripMark(b)
	if len(b) > 0 && b[0] == 0x7e {
		e := &d.err
		err := ParseInto(e, b)
		if err != nil {
			return nil, err
		}
		if e.Type != TypeKRBError {
			return nil, ErrKpasswdContent
		}
		k.Bare = true
		k.setError(e)
		return k, nil
	}
	s := cryptobyte.String(b)
	if !s.ReadUint16(&k.Length) || !s.ReadUint16(&k.Version) || !s.ReadUint16(&k.APLength) {
		return nil, ErrKpasswdShort
	}
	if int(k.Length) != len(b) {
		return nil, ErrKpasswdLength
	}
	if k.Version != KpasswdVersionChange && k.Version != KpasswdVersionSet {
		return nil, ErrKpasswdVersion
	}
	var ap, rest cryptobyte.String
	if !s.ReadBytes((*[]byte)(&ap), int(k.APLength)) {
		return nil, ErrKpasswdAP
	}
	rest = s
	if len(ap) > 0 {
		m := &d.ap
		err := ParseInto(m, ap)
		if err != nil {
			return nil, err
		}
		switch m.Type {
		case TypeAPReq:
			k.Request = true
		case TypeAPRep:
		default:
			return nil, ErrKpasswdContent
		}
		k.AP = m
	}
	if len(rest) == 0 {
		if k.AP == nil {
			return nil, ErrKpasswdShort
		}
		return k, nil // AP part only; RFC 3244 requires a KRB-PRIV, but say what is there
	}
	m := &d.priv
	if err := ParseInto(m, rest); err != nil {
		return nil, err
	}
	switch m.Type {
	case TypeKRBPriv:
		if k.AP == nil {
			return nil, ErrKpasswdContent
		}
		k.Priv = m
	case TypeKRBError:
		if k.Request {
			return nil, ErrKpasswdContent
		}
		k.setError(m)
	default:
		return nil, ErrKpasswdContent
	}
	return k, nil
}

// setError records an error reply and, when its e-data is the RFC 3244 clear result
// (2-byte result code then the result string), that result.
func (k *KpasswdMessage) setError(e *Message) {
	k.Error = e
	k.Request = false
	d := cryptobyte.String(e.EData)
	if len(d) >= 2 && d[0] != 0x30 { // 0x30 would be ASN.1 (METHOD-DATA / TYPED-DATA)
		var code uint16
		d.ReadUint16(&code)
		k.HasResult = true
		k.ResultCode = code
		k.ResultString = string(d)
	}
}

// LooksLikeKpasswd reports whether b begins like a kpasswd message (UDP, or TCP with or
// without the record mark): a length, version 0x0001 or 0xff80, an AP length, then an AP-REQ
// or AP-REP that LooksLike accepts, or with AP length 0 a KRB-ERROR. A bare KRB-ERROR is
// accepted too. The message may be cut short (a first TCP segment).
func LooksLikeKpasswd(b []byte) bool {
	if looksLikeKpasswd(b) {
		return true
	}
	if len(b) < 8 || b[0] != 0 || b[1] != 0 {
		return false
	}
	n := int(b[2])<<8 | int(b[3])
	if b[4] == 0x7e {
		return looksLikeMessage(b[4:], n)
	}
	return int(b[4])<<8|int(b[5]) == n && looksLikeKpasswd(b[4:])
}

func looksLikeKpasswd(b []byte) bool {
	if len(b) > 0 && b[0] == 0x7e {
		return looksLikeMessage(b, -1)
	}
	if len(b) < 8 {
		return false
	}
	msgLen := int(b[0])<<8 | int(b[1])
	ver := int(b[2])<<8 | int(b[3])
	apLen := int(b[4])<<8 | int(b[5])
	if ver != KpasswdVersionChange && ver != KpasswdVersionSet {
		return false
	}
	if msgLen < 6+apLen || len(b) > msgLen {
		return false
	}
	body := b[6:]
	if apLen == 0 {
		return body[0] == 0x7e && looksLikeMessage(body, -1)
	}
	if len(body) > apLen {
		body = body[:apLen]
	}
	if body[0] != 0x6e && body[0] != 0x6f {
		return false
	}
	return looksLikeMessage(body, -1)
}
