package ldap

import "strings"

// StartTLSOID is the requestName (and optional responseName) of the StartTLS extended
// operation (RFC 4511 section 4.14.1).
const StartTLSOID = "1.3.6.1.4.1.1466.20037"

// IsStartTLS reports whether m is a StartTLS extendedReq, or an extendedResp naming the
// StartTLS OID. Many servers (OpenLDAP, AD) omit responseName: an analyzer must then match
// the extendedResp to the request by message ID; success means TLS follows on the stream.
func (m *Message) IsStartTLS() bool {
	return (m.Op == OpExtendedReq || m.Op == OpExtendedResp) && m.OID == StartTLSOID
}

// IsNetlogonPing reports whether m is a DC locator ping (MS-ADTS 6.3.3): a searchRequest
// with an empty base whose filter asserts NtVer and which asks for the Netlogon attribute.
// It is usually sent over CLDAP (UDP 389), sometimes over TCP.
func (m *Message) IsNetlogonPing() bool {
	s := m.Search
	if m.Op != OpSearchRequest || s == nil || s.BaseObject != "" || !s.hasNtVer {
		return false
	}
	for _, a := range s.Attributes {
		if strings.EqualFold(a, "Netlogon") {
			return true
		}
	}
	return false
}

// adcsContainers are the children of CN=Public Key Services that AD CS clients read.
var adcsContainers = [...]string{
	"Enrollment Services", "Certificate Templates", "AIA", "CDP", "OID", "KRA",
	"NTAuthCertificates", "Certification Authorities",
}

// ADCSDiscovery reports whether an LDAP base (or entry) DN lies under
// CN=Public Key Services,CN=Services,CN=Configuration, where AD CS publishes its
// configuration, and names the container: "Enrollment Services", "Certificate Templates",
// "AIA", "CDP", "OID", "KRA", "NTAuthCertificates", "Certification Authorities", or
// "Public Key Services" for the container itself or another child. Attribute types and
// values compare case-insensitively; spaces around ',' and '=' are ignored.
func ADCSDiscovery(base string) (kind string, ok bool) {
	var child string // the RDN before the current one
	rest := base
	for len(rest) > 0 {
		rdn, r := nextRDN(rest)
		rest = r
		if rdnIs(rdn, "Public Key Services") {
			s, r2 := nextRDN(rest)
			c, _ := nextRDN(r2)
			if rdnIs(s, "Services") && rdnIs(c, "Configuration") {
				for _, k := range adcsContainers {
					if rdnIs(child, k) {
						return k, true
					}
				}
				return "Public Key Services", true
			}
		}
		child = rdn
	}
	return "", false
}

// nextRDN splits off the first RDN of a DN at an unescaped ',' (or ';').
func nextRDN(dn string) (rdn, rest string) {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',', ';':
			return dn[:i], dn[i+1:]
		}
	}
	return dn, ""
}

// rdnIs reports whether rdn is CN=value (case-insensitive, spaces around '=' and the
// RDN ignored).
func rdnIs(rdn, value string) bool {
	eq := strings.IndexByte(rdn, '=')
	if eq < 0 {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(rdn[:eq]), "CN") &&
		strings.EqualFold(strings.TrimSpace(rdn[eq+1:]), value)
}
