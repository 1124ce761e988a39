package tls

import (
	"bytes"
	stdtls "crypto/tls"
	"crypto/x509"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types (RFC 8446 section 4, RFC 5246 section 7.4).
const (
	typeHelloRequest       = 0
	typeClientHello        = 1
	typeServerHello        = 2
	typeNewSessionTicket   = 4
	typeEndOfEarlyData     = 5
	typeEncryptedExtension = 8
	typeCertificate        = 11
	typeServerKeyExchange  = 12
	typeCertificateRequest = 13
	typeServerHelloDone    = 14
	typeCertificateVerify  = 15
	typeClientKeyExchange  = 16
	typeFinished           = 20
	typeCertificateStatus  = 22
)

// Extension numbers used here.
const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
)

// Caps on list sizes kept from a hello. The counts beyond them are still reported.
const (
	MaxCipherSuites = 64
	MaxALPN         = 16
	MaxVersions     = 16
)

// HandshakeTypeName names a handshake message type ("client_hello", "certificate", ...).
func HandshakeTypeName(t uint8) string {
	switch t {
	case typeHelloRequest:
		return "hello_request"
	case typeClientHello:
		return "client_hello"
	case typeServerHello:
		return "server_hello"
	case typeNewSessionTicket:
		return "new_session_ticket"
	case typeEndOfEarlyData:
		return "end_of_early_data"
	case typeEncryptedExtension:
		return "encrypted_extensions"
	case typeCertificate:
		return "certificate"
	case typeServerKeyExchange:
		return "server_key_exchange"
	case typeCertificateRequest:
		return "certificate_request"
	case typeServerHelloDone:
		return "server_hello_done"
	case typeCertificateVerify:
		return "certificate_verify"
	case typeClientKeyExchange:
		return "client_key_exchange"
	case typeFinished:
		return "finished"
	case typeCertificateStatus:
		return "certificate_status"
	}
	return "handshake_" + hex16(uint16(t))
}

// ClientHello holds what a ClientHello says in clear.
type ClientHello struct {
	// LegacyVersion is the legacy_version field (0x0303 for TLS 1.3 clients).
	LegacyVersion uint16
	// SNI is the first host_name of the server_name extension, "" if absent.
	SNI string
	// ALPN lists the offered protocols in order (at most MaxALPN).
	ALPN []string
	// SupportedVersions is the supported_versions extension as sent, GREASE included
	// (at most MaxVersions); nil if the extension is absent.
	SupportedVersions []uint16
	// CipherSuites as sent, GREASE included, at most MaxCipherSuites of them;
	// NumCipherSuites is how many the message carried.
	CipherSuites    []uint16
	NumCipherSuites int
	// Extensions lists the extension numbers in order (at most 64).
	Extensions []uint16
}

// OfferedVersions is what the client offers: supported_versions without GREASE values if
// the extension is present, else the legacy version alone.
func (ch *ClientHello) OfferedVersions() []uint16 {
	if ch.SupportedVersions == nil {
		return []uint16{ch.LegacyVersion}
	}
	out := make([]uint16, 0, len(ch.SupportedVersions))
	for _, v := range ch.SupportedVersions {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// MaxVersion is the highest version offered (GREASE ignored).
func (ch *ClientHello) MaxVersion() uint16 {
	var m uint16
	for _, v := range ch.OfferedVersions() {
		if v > m {
			m = v
		}
	}
	return m
}

// ServerHello holds what a ServerHello says in clear.
type ServerHello struct {
	LegacyVersion uint16
	// SupportedVersion is the supported_versions extension value, 0 if absent.
	SupportedVersion uint16
	CipherSuite      uint16
	// ALPN is the selected protocol, "" if none.
	ALPN string
	// HelloRetryRequest is true when the random is the RFC 8446 HRR marker.
	HelloRetryRequest bool
}

// Version is the negotiated version: supported_versions if present, else legacy_version.
func (sh *ServerHello) Version() uint16 {
	if sh.SupportedVersion != 0 {
		return sh.SupportedVersion
	}
	return sh.LegacyVersion
}

// CipherSuiteName is crypto/tls's name for the suite, or its hex value.
func (sh *ServerHello) CipherSuiteName() string { return suiteName(sh.CipherSuite) }

// suiteNames holds crypto/tls's names of the suites it knows (its CipherSuiteName builds
// the whole list on every call).
var suiteNames = sync.OnceValue(func() map[uint16]string {
	m := map[uint16]string{}
	for _, l := range [][]*stdtls.CipherSuite{stdtls.CipherSuites(), stdtls.InsecureCipherSuites()} {
		for _, c := range l {
			m[c.ID] = c.Name
		}
	}
	return m
})

func suiteName(id uint16) string {
	if n, ok := suiteNames()[id]; ok {
		return n
	}
	return stdtls.CipherSuiteName(id)
}

// Certificate summarises a TLS 1.2-style Certificate message: the chain length and the
// leaf as crypto/x509 parses it. When x509 rejects the leaf, ParseError says why and the
// leaf fields are empty.
type Certificate struct {
	ChainLen    int
	Subject     string // RFC 4514 form as pkix.Name.String prints it, with DC and E named
	SubjectCN   string
	Issuer      string
	DNSNames    []string
	IPAddresses []string
	NotBefore   time.Time
	NotAfter    time.Time
	ParseError  error
}

// SANs lists the DNS names and then the IP addresses of the leaf.
func (c *Certificate) SANs() []string {
	out := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	out = append(out, c.DNSNames...)
	return append(out, c.IPAddresses...)
}

// helloRetryRequestRandom is SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3.
var helloRetryRequestRandom = [32]byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ParseClientHello parses the body of a ClientHello (the bytes after the 4-byte handshake
// header).
func ParseClientHello(body []byte) (*ClientHello, error) {
	s := cryptobyte.String(body)
	ch := &ClientHello{}
	var random, sessionID, suites, compression cryptobyte.String
	if !s.ReadUint16(&ch.LegacyVersion) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16LengthPrefixed(&suites) || len(suites)%2 != 0 ||
		!s.ReadUint8LengthPrefixed(&compression) {
		return nil, ErrMalformed
	}
	ch.NumCipherSuites = len(suites) / 2
	ch.CipherSuites = make([]uint16, 0, min(ch.NumCipherSuites, MaxCipherSuites))
	for !suites.Empty() && len(ch.CipherSuites) < MaxCipherSuites {
		var cs uint16
		suites.ReadUint16(&cs) // cannot fail: even length checked above
		ch.CipherSuites = append(ch.CipherSuites, cs)
	}
	if s.Empty() {
		return ch, nil // no extensions (SSL 3.0 style)
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, ErrMalformed
	}
	for !exts.Empty() {
		var ext uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&ext) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, ErrMalformed
		}
		if len(ch.Extensions) < 64 {
			ch.Extensions = append(ch.Extensions, ext)
		}
		switch ext {
		case extServerName:
			// RFC 6066 section 3: ServerNameList of (name_type, HostName).
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
				return nil, ErrMalformed
			}
			for !list.Empty() {
				var nameType uint8
				var name cryptobyte.String
				if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
					return nil, ErrMalformed
				}
				if nameType == 0 && ch.SNI == "" {
					ch.SNI = string(name)
				}
			}
		case extALPN:
			// RFC 7301 section 3.1: ProtocolNameList of non-empty opaque<1..2^8-1>.
			var list cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
				return nil, ErrMalformed
			}
			for !list.Empty() {
				var proto cryptobyte.String
				if !list.ReadUint8LengthPrefixed(&proto) || len(proto) == 0 {
					return nil, ErrMalformed
				}
				if len(ch.ALPN) < MaxALPN {
					ch.ALPN = append(ch.ALPN, string(proto))
				}
			}
		case extSupportedVersions:
			// RFC 8446 section 4.2.1: ProtocolVersion versions<2..254>.
			var list cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 || !data.Empty() {
				return nil, ErrMalformed
			}
			ch.SupportedVersions = make([]uint16, 0, min(len(list)/2, MaxVersions))
			for !list.Empty() && len(ch.SupportedVersions) < MaxVersions {
				var v uint16
				list.ReadUint16(&v)
				ch.SupportedVersions = append(ch.SupportedVersions, v)
			}
		}
	}
	return ch, nil
}

// ParseServerHello parses the body of a ServerHello (after the 4-byte handshake header).
func ParseServerHello(body []byte) (*ServerHello, error) {
	s := cryptobyte.String(body)
	sh := &ServerHello{}
	var random, sessionID cryptobyte.String
	var compression uint8
	if !s.ReadUint16(&sh.LegacyVersion) || !s.ReadBytes((*[]byte)(&random), 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16(&sh.CipherSuite) || !s.ReadUint8(&compression) {
		return nil, ErrMalformed
	}
	sh.HelloRetryRequest = bytes.Equal(random, helloRetryRequestRandom[:])
	if s.Empty() {
		return sh, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return nil, ErrMalformed
	}
	for !exts.Empty() {
		var ext uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&ext) || !exts.ReadUint16LengthPrefixed(&data) {
			return nil, ErrMalformed
		}
		switch ext {
		case extSupportedVersions:
			if !data.ReadUint16(&sh.SupportedVersion) || !data.Empty() {
				return nil, ErrMalformed
			}
		case extALPN:
			var list, proto cryptobyte.String
			if !data.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&proto) ||
				len(proto) == 0 || !list.Empty() || !data.Empty() {
				return nil, ErrMalformed
			}
			sh.ALPN = string(proto)
		}
	}
	return sh, nil
}

// ParseCertificate parses the body of a TLS 1.0-1.2 Certificate message
// (certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>) and the leaf with crypto/x509.
// A framing error is returned as an error; an x509 rejection of the leaf is not an error
// of the message and is reported in Certificate.ParseError.
func ParseCertificate(body []byte) (*Certificate, error) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, ErrMalformed
	}
	c := &Certificate{}
	var leaf []byte
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || len(der) == 0 {
			return nil, ErrMalformed
		}
		if c.ChainLen == 0 {
			leaf = der
		}
		c.ChainLen++
	}
	if leaf == nil {
		return c, nil
	}
	x, err := x509.ParseCertificate(leaf)
	if err != nil {
		c.ParseError = err
		return c, nil
	}
	c.Subject = nameString(x.RawSubject, x.Subject)
	c.SubjectCN = x.Subject.CommonName
	c.Issuer = nameString(x.RawIssuer, x.Issuer)
	c.DNSNames = x.DNSNames
	for _, ip := range x.IPAddresses {
		c.IPAddresses = append(c.IPAddresses, ip.String())
	}
	c.NotBefore = x.NotBefore.UTC()
	c.NotAfter = x.NotAfter.UTC()
	return c, nil
}
