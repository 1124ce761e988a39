package kerberos

import (
	"reflect"
	"testing"
)

// reuse are messages ParseInto reads before the fuzzed bytes (set by seedPDUs).
var reuse [][]byte

func seedPDUs(f *testing.F) {
	for _, p := range loadPDUs(f) {
		b := p.raw
		if p.tcp {
			if len(reuse) < 8 {
				reuse = append(reuse, b[4:])
			}
			f.Add(b) // with the mark: exercises LooksLike and FrameTCP
			b = b[4:]
		}
		f.Add(b)
	}
}

// FuzzParse runs Parse, LooksLike and FrameTCP on arbitrary bytes: none may panic, and a
// successful Parse must yield a known message type whose names are consistent.
func FuzzParse(f *testing.F) {
	seedPDUs(f)
	f.Add([]byte{0x7e, 0x84, 0, 0, 0, 3, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		LooksLike(b)
		if n, err := FrameTCP(b); err == nil && (n < 5 || n > 4+maxTCPRecord) {
			t.Fatalf("FrameTCP = %d", n)
		}
		m, err := Parse(b)
		// A Message reused by ParseInto after other bytes gives what Parse gives.
		reused := new(Message)
		for _, p := range reuse {
			ParseInto(reused, p)
		}
		rerr := ParseInto(reused, b)
		if (rerr == nil) != (err == nil) {
			t.Fatalf("ParseInto: %v, Parse: %v", rerr, err)
		}
		brief := new(Message)
		if berr := ParseBriefInto(brief, b); (berr == nil) != (err == nil) {
			t.Fatalf("ParseBriefInto: %v, Parse: %v", berr, err)
		}
		if err != nil {
			if m != nil {
				t.Fatal("message with error")
			}
			return
		}
		if !sameMessage(reused, m) {
			t.Fatalf("ParseInto = %+v, Parse = %+v", reused, m)
		}
		// The brief decode is the full one without the nested AP-REQ and an error's
		// METHOD-DATA types, errors included.
		full := *m
		full.APReq = nil
		if full.Type == TypeKRBError {
			full.PAData = nil
		}
		if brief.APReq != nil || !sameMessage(brief, &full) {
			t.Fatalf("ParseBriefInto = %+v, Parse = %+v", brief, m)
		}
		if m.TypeName() == "" || (m.ErrorName() != "" && !m.IsError()) {
			t.Fatalf("inconsistent message %+v", m)
		}
		if len(m.ETypes) > maxListEntries || len(m.PAData) > maxListEntries || len(m.Tickets) > maxTickets {
			t.Fatal("cap exceeded")
		}
		m.Skew()
	})
}

// FuzzParseKpasswd runs ParseKpasswd and LooksLikeKpasswd on arbitrary bytes, and checks
// that a KpasswdDecoder that decoded other messages first gives what ParseKpasswd gives.
func FuzzParseKpasswd(f *testing.F) {
	seeds := kpasswdSeeds(f)
	for _, b := range seeds {
		f.Add(b)
	}
	var dec KpasswdDecoder
	f.Fuzz(func(t *testing.T, b []byte) {
		LooksLikeKpasswd(b)
		k, err := ParseKpasswd(b)
		dec.Parse(seeds[len(b)%len(seeds)])
		r, rerr := dec.Parse(b)
		if (rerr == nil) != (err == nil) || err == nil && !sameKpasswd(r, k) {
			t.Fatalf("KpasswdDecoder: %+v, %v; ParseKpasswd: %+v, %v", r, rerr, k, err)
		}
		if err != nil {
			if k != nil {
				t.Fatal("message with error")
			}
			return
		}
		if k.Request && (k.AP == nil || k.AP.Type != TypeAPReq || k.Error != nil) {
			t.Fatalf("inconsistent request %+v", k)
		}
		if k.HasResult && k.Error == nil {
			t.Fatal("result without KRB-ERROR")
		}
		k.Kind()
		k.ResultName()
	})
}

// sameMessage compares two messages, an empty list being the same as none.
func sameMessage(a, b *Message) bool {
	norm := func(m Message) Message {
		if len(m.ETypes) == 0 {
			m.ETypes = nil
		}
		if len(m.PAData) == 0 {
			m.PAData = nil
		}
		if len(m.EncETypes) == 0 {
			m.EncETypes = nil
		}
		if len(m.Tickets) == 0 {
			m.Tickets = nil
		}
		m.APReq = nil
		m.spare, m.names, m.brief = nil, nil, false // storage, interned names, mode: not content
		return m
	}
	if (a.APReq == nil) != (b.APReq == nil) || a.APReq != nil && !sameMessage(a.APReq, b.APReq) {
		return false
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

// sameKpasswd compares two kpasswd messages, their Kerberos messages as sameMessage does.
func sameKpasswd(a, b *KpasswdMessage) bool {
	same := func(x, y *Message) bool {
		if x == nil || y == nil {
			return x == y
		}
		return sameMessage(x, y)
	}
	ac, bc := *a, *b
	ac.AP, ac.Priv, ac.Error, bc.AP, bc.Priv, bc.Error = nil, nil, nil, nil, nil, nil
	return ac == bc && same(a.AP, b.AP) && same(a.Priv, b.Priv) && same(a.Error, b.Error)
}
