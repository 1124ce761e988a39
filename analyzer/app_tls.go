package analyzer

import (
	"encoding/binary"
	"time"

	"github.com/adcsflow/adcsflow/decoders/tls"
)

func init() {
	registerProtocol(&protocol{
		name: "tls", tcp: true, ports: []uint16{443, 636, 3269, 5986, 9389},
		detect: byContent(tls.LooksLike, 6),
		newHandler: func(f *Flow) appHandler {
			f.Service = tlsService(f.Server.Port())
			return &tlsHandler{}
		},
	})
}

// tlsService names TLS by its port: LDAPS, HTTPS, or plain "tls".
func tlsService(port uint16) string {
	switch port {
	case 636, 3269:
		return "ldaps"
	case 443:
		return "https"
	}
	return "tls"
}

var tlsFrame = adaptFrame(tls.Frame, tls.ErrNeedMore)

// tlsHandler follows a TLS connection; LDAP hands over to it after StartTLS.
type tlsHandler struct {
	conn tls.Conn
}

func (h *tlsHandler) gap(c *appCtx, dir int) {}

func (h *tlsHandler) feed(c *appCtx, dir int, data []byte) int {
	// Once the handshake is over, application data records are passed over unread: their
	// bodies are encrypted, and bulk transfers are made of them.
	used := 0
	for h.conn.HandshakeComplete() && len(data)-used >= 5 && data[used] == 23 {
		n := int(binary.BigEndian.Uint16(data[used+3 : used+5]))
		if n > maxTLSRecord {
			break
		}
		used += 5 + n
		if used >= len(data) {
			return used
		}
	}
	return used + feedFramed(c, data[used:], tlsFrame, func(rec []byte) { h.record(c, dir, rec) })
}

// maxTLSRecord is the largest record body TLS allows (2^14 plus expansion).
const maxTLSRecord = 1<<14 + 2048

func (h *tlsHandler) details(c *appCtx) *TLSDetails {
	d := c.f.Details.TLS
	if d == nil {
		d = &TLSDetails{}
		c.f.Details.TLS = d
	}
	return d
}

func (h *tlsHandler) record(c *appCtx, dir int, rec []byte) {
	events, err := h.conn.Feed(dir == 0, rec)
	d := h.details(c)
	if err != nil {
		c.malformed("tls: " + err.Error())
	}
	for _, ev := range events {
		switch ev.Kind {
		case tls.KindHandshake:
			if ev.Err != nil {
				c.malformed("tls " + tls.HandshakeTypeName(ev.HandshakeType) + ": " + ev.Err.Error())
				continue
			}
			switch {
			case ev.ClientHello != nil:
				ch := ev.ClientHello
				if d.SNI == "" && ch.SNI != "" {
					d.SNI = ch.SNI
					c.a.addName(c.f.Server.Addr(), ch.SNI)
				}
				if d.ALPN == nil && len(ch.ALPN) > 0 {
					d.ALPN = append([]string(nil), ch.ALPN...)
				}
				if d.OfferedVersions == nil {
					for _, v := range ch.OfferedVersions() {
						d.OfferedVersions = append(d.OfferedVersions, tls.VersionName(v))
					}
				}
			case ev.ServerHello != nil:
				sh := ev.ServerHello
				d.Version = tls.VersionName(sh.Version())
				d.CipherSuite = sh.CipherSuiteName()
			case ev.Certificate != nil && dir == 1 && d.Certificate == nil:
				d.Certificate = certificateDetails(ev.Certificate)
				for _, n := range ev.Certificate.DNSNames {
					c.a.addName(c.f.Server.Addr(), n)
				}
			}
		case tls.KindAlert:
			if len(d.Alerts) < maxDetailSet {
				a := TLSAlert{Level: ev.Alert.LevelName(), Description: ev.Alert.DescriptionName()}
				if ev.Alert.Encrypted {
					a = TLSAlert{Level: "encrypted", Description: "encrypted alert"}
				}
				d.Alerts = append(d.Alerts, a)
			}
		}
	}
	d.HandshakeComplete = h.conn.HandshakeComplete()
}

func certificateDetails(cert *tls.Certificate) *TLSCertificate {
	out := &TLSCertificate{Subject: cert.Subject, Issuer: cert.Issuer, SANs: cert.SANs(), Chain: cert.ChainLen}
	if !cert.NotBefore.IsZero() {
		out.NotBefore = cert.NotBefore.UTC().Format(time.RFC3339)
		out.NotAfter = cert.NotAfter.UTC().Format(time.RFC3339)
	}
	if cert.ParseError != nil {
		out.Error = cert.ParseError.Error()
	}
	return out
}
