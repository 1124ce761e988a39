package smb

import "encoding/binary"

// Builders for hand-made SMB messages (no NBSS header unless nbss is called).

func le16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64b(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func nbss(msg []byte) []byte {
	n := len(msg)
	return cat([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, msg)
}

// smb2Header builds a 64-byte SMB2 sync header.
func smb2Header(cmd uint16, response bool, status, next uint32, msgID uint64) []byte {
	var flags uint32
	if response {
		flags = smb2FlagResponse
	}
	return cat(magicSMB2[:], le16b(64), le16b(1), le32b(status), le16b(cmd), le16b(1),
		le32b(flags), le32b(next), le64b(msgID), le32b(0xfeff), le32b(1), le64b(0x1234),
		make([]byte, 16))
}

var testFileID = []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// mkWriteReq builds a WRITE request carrying data right after its 48-byte fixed body.
func mkWriteReq(next uint32, msgID uint64, data []byte) []byte {
	return cat(smb2Header(smb2Write, false, 0, next, msgID), le16b(49), le16b(64+48),
		le32b(uint32(len(data))), le64b(0), testFileID, le32b(0), le32b(0), le16b(0), le16b(0),
		le32b(0), data)
}

// mkReadResp builds a READ response with data after its 16-byte fixed body.
func mkReadResp(status uint32, msgID uint64, data []byte) []byte {
	return cat(smb2Header(smb2Read, true, status, 0, msgID), le16b(17), []byte{64 + 16, 0},
		le32b(uint32(len(data))), le32b(0), le32b(0), data)
}

// mkIoctlReq builds an IOCTL request with input data after its 56-byte fixed body.
func mkIoctlReq(ctl uint32, data []byte) []byte {
	return cat(smb2Header(smb2Ioctl, false, 0, 0, 7), le16b(57), le16b(0), le32b(ctl), testFileID,
		le32b(64+56), le32b(uint32(len(data))), le32b(0), le32b(0), le32b(0), le32b(4280),
		le32b(1), le32b(0), data)
}

// mkIoctlResp builds an IOCTL response with output data after its 48-byte fixed body.
func mkIoctlResp(status, ctl uint32, data []byte) []byte {
	return cat(smb2Header(smb2Ioctl, true, status, 0, 7), le16b(49), le16b(0), le32b(ctl), testFileID,
		le32b(64+48), le32b(0), le32b(64+48), le32b(uint32(len(data))), le32b(0), le32b(0), data)
}

// mkCreateReq builds a CREATE request for a UTF-16LE name.
func mkCreateReq(name string) []byte {
	var n []byte
	for _, r := range name {
		n = append(n, le16b(uint16(r))...)
	}
	return cat(smb2Header(smb2Create, false, 0, 0, 3), le16b(57), []byte{0, 0}, le32b(2),
		make([]byte, 16), le32b(0x12019f), le32b(0), le32b(7), le32b(1), le32b(0),
		le16b(64+56), le16b(uint16(len(n))), le32b(0), le32b(0), n)
}

// smb1Header builds a 32-byte SMB1 header.
func smb1Header(cmd byte, response bool, status uint32, flags2 uint16, mid uint16) []byte {
	var flags byte = 0x18
	if response {
		flags |= smb1FlagReply
	}
	return cat(magicSMB1[:], []byte{cmd}, le32b(status), []byte{flags}, le16b(flags2),
		make([]byte, 12), le16b(1), le16b(0xfeff), le16b(0x800), le16b(mid))
}

// smb1Blk appends WordCount, words, ByteCount, bytes.
func smb1Blk(words, bytes []byte) []byte {
	return cat([]byte{byte(len(words) / 2)}, words, le16b(uint16(len(bytes))), bytes)
}

// mkWriteAndX builds a WRITE_ANDX request (WordCount 14) with data in its bytes.
func mkWriteAndX(fid, mode uint16, data []byte) []byte {
	h := smb1Header(smb1WriteAndX, false, 0, smb1Flags2NTError, 9)
	dataOff := len(h) + 1 + 28 + 2
	w := cat([]byte{smb1NoAndX, 0}, le16b(0), le16b(fid), le32b(0), le32b(0), le16b(mode),
		le16b(uint16(len(data))), le16b(uint16(len(data)>>16)), le16b(uint16(len(data))),
		le16b(uint16(dataOff)), le32b(0))
	return cat(h, smb1Blk(w, data))
}

// mkReadAndXResp builds a READ_ANDX response (WordCount 12) with data in its bytes.
func mkReadAndXResp(status uint32, flags2 uint16, data []byte) []byte {
	h := smb1Header(smb1ReadAndX, true, status, flags2, 9)
	dataOff := len(h) + 1 + 24 + 2
	w := cat([]byte{smb1NoAndX, 0}, le16b(0), le16b(0xffff), le16b(0), le16b(0),
		le16b(uint16(len(data))), le16b(uint16(dataOff)), le16b(uint16(len(data)>>16)), make([]byte, 8))
	return cat(h, smb1Blk(w, data))
}

// mkTransReq builds a TRANSACTION request with the given setup words and data.
func mkTransReq(setup []uint16, data []byte) []byte {
	h := smb1Header(smb1Transaction, false, 0, smb1Flags2NTError, 11)
	name := []byte("\\PIPE\\\x00")
	wordsLen := 28 + 2*len(setup)
	dataOff := len(h) + 1 + wordsLen + 2 + len(name)
	w := cat(le16b(0), le16b(uint16(len(data))), le16b(0), le16b(1024), []byte{0, 0}, le16b(0),
		le32b(0), le16b(0), le16b(0), le16b(uint16(dataOff)), le16b(uint16(len(data))),
		le16b(uint16(dataOff)), []byte{byte(len(setup)), 0})
	for _, s := range setup {
		w = append(w, le16b(s)...)
	}
	return cat(h, smb1Blk(w, cat(name, data)))
}

// mkNTCreate builds an NT_CREATE_ANDX request for name (UTF-16 if unicode).
func mkNTCreate(name string, unicode bool) []byte {
	var flags2 uint16 = smb1Flags2NTError
	var n []byte
	if unicode {
		flags2 |= smb1Flags2Unicode
		for _, r := range name {
			n = append(n, le16b(uint16(r))...)
		}
	} else {
		n = []byte(name)
	}
	h := smb1Header(smb1NTCreateAndX, false, 0, flags2, 5)
	w := cat([]byte{smb1NoAndX, 0}, le16b(0), []byte{0}, le16b(uint16(len(n))), le32b(0x16),
		le32b(0), le32b(0x2019f), le64b(0), le32b(0), le32b(3), le32b(1), le32b(0), le32b(2), []byte{0})
	b := n
	if unicode {
		b = cat([]byte{0x4e}, n) // bytes start at offset 83: one pad byte
	}
	return cat(h, smb1Blk(w, cat(b, []byte{0, 0})))
}

// dceBind is a minimal DCE/RPC bind of one context (LSARPC over NDR).
var dceBind = func() []byte {
	b := []byte{5, 0, 11, 3, 0x10, 0, 0, 0, 72, 0, 0, 0, 1, 0, 0, 0,
		0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}
	b = append(b, 0x78, 0x57, 0x34, 0x12, 0x34, 0x12, 0xcd, 0xab, 0xef, 0x00, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0, 0, 0, 0)
	b = append(b, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0)
	return b
}()
