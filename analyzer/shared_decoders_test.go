package analyzer

import (
	"sort"
	"strings"
	"testing"
)

func setOf(items ...string) string {
	m := map[string]bool{}
	for _, s := range items {
		m[s] = true
	}
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func intsToStrings(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = itoa(x)
	}
	return out
}

// TestSharedCapturesDecoders compares, flow for flow, the Kerberos message types and
// error codes (flows on 88 and 464), the LDAP operations and result codes and the TLS SNIs
// with the tshark-derived truth.
func TestSharedCapturesDecoders(t *testing.T) {
	for _, c := range loadShared(t) {
		t.Run(c.name, func(t *testing.T) {
			rep, err := AnalyzeFiles([]string{c.capture}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			byKey := map[string]*FlowReport{}
			for i := range rep.Flows {
				f := &rep.Flows[i]
				byKey[flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))] = f
			}
			krbPort := func(k string) bool {
				return strings.HasSuffix(k, ":88") || strings.HasSuffix(k, ":464")
			}
			// Kerberos: the truth takes each packet's first (outer) message type, as we do.
			for k, want := range c.truth.Kerberos {
				if !krbPort(k) {
					continue
				}
				f := byKey[k]
				if f == nil || f.Details == nil || f.Details.Kerberos == nil {
					t.Errorf("%s: no kerberos details; tshark: %v", k, want.Messages)
					continue
				}
				got := f.Details.Kerberos.Messages
				if setOf(got...) != setOf(want.Messages...) {
					t.Errorf("%s: kerberos messages %s, tshark %s", k, setOf(got...), setOf(want.Messages...))
				}
				var codes []string
				for _, e := range f.Details.Kerberos.Errors {
					codes = append(codes, itoa(int(e.Code)))
				}
				if setOf(codes...) != setOf(intsToStrings(want.Errors)...) {
					t.Errorf("%s: kerberos errors %s, tshark %s", k, setOf(codes...), setOf(intsToStrings(want.Errors)...))
				}
			}
			for _, f := range rep.Flows {
				k := flowKeyString(f.Transport, f.Client.String(), int(f.ClientPort), f.Server.String(), int(f.ServerPort))
				if _, ok := c.truth.Kerberos[k]; !ok && krbPort(k) && f.Details != nil && f.Details.Kerberos != nil {
					t.Errorf("%s: kerberos %v reported, tshark saw none", k, f.Details.Kerberos.Messages)
				}
			}
			for k, want := range c.truth.LDAP {
				f := byKey[k]
				if f == nil || f.Details == nil || f.Details.LDAP == nil {
					t.Errorf("%s: no ldap details; tshark: %v", k, want.Operations)
					continue
				}
				l := f.Details.LDAP
				if setOf(l.Operations...) != setOf(want.Operations...) {
					t.Errorf("%s: ldap operations %s, tshark %s", k, setOf(l.Operations...), setOf(want.Operations...))
				}
				var codes []string
				for _, r := range l.Results {
					codes = append(codes, itoa(r.Code))
				}
				if setOf(codes...) != setOf(intsToStrings(want.ResultCodes)...) {
					t.Errorf("%s: ldap result codes %s, tshark %s", k, setOf(codes...), setOf(intsToStrings(want.ResultCodes)...))
				}
			}
			for k, want := range c.truth.TLS {
				f := byKey[k]
				if f == nil || f.Details == nil || f.Details.TLS == nil {
					t.Errorf("%s: no tls details; tshark SNI %v", k, want.SNI)
					continue
				}
				if setOf(f.Details.TLS.SNI) != setOf(want.SNI...) {
					t.Errorf("%s: SNI %q, tshark %v", k, f.Details.TLS.SNI, want.SNI)
				}
			}
		})
	}
}
