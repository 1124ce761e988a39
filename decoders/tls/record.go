// Package tls reads the unencrypted parts of TLS (RFC 5246, RFC 8446) as a passive observer
// sees them: record framing, ClientHello (SNI, ALPN, offered versions, cipher suites),
// ServerHello (chosen version and suite), the server certificate while it still travels in
// clear (TLS 1.2 and older), alerts, and whether the handshake completed. It never decrypts.
//
// Frame splits a reassembled byte stream into records; a Conn (or one Stream per direction)
// is fed those records and yields typed Events. Everything is a pure function of its input:
// no I/O, no globals, no panics, and no allocation sized by an unchecked length field.
package tls

import (
	"errors"
	"strconv"
)

// Record content types (RFC 8446 section 5.1, RFC 6520).
const (
	TypeChangeCipherSpec = 20
	TypeAlert            = 21
	TypeHandshake        = 22
	TypeApplicationData  = 23
	TypeHeartbeat        = 24
)

// Protocol versions as they appear on the wire.
const (
	VersionSSL30 = 0x0300
	VersionTLS10 = 0x0301
	VersionTLS11 = 0x0302
	VersionTLS12 = 0x0303
	VersionTLS13 = 0x0304
)

const (
	// RecordHeaderLen is the size of the record header: type, version, length.
	RecordHeaderLen = 5
	// MaxRecordLen is the largest record fragment accepted: 2^14 plus the 2048 bytes of
	// expansion RFC 5246 section 6.2.3 allows for a TLSCiphertext.
	MaxRecordLen = 1<<14 + 2048
)

// Errors returned by the decoders.
var (
	ErrNeedMore        = errors.New("tls: need more data")
	ErrRecordType      = errors.New("tls: record type outside 20-24")
	ErrRecordVersion   = errors.New("tls: record major version is not 3")
	ErrRecordTooLong   = errors.New("tls: record length exceeds 2^14+2048")
	ErrRecordSize      = errors.New("tls: input is not exactly one record")
	ErrMalformed       = errors.New("tls: malformed message")
	ErrHandshakeTooBig = errors.New("tls: handshake message exceeds MaxHandshakeLen")
	ErrAlertLength     = errors.New("tls: plaintext alert record of odd length")
)

// Frame reports the total length (header included) of the record at the start of b. It
// returns ErrNeedMore while fewer than that many bytes are present, and an error when the
// header cannot be a TLS record (type outside 20-24, major version other than 3, or a
// length above MaxRecordLen); in that case the byte stream is not, or no longer, TLS.
func Frame(b []byte) (total int, err error) {
	if len(b) < RecordHeaderLen {
		if len(b) >= 1 && (b[0] < TypeChangeCipherSpec || b[0] > TypeHeartbeat) {
			return 0, ErrRecordType
		}
		if len(b) >= 2 && b[1] != 3 {
			return 0, ErrRecordVersion
		}
		return 0, ErrNeedMore
	}
	if b[0] < TypeChangeCipherSpec || b[0] > TypeHeartbeat {
		return 0, ErrRecordType
	}
	if b[1] != 3 {
		return 0, ErrRecordVersion
	}
	n := int(b[3])<<8 | int(b[4])
	if n > MaxRecordLen {
		return 0, ErrRecordTooLong
	}
	total = RecordHeaderLen + n
	if len(b) < total {
		return total, ErrNeedMore
	}
	return total, nil
}

// LooksLike reports whether b starts like TLS: a handshake record (22, 3, 0-4) carrying the
// start of a ClientHello or ServerHello whose own version is 3.x, or a two-byte alert record
// with level warning or fatal (what a server sends instead of a ServerHello). It is meant
// for content detection on the first bytes of either direction of a TCP stream.
func LooksLike(b []byte) bool {
	if len(b) < RecordHeaderLen+2 || b[1] != 3 || b[2] > 4 {
		return false
	}
	n := int(b[3])<<8 | int(b[4])
	switch b[0] {
	case TypeAlert:
		return n == 2 && (b[5] == alertLevelWarning || b[5] == alertLevelFatal)
	case TypeHandshake:
		if n < 4 || n > MaxRecordLen || len(b) < RecordHeaderLen+6 {
			return false
		}
		if b[5] != typeClientHello && b[5] != typeServerHello {
			return false
		}
		// Body: 24-bit length, then legacy_version 3.x. A hello body is at least
		// version(2) + random(32) + session id length(1) + suite(2) + compression(1).
		mlen := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
		return mlen >= 38 && b[9] == 3 && b[10] <= 4
	}
	return false
}

// VersionName names a protocol version: "SSL 3.0", "TLS 1.0" .. "TLS 1.3"; GREASE values
// (RFC 8701) are "GREASE"; anything else is its hex value, e.g. "0x7f1c".
func VersionName(v uint16) string {
	switch v {
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	}
	if IsGREASE(v) {
		return "GREASE"
	}
	return hex16(v)
}

// IsGREASE reports whether v is one of the reserved GREASE values of RFC 8701 (0x0a0a,
// 0x1a1a, ... 0xfafa) that clients put in version, suite and extension lists.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

func hex16(v uint16) string {
	s := strconv.FormatUint(uint64(v), 16)
	for len(s) < 4 {
		s = "0" + s
	}
	return "0x" + s
}
