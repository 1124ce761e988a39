package analyzer

import (
	"slices"
	"strconv"
	"strings"
)

// detailSummary is the short readable column of the tables and CSV: what the decoders
// found on the flow, e.g. "AS-REQ -> KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED".
func detailSummary(f *Flow) string {
	return string(appendDetailSummary(nil, f, f.RPCAssignment))
}

// appendDetailSummary appends detailSummary(f) to b: the parts found, "; " between them,
// with as as the flow's RPC assignment (nil: none; a worker does not read the flow's, which
// the merge sets).
func appendDetailSummary(b []byte, f *Flow, as *Assignment) []byte {
	start := len(b)
	d := &f.Details
	var m, p int
	if k := d.Kerberos; k != nil {
		b, m, p = openPart(b, start)
		b = closePart(appendKerberosSummary(b, k), m, p)
	}
	if k := d.Kpasswd; k != nil {
		b, m, p = openPart(b, start)
		b = append(b, "kpasswd "...)
		b = closePart(appendJoined(b, k.Messages, " -> "), m, p)
	}
	if l := d.LDAP; l != nil {
		b, m, p = openPart(b, start)
		b = closePart(appendLDAPSummary(b, l), m, p)
	}
	if t := d.TLS; t != nil {
		b, m, p = openPart(b, start)
		b = closePart(appendTLSSummary(b, t), m, p)
	}
	if h := d.HTTP; h != nil && len(h.Requests) > 0 {
		q := h.Requests[0]
		b, m, p = openPart(b, start)
		b = append(b, q.Method...)
		b = append(b, ' ')
		b = append(b, q.Path...)
		if q.Status != 0 {
			b = append(b, " -> "...)
			b = strconv.AppendInt(b, int64(q.Status), 10)
		}
		if len(h.Requests) > 1 {
			b = append(b, " (+"...)
			b = strconv.AppendInt(b, int64(len(h.Requests)-1), 10)
			b = append(b, " more)"...)
		}
		b = closePart(b, m, p)
	}
	if r := d.DCERPC; r != nil {
		b, m, p = openPart(b, start)
		b = closePart(appendRPCSummary(b, r), m, p)
	}
	if as != nil {
		b, _, _ = openPart(b, start)
		b = append(b, "port from "...)
		b = append(b, as.Via...)
		b = append(b, " frame "...)
		b = strconv.AppendInt(b, int64(as.Frame.Frame), 10)
	}
	if len(d.Malformed) > 0 {
		b, _, _ = openPart(b, start)
		b = append(b, "malformed: "...)
		b = append(b, d.Malformed[0]...)
	}
	if f.ICMP != nil {
		b, _, _ = openPart(b, start)
		b = append(b, "ICMP "...)
		b = append(b, f.ICMP.Name()...)
	}
	return b
}

// openPart begins a part of the summary that starts at start: "; " when a part came
// before. It returns where the part begins (m) and where its text begins (p).
func openPart(b []byte, start int) (out []byte, m, p int) {
	m = len(b)
	if m > start {
		b = append(b, "; "...)
	}
	return b, m, len(b)
}

// closePart takes an empty part back out, separator included.
func closePart(b []byte, m, p int) []byte {
	if len(b) == p {
		return b[:m]
	}
	return b
}

// appendJoined appends list as strings.Join(list, sep) does.
func appendJoined(b []byte, list []string, sep string) []byte {
	for i, s := range list {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, s...)
	}
	return b
}

// joined appends the separator before every element but the first (n counts them).
func joined(b []byte, n *int, sep string) []byte {
	if *n > 0 {
		b = append(b, sep...)
	}
	*n++
	return b
}

func appendKerberosSummary(b []byte, k *KerberosDetails) []byte {
	ei := 0
	for i, m := range k.Messages {
		if i > 0 {
			if m == "KRB-ERROR" || strings.HasSuffix(m, "-REP") {
				b = append(b, " -> "...)
			} else {
				b = append(b, "; "...)
			}
		}
		if i >= 8 {
			b = append(b, "... ("...)
			b = strconv.AppendInt(b, int64(len(k.Messages)), 10)
			b = append(b, " messages)"...)
			break
		}
		b = append(b, m...)
		if m == "KRB-ERROR" && ei < len(k.Errors) {
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(k.Errors[ei].Code), 10)
			b = append(b, ' ')
			b = append(b, k.Errors[ei].Name...)
			ei++
		}
	}
	return b
}

func appendLDAPSummary(b []byte, l *LDAPDetails) []byte {
	n := 0
	if len(l.BindMechanisms) > 0 {
		b = joined(b, &n, "; ")
		b = append(appendJoined(b, l.BindMechanisms, ","), " bind"...)
	}
	if l.NetlogonPing {
		b = append(joined(b, &n, "; "), "netlogon ping"...)
	}
	if l.StartTLS {
		b = append(joined(b, &n, "; "), "StartTLS"...)
	}
	if len(l.ADCSDiscovery) > 0 {
		b = append(joined(b, &n, "; "), "AD CS discovery: "...)
		b = appendJoined(b, l.ADCSDiscovery, ", ")
	}
	for _, r := range l.Results {
		if r.Code != 0 && r.Code != 14 && r.Code != 10 {
			b = append(joined(b, &n, "; "), r.Operation...)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(r.Code), 10)
			b = append(b, ' ')
			b = append(b, r.Name...)
			break
		}
	}
	if l.SASLProtected {
		b = append(joined(b, &n, "; "), "sasl-protected"...)
	}
	if n == 0 && len(l.Operations) > 0 {
		ops := l.Operations
		if len(ops) > 4 {
			ops = ops[:4]
		}
		b = appendJoined(b, ops, ", ")
	}
	return b
}

func appendTLSSummary(b []byte, t *TLSDetails) []byte {
	n := 0
	if t.SNI != "" {
		b = append(joined(b, &n, ", "), "SNI "...)
		b = append(b, t.SNI...)
	}
	if t.Version != "" {
		b = append(joined(b, &n, ", "), t.Version...)
	}
	for _, a := range t.Alerts {
		b = append(joined(b, &n, ", "), "alert "...)
		b = append(b, a.Description...)
	}
	if t.Certificate != nil && t.Certificate.Subject != "" {
		b = append(joined(b, &n, ", "), "cert "...)
		b = append(b, t.Certificate.Subject...)
	}
	if !t.HandshakeComplete && len(t.Alerts) == 0 {
		b = append(joined(b, &n, ", "), "handshake not completed"...)
	}
	return b
}

func appendRPCSummary(b []byte, r *DCERPCDetails) []byte {
	n := 0
	var names [3]string // the binds written (the first 3 interfaces)
	binds := names[:0]
	for _, bd := range r.Binds {
		name := bindName(bd)
		if slices.Contains(binds, name) {
			continue
		}
		binds = append(binds, name)
		b = append(joined(b, &n, ", "), "bind "...)
		b = append(b, name...)
		if bd.Result != "" && bd.Result != "accepted" {
			b = append(b, " ("...)
			b = append(b, bd.Result...)
			b = append(b, ')')
		}
		if len(binds) == len(names) {
			break
		}
	}
	var opNames [3]string // the operations written (the first 3)
	ops := opNames[:0]
	for _, c := range r.Calls {
		if len(ops) < len(opNames) && c.Operation != "" && !slices.Contains(ops, c.Operation) {
			ops = append(ops, c.Operation)
			b = append(joined(b, &n, ", "), c.Operation...)
		}
	}
	if len(r.Faults) > 0 {
		b = append(joined(b, &n, ", "), "fault "...)
		b = append(b, r.Faults[0].Name...)
	}
	if r.Auth != nil && r.Auth.Type != "none" {
		b = append(joined(b, &n, ", "), r.Auth.Type...)
		b = append(b, '/')
		b = append(b, r.Auth.Level...)
	}
	return b
}

// bindName names a bind's interface, by its UUID when it has no name.
func bindName(b RPCBind) string {
	if b.Interface == "" {
		return b.InterfaceUUID
	}
	return b.Interface
}
