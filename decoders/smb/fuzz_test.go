package smb

import "testing"

func FuzzPipePayloads(f *testing.F) {
	for _, x := range loadFixtures(f) {
		f.Add(x.raw)
	}
	for _, m := range [][]byte{
		mkWriteReq(0, 1, dceBind),
		cat(mkWriteReq(64+48+72, 1, dceBind), mkReadResp(StatusBufferOverflow, 2, dceBind)),
		mkIoctlReq(FsctlPipeTransceive, dceBind),
		mkIoctlResp(0, FsctlPipeTransceive, dceBind),
		mkCreateReq(`PIPE\cert`),
		mkWriteAndX(0x4001, writeModeRaw|writeModeMsgStart, cat(le16b(72), dceBind)),
		mkReadAndXResp(0, smb1Flags2NTError, dceBind),
		mkTransReq([]uint16{transTransactNmPipe, 0x4001}, dceBind),
		mkNTCreate(`\cert`, true),
	} {
		f.Add(nbss(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		LooksLike(b)
		total, err := FrameNBSS(b)
		if err == nil && (total < NBSSHeaderLen || total > len(b)) {
			t.Fatalf("FrameNBSS = %d for %d bytes", total, len(b))
		}
		msgs := [][]byte{b}
		if err == nil && b[0] == NBSSMessage {
			msgs = append(msgs, b[NBSSHeaderLen:total])
		}
		for _, msg := range msgs {
			ps, _ := PipePayloads(msg)
			if len(ps) > MaxChain {
				t.Fatalf("%d payloads", len(ps))
			}
			for _, p := range ps {
				if len(p.Data) == 0 || len(p.Data) > len(msg) || p.Command == "" {
					t.Fatalf("payload %+v from %d bytes", p, len(msg))
				}
				if n := len(p.FileID); n != 0 && n != 4 && n != 32 {
					t.Fatalf("FileID %q", p.FileID)
				}
			}
			if name, ok := CreatePipeName(msg); ok && len(name) > 3*len(msg) {
				t.Fatalf("name of %d bytes from %d", len(name), len(msg))
			}
			CreatedFileID(msg)
		}
	})
}
