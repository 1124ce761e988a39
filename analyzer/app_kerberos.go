package analyzer

import (
	"fmt"
	"sync"

	"github.com/adcsflow/adcsflow/decoders/kerberos"
)

func init() {
	registerProtocol(&protocol{
		name: "kerberos", tcp: true, udp: true, ports: []uint16{88},
		detect: byContent(kerberos.LooksLike, 8),
		newHandler: func(f *Flow) appHandler {
			f.Service = "kerberos"
			return &kerberosHandler{}
		},
	})
	registerProtocol(&protocol{
		name: "kpasswd", tcp: true, udp: true, ports: []uint16{464},
		detect: byContent(kerberos.LooksLikeKpasswd, 10),
		newHandler: func(f *Flow) appHandler {
			f.Service = "kpasswd"
			return &kpasswdHandler{}
		},
	})
}

var kerberosFrame = adaptFrame(kerberos.FrameTCP, kerberos.ErrNeedMore)

type kerberosHandler struct{}

func (h *kerberosHandler) gap(c *appCtx, dir int) {}

func (h *kerberosHandler) feed(c *appCtx, dir int, data []byte) int {
	if c.f.Transport == "udp" {
		h.message(c, data)
		return len(data)
	}
	return feedFramed(c, data, kerberosFrame, func(m []byte) { h.message(c, m[4:]) })
}

func (h *kerberosHandler) message(c *appCtx, b []byte) {
	m := &c.a.scratch.kerberos
	if err := kerberos.ParseBriefInto(m, b); err != nil {
		c.malformed("kerberos: " + err.Error())
		return
	}
	d := c.f.Details.Kerberos
	if d == nil {
		d = newKerberosDetails()
		c.f.Details.Kerberos = d
	}
	recordKerberos(d, m)
}

// kerberosDetails is a flow's KerberosDetails with room for what an exchange usually holds
// (a request and its answer, one realm and name each, the client's etypes), so that a flow
// costs one allocation here rather than eight; longer lists grow as any slice does.
type kerberosDetails struct {
	d      KerberosDetails
	msgs   [4]string
	names  [3]string
	etypes [8]int32
}

// kerberosPool recycles the details of the flows folded into their group (retire.go):
// their slices keep the room they had.
var kerberosPool sync.Pool

func newKerberosDetails() *KerberosDetails {
	if d, ok := kerberosPool.Get().(*KerberosDetails); ok {
		*d = KerberosDetails{Messages: d.Messages[:0], Realms: d.Realms[:0], SNames: d.SNames[:0],
			CNames: d.CNames[:0], ETypes: d.ETypes[:0], Errors: d.Errors[:0], Notes: d.Notes[:0]}
		return d
	}
	x := new(kerberosDetails)
	d := &x.d
	d.Messages = x.msgs[:0:len(x.msgs)]
	d.Realms, d.SNames, d.CNames = x.names[0:0:1], x.names[1:1:2], x.names[2:2:3]
	d.ETypes = x.etypes[:0:len(x.etypes)]
	return d
}

// recordKerberos folds one message into the details.
func recordKerberos(d *KerberosDetails, m *kerberos.Message) {
	d.Messages = addItem(d.Messages, m.TypeName())
	d.Realms = addUnique(d.Realms, m.Realm)
	d.Realms = addUnique(d.Realms, m.CRealm)
	switch m.Type {
	case kerberos.TypeASReq, kerberos.TypeTGSReq:
		d.SNames = addUnique(d.SNames, m.SName)
		d.CNames = addUnique(d.CNames, m.CName)
		for _, e := range m.ETypes {
			if len(d.ETypes) < maxDetailSet && !containsInt32(d.ETypes, e) {
				d.ETypes = append(d.ETypes, e)
			}
		}
	case kerberos.TypeKRBError:
		if len(d.Errors) < maxDetailItems {
			d.Errors = append(d.Errors, KerberosError{Code: m.ErrorCode, Name: m.ErrorName(), EText: m.EText})
		}
		switch {
		case m.IsResponseTooBig():
			d.Notes = addUnique(d.Notes, "KRB_ERR_RESPONSE_TOO_BIG: the reply does not fit in UDP; the client must retry over TCP 88")
		case m.IsClockSkew():
			note := "KRB_AP_ERR_SKEW: the clocks of client and KDC differ too much"
			if skew, ok := m.Skew(); ok {
				note = fmt.Sprintf("KRB_AP_ERR_SKEW: the client's clock is %s off the KDC's", skew.Round(1e9))
			}
			d.Notes = addUnique(d.Notes, note)
		}
	}
}

func containsInt32(l []int32, v int32) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

type kpasswdHandler struct{}

func (h *kpasswdHandler) gap(c *appCtx, dir int) {}

func (h *kpasswdHandler) feed(c *appCtx, dir int, data []byte) int {
	if c.f.Transport == "udp" {
		h.message(c, data)
		return len(data)
	}
	return feedFramed(c, data, kerberosFrame, func(m []byte) { h.message(c, m) })
}

func (h *kpasswdHandler) message(c *appCtx, b []byte) {
	m, err := c.a.scratch.kpasswd.Parse(b) // read here, never kept
	if err != nil {
		c.malformed("kpasswd: " + err.Error())
		return
	}
	d := c.f.Details.Kpasswd
	if d == nil {
		d = &KpasswdDetails{Messages: []string{}}
		c.f.Details.Kpasswd = d
	}
	d.Messages = addItem(d.Messages, m.Kind())
	switch m.Version {
	case kerberos.KpasswdVersionChange:
		if m.Request {
			d.Versions = addUnique(d.Versions, "change password")
		}
	case kerberos.KpasswdVersionSet:
		d.Versions = addUnique(d.Versions, "set password")
	}
	if m.Error != nil && len(d.Errors) < maxDetailSet {
		d.Errors = append(d.Errors, KerberosError{Code: m.Error.ErrorCode, Name: m.Error.ErrorName(), EText: m.Error.EText})
	}
	if m.HasResult && len(d.ResultCodes) < maxDetailSet {
		d.ResultCodes = append(d.ResultCodes, int(m.ResultCode))
		d.ResultNames = append(d.ResultNames, m.ResultName())
	}
}
