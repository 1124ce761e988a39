package analyzer

import (
	"net/netip"
	"strings"
)

// nameBook ties host names to addresses where the capture proves it: a TLS server's SNI
// or certificate, a Kerberos service name on a flow to that server, a DNS answer, a DCOM
// string binding on the flow's own server.
type nameBook struct {
	byAddr map[netip.Addr][]string
	byName map[string]netip.Addr
}

const maxNamesPerHost = 16

// addName records that addr is known as name.
func (a *Analyzer) addName(addr netip.Addr, name string) {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	if name == "" || !addr.IsValid() || len(name) > 255 {
		return
	}
	a.global(func(g *Analyzer) { g.names.add(addr, name) })
}

func (nb *nameBook) add(addr netip.Addr, name string) {
	if nb.byAddr == nil {
		nb.byAddr = map[netip.Addr][]string{}
		nb.byName = map[string]netip.Addr{}
	}
	lower := strings.ToLower(name)
	if _, ok := nb.byName[lower]; !ok {
		nb.byName[lower] = addr
	}
	list := nb.byAddr[addr]
	for _, n := range list {
		if strings.EqualFold(n, name) {
			return
		}
	}
	if len(list) < maxNamesPerHost {
		nb.byAddr[addr] = append(list, name)
	}
}

// lookupName returns the address a name is known to belong to. A short name matches the
// first label of a known FQDN.
func (a *Analyzer) lookupName(name string) (netip.Addr, bool) {
	lower := strings.ToLower(strings.TrimSuffix(name, "."))
	if addr, ok := a.names.byName[lower]; ok {
		return addr, true
	}
	if !strings.Contains(lower, ".") {
		for n, addr := range a.names.byName {
			if i := strings.IndexByte(n, '.'); i > 0 && n[:i] == lower {
				return addr, true
			}
		}
	}
	return netip.Addr{}, false
}
