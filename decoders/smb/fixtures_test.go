package smb

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/adcsflow/adcsflow/decoders/dcerpc"
)

// fixture is one real NBSS frame (testdata/NAME.hex) with tshark's field values for its
// frame (testdata/NAME.tshark); see testdata/README.md.
type fixture struct {
	name   string
	raw    []byte            // the whole NBSS frame
	fields map[string]string // tshark field -> values joined by '|'
}

func (f fixture) list(field string) []string {
	v, ok := f.fields[field]
	if !ok {
		return nil
	}
	return strings.Split(v, "|")
}

func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	names, err := filepath.Glob("testdata/*.hex")
	if err != nil || len(names) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	var out []fixture
	for _, n := range names {
		base := strings.TrimSuffix(n, ".hex")
		h, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := hex.DecodeString(strings.TrimSpace(string(h)))
		if err != nil {
			tb.Fatalf("%s: %v", n, err)
		}
		t, err := os.ReadFile(base + ".tshark")
		if err != nil {
			tb.Fatal(err)
		}
		f := fixture{name: filepath.Base(base), raw: raw, fields: map[string]string{}}
		for _, line := range strings.Split(string(t), "\n") {
			if line == "" || line[0] == '#' {
				continue
			}
			k, v, ok := strings.Cut(line, "\t")
			if !ok {
				tb.Fatalf("%s: bad line %q", base, line)
			}
			f.fields[k] = v
		}
		out = append(out, f)
	}
	return out
}

// tsharkFileID converts tshark's smb2.fid ("0000002e-0009-0000-0100-000009000000", the
// 16 bytes printed as a GUID) or smb.fid ("0xc00f") to Payload.FileID's form.
func tsharkFileID(t *testing.T, s string) string {
	if strings.HasPrefix(s, "0x") {
		return s[2:]
	}
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		t.Fatalf("tshark fid %q", s)
	}
	rev := func(x string) string {
		var b strings.Builder
		for i := len(x) - 2; i >= 0; i -= 2 {
			b.WriteString(x[i : i+2])
		}
		return b.String()
	}
	return rev(h[0:8]) + rev(h[8:12]) + rev(h[12:16]) + h[16:]
}

var smb2CmdNames = map[string]string{"8": "READ", "9": "WRITE", "11": "IOCTL"}
var smb1CmdNames = map[string]string{"0x25": "TRANS", "0x2e": "READ_ANDX", "0x2f": "WRITE_ANDX"}

// TestFixturesAgainstTshark checks every real frame: NBSS framing, then that the pipe
// payloads are exactly the DCE/RPC PDUs tshark decoded in that frame (packet types,
// frag lengths, call ids and the interface UUIDs of binds), with the command, direction,
// message id and file id tshark shows.
func TestFixturesAgainstTshark(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			total, err := FrameNBSS(f.raw)
			if err != nil || total != len(f.raw) {
				t.Fatalf("FrameNBSS = %d, %v; want %d", total, err, len(f.raw))
			}
			if n, _ := strconv.Atoi(f.fields["nbss.length"]); n != total-NBSSHeaderLen {
				t.Fatalf("NBSS length %d, tshark %d", total-NBSSHeaderLen, n)
			}
			if !LooksLike(f.raw) {
				t.Fatal("LooksLike = false")
			}
			msg := f.raw[NBSSHeaderLen:total]
			ps, err := PipePayloads(msg)
			if err != nil {
				t.Fatalf("PipePayloads: %v", err)
			}
			var types, lens, calls, uuids []string
			for _, p := range ps {
				for b := p.Data; len(b) > 0; {
					n, err := dcerpc.Frame(b)
					if err != nil {
						t.Fatalf("%s payload %x: dcerpc.Frame: %v", p.Command, p.Data, err)
					}
					pdu, err := dcerpc.Parse(b[:n])
					if err != nil {
						t.Fatalf("dcerpc.Parse: %v", err)
					}
					types = append(types, strconv.Itoa(int(pdu.PType)))
					lens = append(lens, strconv.Itoa(int(pdu.FragLen)))
					calls = append(calls, strconv.Itoa(int(pdu.CallID)))
					for _, c := range pdu.Contexts {
						uuids = append(uuids, c.Abstract.UUID.String())
					}
					b = b[n:]
				}
			}
			eq(t, "dcerpc.pkt_type", types, f.list("dcerpc.pkt_type"))
			eq(t, "dcerpc.cn_frag_len", lens, f.list("dcerpc.cn_frag_len"))
			eq(t, "dcerpc.cn_call_id", calls, f.list("dcerpc.cn_call_id"))
			eq(t, "dcerpc.cn_bind_to_uuid", uuids, f.list("dcerpc.cn_bind_to_uuid"))

			smb2 := f.fields["smb2.cmd"] != ""
			for _, p := range ps {
				var cmd, resp, mid, fid string
				if smb2 {
					cmd, resp, mid = smb2CmdNames[f.fields["smb2.cmd"]], f.fields["smb2.flags.response"], f.fields["smb2.msg_id"]
					fid = f.fields["smb2.fid"]
				} else {
					cmd, resp, mid = smb1CmdNames[f.list("smb.cmd")[0]], f.fields["smb.flags.response"], f.fields["smb.mid"]
					fid = f.fields["smb.fid"]
				}
				if p.Command != cmd || strconv.FormatBool(p.Response) != map[string]string{"0": "false", "1": "true"}[resp] ||
					strconv.FormatUint(p.MessageID, 10) != mid {
					t.Errorf("payload %s response=%v mid=%d; tshark cmd %s response %s mid %s", p.Command, p.Response, p.MessageID, cmd, resp, mid)
				}
				if p.FileID != "" && p.FileID != tsharkFileID(t, fid) {
					t.Errorf("FileID %s, tshark %s", p.FileID, fid)
				}
				if w := f.fields["smb2.write_length"]; w != "" && strconv.Itoa(len(p.Data)) != w {
					t.Errorf("WRITE data %d bytes, tshark write_length %s", len(p.Data), w)
				}
			}

			// CREATE / NT_CREATE_ANDX: the name opened and the handle returned.
			isCreate := f.fields["smb2.cmd"] == "5" || strings.HasPrefix(f.fields["smb.cmd"], "0xa2")
			name, ok := CreatePipeName(msg)
			fileID, mid, idOK := CreatedFileID(msg)
			switch {
			case isCreate && (f.fields["smb2.flags.response"] == "0" || f.fields["smb.flags.response"] == "0"):
				want := f.fields["smb2.filename"] + strings.TrimPrefix(f.fields["smb.file"], `\`)
				if !ok || name != want {
					t.Errorf("CreatePipeName = %q, %v; tshark %q", name, ok, want)
				}
				if idOK {
					t.Errorf("CreatedFileID on a request")
				}
			case isCreate:
				want := tsharkFileID(t, f.fields["smb2.fid"]+f.fields["smb.fid"])
				wantMID := f.fields["smb2.msg_id"] + f.fields["smb.mid"]
				if !idOK || fileID != want || strconv.FormatUint(mid, 10) != wantMID {
					t.Errorf("CreatedFileID = %s, %d, %v; tshark %s, %s", fileID, mid, idOK, want, wantMID)
				}
				if ok {
					t.Errorf("CreatePipeName on a response")
				}
			default:
				if ok || idOK {
					t.Errorf("CreatePipeName/CreatedFileID on a non-create message: %q %q", name, fileID)
				}
			}
		})
	}
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s = %q, tshark %q", what, got, want)
	}
}

// TestFixturePrefixes cuts every real message short at every length: no panic, and a
// cut inside a payload-carrying command never yields a payload past the cut.
func TestFixturePrefixes(t *testing.T) {
	for _, f := range loadFixtures(t) {
		msg := f.raw[NBSSHeaderLen:]
		for i := 0; i <= len(msg); i++ {
			if total, err := FrameNBSS(f.raw[:NBSSHeaderLen+i]); (err == nil) != (i == len(msg)) || (err != nil && err != ErrNeedMore) || (err == nil && total != len(f.raw)) {
				t.Fatalf("%s: FrameNBSS(prefix %d) = %d, %v", f.name, i, total, err)
			}
			ps, _ := PipePayloads(msg[:i])
			for _, p := range ps {
				if len(p.Data) == 0 || len(p.Data) > i {
					t.Fatalf("%s: prefix %d: payload of %d bytes", f.name, i, len(p.Data))
				}
			}
			CreatePipeName(msg[:i])
			CreatedFileID(msg[:i])
		}
	}
}
