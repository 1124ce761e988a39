// Package smb takes the named-pipe payloads out of SMB messages so that DCE/RPC carried
// over \pipe\svcctl, \pipe\lsarpc, \pipe\cert, ... can be handed to decoders/dcerpc.
//
// A stream analyzer on TCP 445 or 139, per direction: FrameNBSS to cut the byte stream
// into NetBIOS session service frames (LooksLike first to recognise SMB); for a frame
// whose first byte is 0x00 (session message) call PipePayloads(frame[4:total]) and feed
// each Payload.Data to dcerpc.Frame / dcerpc.Parse. Other frame types (session request,
// positive response, keepalive) carry no SMB and are skipped by their total length.
// CreatePipeName and CreatedFileID report which pipes were opened and the handles they
// got, so that payloads can be named by pipe (FileID). SMB 3 encrypted messages yield
// ErrEncrypted.
//
// SMB1 and SMB2/3 are both covered: SMB2 WRITE requests, READ responses and IOCTL
// FSCTL_PIPE_TRANSCEIVE requests and responses (following compound chains); SMB1
// SMB_COM_TRANSACTION named-pipe requests and responses, WRITE_ANDX requests and
// READ_ANDX responses (following AndX chains). Which tree a handle belongs to is not
// visible in one message: a WRITE to a disk file yields a Payload too, and the caller
// keeps only those whose FileID it saw opened on IPC$, or whose Data passes
// dcerpc.LooksLike. A pipe message larger than one read comes in several Payloads
// (Status STATUS_BUFFER_OVERFLOW on all but the last); the caller concatenates them.
//
// All functions are pure; Data slices alias the input; none panics on any input.
package smb

import (
	"encoding/binary"
	"errors"
	"unicode/utf16"
)

var (
	// ErrNeedMore means the buffer holds the start of an NBSS frame but not all of it.
	ErrNeedMore = errors.New("smb: need more data")
	// ErrNotNBSS means the bytes are not a NetBIOS session service frame.
	ErrNotNBSS = errors.New("smb: not a NetBIOS session service frame")
	// ErrNotSMB means the message does not start with an SMB1/SMB2 protocol id.
	ErrNotSMB = errors.New("smb: not an SMB message")
	// ErrEncrypted means an SMB 3 transform header (0xFD 'SMB'): the content is encrypted.
	ErrEncrypted = errors.New("smb: encrypted SMB3 message")
	// ErrCompressed means an SMB 3.1.1 compression transform header (0xFC 'SMB').
	ErrCompressed = errors.New("smb: compressed SMB3 message")
	// ErrTruncated means a header, fixed body or counted field runs past the message.
	ErrTruncated = errors.New("smb: truncated")
	// ErrMalformed means a structure size, offset or chain link is inconsistent.
	ErrMalformed = errors.New("smb: malformed")
	// ErrChain means more than MaxChain commands in an SMB2 compound or SMB1 AndX chain.
	ErrChain = errors.New("smb: command chain too long")
)

const (
	// NBSSHeaderLen is the size of the NetBIOS session service header.
	NBSSHeaderLen = 4
	// MaxMessage is the largest NBSS payload: the 24-bit length of a session message
	// cannot exceed 16 MiB - 1, and the 17-bit length of the other types 128 KiB - 1.
	MaxMessage = 1<<24 - 1
	// MaxChain caps the commands followed in one SMB2 compound or SMB1 AndX chain.
	MaxChain = 64
)

// NBSS message types (RFC 1002 4.3.1).
const (
	NBSSMessage          = 0x00
	NBSSRequest          = 0x81
	NBSSPositiveResponse = 0x82
	NBSSNegativeResponse = 0x83
	NBSSRetarget         = 0x84
	NBSSKeepalive        = 0x85
)

// Protocol ids (first four bytes of an SMB message).
var (
	magicSMB1      = [4]byte{0xff, 'S', 'M', 'B'}
	magicSMB2      = [4]byte{0xfe, 'S', 'M', 'B'}
	magicTransform = [4]byte{0xfd, 'S', 'M', 'B'}
	magicCompress  = [4]byte{0xfc, 'S', 'M', 'B'}
)

// FrameNBSS returns the total length (header included) of the NetBIOS session service
// frame at the start of b. Type 0x00 (session message) has a 24-bit length, as on TCP 445
// ("direct TCP") and compatible with RFC 1002's 17-bit length on TCP 139; the other RFC
// 1002 types (0x81 request, 0x82/0x83 responses, 0x84 retarget, 0x85 keepalive) have a
// 17-bit length and are returned whole so the caller can skip them. The SMB message of a
// session message is b[4:total]. ErrNeedMore when b is shorter than the frame.
func FrameNBSS(b []byte) (total int, err error) {
	if len(b) < NBSSHeaderLen {
		if len(b) > 0 && !nbssType(b[0]) {
			return 0, ErrNotNBSS
		}
		return 0, ErrNeedMore
	}
	var n int
	switch b[0] {
	case NBSSMessage:
		n = int(b[1])<<16 | int(binary.BigEndian.Uint16(b[2:4]))
	case NBSSRequest, NBSSPositiveResponse, NBSSNegativeResponse, NBSSRetarget, NBSSKeepalive:
		if b[1]&^1 != 0 { // only the length-extension bit may be set
			return 0, ErrNotNBSS
		}
		n = int(b[1]&1)<<16 | int(binary.BigEndian.Uint16(b[2:4]))
		if !nbssLenOK(b[0], n) {
			return 0, ErrNotNBSS
		}
	default:
		return 0, ErrNotNBSS
	}
	total = NBSSHeaderLen + n
	if len(b) < total {
		return 0, ErrNeedMore
	}
	return total, nil
}

func nbssType(t byte) bool {
	switch t {
	case NBSSMessage, NBSSRequest, NBSSPositiveResponse, NBSSNegativeResponse, NBSSRetarget, NBSSKeepalive:
		return true
	}
	return false
}

// nbssLenOK checks the fixed lengths of the RFC 1002 control frames.
func nbssLenOK(t byte, n int) bool {
	switch t {
	case NBSSPositiveResponse, NBSSKeepalive:
		return n == 0
	case NBSSNegativeResponse:
		return n == 1
	case NBSSRetarget:
		return n == 6
	case NBSSRequest:
		return n >= 4 && n <= 2*256 // two encoded NetBIOS names
	}
	return false
}

// LooksLike reports whether b starts with an NBSS session message header followed by an
// SMB1 (0xFF), SMB2 (0xFE), SMB3 transform (0xFD) or compression (0xFC) protocol id and
// a length that can hold that header. Only the first 8 bytes are needed. On TCP 139 the
// first frame is usually a session request (0x81), which LooksLike does not accept.
func LooksLike(b []byte) bool {
	if len(b) < 8 || b[0] != NBSSMessage {
		return false
	}
	n := int(b[1])<<16 | int(binary.BigEndian.Uint16(b[2:4]))
	var min int
	switch [4]byte(b[4:8]) {
	case magicSMB1:
		min = smb1HeaderLen + 3 // header, WordCount, ByteCount
	case magicSMB2:
		min = smb2HeaderLen
	case magicTransform:
		min = transformHeaderLen
	case magicCompress:
		min = 8
	default:
		return false
	}
	return n >= min
}

// Payload is one named-pipe payload carried by an SMB command.
type Payload struct {
	// Command is "WRITE", "READ" or "IOCTL" (SMB2), "TRANS", "WRITE_ANDX" or
	// "READ_ANDX" (SMB1).
	Command  string
	Response bool
	// FileID is the handle in hex: the 16 bytes of the SMB2 FileId (persistent then
	// volatile, wire order) or the SMB1 FID as 4 hex digits (big-endian value, "c00f").
	// Empty where the message does not carry it (SMB2 READ, SMB1 READ_ANDX and
	// TRANS responses): pair those with their request by MessageID.
	FileID string
	// MessageID is the SMB2 MessageId or the SMB1 MID.
	MessageID uint64
	// Status is the response status (0 or StatusBufferOverflow; 0 for requests).
	Status uint32
	// Data is the pipe payload; it aliases the input message.
	Data []byte
}

// NT status codes that matter here.
const (
	StatusSuccess        = 0x00000000
	StatusBufferOverflow = 0x80000005 // more data remains; this response still carries data
)

// PipePayloads returns the named-pipe payloads carried by one SMB message (the payload of
// an NBSS session message: msg starts with the protocol id). SMB2 compounds and SMB1 AndX
// chains are followed up to MaxChain commands. Error responses are skipped, except
// STATUS_BUFFER_OVERFLOW, whose data is kept. Commands that carry no pipe data yield
// nothing. An encrypted message yields ErrEncrypted. On an error the payloads found
// before the faulty command are returned with it.
func PipePayloads(msg []byte) ([]Payload, error) {
	if len(msg) < 4 {
		return nil, ErrTruncated
	}
	switch [4]byte(msg[:4]) {
	case magicSMB2:
		return smb2Payloads(msg)
	case magicSMB1:
		return smb1Payloads(msg)
	case magicTransform:
		return nil, ErrEncrypted
	case magicCompress:
		return nil, ErrCompressed
	}
	return nil, ErrNotSMB
}

// CreatePipeName returns the name opened by the first SMB2 CREATE request or SMB1
// NT_CREATE_ANDX request in msg, without leading backslashes or a "PIPE\" prefix
// ("svcctl", "lsarpc", "cert"). The tree is not visible in the message: the caller
// knows from TREE_CONNECT whether it is IPC$ (a pipe) or a share (a file).
func CreatePipeName(msg []byte) (name string, ok bool) {
	if len(msg) < 4 {
		return "", false
	}
	switch [4]byte(msg[:4]) {
	case magicSMB2:
		name, ok = smb2CreateName(msg)
	case magicSMB1:
		name, ok = smb1CreateName(msg)
	}
	if !ok {
		return "", false
	}
	return trimPipeName(name), true
}

// CreatedFileID returns the FileID (formatted as in Payload) and MessageID of the first
// successful SMB2 CREATE response or SMB1 NT_CREATE_ANDX response in msg, so the caller
// can map the handle to the name the request with that MessageID opened.
func CreatedFileID(msg []byte) (fileID string, messageID uint64, ok bool) {
	if len(msg) < 4 {
		return "", 0, false
	}
	switch [4]byte(msg[:4]) {
	case magicSMB2:
		return smb2CreatedFileID(msg)
	case magicSMB1:
		return smb1CreatedFileID(msg)
	}
	return "", 0, false
}

func trimPipeName(s string) string {
	for len(s) > 0 && (s[0] == '\\' || s[0] == '/') {
		s = s[1:]
	}
	if len(s) >= 5 && upperASCII(s[:4]) == "PIPE" && (s[4] == '\\' || s[4] == '/') {
		s = s[5:]
	}
	return s
}

func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

const hexDigits = "0123456789abcdef"

func hexString(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i] = hexDigits[c>>4]
		out[2*i+1] = hexDigits[c&15]
	}
	return string(out)
}

// utf16String decodes UTF-16LE (unpaired surrogates become U+FFFD), stopping at a NUL.
func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// cString returns b up to the first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// errStop ends a walk early without an error.
var errStop = errors.New("smb: stop")
