package kerberos

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

type kpwFixture struct {
	frame                    string
	tcp                      bool
	raw                      []byte
	msgLen, version, apLen   string
	msgTypes, realms, snames []string
}

func loadKpasswd(tb testing.TB) []kpwFixture {
	tb.Helper()
	fh, err := os.Open("testdata/kpasswd_mit.tsv")
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out []kpwFixture
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 11 {
			tb.Fatalf("kpasswd_mit.tsv: %d columns", len(c))
		}
		f := kpwFixture{frame: c[0], msgLen: c[3], version: c[4], apLen: c[5],
			msgTypes: split(c[6]), realms: split(c[7]), snames: split(c[8])}
		h := c[1]
		if h == "" {
			h, f.tcp = c[2], true
		}
		if f.raw, err = hex.DecodeString(h); err != nil {
			tb.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// realKpasswd returns the kpasswd fixtures made with MIT krb5 (see testdata/README.md).
func realKpasswd(tb testing.TB) [][]byte {
	var out [][]byte
	for _, f := range loadKpasswd(tb) {
		out = append(out, f.raw)
	}
	return out
}

// TestKpasswdMIT checks each kpasswd PDU of the MIT capture against tshark's kpasswd fields
// (message length, version, AP length, the Kerberos messages inside, AP-REQ realm and sname)
// and the KRB-ERROR replies against tshark's Kerberos fields (kpasswd_mit_krberror.txt).
func TestKpasswdMIT(t *testing.T) {
	fx := loadKpasswd(t)
	if len(fx) != 18 {
		t.Fatalf("%d fixtures", len(fx))
	}
	kinds := map[string]int{}
	for _, f := range fx {
		name := "frame " + f.frame
		if f.tcp {
			if n, err := FrameTCP(f.raw); err != nil || n != len(f.raw) {
				t.Errorf("%s: FrameTCP %d %v, want %d", name, n, err, len(f.raw))
			}
		}
		if LooksLike(f.raw) {
			t.Errorf("%s: kpasswd taken for Kerberos", name)
		}
		k, err := ParseKpasswd(f.raw)
		switch f.frame {
		case "69": // version 0x0002
			if !errors.Is(err, ErrKpasswdVersion) || LooksLikeKpasswd(f.raw) {
				t.Errorf("%s: %v", name, err)
			}
			continue
		case "70": // cut to 40 of 686 bytes: begins like kpasswd, does not parse
			if !errors.Is(err, ErrKpasswdLength) || !LooksLikeKpasswd(f.raw) {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !LooksLikeKpasswd(f.raw) {
			t.Errorf("%s: LooksLikeKpasswd false", name)
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		kinds[k.Kind()]++
		if k.TCP != f.tcp || itoa(int(k.Length)) != f.msgLen || "0x"+hex4(k.Version) != f.version || itoa(int(k.APLength)) != f.apLen {
			t.Errorf("%s: tcp %v len %d ver %#x ap %d; tshark %s %s %s", name, k.TCP, k.Length, k.Version, k.APLength, f.msgLen, f.version, f.apLen)
		}
		var types, realms, snames []string
		if k.AP != nil {
			types = append(types, itoa(k.AP.Type))
			realms = nonEmpty(k.AP.Realm)
			snames = comps(k.AP.SName)
		}
		if k.Priv != nil {
			types = append(types, itoa(k.Priv.Type))
		}
		if !eq(types, f.msgTypes) || !eq(realms, f.realms) || !eq(snames, f.snames) {
			t.Errorf("%s: %v %v %v; tshark %v %v %v", name, types, realms, snames, f.msgTypes, f.realms, f.snames)
		}
		if k.Error != nil {
			e := k.Error
			// tshark on the re-wrapped KRB-ERROR: 30, 60, KPW.TEST, kadmin;changepw, e-data
			// 0003 "Failed reading application request", stime Nov 24, 2026 14:40:10 (frame 72).
			if len(f.msgTypes) != 0 || e.ErrorCode != 60 || e.ErrorName() != "KRB_ERR_GENERIC" || e.Realm != "KPW.TEST" ||
				e.SName != "kadmin/changepw" || !k.HasResult || k.ResultCode != KpasswdAuthError ||
				k.ResultName() != "KRB5_KPASSWD_AUTHERROR" || k.ResultString != "Failed reading application request" ||
				hex.EncodeToString(e.EData) != "00034661696c65642072656164696e67206170706c69636174696f6e2072657175657374" {
				t.Errorf("%s: error reply %+v %+v", name, k, e)
			}
			if f.frame == "72" && e.STime.Format("2006-01-02 15:04:05") != "2026-11-24 14:40:10" {
				t.Errorf("%s: stime %v", name, e.STime)
			}
		} else if k.HasResult {
			t.Errorf("%s: result %d invented for an encrypted reply", name, k.ResultCode)
		}
	}
	if kinds["request"] != 8 || kinds["reply"] != 8 {
		t.Errorf("kinds %v", kinds)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func hex4(v uint16) string { return hex.EncodeToString([]byte{byte(v >> 8), byte(v)}) }
