package tls

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"strings"
)

// attributeNames extends the short names Go's pkix prints with those Active Directory CA
// names use (DC) and a few other common ones.
var attributeNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"2.5.4.17":                   "POSTALCODE",
	"2.5.4.42":                   "GN",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
	"1.2.840.113549.1.9.1":       "E",
}

// nameString prints a DER-encoded X.501 Name in RFC 4514 order (last RDN first), the way
// pkix.Name.String does, but with DC and E named instead of printed as OIDs.
func nameString(raw []byte, fallback pkix.Name) string {
	var seq pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &seq); err != nil || len(rest) != 0 {
		return fallback.String()
	}
	var sb strings.Builder
	for i := len(seq) - 1; i >= 0; i-- {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		for j, atv := range seq[i] {
			if j > 0 {
				sb.WriteByte('+')
			}
			oid := atv.Type.String()
			name, ok := attributeNames[oid]
			if !ok {
				name = oid
			}
			sb.WriteString(name)
			sb.WriteByte('=')
			if s, ok := atv.Value.(string); ok {
				sb.WriteString(escapeDN(s))
			} else if der, err := asn1.Marshal(atv.Value); err == nil {
				sb.WriteByte('#')
				sb.WriteString(hex.EncodeToString(der))
			}
		}
	}
	return sb.String()
}

// escapeDN escapes an attribute value as RFC 4514 section 2.4 requires.
func escapeDN(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';',
			i == 0 && (c == ' ' || c == '#'),
			i == len(s)-1 && c == ' ':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == 0:
			sb.WriteString("\\00")
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}
