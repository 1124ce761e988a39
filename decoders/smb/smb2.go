package smb

import "encoding/binary"

// SMB2 (MS-SMB2 2.2).
const (
	smb2HeaderLen      = 64
	transformHeaderLen = 52

	smb2FlagResponse = 0x00000001

	smb2Create = 0x0005
	smb2Read   = 0x0008
	smb2Write  = 0x0009
	smb2Ioctl  = 0x000b

	// FsctlPipeTransceive is the IOCTL control code of a named-pipe write-then-read.
	FsctlPipeTransceive = 0x0011c017
)

// smb2Cmd is one command of a (possibly compound) SMB2 message: b is its extent, from
// its header to the next command's header or the end of the message.
type smb2Cmd struct {
	b        []byte
	command  uint16
	status   uint32
	response bool
	msgID    uint64
}

// smb2Walk calls fn for each command of the compound message msg, in order, and stops at
// the first error fn returns.
func smb2Walk(msg []byte, fn func(c smb2Cmd) error) error {
	for i := 0; ; i++ {
		if i == MaxChain {
			return ErrChain
		}
		if len(msg) < smb2HeaderLen {
			return ErrTruncated
		}
		if [4]byte(msg[:4]) != magicSMB2 || binary.LittleEndian.Uint16(msg[4:]) != smb2HeaderLen {
			return ErrMalformed
		}
		next := binary.LittleEndian.Uint32(msg[20:])
		end := len(msg)
		if next != 0 {
			// each command starts 8-byte aligned after a whole header
			if next < smb2HeaderLen || next%8 != 0 || uint64(next) > uint64(len(msg)) {
				return ErrMalformed
			}
			end = int(next)
		}
		flags := binary.LittleEndian.Uint32(msg[16:])
		c := smb2Cmd{
			b:        msg[:end],
			command:  binary.LittleEndian.Uint16(msg[12:]),
			response: flags&smb2FlagResponse != 0,
			msgID:    binary.LittleEndian.Uint64(msg[24:]),
		}
		if c.response { // in requests the field is ChannelSequence/Reserved
			c.status = binary.LittleEndian.Uint32(msg[8:])
		}
		if err := fn(c); err != nil {
			return err
		}
		if next == 0 {
			return nil
		}
		msg = msg[end:]
	}
}

// body returns the fixed part of the command body, checking its StructureSize. The low
// bit of StructureSize counts a variable part, so the fixed part is size&^1 bytes.
func (c smb2Cmd) body(structSize uint16) ([]byte, error) {
	if len(c.b) < smb2HeaderLen+2 {
		return nil, ErrTruncated
	}
	if binary.LittleEndian.Uint16(c.b[smb2HeaderLen:]) != structSize {
		return nil, ErrMalformed
	}
	n := smb2HeaderLen + int(structSize&^1)
	if len(c.b) < n {
		return nil, ErrTruncated
	}
	return c.b[smb2HeaderLen:n], nil
}

// slice returns length bytes at offset (from the command's header) inside the command.
func (c smb2Cmd) slice(offset, length uint64) ([]byte, error) {
	if offset < smb2HeaderLen || offset > uint64(len(c.b)) || length > uint64(len(c.b))-offset {
		return nil, ErrMalformed
	}
	return c.b[offset : offset+length], nil
}

func (c smb2Cmd) ok() bool {
	return c.status == StatusSuccess || c.status == StatusBufferOverflow
}

func smb2Payloads(msg []byte) ([]Payload, error) {
	var out []Payload
	err := smb2Walk(msg, func(c smb2Cmd) error {
		if c.response && !c.ok() {
			return nil
		}
		p := Payload{Response: c.response, MessageID: c.msgID, Status: c.status}
		var off, n uint64
		switch {
		case c.command == smb2Write && !c.response:
			body, err := c.body(49)
			if err != nil {
				return err
			}
			p.Command = "WRITE"
			off = uint64(binary.LittleEndian.Uint16(body[2:]))
			n = uint64(binary.LittleEndian.Uint32(body[4:]))
			p.FileID = hexString(body[16:32])
		case c.command == smb2Read && c.response:
			body, err := c.body(17)
			if err != nil {
				return err
			}
			p.Command = "READ"
			off = uint64(body[2])
			n = uint64(binary.LittleEndian.Uint32(body[4:]))
		case c.command == smb2Ioctl && !c.response:
			body, err := c.body(57)
			if err != nil {
				return err
			}
			if binary.LittleEndian.Uint32(body[4:]) != FsctlPipeTransceive {
				return nil
			}
			p.Command = "IOCTL"
			p.FileID = hexString(body[8:24])
			off = uint64(binary.LittleEndian.Uint32(body[24:]))
			n = uint64(binary.LittleEndian.Uint32(body[28:]))
		case c.command == smb2Ioctl && c.response:
			body, err := c.body(49)
			if err != nil {
				return err
			}
			if binary.LittleEndian.Uint32(body[4:]) != FsctlPipeTransceive {
				return nil
			}
			p.Command = "IOCTL"
			p.FileID = hexString(body[8:24])
			off = uint64(binary.LittleEndian.Uint32(body[32:]))
			n = uint64(binary.LittleEndian.Uint32(body[36:]))
		default:
			return nil
		}
		if n == 0 {
			return nil
		}
		data, err := c.slice(off, n)
		if err != nil {
			return err
		}
		p.Data = data
		out = append(out, p)
		return nil
	})
	return out, err
}

func smb2CreateName(msg []byte) (name string, ok bool) {
	smb2Walk(msg, func(c smb2Cmd) error {
		if c.command != smb2Create || c.response {
			return nil
		}
		body, err := c.body(57)
		if err != nil {
			return err
		}
		b, err := c.slice(uint64(binary.LittleEndian.Uint16(body[44:])), uint64(binary.LittleEndian.Uint16(body[46:])))
		if err != nil || len(b) == 0 {
			return ErrMalformed
		}
		name, ok = utf16String(b), true
		return errStop
	})
	return name, ok
}

func smb2CreatedFileID(msg []byte) (fileID string, messageID uint64, ok bool) {
	smb2Walk(msg, func(c smb2Cmd) error {
		if c.command != smb2Create || !c.response || c.status != StatusSuccess {
			return nil
		}
		body, err := c.body(89)
		if err != nil {
			return err
		}
		fileID, messageID, ok = hexString(body[64:80]), c.msgID, true
		return errStop
	})
	return fileID, messageID, ok
}
