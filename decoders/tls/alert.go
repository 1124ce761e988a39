package tls

import "strconv"

const (
	alertLevelWarning = 1
	alertLevelFatal   = 2
)

// Alert is one alert (RFC 8446 section 6). An alert sent after the sender switched to
// encryption cannot be read: Encrypted is then true and Level and Description are zero.
type Alert struct {
	Level       uint8
	Description uint8
	Encrypted   bool
}

// LevelName is "warning", "fatal", "encrypted", or "level_N" for an undefined level.
func (a Alert) LevelName() string {
	switch {
	case a.Encrypted:
		return "encrypted"
	case a.Level == alertLevelWarning:
		return "warning"
	case a.Level == alertLevelFatal:
		return "fatal"
	}
	return "level_" + strconv.Itoa(int(a.Level))
}

// DescriptionName is the RFC name of the description ("unknown_ca"), "encrypted" for an
// encrypted alert, or "alert_N" for a code no RFC defines.
func (a Alert) DescriptionName() string {
	if a.Encrypted {
		return "encrypted"
	}
	return AlertDescriptionName(a.Description)
}

// AlertDescriptionName names an alert description code as RFC 5246, RFC 8446 and RFC 7301
// spell it; an unassigned code is "alert_N".
func AlertDescriptionName(d uint8) string {
	switch d {
	case 0:
		return "close_notify"
	case 10:
		return "unexpected_message"
	case 20:
		return "bad_record_mac"
	case 21:
		return "decryption_failed"
	case 22:
		return "record_overflow"
	case 30:
		return "decompression_failure"
	case 40:
		return "handshake_failure"
	case 41:
		return "no_certificate"
	case 42:
		return "bad_certificate"
	case 43:
		return "unsupported_certificate"
	case 44:
		return "certificate_revoked"
	case 45:
		return "certificate_expired"
	case 46:
		return "certificate_unknown"
	case 47:
		return "illegal_parameter"
	case 48:
		return "unknown_ca"
	case 49:
		return "access_denied"
	case 50:
		return "decode_error"
	case 51:
		return "decrypt_error"
	case 60:
		return "export_restriction"
	case 70:
		return "protocol_version"
	case 71:
		return "insufficient_security"
	case 80:
		return "internal_error"
	case 86:
		return "inappropriate_fallback"
	case 90:
		return "user_canceled"
	case 100:
		return "no_renegotiation"
	case 109:
		return "missing_extension"
	case 110:
		return "unsupported_extension"
	case 111:
		return "certificate_unobtainable"
	case 112:
		return "unrecognized_name"
	case 113:
		return "bad_certificate_status_response"
	case 114:
		return "bad_certificate_hash_value"
	case 115:
		return "unknown_psk_identity"
	case 116:
		return "certificate_required"
	case 120:
		return "no_application_protocol"
	}
	return "alert_" + strconv.Itoa(int(d))
}
