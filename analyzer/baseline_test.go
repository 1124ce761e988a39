package analyzer

import (
	"net/netip"
	"strings"
	"testing"
)

// TestDocumentedBaseline: the five rows of the seed table, in its words, with its source.
func TestDocumentedBaseline(t *testing.T) {
	b, err := BuiltinBaseline("documented")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Core Infrastructure and Security", "Firewall Rules for Active Directory Certificate Services", "2010-06-25", "2023-11-09"} {
		if !strings.Contains(b.Source, s) {
			t.Errorf("source %q lacks %q", b.Source, s)
		}
	}
	want := []struct {
		protocol, port, from, to, transport, ports, comment string
		fromRoles, toRoles                                  string
	}{
		{"Kerberos", "464", "Certificate Enrollment Web Services", "Domain Controllers (DC)", "tcp", "464", "tcp/464", "ces", "dc"},
		{"LDAP", "389", "Certificate Enrollment Web Services", "Domain Controllers (DC)", "tcp", "389", "tcp/389", "ces", "dc"},
		{"LDAP", "636", "Certificate Enrollment Web Services", "Domain Controllers (DC)", "tcp", "636", "tcp/636", "ces", "dc"},
		{"DCOM/RPC", "Random port above port 1023", "Certificate Enrollment Web Services; All XP clients requesting certs", "CA", "tcp", "dynamic", "kb/154596", "ces,client", "ca"},
		{"HTTPS", "443", "All clients requesting certs", "Certificate Enrollment Web Services", "tcp", "443", "Windows 7 client", "client", "ces"},
	}
	if len(b.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(b.Rows), len(want))
	}
	for i, w := range want {
		r := b.Rows[i]
		if r.Protocol != w.protocol || r.PortText != w.port || r.FromText != w.from || r.ToText != w.to ||
			r.Action != "Allow" || r.Transport != w.transport || r.Ports != w.ports || !strings.Contains(r.Comment, w.comment) ||
			strings.Join(r.From, ",") != w.fromRoles || strings.Join(r.To, ",") != w.toRoles {
			t.Errorf("row %d: %+v", i+1, r)
		}
	}
}

// TestCompleteBaseline: every row has its reason and says whether the documented table has it;
// the flows section 1 lists as missing are marked so.
func TestCompleteBaseline(t *testing.T) {
	b, err := BuiltinBaseline("complete")
	if err != nil {
		t.Fatal(err)
	}
	lacking := map[string]bool{}
	for _, r := range b.Rows {
		if r.Reason == "" || r.Documented == "" {
			t.Errorf("row %s: reason %q documented %q", r.ID, r.Reason, r.Documented)
		}
		if r.Documented != "yes" && r.VsDocumented == "" {
			t.Errorf("row %s: not (fully) in the documented table but does not say what is missing", r.ID)
		}
		if r.Documented == "no" {
			lacking[r.ID] = true
		}
	}
	for _, id := range []string{"kerberos", "cldap", "gc", "dns", "epm", "http-crl", "smb-cert", "https-cep"} {
		if !lacking[id] {
			t.Errorf("row %s should be marked as lacking from the documented table", id)
		}
	}
}

func TestParseBaselineErrors(t *testing.T) {
	good := `name: x
title: t
source: s
rows:
  - id: a
    name: LDAP 389
    from: [client]
    to: [dc]
    transport: tcp
    ports: "389"
    description: d
`
	if _, err := ParseBaseline([]byte(good), "f.yaml"); err != nil {
		t.Fatalf("good file: %v", err)
	}
	cases := []struct{ name, old, new, want string }{
		{"bad port", `ports: "389"`, `ports: "70000"`, "f.yaml:10: row a: ports"},
		{"bad range", `ports: "389"`, `ports: "500-400"`, "f.yaml:10:"},
		{"unknown role", `from: [client]`, `from: [workstation]`, `f.yaml:7: row a: unknown role "workstation"`},
		{"no role", `to: [dc]`, `to: []`, "f.yaml:8:"},
		{"transport", `transport: tcp`, `transport: sctp`, "f.yaml:9: row a: transport"},
		{"unknown field", `    description: d`, "    description: d\n    colour: red", "f.yaml:12: field colour not found"},
		{"syntax", `    to: [dc]`, `    to: [dc`, "f.yaml:"},
		{"type", `from: [client]`, `from: {a: b}`, "f.yaml:7:"},
		{"no rows", "rows:\n" + good[strings.Index(good, "  - id"):], "rows: []\n", "f.yaml:4: the baseline has no rows"},
		{"no description", "    description: d\n", "", "f.yaml:5: row a: no description"},
	}
	for _, c := range cases {
		text := strings.Replace(good, c.old, c.new, 1)
		_, err := ParseBaseline([]byte(text), "f.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	dup := good + `  - id: a
    name: LDAP 636
    from: [client]
    to: [dc]
    transport: tcp
    ports: "636"
    description: d
`
	if _, err := ParseBaseline([]byte(dup), "f.yaml"); err == nil || !strings.Contains(err.Error(), "f.yaml:12: row id \"a\" already used on line 5") {
		t.Errorf("duplicate id: %v", err)
	}
}

func TestPortSetMatching(t *testing.T) {
	row := BaselineRow{transports: []string{"tcp"}}
	var err error
	if row.ports, err = ParsePortSet("135, dynamic"); err != nil {
		t.Fatal(err)
	}
	flow := func(port uint16, service string, assigned bool) *Flow {
		f := &Flow{Transport: "tcp", Client: netip.MustParseAddrPort("10.0.0.1:50000"),
			Server: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port), Service: service}
		if assigned {
			f.RPCAssignment = &Assignment{Port: port}
		}
		return f
	}
	for _, c := range []struct {
		f    *Flow
		want bool
	}{
		{flow(135, "epm", false), true},
		{flow(49700, "msrpc", false), true},
		{flow(1030, "msrpc", false), true},                                                // old range
		{flow(6001, "unknown", true), true},                                               // handed out by EPM/DCOM: "random port above 1023"
		{flow(3268, "ldap-gc", false), false},                                             // above 1023 but not dynamic RPC
		{flow(50443, "https", false), false},                                              // in the range but recognised as something else
		{flow(49700, "msrpc (unassigned)", false), true},                                  // no hand-out seen, still RPC
		{&Flow{Transport: "udp", Server: netip.MustParseAddrPort("10.0.0.2:135")}, false}, // wrong transport
	} {
		if got := row.MatchesPort(c.f); got != c.want {
			t.Errorf("%s %s %s: %v, want %v", c.f.Transport, c.f.Server, c.f.Service, got, c.want)
		}
	}
}
