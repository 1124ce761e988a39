package kerberos

import (
	"errors"
	"testing"
)

func hbuildTicket(realm string, sname ...string) []byte {
	return tlv(0x61, seq(ctx(0, intv(5)), ctx(1, gstr(realm)), ctx(2, pname(2, sname...)),
		ctx(3, seq(ctx(0, intv(18)), ctx(1, intv(2)), ctx(2, tlv(0x04, make([]byte, 40)))))))
}

func hbuildAPReq() []byte {
	return tlv(0x6e, seq(ctx(0, intv(5)), ctx(1, intv(14)), ctx(2, tlv(0x03, []byte{0, 0, 0, 0, 0})),
		ctx(3, hbuildTicket("CORP.EXAMPLE", "kadmin", "changepw")),
		ctx(4, seq(ctx(0, intv(18)), ctx(2, tlv(0x04, make([]byte, 30)))))))
}

func hbuildAPRep() []byte {
	return tlv(0x6f, seq(ctx(0, intv(5)), ctx(1, intv(15)), ctx(2, seq(ctx(0, intv(18)), ctx(2, tlv(0x04, make([]byte, 20)))))))
}

func hbuildPriv() []byte {
	return tlv(0x75, seq(ctx(0, intv(5)), ctx(1, intv(21)), ctx(3, seq(ctx(0, intv(18)), ctx(2, tlv(0x04, make([]byte, 24)))))))
}

func hbuildKpwError(code byte, edata []byte) []byte {
	f := [][]byte{ctx(0, intv(5)), ctx(1, intv(30)), ctx(4, tlv(0x18, []byte("20240102030405Z"))), ctx(5, intv(0)),
		ctx(6, intv(code)), ctx(9, gstr("CORP.EXAMPLE")), ctx(10, pname(2, "kadmin", "changepw"))}
	if edata != nil {
		f = append(f, ctx(12, tlv(0x04, edata)))
	}
	return tlv(0x7e, seq(f...))
}

// kpw assembles an RFC 3244 message: length, version, AP length, AP part, rest.
func kpw(version uint16, ap, rest []byte) []byte {
	n := 6 + len(ap) + len(rest)
	b := []byte{byte(n >> 8), byte(n), byte(version >> 8), byte(version), byte(len(ap) >> 8), byte(len(ap))}
	return append(append(b, ap...), rest...)
}

func mark(b []byte) []byte {
	n := len(b)
	return append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, b...)
}

func kpasswdSeeds(tb testing.TB) [][]byte {
	s := [][]byte{
		kpw(KpasswdVersionChange, hbuildAPReq(), hbuildPriv()),
		kpw(KpasswdVersionSet, hbuildAPReq(), hbuildPriv()),
		kpw(KpasswdVersionChange, hbuildAPRep(), hbuildPriv()),
		kpw(KpasswdVersionChange, nil, hbuildKpwError(41, append([]byte{0, 3}, "Authentication error"...))),
		mark(kpw(KpasswdVersionChange, hbuildAPReq(), hbuildPriv())),
		hbuildKpwError(60, []byte{0, 1}),
	}
	return append(s, realKpasswd(tb)...)
}

func TestKpasswdHandBuilt(t *testing.T) {
	req := kpw(KpasswdVersionSet, hbuildAPReq(), hbuildPriv())
	for _, b := range [][]byte{req, mark(req)} {
		k, err := ParseKpasswd(b)
		if err != nil {
			t.Fatal(err)
		}
		if !k.Request || k.Kind() != "request" || k.Version != 0xff80 || k.AP.SName != "kadmin/changepw" ||
			k.Priv == nil || k.Priv.TypeName() != "KRB-PRIV" || k.HasResult || int(k.Length) != len(req) ||
			k.TCP != (len(b) != len(req)) || int(k.APLength) != len(hbuildAPReq()) {
			t.Errorf("request: %+v", k)
		}
		if !LooksLikeKpasswd(b) || !LooksLikeKpasswd(b[:32]) || LooksLikeKpasswd(b[:12]) {
			t.Error("LooksLikeKpasswd request")
		}
		if n, err := FrameTCP(mark(req)); err != nil || n != len(req)+4 {
			t.Errorf("FrameTCP %d %v", n, err)
		}
	}
	rep, err := ParseKpasswd(kpw(KpasswdVersionChange, hbuildAPRep(), hbuildPriv()))
	if err != nil || rep.Request || rep.Kind() != "reply" || rep.AP.TypeName() != "AP-REP" || rep.HasResult || rep.ResultName() != "" {
		t.Errorf("reply: %+v %v", rep, err)
	}
	// An error reply: AP-REP length 0, KRB-ERROR whose e-data is the clear result.
	eb := kpw(KpasswdVersionChange, nil, hbuildKpwError(41, append([]byte{0, 3}, "Authentication error"...)))
	for _, b := range [][]byte{eb, mark(eb)} {
		k, err := ParseKpasswd(b)
		if err != nil {
			t.Fatal(err)
		}
		if k.Request || k.Error == nil || k.Error.ErrorName() != "KRB_AP_ERR_MODIFIED" || !k.HasResult ||
			k.ResultCode != 3 || k.ResultName() != "KRB5_KPASSWD_AUTHERROR" || k.ResultString != "Authentication error" {
			t.Errorf("error reply: %+v", k)
		}
		if !LooksLikeKpasswd(b) {
			t.Error("LooksLikeKpasswd error reply")
		}
	}
	// A bare KRB-ERROR, and one whose e-data is ASN.1 (not a kpasswd result).
	k, err := ParseKpasswd(hbuildKpwError(60, []byte{0, 1}))
	if err != nil || !k.Bare || k.ResultName() != "KRB5_KPASSWD_MALFORMED" || k.Error.ErrorCode != 60 {
		t.Errorf("bare: %+v %v", k, err)
	}
	k, err = ParseKpasswd(kpw(1, nil, hbuildKpwError(60, seq(seq(ctx(1, intv(2)))))))
	if err != nil || k.HasResult {
		t.Errorf("ASN.1 e-data: %+v %v", k, err)
	}
	for code, name := range []string{"KRB5_KPASSWD_SUCCESS", "KRB5_KPASSWD_MALFORMED", "KRB5_KPASSWD_HARDERROR",
		"KRB5_KPASSWD_AUTHERROR", "KRB5_KPASSWD_SOFTERROR", "KRB5_KPASSWD_ACCESSDENIED", "KRB5_KPASSWD_BAD_VERSION",
		"KRB5_KPASSWD_INITIAL_FLAG_NEEDED", ""} {
		if got := KpasswdResultName(uint16(code)); got != name {
			t.Errorf("KpasswdResultName(%d) = %q", code, got)
		}
	}

	bad := map[string]struct {
		b    []byte
		want error
	}{
		"short":         {[]byte{0, 6, 0, 1}, ErrKpasswdShort},
		"version 2":     {kpw(2, hbuildAPReq(), hbuildPriv()), ErrKpasswdVersion},
		"length":        {append(kpw(1, hbuildAPReq(), hbuildPriv()), 0), ErrKpasswdLength},
		"ap too long":   {[]byte{0, 8, 0, 1, 0xff, 0xff, 0x6e, 0}, ErrKpasswdAP},
		"ap is priv":    {kpw(1, hbuildPriv(), hbuildPriv()), ErrKpasswdContent},
		"priv no ap":    {kpw(1, nil, hbuildPriv()), ErrKpasswdContent},
		"error in req":  {kpw(1, hbuildAPReq(), hbuildKpwError(1, nil)), ErrKpasswdContent},
		"empty":         {nil, ErrKpasswdShort},
		"header only":   {kpw(1, nil, nil), ErrKpasswdShort},
		"garbage after": {kpw(1, hbuildAPReq(), []byte{1, 2, 3}), nil},
	}
	for name, c := range bad {
		k, err := ParseKpasswd(c.b)
		if err == nil || k != nil {
			t.Errorf("%s: no error: %+v", name, k)
		} else if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	full := kpw(1, hbuildAPReq(), hbuildPriv())
	for i := range len(full) {
		if k, err := ParseKpasswd(full[:i]); err == nil {
			t.Errorf("truncated to %d: %+v", i, k)
		}
	}
	// Kerberos on 88 is not kpasswd (except a bare KRB-ERROR), and kpasswd is not Kerberos.
	if LooksLikeKpasswd(tlv(0x6a, seq(ctx(1, intv(5)), ctx(2, intv(10))))) || LooksLike(full) || LooksLike(mark(full)) {
		t.Error("kpasswd/Kerberos confusion")
	}
}
