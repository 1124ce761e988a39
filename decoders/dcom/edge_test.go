package dcom

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

// Hand-built DUALSTRINGARRAYs.

type sb struct {
	tower uint16
	addr  string
}

type secb struct {
	authn, authz uint16
	name         string
}

func units(s string) []uint16 { return append(utf16.Encode([]rune(s)), 0) }

// buildDSA marshals a DUALSTRINGARRAY the way Windows does: each section ends with an
// extra 0x0000 unit.
func buildDSA(strs []sb, secs []secb) []byte {
	var u []uint16
	for _, s := range strs {
		u = append(u, s.tower)
		u = append(u, units(s.addr)...)
	}
	u = append(u, 0)
	secOff := len(u)
	for _, s := range secs {
		u = append(u, s.authn, s.authz)
		u = append(u, units(s.name)...)
	}
	u = append(u, 0)
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(u)))
	b = binary.LittleEndian.AppendUint16(b, uint16(secOff))
	for _, x := range u {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

func le16(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

var dsaEdgeCases = []dsaCase{
	{"ca01", buildDSA([]sb{{7, "CA01[49712]"}, {7, "10.0.0.5[49712]"}, {0x0f, `\\CA01[\pipe\cert]`}}, []secb{{0x10, 0xffff, "host/ca01.corp.example"}})},
	{"hostonly", buildDSA([]sb{{7, "CA01"}}, nil)},
	{"empty", le16(2, 1, 0, 0)},
}

type dsaCase struct {
	name string
	b    []byte
}

func TestDualStringArrayBuilt(t *testing.T) {
	d, err := ParseDualStringArray(dsaEdgeCases[0].b)
	if err != nil {
		t.Fatal(err)
	}
	want := []StringBinding{
		{7, "ncacn_ip_tcp", "CA01[49712]", "CA01", 49712},
		{7, "ncacn_ip_tcp", "10.0.0.5[49712]", "10.0.0.5", 49712},
		{0x0f, "ncacn_np", `\\CA01[\pipe\cert]`, `\\CA01`, 0},
	}
	if len(d.StringBindings) != len(want) {
		t.Fatalf("%+v", d.StringBindings)
	}
	for i := range want {
		if d.StringBindings[i] != want[i] {
			t.Errorf("binding %d: %+v, want %+v", i, d.StringBindings[i], want[i])
		}
	}
	if len(d.SecurityBindings) != 1 || d.SecurityBindings[0] != (SecurityBinding{0x10, 0xffff, "host/ca01.corp.example"}) {
		t.Errorf("security %+v", d.SecurityBindings)
	}
	if a, ok := d.StringBindings[1].Addr(); !ok || a.String() != "10.0.0.5" {
		t.Errorf("Addr %v %v", a, ok)
	}
	if _, ok := d.StringBindings[0].Addr(); ok {
		t.Error("CA01 parsed as an address")
	}

	d, err = ParseDualStringArray(dsaEdgeCases[1].b)
	if err != nil || len(d.StringBindings) != 1 || d.StringBindings[0].Port != 0 || d.StringBindings[0].Host != "CA01" || len(d.SecurityBindings) != 0 {
		t.Errorf("host only: %+v %v", d, err)
	}
	d, err = ParseDualStringArray(dsaEdgeCases[2].b)
	if err != nil || len(d.StringBindings) != 0 || len(d.SecurityBindings) != 0 {
		t.Errorf("empty: %+v %v", d, err)
	}
	// Trailing bytes after the array are not part of it.
	d, err = ParseDualStringArray(append(buildDSA([]sb{{7, "h[1]"}}, nil), 0xde, 0xad))
	if err != nil || len(d.StringBindings) != 1 || d.StringBindings[0].Port != 1 {
		t.Errorf("trailing: %+v %v", d, err)
	}
}

func TestStringBindingForms(t *testing.T) {
	for _, c := range []struct {
		tower      uint16
		addr, host string
		port       int
		tname      string
	}{
		{7, "CA01[abc]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[70000]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[65535]", "CA01", 65535, "ncacn_ip_tcp"},
		{7, "CA01[0]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[-1]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[49712", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "CA01[000049712]", "CA01", 0, "ncacn_ip_tcp"},
		{7, "fe80::1%12[49712]", "fe80::1%12", 49712, "ncacn_ip_tcp"},
		{8, "10.0.0.5[135]", "10.0.0.5", 135, "ncadg_ip_udp"},
		{0x10, "CA01", "CA01", 0, "ncalrpc"},
		{0x1f, "ca01.corp[593]", "ca01.corp", 593, "ncacn_http"},
		{0x99, "x", "x", 0, "tower_0x0099"},
		{7, "Ç\U0001F600[1]", "Ç\U0001F600", 1, "ncacn_ip_tcp"},
	} {
		d, err := ParseDualStringArray(buildDSA([]sb{{c.tower, c.addr}}, nil))
		if err != nil {
			t.Errorf("%q: %v", c.addr, err)
			continue
		}
		got := d.StringBindings[0]
		if got.NetworkAddr != c.addr || got.Host != c.host || got.Port != c.port || got.TowerName != c.tname {
			t.Errorf("%q: %+v", c.addr, got)
		}
	}
	// A lone surrogate decodes to U+FFFD instead of failing.
	d, err := ParseDualStringArray(le16(4, 4, 7, 0xd800, 0, 0))
	if err != nil || d.StringBindings[0].NetworkAddr != "\uFFFD" {
		t.Errorf("lone surrogate: %+v %v", d, err)
	}
}

func TestDualStringArrayMalformed(t *testing.T) {
	many := make([]sb, maxStringBindings+1)
	for i := range many {
		many[i] = sb{7, "a"}
	}
	manySec := make([]secb, maxSecurityBindings+1)
	for i := range manySec {
		manySec[i] = secb{9, 0xffff, ""}
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"nil", nil, "truncated"},
		{"3 bytes", []byte{1, 0, 0}, "truncated"},
		{"count lies", le16(100, 2, 7, 'a', 0, 0), "truncated"},
		{"count odd byte", append(le16(2, 1, 0), 0), "truncated"},
		{"secoff beyond", le16(2, 3, 0, 0), "security offset"},
		{"addr no NUL", le16(3, 3, 7, 'a', 'b'), "not NUL-terminated"},
		{"addr NUL past secoff", le16(5, 3, 7, 'a', 'b', 0, 0), "not NUL-terminated"},
		{"princ no NUL", le16(5, 1, 0, 9, 0xffff, 'a', 'b'), "not NUL-terminated"},
		{"authz missing", le16(2, 1, 0, 9), "truncated"},
		{"too many strings", buildDSA(many, nil), "more than"},
		{"too many secs", buildDSA(nil, manySec), "more than"},
	} {
		_, err := ParseDualStringArray(c.b)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ParseDualStringArray(nil); !errors.Is(err, ErrShort) {
		t.Errorf("nil: %v is not ErrShort", err)
	}
}
