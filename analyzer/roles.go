package analyzer

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// Roles of hosts in an enrollment.
const (
	RoleClient = "client"
	RoleCES    = "ces"
	RoleCEP    = "cep"
	RoleCA     = "ca"
	RoleDC     = "dc"
	// RoleAny is for baselines only: any host.
	RoleAny = "any"
)

var roleOrder = []string{RoleDC, RoleCA, RoleCES, RoleCEP, RoleClient}

func validRole(r string) bool {
	switch r {
	case RoleClient, RoleCES, RoleCEP, RoleCA, RoleDC, RoleAny:
		return true
	}
	return false
}

// RoleOverride says a host has a role: "dc=10.0.0.10", "ca=ca01.corp.example".
type RoleOverride struct {
	Role   string
	Target string // an address or a name the capture proved (hosts[].names)
	Origin string // "--role" or "FILE:LINE"
}

// ParseRoleOverride parses "role=address" or "role=name".
func ParseRoleOverride(s string) (RoleOverride, error) {
	role, target, ok := strings.Cut(strings.TrimSpace(s), "=")
	role, target = strings.ToLower(strings.TrimSpace(role)), strings.TrimSpace(target)
	if !ok || target == "" {
		return RoleOverride{}, fmt.Errorf("%q: want role=address or role=name (roles: client, ces, cep, ca, dc)", s)
	}
	if !validRole(role) || role == RoleAny {
		return RoleOverride{}, fmt.Errorf("%q: unknown role %q (client, ces, cep, ca, dc)", s, role)
	}
	return RoleOverride{Role: role, Target: target, Origin: "--role"}, nil
}

// ReadRoleOverrides reads one role=address|name per line; # starts a comment.
func ReadRoleOverrides(r io.Reader, name string) ([]RoleOverride, error) {
	var out []RoleOverride
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.IndexByte(s, '#'); i >= 0 {
			s = s[:i]
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		o, err := ParseRoleOverride(s)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		o.Origin = fmt.Sprintf("%s:%d", name, line)
		out = append(out, o)
	}
	return out, sc.Err()
}

// ReadRolesFile reads a --roles file.
func ReadRolesFile(path string) ([]RoleOverride, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRoleOverrides(f, path)
}

// roleEvidence collects why each host got each role.
type roleEvidence map[netip.Addr]map[string][]string

func (e roleEvidence) add(addr netip.Addr, role, why string) {
	if !addr.IsValid() {
		return
	}
	m := e[addr]
	if m == nil {
		m = map[string][]string{}
		e[addr] = m
	}
	if len(m[role]) < 6 {
		m[role] = appendUnique(m[role], why)
	}
}

var caInterfaces = map[string]bool{
	"ICertPassage": true, "ICertRequestD": true, "ICertRequestD2": true,
	"ICertAdminD": true, "ICertAdminD2": true,
}

// ApplyRoles infers each host's roles from the flows, with the evidence, then applies the
// overrides: a host named by an override gets exactly the roles the overrides give it.
// Names resolve through the names the capture proved (hosts[].names).
func (r *Report) ApplyRoles(overrides []RoleOverride) error {
	ev := inferRoles(r.flows, r.assignments)
	byAddr := map[netip.Addr]*Host{}
	for _, h := range r.Hosts {
		byAddr[h.Addr] = h
	}
	// A web flow to a host whose proved name says CES or CEP (a dropped SYN has no SNI).
	for _, f := range r.flows {
		if !webFlow(f) {
			continue
		}
		if h := byAddr[f.Server.Addr()]; h != nil {
			for _, n := range h.Names {
				for _, role := range nameRoles(n) {
					if ev[h.Addr][role] != nil {
						continue
					}
					ev.add(h.Addr, role, fmt.Sprintf("%s (%d) to a host named %s", f.Service, f.Server.Port(), n))
				}
			}
		}
	}
	forced := map[netip.Addr][]RoleOverride{}
	var errs []string
	for _, o := range overrides {
		addr, err := r.resolveHost(o.Target)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s=%s: %v", o.Origin, o.Role, o.Target, err))
			continue
		}
		forced[addr] = append(forced[addr], o)
		if byAddr[addr] == nil {
			h := &Host{Addr: addr, Roles: []string{}, Names: []string{}}
			r.Hosts = append(r.Hosts, h)
			byAddr[addr] = h
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	sort.Slice(r.Hosts, func(i, j int) bool { return r.Hosts[i].Addr.Less(r.Hosts[j].Addr) })
	for addr, list := range forced {
		m := map[string][]string{}
		for _, o := range list {
			m[o.Role] = append(m[o.Role], "given by "+o.Origin+" "+o.Role+"="+o.Target)
		}
		ev[addr] = m
	}
	// Clients: hosts with no other role that talk to a DC, CA, CES or CEP.
	for _, f := range r.kept() {
		if !enrollmentRelevant(f.Flow) {
			continue
		}
		c, s := f.Client().Addr(), f.Server().Addr()
		if _, ok := forced[c]; ok {
			continue
		}
		if m := ev[c]; m != nil && hasServerRole(m) {
			continue
		}
		sm := ev[s]
		if sm == nil || !hasServerRole(sm) || len(ev[c][RoleClient]) >= 3 {
			continue
		}
		var names []string
		for _, role := range roleOrder {
			if role != RoleClient && sm[role] != nil {
				names = append(names, roleWords[role][1])
			}
		}
		ev.add(c, RoleClient, "talks to "+strings.Join(names, "/")+" "+s.String())
	}
	for _, h := range r.Hosts {
		h.Roles = []string{}
		h.Evidence = nil
		m := ev[h.Addr]
		for _, role := range roleOrder {
			if why := m[role]; len(why) > 0 {
				h.Roles = append(h.Roles, role)
				h.Evidence = append(h.Evidence, role+": "+strings.Join(why, ", "))
			}
		}
	}
	return nil
}

func hasServerRole(m map[string][]string) bool {
	for role := range m {
		if role != RoleClient {
			return true
		}
	}
	return false
}

// resolveHost turns an address or a name the capture proved into an address.
func (r *Report) resolveHost(target string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(target); err == nil {
		return a.Unmap(), nil
	}
	want := strings.ToLower(strings.TrimSuffix(target, "."))
	var found []netip.Addr
	for _, h := range r.Hosts {
		for _, n := range h.Names {
			n = strings.ToLower(n)
			short, _, _ := strings.Cut(n, ".")
			if n == want || (!strings.Contains(want, ".") && short == want) {
				found = append(found, h.Addr)
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return netip.Addr{}, fmt.Errorf("no host in the capture is known by that name (names come from DNS answers, TLS, Kerberos and DCOM bindings): give the address")
	case 1:
		return found[0], nil
	}
	return netip.Addr{}, fmt.Errorf("the name fits several hosts (%v): give the address", found)
}

// RolesOf returns a host's roles.
func (r *Report) RolesOf(a netip.Addr) []string {
	for _, h := range r.Hosts {
		if h.Addr == a {
			return h.Roles
		}
	}
	return nil
}

// inferRoles gives dc, ca, ces and cep from what the servers did.
func inferRoles(flows []*Flow, assignments []*Assignment) roleEvidence {
	ev := roleEvidence{}
	dcServices := map[netip.Addr][]string{}
	for _, f := range flows {
		s := f.Server.Addr()
		answered := !f.IsFailure() && f.Packets[1] > 0
		port := f.Server.Port()
		if answered {
			var svc string
			switch {
			case f.Service == "kerberos":
				svc = fmt.Sprintf("Kerberos (%d/%s)", port, f.Transport)
			case f.Service == "cldap" || (f.Transport == "udp" && port == 389 && f.Details.LDAP != nil):
				svc = "CLDAP (389/udp)"
			case f.Service == "ldap-gc" || (f.Transport == "tcp" && (port == 3268 || port == 3269)):
				svc = fmt.Sprintf("Global Catalog (%d)", port)
			case f.Service == "ldap" && f.Transport == "tcp":
				svc = fmt.Sprintf("LDAP (%d)", port)
			case f.Service == "ldaps" && port == 636:
				svc = "LDAPS (636)"
			}
			if svc != "" && !contains(dcServices[s], svc) {
				dcServices[s] = append(dcServices[s], svc)
			}
		}
		if d := f.Details.DCERPC; d != nil {
			for _, b := range d.Binds {
				if caInterfaces[b.Interface] && b.Result == "accepted" {
					ev.add(s, RoleCA, fmt.Sprintf("accepted a bind to %s (frame %d)", b.Interface, b.Frame))
				}
			}
		}
		if webFlow(f) {
			for _, why := range webRoleEvidence(f) {
				ev.add(s, why[0], why[1])
			}
		}
	}
	for s, list := range dcServices {
		ev.add(s, RoleDC, "serves "+strings.Join(list, ", "))
	}
	for _, as := range assignments {
		name := as.Interface
		if !caInterfaces[name] && (strings.Contains(as.Requested, "CCertRequestD") ||
			strings.EqualFold(as.Requested, dcerpc.ClsidCCertRequestD.String())) {
			name = "CCertRequestD"
		}
		if caInterfaces[name] || name == "CCertRequestD" {
			ev.add(as.Server, RoleCA, fmt.Sprintf("offers %s via %s (port %d, frame %d)", name, viaWords(as.Via), as.Port, as.Frame.Frame))
		}
	}
	return ev
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func webFlow(f *Flow) bool {
	if f.Transport != "tcp" {
		return false
	}
	switch f.Service {
	case "https", "http":
		return true
	}
	p := f.Server.Port()
	return p == 443 || p == 80
}

// webRoleEvidence: CES/CEP paths in HTTP requests, or a TLS SNI, HTTP Host or certificate
// name whose first label has the token "ces" or "cep" (ces.corp.example, pki-ces01, ...).
func webRoleEvidence(f *Flow) [][2]string {
	var out [][2]string
	if h := f.Details.HTTP; h != nil {
		for _, rq := range h.Requests {
			switch rq.Kind {
			case "ces":
				out = append(out, [2]string{RoleCES, "HTTP " + rq.Method + " " + rq.Path})
			case "cep":
				out = append(out, [2]string{RoleCEP, "HTTP " + rq.Method + " " + rq.Path})
			}
			if rq.Host != "" {
				for _, role := range nameRoles(rq.Host) {
					out = append(out, [2]string{role, "HTTP Host " + rq.Host})
				}
			}
		}
	}
	if t := f.Details.TLS; t != nil {
		if t.SNI != "" {
			for _, role := range nameRoles(t.SNI) {
				out = append(out, [2]string{role, fmt.Sprintf("TLS SNI %s (port %d, frame %d)", t.SNI, f.Server.Port(), f.FirstFrame.Frame)})
			}
		}
		if c := t.Certificate; c != nil {
			for _, n := range c.SANs {
				for _, role := range nameRoles(n) {
					out = append(out, [2]string{role, "certificate name " + n})
				}
			}
		}
	}
	return out
}

// nameRoles returns ces and/or cep when the first DNS label of a name has that token.
func nameRoles(name string) []string {
	first, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(name)), ".")
	var out []string
	for _, tok := range strings.FieldsFunc(first, func(r rune) bool { return !unicode.IsLetter(r) }) {
		switch tok {
		case "ces":
			out = appendUnique(out, RoleCES)
		case "cep":
			out = appendUnique(out, RoleCEP)
		}
	}
	return out
}

// enrollmentRelevant is false for flows that are clearly not part of the enrollment picture:
// multicast and broadcast UDP, LLMNR, mDNS, NetBIOS name/datagram, DHCP.
func enrollmentRelevant(f *Flow) bool {
	if f.Transport == "udp" && groupAddr(f.Server.Addr()) {
		return false
	}
	if f.Server.Addr().IsMulticast() {
		return false
	}
	switch f.Service {
	case "llmnr", "mdns", "netbios-ns", "netbios-dgm", "dhcp", "dhcpv6":
		return false
	}
	return true
}
