// Package kerberos decodes Kerberos V5 messages (RFC 4120) and kpasswd messages (RFC 3244)
// as they appear on ports 88 and 464, over UDP or TCP.
//
// Parse reads one DER-encoded message (no TCP record mark). FrameTCP tells a stream reader
// how many bytes one TCP record needs; LooksLike and LooksLikeKpasswd recognise the
// protocols by content. Nothing is decrypted: encrypted parts are reported by etype only.
package kerberos

import (
	"errors"
	"time"

	"github.com/adcsflow/adcsflow/decoders/ber"
	"github.com/adcsflow/adcsflow/decoders/intern"
)

// Message types (the APPLICATION tag of the message, equal to its msg-type field).
const (
	TypeASReq    = 10
	TypeASRep    = 11
	TypeTGSReq   = 12
	TypeTGSRep   = 13
	TypeAPReq    = 14
	TypeAPRep    = 15
	TypeKRBSafe  = 20
	TypeKRBPriv  = 21
	TypeKRBCred  = 22
	TypeKRBError = 30
)

// Error codes the package has helpers for (the full table is behind ErrorName).
const (
	ErrCodePreauthRequired   = 25
	ErrCodeClockSkew         = 37
	ErrCodeResponseTooBig    = 52
	ErrCodeSPrincipalUnknown = 7
	ErrCodeCPrincipalUnknown = 6
	ErrCodePreauthFailed     = 24
	PADataTGSReq             = 1 // PA-TGS-REQ: padata-value is an AP-REQ
	maxListEntries           = 64
	maxTickets               = 8
	maxTCPRecord             = 1 << 20
	kerberosTimeLen          = len("20060102150405Z")
)

// Errors returned by Parse and FrameTCP. Parse errors are wrapped in a *ParseError that names
// the field; errors.Is works through it.
var (
	ErrNeedMore     = errors.New("kerberos: need at least 4 bytes for the TCP record mark")
	ErrRecordMark   = errors.New("kerberos: TCP record mark has the reserved high bit set")
	ErrRecordLength = errors.New("kerberos: TCP record length implausible")
	ErrNotKerberos  = errors.New("kerberos: not a Kerberos message tag")
	ErrPVNO         = errors.New("kerberos: pvno is not 5")
	ErrMsgType      = errors.New("kerberos: msg-type does not match the application tag")
	ErrMissing      = errors.New("kerberos: mandatory field missing")
	ErrTrailing     = errors.New("kerberos: trailing bytes after the message")
	ErrTime         = errors.New("kerberos: malformed KerberosTime")
)

// ParseError says which field of a message could not be decoded.
type ParseError struct {
	Field string
	Err   error
}

func (e *ParseError) Error() string { return "kerberos: " + e.Field + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func perr(field string, err error) error { return &ParseError{Field: field, Err: err} }

// Message is one decoded Kerberos message. Which fields are set depends on Type:
//
//   - AS-REQ/TGS-REQ: Realm (req-body realm), CName (AS-REQ; TGS-REQ only rarely), SName,
//     ETypes (the client's etype list, in order), PAData, KDCOptions, and for a TGS-REQ APReq
//     (the AP-REQ in PA-TGS-REQ, whose SName names the ticket used, e.g. krbtgt/REALM).
//   - AS-REP/TGS-REP: CRealm, CName, Realm and SName of the issued ticket, PAData, EncETypes.
//   - AP-REQ: Realm and SName of the ticket, EncETypes (ticket, authenticator).
//   - AP-REP, KRB-PRIV, KRB-CRED: EncETypes. KRB-SAFE: nothing more.
//   - KRB-ERROR: ErrorCode, STime/SUsec, CTime/CUsec (when sent), CRealm, CName, Realm, SName,
//     EText, EData; PAData holds the padata types of e-data when it is a METHOD-DATA (as
//     with KDC_ERR_PREAUTH_REQUIRED).
//
// Principal names are the name-string components joined with "/"; realms are as sent.
type Message struct {
	Type int

	Realm     string
	SName     string
	SNameType int32
	CRealm    string
	CName     string
	CNameType int32

	ETypes     []int32 // KDC-REQ etype list, at most 64 entries kept
	PAData     []int32 // padata-type of each PA-DATA, at most 64 kept
	KDCOptions uint32  // KDC-REQ kdc-options, first 32 bits as on the wire (bit 0 = MSB)
	EncETypes  []int32 // etype of each EncryptedData seen (ticket enc-part first), at most 64

	// Tickets are a TGS-REQ's additional-tickets or a KRB-CRED's tickets (at most 8).
	Tickets []Ticket

	// APReq is the AP-REQ carried in a TGS-REQ's PA-TGS-REQ, when it decodes.
	APReq *Message

	ErrorCode int32
	STime     time.Time // KRB-ERROR stime (UTC), zero if absent or malformed
	SUsec     int32
	CTime     time.Time // KRB-ERROR ctime (UTC), zero if absent
	CUsec     int32
	EText     string
	EData     []byte // KRB-ERROR e-data; aliases the input

	spare *Message  // ParseInto's storage for APReq
	names *interner // ParseInto's strings, shared by the messages it decodes
	brief bool      // ParseBriefInto's: the parts only a closer look needs are skipped
}

// interner hands out one string per distinct name: realms and principals repeat from message
// to message, so a decoder reading many allocates each once (at most 1 MB: a capture of
// random or long names gets new strings). buf is principal's scratch.
type interner struct {
	t   intern.Table
	buf []byte
}

const (
	maxInterned    = 4096
	maxInternedLen = 256
)

// str returns b as a string; nil interns nothing.
func (in *interner) str(b []byte) string {
	if in == nil {
		return string(b)
	}
	return in.t.String(b)
}

// TypeName is the message name used in reports: AS-REQ, AS-REP, TGS-REQ, TGS-REP, AP-REQ,
// AP-REP, KRB-SAFE, KRB-PRIV, KRB-CRED, KRB-ERROR; "" for anything else.
func (m *Message) TypeName() string { return TypeName(m.Type) }

// TypeName names a message type (application tag); "" if it is not one.
func TypeName(t int) string {
	switch t {
	case TypeASReq:
		return "AS-REQ"
	case TypeASRep:
		return "AS-REP"
	case TypeTGSReq:
		return "TGS-REQ"
	case TypeTGSRep:
		return "TGS-REP"
	case TypeAPReq:
		return "AP-REQ"
	case TypeAPRep:
		return "AP-REP"
	case TypeKRBSafe:
		return "KRB-SAFE"
	case TypeKRBPriv:
		return "KRB-PRIV"
	case TypeKRBCred:
		return "KRB-CRED"
	case TypeKRBError:
		return "KRB-ERROR"
	}
	return ""
}

// IsError reports whether m is a KRB-ERROR.
func (m *Message) IsError() bool { return m.Type == TypeKRBError }

// ErrorName is ErrorName(m.ErrorCode) for a KRB-ERROR, "" otherwise.
func (m *Message) ErrorName() string {
	if m.Type != TypeKRBError {
		return ""
	}
	return ErrorName(m.ErrorCode)
}

// IsResponseTooBig reports a KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52): the KDC asks the
// client to retry over TCP.
func (m *Message) IsResponseTooBig() bool {
	return m.Type == TypeKRBError && m.ErrorCode == ErrCodeResponseTooBig
}

// IsClockSkew reports a KRB-ERROR KRB_AP_ERR_SKEW (37).
func (m *Message) IsClockSkew() bool {
	return m.Type == TypeKRBError && m.ErrorCode == ErrCodeClockSkew
}

// Skew returns stime-ctime (server time minus the client time the error echoes, at
// microsecond precision) when both are present; ok is false otherwise.
func (m *Message) Skew() (d time.Duration, ok bool) {
	if m.Type != TypeKRBError || m.STime.IsZero() || m.CTime.IsZero() {
		return 0, false
	}
	s := m.STime.Add(time.Duration(m.SUsec) * time.Microsecond)
	c := m.CTime.Add(time.Duration(m.CUsec) * time.Microsecond)
	return s.Sub(c), true
}

// Parse decodes one Kerberos message: the DER bytes of exactly one message, without the
// 4-byte TCP record mark. Encrypted parts are not decrypted.
func Parse(b []byte) (*Message, error) {
	m := new(Message)
	if err := parseInto(m, b, true); err != nil {
		return nil, err
	}
	return m, nil
}

// ParseInto is Parse into a Message the caller reuses, for a hot path that reads many:
// m is overwritten (its lists reused), and what it holds is valid until the next call with m.
func ParseInto(m *Message, b []byte) error {
	return parseReused(m, b, false)
}

// ParseBriefInto is ParseInto without two parts a summary of the exchange does not need,
// and that cost as much as the rest: the AP-REQ inside a TGS-REQ's PA-TGS-REQ (APReq stays
// nil) and the PA-DATA types of a KRB-ERROR's METHOD-DATA e-data (PAData stays empty; EData
// is set). Everything else, errors included, is what ParseInto gives.
func ParseBriefInto(m *Message, b []byte) error {
	return parseReused(m, b, true)
}

func parseReused(m *Message, b []byte, brief bool) error {
	m.reset()
	if m.names == nil {
		m.names = &interner{t: intern.Table{Max: maxInterned, MaxLen: maxInternedLen}}
	}
	m.brief = brief
	return parseInto(m, b, !brief)
}

func (m *Message) reset() {
	spare := m.spare
	if m.APReq != nil {
		spare = m.APReq
	}
	*m = Message{ETypes: m.ETypes[:0], PAData: m.PAData[:0], EncETypes: m.EncETypes[:0],
		Tickets: m.Tickets[:0], spare: spare, names: m.names}
}

func isMsgType(t int) bool {
	return (t >= TypeASReq && t <= TypeAPRep) || (t >= TypeKRBSafe && t <= TypeKRBCred) || t == TypeKRBError
}

// parseInto decodes b into m. nested allows one level of AP-REQ inside PA-TGS-REQ.
func parseInto(m *Message, b []byte, nested bool) error {
	app, rest, err := ber.Read(b)
	if err != nil {
		return perr("message", err)
	}
	if app.Class != ber.ClassApplication || !app.Constructed || !isMsgType(app.Tag) {
		return ErrNotKerberos
	}
	if len(rest) != 0 {
		return ErrTrailing
	}
	m.Type = app.Tag
	seq, trail, err := ber.Expect(app.Value, ber.ClassUniversal, ber.TagSequence)
	if err != nil {
		return perr("message sequence", err)
	}
	if len(trail) != 0 {
		return ErrTrailing
	}
	switch m.Type {
	case TypeASReq, TypeTGSReq:
		return m.parseKDCReq(seq.Value, nested)
	case TypeASRep, TypeTGSRep:
		return m.parseKDCRep(seq.Value)
	case TypeAPReq:
		return m.parseAPReq(seq.Value)
	case TypeKRBError:
		return m.parseError(seq.Value)
	default: // AP-REP, KRB-SAFE, KRB-PRIV, KRB-CRED
		return m.parseOther(seq.Value)
	}
}

// field reads the next context-specific [n] EXPLICIT field of a SEQUENCE value and returns
// its tag and the single element inside it.
func field(v []byte) (tag int, inner ber.Element, rest []byte, err error) {
	e, rest, err := ber.Read(v)
	if err != nil {
		return 0, ber.Element{}, v, err
	}
	if e.Class != ber.ClassContext || !e.Constructed {
		return 0, ber.Element{}, v, ber.ErrUnexpected
	}
	in, _, err := ber.Read(e.Value)
	if err != nil {
		return 0, ber.Element{}, v, err
	}
	return e.Tag, in, rest, nil
}

func integer(e ber.Element) (int64, error) {
	if !e.Is(ber.ClassUniversal, ber.TagInteger) {
		return 0, ber.ErrUnexpected
	}
	return ber.Int(e.Value)
}

func int32Of(e ber.Element) (int32, error) {
	n, err := integer(e)
	if err != nil {
		return 0, err
	}
	if n < -1<<31 || n > 1<<32-1 {
		return 0, ber.ErrInteger
	}
	return int32(n), nil // UInt32 values above 2^31 wrap, as in the ASN.1 C bindings
}

// kstring accepts KerberosString (GeneralString) and the other primitive string types some
// implementations use.
func (in *interner) kstring(e ber.Element) (string, error) {
	if !isKString(e) {
		return "", ber.ErrUnexpected
	}
	return in.str(e.Value), nil
}

func isKString(e ber.Element) bool {
	if e.Class != ber.ClassUniversal || e.Constructed {
		return false
	}
	switch e.Tag {
	case ber.TagGeneralStr, ber.TagUTF8String, ber.TagOctetString, 19, 20, 22, 26:
		return true
	}
	return false
}

// checkHeader checks pvno and msg-type, which sit at [pvnoTag] and [pvnoTag+1].
func (m *Message) checkHeader(tag int, e ber.Element, pvnoTag int, seen *int) error {
	switch tag {
	case pvnoTag:
		n, err := integer(e)
		if err != nil {
			return perr("pvno", err)
		}
		if n != 5 {
			return ErrPVNO
		}
		*seen |= 1
	case pvnoTag + 1:
		n, err := integer(e)
		if err != nil {
			return perr("msg-type", err)
		}
		if n != int64(m.Type) {
			return ErrMsgType
		}
		*seen |= 2
	}
	return nil
}

func (m *Message) parseKDCReq(v []byte, nested bool) error {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr("KDC-REQ", err)
		}
		v = rest
		switch tag {
		case 1, 2:
			if err := m.checkHeader(tag, in, 1, &seen); err != nil {
				return err
			}
		case 3:
			if err := m.parsePAData(in, nested); err != nil {
				return err
			}
		case 4:
			if !in.Is(ber.ClassUniversal, ber.TagSequence) {
				return perr("req-body", ber.ErrUnexpected)
			}
			if err := m.parseReqBody(in.Value); err != nil {
				return err
			}
			seen |= 4
		}
	}
	if seen != 7 {
		return ErrMissing
	}
	return nil
}

func (m *Message) parsePAData(seq ber.Element, nested bool) error {
	if !seq.Is(ber.ClassUniversal, ber.TagSequence) {
		return perr("padata", ber.ErrUnexpected)
	}
	v := seq.Value
	for len(v) > 0 {
		pa, rest, err := ber.Expect(v, ber.ClassUniversal, ber.TagSequence)
		if err != nil {
			return perr("PA-DATA", err)
		}
		v = rest
		typ, val, err := paData(pa.Value)
		if err != nil {
			return err
		}
		if len(m.PAData) < maxListEntries {
			m.PAData = append(m.PAData, typ)
		}
		if typ == PADataTGSReq && nested && m.Type == TypeTGSReq && m.APReq == nil {
			ap := m.spare
			if ap == nil {
				ap = new(Message)
			} else {
				ap.reset()
			}
			ap.names = m.names
			if parseInto(ap, val, false) == nil && ap.Type == TypeAPReq {
				m.APReq = ap
			}
		}
	}
	return nil
}

// paData decodes PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING }.
func paData(v []byte) (typ int32, val []byte, err error) {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return 0, nil, perr("PA-DATA", err)
		}
		v = rest
		switch tag {
		case 1:
			if typ, err = int32Of(in); err != nil {
				return 0, nil, perr("padata-type", err)
			}
			seen |= 1
		case 2:
			if !in.Is(ber.ClassUniversal, ber.TagOctetString) {
				return 0, nil, perr("padata-value", ber.ErrUnexpected)
			}
			val = in.Value
		}
	}
	if seen == 0 {
		return 0, nil, perr("padata-type", ErrMissing)
	}
	return typ, val, nil
}

func (m *Message) parseReqBody(v []byte) error {
	seenRealm := false
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr("KDC-REQ-BODY", err)
		}
		v = rest
		switch tag {
		case 0:
			if !in.Is(ber.ClassUniversal, ber.TagBitString) || len(in.Value) < 1 {
				return perr("kdc-options", ber.ErrUnexpected)
			}
			var o uint32
			for i := 1; i < 5; i++ {
				o <<= 8
				if i < len(in.Value) {
					o |= uint32(in.Value[i])
				}
			}
			m.KDCOptions = o
		case 1:
			if m.CNameType, m.CName, err = m.names.principal(in); err != nil {
				return perr("cname", err)
			}
		case 2:
			if m.Realm, err = m.names.kstring(in); err != nil {
				return perr("realm", err)
			}
			seenRealm = true
		case 3:
			if m.SNameType, m.SName, err = m.names.principal(in); err != nil {
				return perr("sname", err)
			}
		case 8:
			if m.ETypes, err = int32List(in, m.ETypes); err != nil {
				return perr("etype", err)
			}
		case 11:
			if err := m.tickets(in); err != nil {
				return err
			}
		}
	}
	if !seenRealm {
		return perr("realm", ErrMissing)
	}
	return nil
}

// int32List appends the INTEGERs of a SEQUENCE OF Int32, keeping at most maxListEntries.
func int32List(seq ber.Element, out []int32) ([]int32, error) {
	if !seq.Is(ber.ClassUniversal, ber.TagSequence) {
		return out, ber.ErrUnexpected
	}
	v := seq.Value
	for len(v) > 0 {
		e, rest, err := ber.Read(v)
		if err != nil {
			return out, err
		}
		v = rest
		n, err := int32Of(e)
		if err != nil {
			return out, err
		}
		if len(out) < maxListEntries {
			out = append(out, n)
		}
	}
	return out, nil
}

// principal decodes PrincipalName ::= SEQUENCE { name-type [0] Int32,
// name-string [1] SEQUENCE OF KerberosString } and joins the components with "/".
func (nm *interner) principal(e ber.Element) (int32, string, error) {
	if !e.Is(ber.ClassUniversal, ber.TagSequence) {
		return 0, "", ber.ErrUnexpected
	}
	var nameType int32
	var names []byte
	seen := 0
	v := e.Value
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return 0, "", err
		}
		v = rest
		switch tag {
		case 0:
			if nameType, err = int32Of(in); err != nil {
				return 0, "", err
			}
		case 1:
			if !in.Is(ber.ClassUniversal, ber.TagSequence) {
				return 0, "", ber.ErrUnexpected
			}
			names = in.Value
			seen = 1
		}
	}
	if seen == 0 {
		return 0, "", ErrMissing
	}
	// First pass: validate and measure, so the join allocates once, sized by bytes present.
	total, n := 0, 0
	for v := names; len(v) > 0; n++ {
		c, rest, err := ber.Read(v)
		if err != nil {
			return 0, "", err
		}
		if !isKString(c) {
			return 0, "", ber.ErrUnexpected
		}
		total += len(c.Value)
		v = rest
	}
	if n == 0 {
		return nameType, "", nil
	}
	var out []byte
	if nm != nil {
		out = nm.buf[:0]
	} else {
		out = make([]byte, 0, total+n-1)
	}
	for i, v := 0, names; len(v) > 0; i++ {
		c, rest, _ := ber.Read(v)
		if i > 0 {
			out = append(out, '/')
		}
		out = append(out, c.Value...)
		v = rest
	}
	if nm != nil {
		nm.buf = out
	}
	return nameType, nm.str(out), nil
}

// Ticket names the service a ticket is for: the additional tickets of a TGS-REQ (user-to-user,
// S4U2Proxy) and the tickets of a KRB-CRED.
type Ticket struct {
	Realm     string
	SName     string
	SNameType int32
	EType     int32 // etype of the ticket's enc-part
}

// ticket decodes Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2],
// enc-part [3] }.
func (nm *interner) ticket(e ber.Element) (Ticket, error) {
	var t Ticket
	if !e.Is(ber.ClassApplication, 1) {
		return t, perr("ticket", ber.ErrUnexpected)
	}
	seq, _, err := ber.Expect(e.Value, ber.ClassUniversal, ber.TagSequence)
	if err != nil {
		return t, perr("ticket", err)
	}
	v := seq.Value
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return t, perr("ticket", err)
		}
		v = rest
		switch tag {
		case 1:
			if t.Realm, err = nm.kstring(in); err != nil {
				return t, perr("ticket realm", err)
			}
		case 2:
			if t.SNameType, t.SName, err = nm.principal(in); err != nil {
				return t, perr("ticket sname", err)
			}
		case 3:
			t.EType, _ = encEType(in)
		}
	}
	return t, nil
}

// ticket sets Realm, SName and the first EncETypes entry from the message's own ticket.
func (m *Message) ticket(e ber.Element) error {
	t, err := m.names.ticket(e)
	if err != nil {
		return err
	}
	m.Realm, m.SName, m.SNameType = t.Realm, t.SName, t.SNameType
	if t.EType != 0 && len(m.EncETypes) < maxListEntries {
		m.EncETypes = append(m.EncETypes, t.EType)
	}
	return nil
}

// tickets appends the Tickets of a SEQUENCE OF Ticket to m.Tickets (at most maxTickets).
func (m *Message) tickets(seq ber.Element) error {
	if !seq.Is(ber.ClassUniversal, ber.TagSequence) {
		return perr("tickets", ber.ErrUnexpected)
	}
	for v := seq.Value; len(v) > 0; {
		e, rest, err := ber.Read(v)
		if err != nil {
			return perr("tickets", err)
		}
		v = rest
		t, err := m.names.ticket(e)
		if err != nil {
			return err
		}
		if len(m.Tickets) < maxTickets {
			m.Tickets = append(m.Tickets, t)
		}
	}
	return nil
}

// encPart records the etype of an EncryptedData.
func (m *Message) encPart(e ber.Element) {
	if n, ok := encEType(e); ok && len(m.EncETypes) < maxListEntries {
		m.EncETypes = append(m.EncETypes, n)
	}
}

// encEType reads the etype of EncryptedData ::= SEQUENCE { etype [0] Int32, ... }.
func encEType(e ber.Element) (int32, bool) {
	if !e.Is(ber.ClassUniversal, ber.TagSequence) {
		return 0, false
	}
	tag, in, _, err := field(e.Value)
	if err != nil || tag != 0 {
		return 0, false
	}
	n, err := int32Of(in)
	return n, err == nil
}

func (m *Message) parseKDCRep(v []byte) error {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr("KDC-REP", err)
		}
		v = rest
		switch tag {
		case 0, 1:
			if err := m.checkHeader(tag, in, 0, &seen); err != nil {
				return err
			}
		case 2:
			if err := m.parsePAData(in, false); err != nil {
				return err
			}
		case 3:
			if m.CRealm, err = m.names.kstring(in); err != nil {
				return perr("crealm", err)
			}
		case 4:
			if m.CNameType, m.CName, err = m.names.principal(in); err != nil {
				return perr("cname", err)
			}
		case 5:
			if err := m.ticket(in); err != nil {
				return err
			}
			seen |= 4
		case 6:
			m.encPart(in)
		}
	}
	if seen != 7 {
		return ErrMissing
	}
	return nil
}

func (m *Message) parseAPReq(v []byte) error {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr("AP-REQ", err)
		}
		v = rest
		switch tag {
		case 0, 1:
			if err := m.checkHeader(tag, in, 0, &seen); err != nil {
				return err
			}
		case 3:
			if err := m.ticket(in); err != nil {
				return err
			}
			seen |= 4
		case 4:
			m.encPart(in)
		}
	}
	if seen != 7 {
		return ErrMissing
	}
	return nil
}

// parseOther handles AP-REP, KRB-SAFE, KRB-PRIV and KRB-CRED: header plus enc-part etypes.
func (m *Message) parseOther(v []byte) error {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr(m.TypeName(), err)
		}
		v = rest
		switch tag {
		case 0, 1:
			if err := m.checkHeader(tag, in, 0, &seen); err != nil {
				return err
			}
		case 2:
			if m.Type == TypeAPRep {
				m.encPart(in)
			}
			if m.Type == TypeKRBCred {
				if err := m.tickets(in); err != nil {
					return err
				}
			}
		case 3:
			if m.Type == TypeKRBPriv || m.Type == TypeKRBCred {
				m.encPart(in)
			}
		}
	}
	if seen != 3 {
		return ErrMissing
	}
	return nil
}

func (m *Message) parseError(v []byte) error {
	seen := 0
	for len(v) > 0 {
		tag, in, rest, err := field(v)
		if err != nil {
			return perr("KRB-ERROR", err)
		}
		v = rest
		switch tag {
		case 0, 1:
			if err := m.checkHeader(tag, in, 0, &seen); err != nil {
				return err
			}
		case 2:
			m.CTime, _ = kerberosTime(in) // lenient: a bad optional time is left zero
		case 3:
			m.CUsec, _ = int32Of(in)
		case 4:
			m.STime, _ = kerberosTime(in)
		case 5:
			m.SUsec, _ = int32Of(in)
		case 6:
			if m.ErrorCode, err = int32Of(in); err != nil {
				return perr("error-code", err)
			}
			seen |= 4
		case 7:
			if m.CRealm, err = m.names.kstring(in); err != nil {
				return perr("crealm", err)
			}
		case 8:
			if m.CNameType, m.CName, err = m.names.principal(in); err != nil {
				return perr("cname", err)
			}
		case 9:
			if m.Realm, err = m.names.kstring(in); err != nil {
				return perr("realm", err)
			}
		case 10:
			if m.SNameType, m.SName, err = m.names.principal(in); err != nil {
				return perr("sname", err)
			}
		case 11:
			if m.EText, err = m.names.kstring(in); err != nil {
				return perr("e-text", err)
			}
		case 12:
			if !in.Is(ber.ClassUniversal, ber.TagOctetString) {
				return perr("e-data", ber.ErrUnexpected)
			}
			m.EData = in.Value
			if !m.brief {
				m.methodData(in.Value)
			}
		}
	}
	if seen != 7 {
		return ErrMissing
	}
	return nil
}

// methodData fills PAData from e-data when it is a METHOD-DATA (SEQUENCE OF PA-DATA). Any
// other e-data (TYPED-DATA, kpasswd result, vendor data) is left alone.
func (m *Message) methodData(b []byte) {
	seq, rest, err := ber.Expect(b, ber.ClassUniversal, ber.TagSequence)
	if err != nil || len(rest) != 0 {
		return
	}
	var types [maxListEntries]int32
	n := 0
	for v := seq.Value; len(v) > 0; {
		pa, r, err := ber.Expect(v, ber.ClassUniversal, ber.TagSequence)
		if err != nil {
			return
		}
		v = r
		t, _, err := paData(pa.Value)
		if err != nil {
			return
		}
		if n < len(types) {
			types[n] = t
			n++
		}
	}
	m.PAData = append(m.PAData[:0], types[:n]...)
}

// kerberosTime parses KerberosTime (GeneralizedTime "YYYYMMDDHHMMSSZ", no fraction).
func kerberosTime(e ber.Element) (time.Time, error) {
	v := e.Value
	if !e.Is(ber.ClassUniversal, ber.TagGeneralized) || len(v) != kerberosTimeLen || v[14] != 'Z' {
		return time.Time{}, ErrTime
	}
	var d [7]int
	widths := [7]int{4, 2, 2, 2, 2, 2, 0}
	p := 0
	for i, w := range widths[:6] {
		n := 0
		for _, c := range v[p : p+w] {
			if c < '0' || c > '9' {
				return time.Time{}, ErrTime
			}
			n = n*10 + int(c-'0')
		}
		d[i] = n
		p += w
	}
	if d[1] < 1 || d[1] > 12 || d[2] < 1 || d[2] > 31 || d[3] > 23 || d[4] > 59 || d[5] > 60 {
		return time.Time{}, ErrTime
	}
	return time.Date(d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], 0, time.UTC), nil
}
