package analyzer

import (
	"strings"
	"sync"

	"github.com/adcsflow/adcsflow/decoders/ldap"
)

func init() {
	registerProtocol(&protocol{
		name: "ldap", tcp: true, udp: true, ports: []uint16{389, 3268},
		detect: byContent(ldap.LooksLike, 12),
		newHandler: func(f *Flow) appHandler {
			f.Service = ldapService(f)
			return &ldapHandler{}
		},
	})
}

func ldapService(f *Flow) string {
	switch {
	case f.Transport == "udp":
		return "cldap"
	case f.Server.Port() == 3268:
		return "ldap-gc"
	}
	return "ldap"
}

var ldapFrame = adaptFrame(ldap.Frame, ldap.ErrNeedMore)

var ldapSASLFrame = adaptFrame(ldap.FrameSASL, ldap.ErrNeedMore)

// ldapHandler decodes LDAP and CLDAP; after StartTLS it hands the flow to TLS, after a
// SASL bind with a security layer it recognises the wrapped buffers.
type ldapHandler struct {
	sasl       [2]bool
	tlsPending bool        // StartTLS asked for
	tlsID      int64       // its message id
	tls        *tlsHandler // set once StartTLS succeeded
}

func (h *ldapHandler) gap(c *appCtx, dir int) {}

func (h *ldapHandler) feed(c *appCtx, dir int, data []byte) int {
	if h.tls != nil {
		return h.tls.feed(c, dir, data)
	}
	if c.f.Transport == "udp" {
		err := c.a.scratch.ldap.Each(data, 0, func(m *ldap.Message) { h.message(c, m) })
		if err != nil {
			c.malformed("cldap: " + err.Error())
		}
		return len(data)
	}
	used := 0
	for used < len(data) && h.tls == nil {
		rest := data[used:]
		if !h.sasl[dir] && !ldap.LooksLike(rest) && len(rest) >= 8 && ldap.LooksLikeSASLWrapped(rest) {
			h.sasl[dir] = true
		}
		var n int
		if h.sasl[dir] {
			n = feedFramed(c, rest, ldapSASLFrame, func(b []byte) { h.saslBuffer(c, b) })
		} else {
			n = feedFramed(c, rest, ldapFrame, func(b []byte) {
				m, err := c.a.scratch.ldap.Parse(b)
				if err != nil {
					c.malformed("ldap: " + err.Error())
					return
				}
				h.message(c, m)
			})
		}
		if n == 0 {
			break
		}
		used += n
	}
	if h.tls != nil && used < len(data) {
		used += h.tls.feed(c, dir, data[used:])
	}
	return used
}

func (h *ldapHandler) details(c *appCtx) *LDAPDetails {
	d := c.f.Details.LDAP
	if d == nil {
		d = newLDAPDetails()
		c.f.Details.LDAP = d
	}
	return d
}

// ldapDetails is a flow's LDAPDetails with room for what a session usually holds (a bind,
// a few searches and their results), so that a flow costs one allocation here; longer lists
// grow as any slice does. Like Kerberos's, the details of flows folded into their group are
// recycled (ldapPool; retire.go), their slices keeping their room.
type ldapDetails struct {
	d       LDAPDetails
	ops     [8]string
	results [4]LDAPResult
	strs    [4]string
}

var ldapPool sync.Pool

func newLDAPDetails() *LDAPDetails {
	if d, ok := ldapPool.Get().(*LDAPDetails); ok {
		*d = LDAPDetails{Operations: d.Operations[:0], Results: d.Results[:0], BindMechanisms: d.BindMechanisms[:0],
			SearchBases: d.SearchBases[:0], Filters: d.Filters[:0], ADCSDiscovery: d.ADCSDiscovery[:0]}
		return d
	}
	x := new(ldapDetails)
	d := &x.d
	d.Operations = x.ops[:0:len(x.ops)] // never nil: the report writes [] for none
	d.Results = x.results[:0:len(x.results)]
	d.BindMechanisms, d.SearchBases = x.strs[0:0:1], x.strs[1:1:2]
	d.Filters, d.ADCSDiscovery = x.strs[2:2:3], x.strs[3:3:4]
	return d
}

func (h *ldapHandler) saslBuffer(c *appCtx, b []byte) {
	d := h.details(c)
	d.SASLProtected = true
	buf, err := ldap.ParseSASL(b)
	if err != nil {
		c.malformed("ldap sasl: " + err.Error())
		return
	}
	if buf.Payload != nil {
		c.a.scratch.ldap.Each(buf.Payload, 0, func(m *ldap.Message) { h.message(c, m) })
	}
}

func (h *ldapHandler) message(c *appCtx, m *ldap.Message) {
	d := h.details(c)
	d.Operations = addItem(d.Operations, m.OpName())
	if b := m.Bind; b != nil {
		d.BindMechanisms = addUnique(d.BindMechanisms, b.Mechanism)
	}
	if s := m.Search; s != nil {
		d.SearchBases = addUnique(d.SearchBases, s.BaseObject)
		if len(d.Filters) < 8 {
			d.Filters = addUnique(d.Filters, s.Filter)
		}
		if kind, ok := ldap.ADCSDiscovery(s.BaseObject); ok {
			d.ADCSDiscovery = addUnique(d.ADCSDiscovery, kind)
		}
		if m.IsNetlogonPing() {
			d.NetlogonPing = true
		}
	}
	if r := m.Result; r != nil && len(d.Results) < maxDetailItems {
		d.Results = append(d.Results, LDAPResult{Operation: m.OpName(), Code: r.Code, Name: r.Name(),
			Diagnostic: strings.TrimRight(r.DiagnosticMessage, "\x00")})
	}
	// The StartTLS response may omit its responseName: match it to the request by id.
	switch {
	case m.Op == ldap.OpExtendedReq && m.IsStartTLS():
		d.StartTLS = true
		h.tlsPending, h.tlsID = true, m.ID
	case m.Op == ldap.OpExtendedResp && h.tlsPending && m.ID == h.tlsID:
		h.tlsPending = false
		if m.Result != nil && m.Result.Code == 0 {
			h.tls = &tlsHandler{}
		}
	}
}
