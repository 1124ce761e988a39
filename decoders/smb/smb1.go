package smb

import "encoding/binary"

// SMB1 / CIFS (MS-CIFS 2.2, MS-SMB 2.2).
const (
	smb1HeaderLen = 32

	smb1FlagReply     = 0x80
	smb1Flags2NTError = 0x4000
	smb1Flags2Unicode = 0x8000

	smb1LockingAndX     = 0x24
	smb1Transaction     = 0x25
	smb1TransactionSec  = 0x26
	smb1OpenAndX        = 0x2d
	smb1ReadAndX        = 0x2e
	smb1WriteAndX       = 0x2f
	smb1SessionSetupAnd = 0x73
	smb1LogoffAndX      = 0x74
	smb1TreeConnectAndX = 0x75
	smb1NTCreateAndX    = 0xa2
	smb1NoAndX          = 0xff

	// TRANSACTION named-pipe subcommands (Setup[0]) that carry write data.
	transRawWriteNmPipe = 0x0031
	transTransactNmPipe = 0x0026
	transWriteNmPipe    = 0x0037
	transCallNmPipe     = 0x0054

	// WRITE_ANDX WriteMode bits: raw mode + message start means a 2-byte message
	// length precedes the data.
	writeModeRaw      = 0x0004
	writeModeMsgStart = 0x0008

	// DOS error ERRDOS/ERRmoredata as the 4 status bytes read little-endian.
	dosMoreData = 0x00ea0001
)

// smb1Block is one command of an SMB1 message (the first, or one reached through AndX).
type smb1Block struct {
	command byte
	words   []byte // 2*WordCount bytes
	bytes   []byte // ByteCount bytes
	bytesAt int    // offset of bytes from the start of the SMB header
}

type smb1Msg struct {
	msg      []byte
	status   uint32 // normalised: StatusBufferOverflow for ERRDOS/ERRmoredata
	response bool
	unicode  bool
	mid      uint64
}

func (m smb1Msg) ok() bool {
	return m.status == StatusSuccess || m.status == StatusBufferOverflow
}

func isAndX(cmd byte) bool {
	switch cmd {
	case smb1LockingAndX, smb1OpenAndX, smb1ReadAndX, smb1WriteAndX, smb1SessionSetupAnd,
		smb1LogoffAndX, smb1TreeConnectAndX, smb1NTCreateAndX:
		return true
	}
	return false
}

func smb1Parse(msg []byte) (smb1Msg, error) {
	if len(msg) < smb1HeaderLen {
		return smb1Msg{}, ErrTruncated
	}
	if [4]byte(msg[:4]) != magicSMB1 {
		return smb1Msg{}, ErrNotSMB
	}
	flags2 := binary.LittleEndian.Uint16(msg[10:])
	m := smb1Msg{
		msg:      msg,
		status:   binary.LittleEndian.Uint32(msg[5:]),
		response: msg[9]&smb1FlagReply != 0,
		unicode:  flags2&smb1Flags2Unicode != 0,
		mid:      uint64(binary.LittleEndian.Uint16(msg[30:])),
	}
	if flags2&smb1Flags2NTError == 0 && m.status == dosMoreData {
		m.status = StatusBufferOverflow
	}
	return m, nil
}

// walk calls fn for the first command and each command reached through an AndX chain.
// Each AndX offset must point past the current block's ByteCount, so the walk only moves
// forward; at most MaxChain commands are visited.
func (m smb1Msg) walk(fn func(b smb1Block) error) error {
	cmd, off := m.msg[4], smb1HeaderLen
	for i := 0; ; i++ {
		if i == MaxChain {
			return ErrChain
		}
		if off >= len(m.msg) {
			return ErrTruncated
		}
		wc := int(m.msg[off])
		wordsEnd := off + 1 + 2*wc
		if wordsEnd+2 > len(m.msg) {
			return ErrTruncated
		}
		bc := int(binary.LittleEndian.Uint16(m.msg[wordsEnd:]))
		bytesAt := wordsEnd + 2
		if bc > len(m.msg)-bytesAt {
			return ErrTruncated
		}
		b := smb1Block{command: cmd, words: m.msg[off+1 : wordsEnd], bytes: m.msg[bytesAt : bytesAt+bc], bytesAt: bytesAt}
		if err := fn(b); err != nil {
			return err
		}
		if !isAndX(cmd) || wc < 2 || b.words[0] == smb1NoAndX {
			return nil
		}
		next := int(binary.LittleEndian.Uint16(b.words[2:]))
		if next < bytesAt { // the next block starts after this one's ByteCount
			return ErrMalformed
		}
		cmd, off = b.words[0], next
	}
}

// slice returns n bytes at offset off from the start of the SMB header.
func (m smb1Msg) slice(off, n int) ([]byte, error) {
	if off < smb1HeaderLen || off > len(m.msg) || n > len(m.msg)-off {
		return nil, ErrMalformed
	}
	return m.msg[off : off+n], nil
}

func le16(b []byte, i int) int { return int(binary.LittleEndian.Uint16(b[i:])) }

func fidString(v int) string { return hexString([]byte{byte(v >> 8), byte(v)}) }

func smb1Payloads(msg []byte) ([]Payload, error) {
	m, err := smb1Parse(msg)
	if err != nil {
		return nil, err
	}
	if m.response && !m.ok() {
		return nil, nil
	}
	var status uint32
	if m.response {
		status = m.status
	}
	var out []Payload
	err = m.walk(func(b smb1Block) error {
		p := Payload{Response: m.response, MessageID: m.mid, Status: status}
		var off, n int
		w := b.words
		switch {
		case b.command == smb1Transaction && !m.response:
			if len(w) < 28 {
				return ErrTruncated
			}
			setup := int(w[26])
			if setup < 2 || len(w) < 28+2*setup {
				return nil // not a named-pipe transaction (or a bad setup count)
			}
			switch le16(w, 28) {
			case transTransactNmPipe, transWriteNmPipe, transRawWriteNmPipe:
				p.FileID = fidString(le16(w, 30))
			case transCallNmPipe:
			default:
				return nil
			}
			p.Command = "TRANS"
			n, off = le16(w, 22), le16(w, 24)
		case b.command == smb1Transaction && m.response:
			if len(w) < 20 {
				return ErrTruncated
			}
			p.Command = "TRANS"
			n, off = le16(w, 12), le16(w, 14)
		case b.command == smb1TransactionSec && !m.response:
			if len(w) < 16 {
				return ErrTruncated
			}
			p.Command = "TRANS_SECONDARY"
			n, off = le16(w, 10), le16(w, 12)
		case b.command == smb1WriteAndX && !m.response:
			if len(w) < 24 {
				return ErrTruncated
			}
			p.Command = "WRITE_ANDX"
			p.FileID = fidString(le16(w, 4))
			n, off = le16(w, 18)<<16|le16(w, 20), le16(w, 22)
			if le16(w, 14)&(writeModeRaw|writeModeMsgStart) == writeModeRaw|writeModeMsgStart && n >= 2 {
				n, off = n-2, off+2
			}
		case b.command == smb1ReadAndX && m.response:
			if len(w) < 16 {
				return ErrTruncated
			}
			p.Command = "READ_ANDX"
			n, off = le16(w, 14)<<16|le16(w, 10), le16(w, 12)
		default:
			return nil
		}
		if n == 0 {
			return nil
		}
		data, err := m.slice(off, n)
		if err != nil {
			return err
		}
		p.Data = data
		out = append(out, p)
		return nil
	})
	return out, err
}

func smb1CreateName(msg []byte) (name string, ok bool) {
	m, err := smb1Parse(msg)
	if err != nil || m.response {
		return "", false
	}
	m.walk(func(b smb1Block) error {
		if b.command != smb1NTCreateAndX {
			return nil
		}
		if len(b.words) < 48 {
			return ErrTruncated
		}
		n := le16(b.words, 5)
		s := b.bytes
		if m.unicode && b.bytesAt%2 == 1 && len(s) > 0 {
			s = s[1:] // pad to a 2-byte boundary from the header
		}
		if n > len(s) || n == 0 {
			return ErrMalformed
		}
		if m.unicode {
			name = utf16String(s[:n])
		} else {
			name = cString(s[:n])
		}
		ok = true
		return errStop
	})
	return name, ok
}

func smb1CreatedFileID(msg []byte) (fileID string, messageID uint64, ok bool) {
	m, err := smb1Parse(msg)
	if err != nil || !m.response || m.status != StatusSuccess {
		return "", 0, false
	}
	m.walk(func(b smb1Block) error {
		if b.command != smb1NTCreateAndX {
			return nil
		}
		if len(b.words) < 7 {
			return ErrTruncated
		}
		fileID, messageID, ok = fidString(le16(b.words, 5)), m.mid, true
		return errStop
	})
	return fileID, messageID, ok
}
