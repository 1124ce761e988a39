package analyzer

import (
	"fmt"
	"strings"
)

// detailSummary is the short readable column of the tables and CSV: what the decoders
// found on the flow, e.g. "AS-REQ -> KRB-ERROR 25 KDC_ERR_PREAUTH_REQUIRED".
func detailSummary(f *Flow) string {
	var parts []string
	d := &f.Details
	if k := d.Kerberos; k != nil {
		parts = append(parts, kerberosSummary(k))
	}
	if k := d.Kpasswd; k != nil {
		parts = append(parts, "kpasswd "+strings.Join(k.Messages, " -> "))
	}
	if l := d.LDAP; l != nil {
		parts = append(parts, ldapSummary(l))
	}
	if t := d.TLS; t != nil {
		parts = append(parts, tlsSummary(t))
	}
	if h := d.HTTP; h != nil && len(h.Requests) > 0 {
		q := h.Requests[0]
		s := q.Method + " " + q.Path
		if q.Status != 0 {
			s += fmt.Sprintf(" -> %d", q.Status)
		}
		if len(h.Requests) > 1 {
			s += fmt.Sprintf(" (+%d more)", len(h.Requests)-1)
		}
		parts = append(parts, s)
	}
	if r := d.DCERPC; r != nil {
		parts = append(parts, rpcSummary(r))
	}
	if as := f.RPCAssignment; as != nil {
		parts = append(parts, fmt.Sprintf("port from %s frame %d", as.Via, as.Frame.Frame))
	}
	if len(d.Malformed) > 0 {
		parts = append(parts, "malformed: "+d.Malformed[0])
	}
	if f.ICMP != nil {
		parts = append(parts, "ICMP "+f.ICMP.Name())
	}
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

func kerberosSummary(k *KerberosDetails) string {
	var b strings.Builder
	ei := 0
	for i, m := range k.Messages {
		if i > 0 {
			if m == "KRB-ERROR" || strings.HasSuffix(m, "-REP") {
				b.WriteString(" -> ")
			} else {
				b.WriteString("; ")
			}
		}
		if i >= 8 {
			fmt.Fprintf(&b, "... (%d messages)", len(k.Messages))
			break
		}
		b.WriteString(m)
		if m == "KRB-ERROR" && ei < len(k.Errors) {
			fmt.Fprintf(&b, " %d %s", k.Errors[ei].Code, k.Errors[ei].Name)
			ei++
		}
	}
	return b.String()
}

func ldapSummary(l *LDAPDetails) string {
	var parts []string
	if len(l.BindMechanisms) > 0 {
		parts = append(parts, strings.Join(l.BindMechanisms, ",")+" bind")
	}
	if l.NetlogonPing {
		parts = append(parts, "netlogon ping")
	}
	if l.StartTLS {
		parts = append(parts, "StartTLS")
	}
	if len(l.ADCSDiscovery) > 0 {
		parts = append(parts, "AD CS discovery: "+strings.Join(l.ADCSDiscovery, ", "))
	}
	for _, r := range l.Results {
		if r.Code != 0 && r.Code != 14 && r.Code != 10 {
			parts = append(parts, fmt.Sprintf("%s %d %s", r.Operation, r.Code, r.Name))
			break
		}
	}
	if l.SASLProtected {
		parts = append(parts, "sasl-protected")
	}
	if len(parts) == 0 && len(l.Operations) > 0 {
		ops := l.Operations
		if len(ops) > 4 {
			ops = ops[:4]
		}
		parts = append(parts, strings.Join(ops, ", "))
	}
	return strings.Join(parts, "; ")
}

func tlsSummary(t *TLSDetails) string {
	var parts []string
	if t.SNI != "" {
		parts = append(parts, "SNI "+t.SNI)
	}
	if t.Version != "" {
		parts = append(parts, t.Version)
	}
	for _, a := range t.Alerts {
		parts = append(parts, "alert "+a.Description)
	}
	if t.Certificate != nil && t.Certificate.Subject != "" {
		parts = append(parts, "cert "+t.Certificate.Subject)
	}
	if !t.HandshakeComplete && len(t.Alerts) == 0 {
		parts = append(parts, "handshake not completed")
	}
	return strings.Join(parts, ", ")
}

func rpcSummary(r *DCERPCDetails) string {
	var parts []string
	seen := map[string]bool{}
	for _, b := range r.Binds {
		name := b.Interface
		if name == "" {
			name = b.InterfaceUUID
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		s := "bind " + name
		if b.Result != "" && b.Result != "accepted" {
			s += " (" + b.Result + ")"
		}
		parts = append(parts, s)
		if len(parts) >= 3 {
			break
		}
	}
	ops := map[string]bool{}
	for _, c := range r.Calls {
		if c.Operation != "" && !ops[c.Operation] && len(ops) < 3 {
			ops[c.Operation] = true
			parts = append(parts, c.Operation)
		}
	}
	for _, f := range r.Faults {
		parts = append(parts, "fault "+f.Name)
		break
	}
	if r.Auth != nil && r.Auth.Type != "none" {
		parts = append(parts, r.Auth.Type+"/"+r.Auth.Level)
	}
	return strings.Join(parts, ", ")
}
