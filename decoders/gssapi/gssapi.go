// Package gssapi unwraps the GSS-API tokens that carry Kerberos inside other protocols
// (RFC 2743 InitialContextToken, RFC 4121 Kerberos mechanism, RFC 4178 SPNEGO), so that
// the AP-REQ of a DCE/RPC bind or an LDAP SASL bind can be read: its service name proves
// the name of the server it was sent to.
package gssapi

import (
	"errors"

	"github.com/adcsflow/adcsflow/decoders/ber"
)

// Object identifiers (dotted) of the mechanisms this package looks into.
const (
	OIDKerberos   = "1.2.840.113554.1.2.2"
	OIDKerberosMS = "1.2.840.48018.1.2.2" // the OID Windows offers for Kerberos
	OIDSPNEGO     = "1.3.6.1.5.5.2"
)

// Errors.
var (
	ErrNotKerberos = errors.New("gssapi: no Kerberos AP-REQ in the token")
	ErrMalformed   = errors.New("gssapi: malformed token")
)

// maxDepth bounds SPNEGO inside SPNEGO.
const maxDepth = 3

// KerberosAPReq returns the DER AP-REQ carried by token: a bare AP-REQ, a Kerberos
// InitialContextToken (TOK_ID 01 00), or an SPNEGO NegTokenInit whose mechToken is one of
// those. The result aliases token.
func KerberosAPReq(token []byte) ([]byte, error) {
	return apReq(token, 0)
}

func apReq(b []byte, depth int) ([]byte, error) {
	if depth > maxDepth || len(b) < 2 {
		return nil, ErrNotKerberos
	}
	switch b[0] {
	case 0x6e: // [APPLICATION 14] AP-REQ
		e, _, err := ber.Read(b)
		if err != nil {
			return nil, ErrMalformed
		}
		return b[:e.Len()], nil
	case 0x60: // [APPLICATION 0] InitialContextToken
		e, _, err := ber.Read(b)
		if err != nil {
			return nil, ErrMalformed
		}
		oid, rest, err := ber.Expect(e.Value, ber.ClassUniversal, ber.TagOID)
		if err != nil {
			return nil, ErrMalformed
		}
		switch ber.OID(oid.Value) {
		case OIDKerberos, OIDKerberosMS:
			// innerContextToken: TOK_ID (01 00 = KRB_AP_REQ) then the AP-REQ
			if len(rest) < 3 || rest[0] != 0x01 || rest[1] != 0x00 {
				return nil, ErrNotKerberos
			}
			return apReq(rest[2:], depth+1)
		case OIDSPNEGO:
			return negTokenInit(rest, depth)
		}
		return nil, ErrNotKerberos
	case 0xa0: // NegTokenInit without the InitialContextToken framing
		return negTokenInit(b, depth)
	}
	return nil, ErrNotKerberos
}

// negTokenInit reads [0] NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1],
// mechToken [2] OCTET STRING, ... } and unwraps its mechToken.
func negTokenInit(b []byte, depth int) ([]byte, error) {
	outer, _, err := ber.Expect(b, ber.ClassContext, 0)
	if err != nil {
		return nil, ErrNotKerberos
	}
	seq, _, err := ber.Expect(outer.Value, ber.ClassUniversal, ber.TagSequence)
	if err != nil {
		return nil, ErrMalformed
	}
	fields, err := ber.Children(seq.Value, 8)
	if err != nil {
		return nil, ErrMalformed
	}
	for _, f := range fields {
		if f.Is(ber.ClassContext, 2) {
			tok, _, err := ber.Expect(f.Value, ber.ClassUniversal, ber.TagOctetString)
			if err != nil {
				return nil, ErrMalformed
			}
			return apReq(tok.Value, depth+1)
		}
	}
	return nil, ErrNotKerberos
}
