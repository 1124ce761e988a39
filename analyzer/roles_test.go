package analyzer

import (
	"net/netip"
	"strings"
	"testing"
)

func roles(r *Report, addr string) string {
	return strings.Join(r.RolesOf(netip.MustParseAddr(addr)), ",")
}

func TestRoleInference(t *testing.T) {
	tls := func(f *Flow, sni string) *Flow { f.Details.TLS = &TLSDetails{SNI: sni}; return f }
	http := func(f *Flow, path, kind string) *Flow {
		f.Details.HTTP = &HTTPDetails{Requests: []HTTPRequest{{Method: "POST", Path: path, Kind: kind}}}
		return f
	}
	bind := fl("tcp 10.0.1.21 10.0.0.21:445 established")
	bind.Details.DCERPC = &DCERPCDetails{Binds: []RPCBind{{Interface: "ICertPassage", Result: "accepted", Frame: 40}}}
	r := report(t, map[string]string{"10.0.0.50": "pki-cep.corp.example"}, caOffer,
		fl("udp 10.0.1.20 10.0.0.10:88 answered"),
		fl("tcp 10.0.1.20 10.0.0.11:389 no-answer"), // only tried: not proved a DC
		bind,
		tls(fl("tcp 10.0.1.20 10.0.0.30:443 established"), "ces01.corp.example"),
		http(fl("tcp 10.0.1.20 10.0.0.31:80 established"), "/ADPolicyProvider_CEP_Kerberos/service.svc", "cep"),
		tls(fl("tcp 10.0.1.20 10.0.0.40:443 established"), "services.corp.example"), // "services" is not "ces"
		fl("tcp 10.0.1.20 10.0.0.50:443 no-answer"),                                 // DNS name says CEP
		fl("tcp 10.0.1.20 10.0.0.20:135 established"),
		fl("tcp 10.0.2.2 10.0.2.3:22 established"), // talks to no role holder
	)
	for addr, want := range map[string]string{
		"10.0.0.10": "dc", "10.0.0.11": "", "10.0.0.20": "ca", "10.0.0.21": "ca", "10.0.0.30": "ces",
		"10.0.0.31": "cep", "10.0.0.40": "", "10.0.0.50": "cep", "10.0.1.20": "client", "10.0.1.21": "client",
		"10.0.2.2": "", "10.0.2.3": "",
	} {
		if got := roles(r, addr); got != want {
			t.Errorf("%s: roles %q, want %q", addr, got, want)
		}
	}
	ev := map[string]string{}
	for _, h := range r.Hosts {
		ev[h.Addr.String()] = strings.Join(h.Evidence, "; ")
	}
	for addr, want := range map[string]string{
		"10.0.0.10": "dc: serves Kerberos (88/udp)",
		"10.0.0.20": "ca: offers ICertPassage via the endpoint mapper (port 49712, frame 57)",
		"10.0.0.21": "ca: accepted a bind to ICertPassage (frame 40)",
		"10.0.0.30": "ces: TLS SNI ces01.corp.example",
		"10.0.0.31": "cep: HTTP POST /ADPolicyProvider_CEP_Kerberos/service.svc",
		"10.0.0.50": "cep: https (443) to a host named pki-cep.corp.example",
		"10.0.1.20": "client: talks to DC 10.0.0.10",
	} {
		if !strings.Contains(ev[addr], want) {
			t.Errorf("%s: evidence %q, want %q", addr, ev[addr], want)
		}
	}

	// Overrides: by address and by a proved name; the named host gets exactly these roles.
	if err := r.ApplyRoles([]RoleOverride{{Role: "ca", Target: "10.0.0.10", Origin: "--role"},
		{Role: "dc", Target: "10.0.0.10", Origin: "--role"}, {Role: "ces", Target: "pki-cep", Origin: "--role"}}); err != nil {
		t.Fatal(err)
	}
	if roles(r, "10.0.0.10") != "dc,ca" || roles(r, "10.0.0.50") != "ces" || roles(r, "10.0.0.30") != "ces" {
		t.Errorf("after overrides: .10 %q .50 %q .30 %q", roles(r, "10.0.0.10"), roles(r, "10.0.0.50"), roles(r, "10.0.0.30"))
	}
	if err := r.ApplyRoles([]RoleOverride{{Role: "ca", Target: "ca99.corp.example", Origin: "--role"}}); err == nil ||
		!strings.Contains(err.Error(), "no host in the capture is known by that name") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestRoleOverrideParsing(t *testing.T) {
	if o, err := ParseRoleOverride(" CA = ca01.corp.example "); err != nil || o.Role != "ca" || o.Target != "ca01.corp.example" {
		t.Errorf("%+v %v", o, err)
	}
	for _, bad := range []string{"ca", "ca=", "router=10.0.0.1", "any=10.0.0.1"} {
		if _, err := ParseRoleOverride(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	list, err := ReadRoleOverrides(strings.NewReader("# roles\ndc=10.0.0.10\n\nca=ca01 # the CA\n"), "roles.txt")
	if err != nil || len(list) != 2 || list[1].Origin != "roles.txt:4" || list[1].Target != "ca01" {
		t.Errorf("%+v %v", list, err)
	}
	if _, err := ReadRoleOverrides(strings.NewReader("dc=10.0.0.10\nbogus line\n"), "roles.txt"); err == nil ||
		!strings.HasPrefix(err.Error(), "roles.txt:2:") {
		t.Errorf("bad line: %v", err)
	}
}
