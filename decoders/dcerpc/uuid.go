package dcerpc

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
)

// UUID is a DCE UUID in its canonical (big-endian, as printed) byte order.
type UUID [16]byte

// ErrShortUUID is returned when fewer than 16 bytes are available.
var ErrShortUUID = errors.New("dcerpc: short uuid")

// UUIDFromLE reads a UUID as NDR puts it on the wire with little-endian data
// representation: the first three fields are little-endian, the last eight bytes as is.
func UUIDFromLE(b []byte) (UUID, error) {
	var u UUID
	if len(b) < 16 {
		return u, ErrShortUUID
	}
	binary.BigEndian.PutUint32(u[0:4], binary.LittleEndian.Uint32(b[0:4]))
	binary.BigEndian.PutUint16(u[4:6], binary.LittleEndian.Uint16(b[4:6]))
	binary.BigEndian.PutUint16(u[6:8], binary.LittleEndian.Uint16(b[6:8]))
	copy(u[8:], b[8:16])
	return u, nil
}

// UUIDFromBE reads a UUID in big-endian data representation (canonical order).
func UUIDFromBE(b []byte) (UUID, error) {
	var u UUID
	if len(b) < 16 {
		return u, ErrShortUUID
	}
	copy(u[:], b[:16])
	return u, nil
}

// ParseUUID parses the textual form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errors.New("dcerpc: bad uuid " + s)
	}
	var raw [32]byte
	copy(raw[0:8], s[0:8])
	copy(raw[8:12], s[9:13])
	copy(raw[12:16], s[14:18])
	copy(raw[16:20], s[19:23])
	copy(raw[20:32], s[24:36])
	if _, err := hex.Decode(u[:], raw[:]); err != nil {
		return UUID{}, errors.New("dcerpc: bad uuid " + s)
	}
	return u, nil
}

// MustUUID is ParseUUID for constants; it panics on a malformed literal.
func MustUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// String prints the UUID lower-case with dashes.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }
