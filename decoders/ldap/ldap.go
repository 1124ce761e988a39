// Package ldap decodes LDAP messages (RFC 4511) as they appear on TCP 389 / 3268, over UDP
// as CLDAP (the DC locator "netlogon ping", MS-ADTS 6.3.3), after a StartTLS request, and
// inside a SASL security layer (RFC 4513, RFC 4752 framing of GSS-API wrap tokens).
//
// All functions are pure: bytes in, typed values out. Strings copied out of a message are
// bounded (see the Max* constants); byte slices returned by the SASL helpers alias the input.
//
// On a TCP stream (389, 3268, one direction at a time): while LooksLikeSASLWrapped(buf),
// take FrameSASL(buf) bytes and ParseSASL them (report "sasl-protected"; for an
// integrity-only token ParseAll its Payload); otherwise Frame(buf) and Parse(buf[:total]).
// ErrNeedMore, or a total larger than the buffer, means wait for more bytes. After a
// successful StartTLS (an extendedResp with code 0 answering the IsStartTLS request's
// message ID) the stream is TLS. A CLDAP datagram (UDP 389) goes to ParseAll.
package ldap

import (
	"errors"
	"unicode/utf8"

	"github.com/adcsflow/adcsflow/decoders/ber"
	"github.com/adcsflow/adcsflow/decoders/intern"
)

// Op is the APPLICATION tag number of an LDAPMessage's protocolOp.
type Op int

// Protocol operations (RFC 4511 section 4.2 and Appendix B).
const (
	OpBindRequest          Op = 0
	OpBindResponse         Op = 1
	OpUnbindRequest        Op = 2
	OpSearchRequest        Op = 3
	OpSearchResEntry       Op = 4
	OpSearchResDone        Op = 5
	OpModifyRequest        Op = 6
	OpModifyResponse       Op = 7
	OpAddRequest           Op = 8
	OpAddResponse          Op = 9
	OpDelRequest           Op = 10
	OpDelResponse          Op = 11
	OpModDNRequest         Op = 12
	OpModDNResponse        Op = 13
	OpCompareRequest       Op = 14
	OpCompareResponse      Op = 15
	OpAbandonRequest       Op = 16
	OpSearchResRef         Op = 19
	OpExtendedReq          Op = 23
	OpExtendedResp         Op = 24
	OpIntermediateResponse Op = 25
)

var opNames = [...]string{
	OpBindRequest:          "bindRequest",
	OpBindResponse:         "bindResponse",
	OpUnbindRequest:        "unbindRequest",
	OpSearchRequest:        "searchRequest",
	OpSearchResEntry:       "searchResEntry",
	OpSearchResDone:        "searchResDone",
	OpModifyRequest:        "modifyRequest",
	OpModifyResponse:       "modifyResponse",
	OpAddRequest:           "addRequest",
	OpAddResponse:          "addResponse",
	OpDelRequest:           "delRequest",
	OpDelResponse:          "delResponse",
	OpModDNRequest:         "modDNRequest",
	OpModDNResponse:        "modDNResponse",
	OpCompareRequest:       "compareRequest",
	OpCompareResponse:      "compareResponse",
	OpAbandonRequest:       "abandonRequest",
	OpSearchResRef:         "searchResRef",
	OpExtendedReq:          "extendedReq",
	OpExtendedResp:         "extendedResp",
	OpIntermediateResponse: "intermediateResponse",
}

// String returns the RFC 4511 name of the operation ("searchResDone"), or "" for a tag
// number that is not an LDAP operation.
func (o Op) String() string {
	if o < 0 || int(o) >= len(opNames) {
		return ""
	}
	return opNames[o]
}

// Valid reports whether o is an operation defined by RFC 4511.
func (o Op) Valid() bool { return o.String() != "" }

// primitive reports whether the operation's APPLICATION tag is primitive on the wire
// (UnbindRequest is NULL, DelRequest an LDAPDN, AbandonRequest a MessageID).
func (o Op) primitive() bool {
	return o == OpUnbindRequest || o == OpDelRequest || o == OpAbandonRequest
}

// hasResult reports whether the operation's body starts with COMPONENTS OF LDAPResult.
func (o Op) hasResult() bool {
	switch o {
	case OpBindResponse, OpSearchResDone, OpModifyResponse, OpAddResponse, OpDelResponse,
		OpModDNResponse, OpCompareResponse, OpExtendedResp:
		return true
	}
	return false
}

// Bounds on what a Message copies out of the input.
const (
	MaxMessageSize    = 16 << 20 // Frame and FrameSASL reject longer messages
	MaxDNLen          = 1024     // DNs (bind name, base object, entry names, matchedDN)
	MaxDiagnosticLen  = 256      // diagnosticMessage
	MaxAttributeLen   = 128      // one requested attribute description
	MaxAttributes     = 32       // requested attributes kept per search
	MaxReferrals      = 8        // referral URIs kept
	MaxReferralLen    = 512      // one referral URI
	MaxFilterLen      = 512      // rendered filter summary, before the "..." marker
	MaxFilterDepth    = 16       // filter nesting rendered; deeper parts become "(...)"
	maxFilterNodes    = 1024     // filter items examined
	maxMechanismLen   = 64
	maxOIDLen         = 128
	maxMessageIDValue = 1<<31 - 1
)

// Message is one decoded LDAPMessage. Exactly the fields that belong to Op are set.
type Message struct {
	ID int64 // messageID, 0 .. 2^31-1
	Op Op

	// Bind is set for bindRequest.
	Bind *BindRequest
	// Search is set for searchRequest.
	Search *SearchRequest
	// Result is set for every response carrying an LDAPResult: bindResponse, searchResDone,
	// modifyResponse, addResponse, delResponse, modDNResponse, compareResponse, extendedResp.
	Result *Result

	// DN is the objectName of a searchResEntry, or the entry of a modify, add, del, modDN
	// or compare request.
	DN string
	// OID is the requestName of an extendedReq, or the responseName of an extendedResp or
	// intermediateResponse ("" when the optional field is absent).
	OID string
	// Referrals holds the URIs of a searchResRef, or the referral field of an LDAPResult
	// (at most MaxReferrals).
	Referrals []string
	// HasControls reports a [0] Controls field after the protocolOp.
	HasControls bool
}

// OpName returns the RFC 4511 name of the message's operation.
func (m *Message) OpName() string { return m.Op.String() }

// BindRequest is the decoded body of a bindRequest.
type BindRequest struct {
	Version int
	Name    string
	// Mechanism is "simple", the SASL mechanism name as sent ("GSS-SPNEGO", "GSSAPI",
	// "EXTERNAL", "DIGEST-MD5", ...), "NTLM" for Microsoft's sicily binds ([9], [10], [11]),
	// or "" for another authentication choice (AuthChoice tells which).
	Mechanism string
	// AuthChoice is the context tag of the AuthenticationChoice: 0 simple, 3 sasl,
	// 9 sicilyPackageDiscovery, 10 sicilyNegotiate, 11 sicilyResponse.
	AuthChoice int
	// HasCredentials is false for an anonymous/unauthenticated simple bind (empty password)
	// and for a SASL bind without credentials. The credentials themselves are not kept.
	HasCredentials bool
}

// Result is an LDAPResult (RFC 4511 section 4.1.9).
type Result struct {
	Code              int
	MatchedDN         string
	DiagnosticMessage string // at most MaxDiagnosticLen bytes
	// HasServerSASLCreds reports serverSaslCreds [7] in a bindResponse.
	HasServerSASLCreds bool
}

// Name returns the RFC 4511 name of the result code.
func (r *Result) Name() string { return ResultName(r.Code) }

// Search scopes (RFC 4511 section 4.5.1.2).
const (
	ScopeBaseObject   = 0
	ScopeSingleLevel  = 1
	ScopeWholeSubtree = 2
)

// SearchRequest is the decoded body of a searchRequest.
type SearchRequest struct {
	BaseObject   string
	Scope        int
	DerefAliases int
	SizeLimit    int64
	TimeLimit    int64
	TypesOnly    bool
	// Filter is an RFC 4515 rendering of the filter, at most MaxFilterLen bytes plus a
	// trailing "..." when FilterTruncated. Values are escaped as RFC 4515 requires, except
	// that a 4-byte NtVer and a 16-byte DomainGuid are shown as tshark shows them
	// (NtVer=0x00000016, DomainGuid=3933c65d-ac7f-4c79-b5b7-ad0fb941333c).
	Filter          string
	FilterTruncated bool
	// Attributes are the requested attribute descriptions (at most MaxAttributes).
	Attributes          []string
	AttributesTruncated bool

	// Values of the DC locator assertions seen in the filter (MS-ADTS 6.3.3.1), "" if none.
	DnsDomain string
	Host      string
	User      string
	hasNtVer  bool
}

// ScopeName returns "base", "one" or "sub" (the RFC 4516 URL spellings), or "" if the
// scope is out of range.
func (s *SearchRequest) ScopeName() string {
	switch s.Scope {
	case ScopeBaseObject:
		return "base"
	case ScopeSingleLevel:
		return "one"
	case ScopeWholeSubtree:
		return "sub"
	}
	return ""
}

// Errors returned by the package.
var (
	ErrNeedMore     = errors.New("ldap: need more data")
	ErrNotLDAP      = errors.New("ldap: not an LDAPMessage")
	ErrTooLarge     = errors.New("ldap: message length implausible")
	ErrTrailingData = errors.New("ldap: trailing data after LDAPMessage")
	ErrMessageID    = errors.New("ldap: messageID out of range")
	ErrUnknownOp    = errors.New("ldap: unknown protocolOp")
	ErrMalformed    = errors.New("ldap: malformed")
	ErrFilter       = errors.New("ldap: malformed filter")
	ErrNotSASL      = errors.New("ldap: not a SASL buffer")
)

// ParseError says which part of a message could not be decoded.
type ParseError struct {
	Field string // "LDAPMessage", "messageID", "bindRequest.version", ...
	Err   error
}

func (e *ParseError) Error() string { return "ldap: " + e.Field + ": " + e.Err.Error() }
func (e *ParseError) Unwrap() error { return e.Err }

func perr(field string, err error) error { return &ParseError{Field: field, Err: err} }

// msgAlloc lets Parse allocate a message and its parts at once.
type msgAlloc struct {
	m Message
	b BindRequest
	s SearchRequest
	r Result
	// A Decoder's, kept from message to message: the strings it handed out (the DNs,
	// attributes and filters of one message are mostly those of the last), the filter's
	// text and the room for a search's attributes.
	names  *intern.Table
	filter []byte
	attrs  []string
}

// Bounds of a Decoder's string table: 4,096 strings of up to 256 bytes.
const (
	maxInterned    = 4096
	maxInternedLen = 256
)

// Parse decodes exactly one LDAPMessage. b must hold the whole message and nothing after
// it: on a stream use Frame to find its length, in a UDP datagram (which may carry several,
// e.g. searchResEntry then searchResDone) use ParseAll.
func Parse(b []byte) (*Message, error) {
	return parse(b, new(msgAlloc))
}

// A Decoder parses messages into storage it reuses, for a hot path that reads many: the
// Message a call returns is only valid until the next call on the same Decoder. The zero
// value is ready to use.
type Decoder struct {
	a     msgAlloc
	names intern.Table
}

// Parse is Parse into the Decoder's storage.
func (d *Decoder) Parse(b []byte) (*Message, error) {
	if d.names.Max == 0 {
		d.names = intern.Table{Max: maxInterned, MaxLen: maxInternedLen}
	}
	d.a = msgAlloc{names: &d.names, filter: d.a.filter[:0], attrs: d.a.attrs[:0]}
	return parse(b, &d.a)
}

// Each calls fn for each LDAPMessage that follows the other in b, as ParseAll decodes
// them, with the Decoder's storage: fn must not keep the message. It returns ParseAll's error.
func (d *Decoder) Each(b []byte, max int, fn func(*Message)) error {
	return each(b, max, d.Parse, fn)
}

func parse(b []byte, a *msgAlloc) (*Message, error) {
	env, rest, err := ber.Read(b)
	if err != nil {
		return nil, perr("LDAPMessage", err)
	}
	if b[0] != 0x30 { // universal constructed SEQUENCE, low-tag form
		return nil, perr("LDAPMessage", ErrNotLDAP)
	}
	if len(rest) != 0 {
		return nil, perr("LDAPMessage", ErrTrailingData)
	}
	idElem, body, err := prim(env.Value, ber.TagInteger)
	if err != nil {
		return nil, perr("messageID", err)
	}
	id, err := ber.Int(idElem.Value)
	if err != nil {
		return nil, perr("messageID", err)
	}
	// MessageID ::= INTEGER (0 .. maxInt): at most 4 value octets, as LooksLike checks.
	if id < 0 || len(idElem.Value) > 4 {
		return nil, perr("messageID", ErrMessageID)
	}
	op, body, err := ber.Read(body)
	if err != nil {
		return nil, perr("protocolOp", err)
	}
	if op.Class != ber.ClassApplication || !Op(op.Tag).Valid() {
		return nil, perr("protocolOp", ErrUnknownOp)
	}
	o := Op(op.Tag)
	if op.Constructed == o.primitive() {
		return nil, perr(o.String(), ber.ErrUnexpected)
	}
	m := &a.m
	m.ID, m.Op = id, o
	if len(body) > 0 {
		c, _, err := ber.Read(body)
		if err != nil {
			return nil, perr("controls", err)
		}
		if !c.Is(ber.ClassContext, 0) || !c.Constructed {
			return nil, perr("controls", ber.ErrUnexpected)
		}
		m.HasControls = true
	}

	v := op.Value
	if o.hasResult() {
		a.r = Result{}
		m.Result = &a.r
		if v, err = parseResult(v, m, a); err != nil {
			return nil, perr(o.String(), err)
		}
	}
	switch o {
	case OpBindRequest:
		m.Bind = &a.b
		err = parseBind(v, m.Bind, a)
	case OpBindResponse:
		// serverSaslCreds [7] OCTET STRING OPTIONAL
		if len(v) > 0 {
			var e ber.Element
			if e, v, err = ber.Read(v); err == nil && e.Is(ber.ClassContext, 7) {
				m.Result.HasServerSASLCreds = true
			}
		}
	case OpUnbindRequest:
		if len(v) != 0 {
			err = ErrMalformed
		}
	case OpSearchRequest:
		m.Search = &a.s
		err = parseSearch(v, m.Search, a)
	case OpSearchResEntry, OpModifyRequest, OpAddRequest, OpModDNRequest, OpCompareRequest:
		var e ber.Element
		if e, _, err = prim(v, ber.TagOctetString); err == nil {
			m.DN = a.str(e.Value, MaxDNLen)
		}
	case OpDelRequest:
		m.DN = a.str(v, MaxDNLen)
	case OpAbandonRequest:
		var n int64
		if n, err = ber.Int(v); err == nil && (n < 0 || n > maxMessageIDValue) {
			err = ErrMessageID
		}
	case OpSearchResRef:
		m.Referrals, err = parseURIs(v, a)
	case OpExtendedReq:
		// requestName [0] LDAPOID, requestValue [1] OCTET STRING OPTIONAL
		var e ber.Element
		if e, _, err = ber.Expect(v, ber.ClassContext, 0); err == nil {
			m.OID = a.str(e.Value, maxOIDLen)
		}
	case OpExtendedResp:
		// responseName [10] LDAPOID OPTIONAL, responseValue [11] OCTET STRING OPTIONAL
		if len(v) > 0 {
			var e ber.Element
			if e, _, err = ber.Read(v); err == nil && e.Is(ber.ClassContext, 10) {
				m.OID = a.str(e.Value, maxOIDLen)
			}
		}
	case OpIntermediateResponse:
		// responseName [0] LDAPOID OPTIONAL, responseValue [1] OCTET STRING OPTIONAL
		if len(v) > 0 {
			var e ber.Element
			if e, _, err = ber.Read(v); err == nil && e.Is(ber.ClassContext, 0) {
				m.OID = a.str(e.Value, maxOIDLen)
			}
		}
	}
	if err != nil {
		return nil, perr(o.String(), err)
	}
	return m, nil
}

// ParseAll decodes the LDAPMessages that follow each other in b, as in a CLDAP datagram.
// It returns the messages decoded before the first error, and that error. max bounds the
// number of messages (0 means 64).
func ParseAll(b []byte, max int) ([]*Message, error) {
	var out []*Message
	err := each(b, max, Parse, func(m *Message) { out = append(out, m) })
	return out, err
}

// each walks the messages of b with parse, at most max (0 means 64).
func each(b []byte, max int, parse func([]byte) (*Message, error), fn func(*Message)) error {
	if max <= 0 {
		max = 64
	}
	for n := 0; len(b) > 0 && n < max; n++ {
		l, err := Frame(b)
		if err == ErrNeedMore || (err == nil && l > len(b)) {
			return perr("LDAPMessage", ber.ErrTruncated)
		}
		if err != nil {
			return err
		}
		m, err := parse(b[:l])
		if err != nil {
			return err
		}
		fn(m)
		b = b[l:]
	}
	return nil
}

// parseResult reads resultCode, matchedDN, diagnosticMessage and the optional referral
// [3], and returns what follows them.
func parseResult(v []byte, m *Message, a *msgAlloc) ([]byte, error) {
	r := m.Result
	e, v, err := prim(v, ber.TagEnumerated)
	if err != nil {
		return nil, err
	}
	code, err := ber.Int(e.Value)
	if err != nil {
		return nil, err
	}
	if code < 0 || code > 1<<31-1 {
		return nil, ber.ErrInteger
	}
	r.Code = int(code)
	if e, v, err = prim(v, ber.TagOctetString); err != nil {
		return nil, err
	}
	r.MatchedDN = a.str(e.Value, MaxDNLen)
	if e, v, err = prim(v, ber.TagOctetString); err != nil {
		return nil, err
	}
	r.DiagnosticMessage = a.str(e.Value, MaxDiagnosticLen)
	if len(v) > 0 {
		e, rest, err := ber.Read(v)
		if err != nil {
			return nil, err
		}
		if e.Is(ber.ClassContext, 3) {
			if m.Referrals, err = parseURIs(e.Value, a); err != nil {
				return nil, err
			}
			v = rest
		}
	}
	return v, nil
}

// parseURIs reads SEQUENCE OF URI contents (searchResRef, Referral).
func parseURIs(v []byte, a *msgAlloc) ([]string, error) {
	var out []string
	for len(v) > 0 {
		e, rest, err := prim(v, ber.TagOctetString)
		if err != nil {
			return out, err
		}
		if len(out) < MaxReferrals {
			out = append(out, a.str(e.Value, MaxReferralLen))
		}
		v = rest
	}
	return out, nil
}

func parseBind(v []byte, b *BindRequest, a *msgAlloc) error {
	n, v, err := readInt(v)
	if err != nil {
		return err
	}
	if n < 0 || n > 255 {
		return ber.ErrInteger
	}
	b.Version = int(n)
	e, v, err := prim(v, ber.TagOctetString)
	if err != nil {
		return err
	}
	b.Name = a.str(e.Value, MaxDNLen)
	auth, _, err := ber.Read(v)
	if err != nil {
		return err
	}
	if auth.Class != ber.ClassContext {
		return ber.ErrUnexpected
	}
	b.AuthChoice = auth.Tag
	switch auth.Tag {
	case 0: // simple [0] OCTET STRING
		b.Mechanism = "simple"
		b.HasCredentials = len(auth.Value) > 0
	case 3: // sasl [3] SaslCredentials ::= SEQUENCE { mechanism, credentials OPTIONAL }
		mech, rest, err := prim(auth.Value, ber.TagOctetString)
		if err != nil {
			return err
		}
		b.Mechanism = a.str(mech.Value, maxMechanismLen)
		b.HasCredentials = len(rest) > 0
	case 9, 10, 11: // Microsoft sicilyPackageDiscovery, sicilyNegotiate, sicilyResponse
		b.Mechanism = "NTLM"
		b.HasCredentials = len(auth.Value) > 0
	}
	return nil
}

func parseSearch(v []byte, s *SearchRequest, a *msgAlloc) error {
	e, v, err := prim(v, ber.TagOctetString)
	if err != nil {
		return err
	}
	s.BaseObject = a.str(e.Value, MaxDNLen)
	var n int64
	if n, v, err = readEnum(v); err != nil {
		return err
	}
	s.Scope = int(n)
	if n, v, err = readEnum(v); err != nil {
		return err
	}
	s.DerefAliases = int(n)
	if s.SizeLimit, v, err = readInt(v); err != nil {
		return err
	}
	if s.TimeLimit, v, err = readInt(v); err != nil {
		return err
	}
	if e, v, err = prim(v, ber.TagBoolean); err != nil {
		return err
	}
	if len(e.Value) != 1 {
		return ErrMalformed
	}
	s.TypesOnly = e.Value[0] != 0
	f, v, err := ber.Read(v)
	if err != nil {
		return err
	}
	if err := renderFilter(f, s, a); err != nil {
		return err
	}
	if e, _, err = seq(v); err != nil {
		return err
	}
	av := e.Value
	for len(av) > 0 {
		e, rest, err := prim(av, ber.TagOctetString)
		if err != nil {
			return err
		}
		if len(s.Attributes) < MaxAttributes {
			if s.Attributes == nil {
				s.Attributes = a.attrs[:0]
				if cap(s.Attributes) == 0 {
					s.Attributes = make([]string, 0, 4)
				}
			}
			s.Attributes = append(s.Attributes, a.str(e.Value, MaxAttributeLen))
		} else {
			s.AttributesTruncated = true
		}
		av = rest
	}
	if a.names != nil && s.Attributes != nil {
		a.attrs = s.Attributes // the room, for the Decoder's next search
	}
	return nil
}

func readInt(v []byte) (int64, []byte, error) {
	e, rest, err := prim(v, ber.TagInteger)
	if err != nil {
		return 0, v, err
	}
	n, err := ber.Int(e.Value)
	return n, rest, err
}

func readEnum(v []byte) (int64, []byte, error) {
	e, rest, err := prim(v, ber.TagEnumerated)
	if err != nil {
		return 0, v, err
	}
	n, err := ber.Int(e.Value)
	return n, rest, err
}

// str returns at most max bytes of b as a string, cut at a UTF-8 character boundary (from
// the Decoder's table when there is one).
func (a *msgAlloc) str(b []byte, max int) string {
	if len(b) > max {
		i := max
		for i > 0 && i > max-utf8.UTFMax && !utf8.RuneStart(b[i]) {
			i--
		}
		b = b[:i]
	}
	return a.names.String(b)
}

// prim reads a universal primitive element with the given tag. RFC 4511 section 5.1: octet
// strings are only encoded in the primitive form (and INTEGER, ENUMERATED, BOOLEAN always).
func prim(v []byte, tag int) (ber.Element, []byte, error) {
	e, rest, err := ber.Expect(v, ber.ClassUniversal, tag)
	if err != nil {
		return e, v, err
	}
	if e.Constructed || v[0]&0x1f == 0x1f { // no high-tag-number form for a low tag
		return e, v, ber.ErrUnexpected
	}
	return e, rest, nil
}

// seq reads a universal constructed SEQUENCE.
func seq(v []byte) (ber.Element, []byte, error) {
	e, rest, err := ber.Expect(v, ber.ClassUniversal, ber.TagSequence)
	if err != nil {
		return e, v, err
	}
	if !e.Constructed || v[0] != 0x30 {
		return e, v, ber.ErrUnexpected
	}
	return e, rest, nil
}
