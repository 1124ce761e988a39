package dcerpc

// SyntaxID is a presentation syntax identifier (p_syntax_id_t): interface or transfer
// syntax UUID with major and minor version.
type SyntaxID struct {
	UUID         UUID
	VersionMajor uint16
	VersionMinor uint16
}

// Well-known transfer syntaxes.
var (
	TransferNDR   = MustUUID("8a885d04-1ceb-11c9-9fe8-08002b104860") // NDR 2.0
	TransferNDR64 = MustUUID("71710533-beba-4937-8319-b5dbef9ccc36") // NDR64 1.0
)

// bindTimeFeaturePrefix is the first 8 bytes of the bind time feature negotiation
// syntax 6cb71c2c-9812-4540-XXXX-XXXXXXXXXXXX; the last 8 bytes carry the bitmask.
var bindTimeFeaturePrefix = [8]byte{0x6c, 0xb7, 0x1c, 0x2c, 0x98, 0x12, 0x45, 0x40}

// IsBindTimeFeature reports whether u is a bind time feature negotiation
// "transfer syntax" (MS-RPCE 3.3.1.5.3).
func IsBindTimeFeature(u UUID) bool { return [8]byte(u[:8]) == bindTimeFeaturePrefix }

// BindTimeFeatures returns the feature bitmask of a bind time feature negotiation
// UUID (bit 0 security context multiplexing, bit 1 keep connection on orphan).
func BindTimeFeatures(u UUID) uint16 { return uint16(u[8]) | uint16(u[9])<<8 }

// TransferName names a transfer syntax: "NDR", "NDR64", "bind_time_feature_negotiation"
// or "" if unknown.
func TransferName(u UUID) string {
	switch {
	case u == TransferNDR:
		return "NDR"
	case u == TransferNDR64:
		return "NDR64"
	case IsBindTimeFeature(u):
		return "bind_time_feature_negotiation"
	}
	return ""
}

// PresContext is one presentation context element of a bind or alter_context.
type PresContext struct {
	ID       uint16
	Abstract SyntaxID // the interface
	Transfer []SyntaxID
}

// Result codes of a bind_ack / alter_context_resp presentation result.
const (
	ResultAcceptance        = 0
	ResultUserRejection     = 1
	ResultProviderRejection = 2
	ResultNegotiateAck      = 3 // MS-RPCE bind time feature negotiation
)

// ContextResult is one entry of a bind_ack / alter_context_resp result list, in the
// order of the bind's contexts.
type ContextResult struct {
	Result   uint16
	Reason   uint16   // provider reason; for negotiate_ack the accepted feature bits
	Transfer SyntaxID // the chosen transfer syntax (zero when rejected)
}

// Accepted reports result acceptance.
func (c ContextResult) Accepted() bool { return c.Result == ResultAcceptance }

// ResultName is "accepted", "user_rejection", "provider_rejection", "negotiate_ack"
// or "result_N".
func (c ContextResult) ResultName() string { return ResultName(c.Result) }

// ReasonName names the provider reason (C706 p_provider_reason_t).
func (c ContextResult) ReasonName() string { return ProviderReasonName(c.Reason) }

// AuthVerifier is the sec_trailer plus auth_value (MS-RPCE 2.2.2.11).
type AuthVerifier struct {
	Type      uint8 // auth_type, see AuthTypeName
	Level     uint8 // auth_level, see AuthLevelName
	PadLen    uint8 // auth_pad_length: padding between stub and sec_trailer
	ContextID uint32
	Value     []byte // auth_length bytes of credentials/signature (aliases the input)
}

// TypeName is AuthTypeName(a.Type).
func (a AuthVerifier) TypeName() string { return AuthTypeName(a.Type) }

// LevelName is AuthLevelName(a.Level).
func (a AuthVerifier) LevelName() string { return AuthLevelName(a.Level) }

// Auth levels.
const (
	AuthLevelDefault   = 0
	AuthLevelNone      = 1
	AuthLevelConnect   = 2
	AuthLevelCall      = 3
	AuthLevelPacket    = 4
	AuthLevelIntegrity = 5
	AuthLevelPrivacy   = 6
)

// maxContexts caps presentation contexts / results kept per PDU (the field is a u8).
const maxContexts = 255

// PDU is one decoded connection-oriented PDU. Which fields are set depends on PType;
// byte slices alias the input.
type PDU struct {
	Header

	// bind, alter_context, bind_ack, alter_context_resp
	MaxXmitFrag uint16
	MaxRecvFrag uint16
	AssocGroup  uint32
	Contexts    []PresContext   // bind, alter_context
	SecAddr     string          // bind_ack: secondary address, e.g. "49712" or "\PIPE\cert" (NUL dropped)
	Results     []ContextResult // bind_ack, alter_context_resp

	// bind_nak
	RejectReason uint16 // see BindNakReasonName
	Versions     [][2]uint8

	// request, response, fault
	AllocHint   uint32
	ContextID   uint16
	Opnum       uint16 // request
	Object      UUID   // request with PFC_OBJECT_UUID
	HasObject   bool
	CancelCount uint8  // response, fault
	Status      uint32 // fault: see StatusName

	// Stub is the stub data (request, response, fault), without auth padding and verifier.
	Stub []byte
	// Encrypted is set when the auth level is privacy: Stub is ciphertext.
	Encrypted bool

	// Auth is the auth verifier when AuthLen > 0.
	Auth    AuthVerifier
	HasAuth bool
}

// Parse decodes one whole PDU; b must hold at least frag_length bytes (extra bytes are
// ignored). Use Frame to split a stream first.
func Parse(b []byte) (*PDU, error) {
	p := new(PDU)
	if err := ParseInto(p, b); err != nil {
		return nil, err
	}
	return p, nil
}

// ParseInto is Parse into p, which it overwrites whole: a decoder on a hot path decodes
// every PDU into the same one (what a PDU refers to, Stub and Auth.Value, is b's bytes).
func ParseInto(p *PDU, b []byte) error {
	h, err := ParseHeader(b)
	if err != nil {
		if err == ErrNeedMore {
			return ErrTruncated
		}
		return err
	}
	if int(h.FragLen) > len(b) {
		return ErrTruncated
	}
	if !h.PType.ConnectionOriented() {
		return ErrPType
	}
	*p = PDU{Header: h}
	b = b[:h.FragLen]
	le := h.LittleEndian()

	// body runs from the header to the sec_trailer (or to the end without auth).
	bodyEnd := len(b)
	if h.AuthLen > 0 {
		trailer := len(b) - int(h.AuthLen) - 8
		if trailer < HeaderLen {
			return ErrAuth
		}
		r := newReader(b, le)
		r.off = trailer
		var reserved uint8
		r.u8(&p.Auth.Type)
		r.u8(&p.Auth.Level)
		r.u8(&p.Auth.PadLen)
		r.u8(&reserved)
		r.u32(&p.Auth.ContextID)
		p.Auth.Value = b[trailer+8 : len(b) : len(b)]
		p.HasAuth = true
		bodyEnd = trailer
	}

	r := newReader(b[:bodyEnd], le)
	r.off = HeaderLen
	switch h.PType {
	case PTypeBind, PTypeAlterContext:
		err = p.parseBind(r)
	case PTypeBindAck, PTypeAlterContextResp:
		err = p.parseBindAck(r)
	case PTypeBindNak:
		err = p.parseBindNak(r)
	case PTypeRequest:
		if !r.u32(&p.AllocHint) || !r.u16(&p.ContextID) || !r.u16(&p.Opnum) {
			return ErrTruncated
		}
		if h.Flags&FlagObjectUUID != 0 {
			if !r.uuid(&p.Object) {
				return ErrTruncated
			}
			p.HasObject = true
		}
		err = p.setStub(r)
	case PTypeResponse:
		var reserved uint8
		if !r.u32(&p.AllocHint) || !r.u16(&p.ContextID) || !r.u8(&p.CancelCount) || !r.u8(&reserved) {
			return ErrTruncated
		}
		err = p.setStub(r)
	case PTypeFault:
		var reserved uint8
		var reserved2 uint32
		if !r.u32(&p.AllocHint) || !r.u16(&p.ContextID) || !r.u8(&p.CancelCount) || !r.u8(&reserved) ||
			!r.u32(&p.Status) {
			return ErrTruncated
		}
		// MS-RPCE adds 4 reserved bytes before optional extended error stub data.
		if r.u32(&reserved2) {
			err = p.setStub(r)
		}
	case PTypeAuth3:
		// 4 bytes of padding, then the verifier (already read).
	case PTypeShutdown, PTypeCoCancel, PTypeOrphaned:
		// header (and optional verifier) only.
	}
	return err
}

// setStub takes the rest of the body as stub, minus the auth padding.
func (p *PDU) setStub(r *reader) error {
	n := r.remaining()
	if p.HasAuth {
		if int(p.Auth.PadLen) > n {
			return ErrAuth
		}
		n -= int(p.Auth.PadLen)
		p.Encrypted = p.Auth.Level == AuthLevelPrivacy
	}
	p.Stub, _ = r.bytes(n)
	return nil
}

func (p *PDU) parseBind(r *reader) error {
	var n, reserved uint8
	var reserved2 uint16
	if !r.u16(&p.MaxXmitFrag) || !r.u16(&p.MaxRecvFrag) || !r.u32(&p.AssocGroup) ||
		!r.u8(&n) || !r.u8(&reserved) || !r.u16(&reserved2) {
		return ErrTruncated
	}
	// Each context is at least 4+20 bytes; do not allocate beyond what can be present.
	if int(n)*24 > r.remaining() {
		return ErrTruncated
	}
	p.Contexts = make([]PresContext, 0, n)
	for i := 0; i < int(n); i++ {
		var c PresContext
		var nts uint8
		if !r.u16(&c.ID) || !r.u8(&nts) || !r.u8(&reserved) || !r.syntax(&c.Abstract) {
			return ErrTruncated
		}
		if int(nts)*20 > r.remaining() {
			return ErrTruncated
		}
		c.Transfer = make([]SyntaxID, nts)
		for j := range c.Transfer {
			if !r.syntax(&c.Transfer[j]) {
				return ErrTruncated
			}
		}
		p.Contexts = append(p.Contexts, c)
	}
	return nil
}

func (p *PDU) parseBindAck(r *reader) error {
	var secLen uint16
	if !r.u16(&p.MaxXmitFrag) || !r.u16(&p.MaxRecvFrag) || !r.u32(&p.AssocGroup) || !r.u16(&secLen) {
		return ErrTruncated
	}
	sec, ok := r.bytes(int(secLen))
	if !ok {
		return ErrTruncated
	}
	for len(sec) > 0 && sec[len(sec)-1] == 0 {
		sec = sec[:len(sec)-1]
	}
	p.SecAddr = string(sec)
	// The result list is 4-byte aligned from the start of the PDU. Some stacks send
	// a bind_ack without result list (e.g. alter_context_resp with sec_addr 0 and no
	// padding); treat a missing list as empty.
	if !r.align(4) {
		return nil
	}
	var n, reserved uint8
	var reserved2 uint16
	if !r.u8(&n) || !r.u8(&reserved) || !r.u16(&reserved2) {
		return nil
	}
	if int(n)*24 > r.remaining() {
		return ErrTruncated
	}
	p.Results = make([]ContextResult, n)
	for i := range p.Results {
		c := &p.Results[i]
		if !r.u16(&c.Result) || !r.u16(&c.Reason) || !r.syntax(&c.Transfer) {
			return ErrTruncated
		}
	}
	return nil
}

func (p *PDU) parseBindNak(r *reader) error {
	if !r.u16(&p.RejectReason) {
		return ErrTruncated
	}
	var n uint8
	if !r.u8(&n) {
		return nil // versions list is optional in practice
	}
	if int(n)*2 > r.remaining() {
		return ErrTruncated
	}
	p.Versions = make([][2]uint8, n)
	for i := range p.Versions {
		r.u8(&p.Versions[i][0])
		r.u8(&p.Versions[i][1])
	}
	return nil
}

// BindResult pairs a bind/alter_context presentation context with the result the
// bind_ack/alter_context_resp gave it (results are positional, C706 12.6.4.4).
type BindResult struct {
	ContextID uint16
	Interface SyntaxID // abstract syntax offered
	ContextResult
}

// BindResults pairs bind's contexts with ack's results. Contexts without a result
// (a short or missing list) are left out. Either argument may be nil.
func BindResults(bind, ack *PDU) []BindResult {
	if bind == nil || ack == nil {
		return nil
	}
	n := min(len(bind.Contexts), len(ack.Results))
	out := make([]BindResult, n)
	for i := range out {
		out[i] = BindResult{bind.Contexts[i].ID, bind.Contexts[i].Abstract, ack.Results[i]}
	}
	return out
}
