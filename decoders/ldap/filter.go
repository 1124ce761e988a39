package ldap

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/adcsflow/adcsflow/decoders/ber"
)

// Filter CHOICE tags (RFC 4511 section 4.5.1.7).
const (
	filterAnd        = 0
	filterOr         = 1
	filterNot        = 2
	filterEquality   = 3
	filterSubstrings = 4
	filterGreaterEq  = 5
	filterLessEq     = 6
	filterPresent    = 7
	filterApprox     = 8
	filterExtensible = 9
)

// filterWriter renders a Filter as RFC 4515 text into a bounded buffer and notes the DC
// locator assertions it passes.
type filterWriter struct {
	out   []byte
	full  bool // out reached MaxFilterLen: later text is dropped
	nodes int
	s     *SearchRequest
	a     *msgAlloc
}

func renderFilter(f ber.Element, s *SearchRequest, a *msgAlloc) error {
	w := filterWriter{out: a.filter[:0], s: s, a: a}
	if cap(w.out) == 0 {
		w.out = make([]byte, 0, 64)
	}
	err := w.filter(f, 0)
	a.filter = w.out[:0] // a Decoder's scratch for the next
	if err != nil {
		return err
	}
	s.Filter = a.names.String(w.out)
	if w.full {
		s.FilterTruncated = true
		s.Filter += "..."
	}
	return nil
}

func (w *filterWriter) write(s string) {
	if w.full {
		return
	}
	if len(w.out)+len(s) > MaxFilterLen {
		w.out = append(w.out, s[:MaxFilterLen-len(w.out)]...)
		w.full = true
		return
	}
	w.out = append(w.out, s...)
}

func (w *filterWriter) writeByte(c byte) {
	if w.full {
		return
	}
	if len(w.out) >= MaxFilterLen {
		w.full = true
		return
	}
	w.out = append(w.out, c)
}

const hexDigits = "0123456789abcdef"

// writeValue writes b escaped as RFC 4515 section 3 requires: '*', '(', ')', '\' and NUL
// become \XX, and so does every byte that is not printable ASCII or valid UTF-8.
func (w *filterWriter) writeValue(b []byte) {
	for len(b) > 0 && !w.full {
		c := b[0]
		if c >= 0x80 {
			r, n := utf8.DecodeRune(b)
			if r != utf8.RuneError && n > 1 {
				w.write(string(b[:n]))
				b = b[n:]
				continue
			}
		}
		if c < 0x20 || c >= 0x7f || c == '*' || c == '(' || c == ')' || c == '\\' {
			w.writeByte('\\')
			w.writeByte(hexDigits[c>>4])
			w.writeByte(hexDigits[c&0xf])
		} else {
			w.writeByte(c)
		}
		b = b[1:]
	}
}

func (w *filterWriter) filter(f ber.Element, depth int) error {
	if f.Class != ber.ClassContext {
		return ErrFilter
	}
	w.nodes++
	if depth >= MaxFilterDepth || w.nodes > maxFilterNodes {
		w.write("(...)")
		w.full = true
		return nil
	}
	switch f.Tag {
	case filterAnd, filterOr:
		if !f.Constructed {
			return ErrFilter
		}
		if f.Tag == filterAnd {
			w.write("(&")
		} else {
			w.write("(|")
		}
		v := f.Value
		for len(v) > 0 {
			c, rest, err := ber.Read(v)
			if err != nil {
				return err
			}
			if err := w.filter(c, depth+1); err != nil {
				return err
			}
			v = rest
		}
		w.writeByte(')')
	case filterNot:
		if !f.Constructed {
			return ErrFilter
		}
		c, rest, err := ber.Read(f.Value)
		if err != nil {
			return err
		}
		if len(rest) != 0 {
			return ErrFilter
		}
		w.write("(!")
		if err := w.filter(c, depth+1); err != nil {
			return err
		}
		w.writeByte(')')
	case filterEquality, filterGreaterEq, filterLessEq, filterApprox:
		// AttributeValueAssertion ::= SEQUENCE { attributeDesc, assertionValue }
		if !f.Constructed {
			return ErrFilter
		}
		a, v, err := prim(f.Value, ber.TagOctetString)
		if err != nil {
			return err
		}
		val, _, err := prim(v, ber.TagOctetString)
		if err != nil {
			return err
		}
		w.writeByte('(')
		w.writeValue(a.Value)
		switch f.Tag {
		case filterEquality:
			w.writeByte('=')
		case filterGreaterEq:
			w.write(">=")
		case filterLessEq:
			w.write("<=")
		default:
			w.write("~=")
		}
		if f.Tag != filterEquality || !w.locator(a.Value, val.Value) {
			w.writeValue(val.Value)
		}
		w.writeByte(')')
	case filterSubstrings:
		// SubstringFilter ::= SEQUENCE { type, substrings SEQUENCE OF CHOICE {
		//     initial [0], any [1], final [2] } }
		if !f.Constructed {
			return ErrFilter
		}
		a, v, err := prim(f.Value, ber.TagOctetString)
		if err != nil {
			return err
		}
		subs, _, err := seq(v)
		if err != nil {
			return err
		}
		w.writeByte('(')
		w.writeValue(a.Value)
		w.writeByte('=')
		sv := subs.Value
		last := -1
		for len(sv) > 0 {
			c, rest, err := ber.Read(sv)
			if err != nil {
				return err
			}
			if c.Class != ber.ClassContext || c.Tag > 2 {
				return ErrFilter
			}
			if c.Tag != 0 || last != -1 {
				w.writeByte('*')
			}
			w.writeValue(c.Value)
			last = c.Tag
			sv = rest
		}
		if last != 2 {
			w.writeByte('*')
		}
		w.writeByte(')')
	case filterPresent:
		if f.Constructed {
			return ErrFilter
		}
		w.writeByte('(')
		w.writeValue(f.Value)
		w.write("=*)")
	case filterExtensible:
		// MatchingRuleAssertion ::= SEQUENCE { matchingRule [1] OPTIONAL, type [2]
		//     OPTIONAL, matchValue [3], dnAttributes [4] BOOLEAN DEFAULT FALSE }
		if !f.Constructed {
			return ErrFilter
		}
		var rule, typ, val []byte
		var dn, haveVal bool
		v := f.Value
		for len(v) > 0 {
			c, rest, err := ber.Read(v)
			if err != nil {
				return err
			}
			if c.Class != ber.ClassContext {
				return ErrFilter
			}
			switch c.Tag {
			case 1:
				rule = c.Value
			case 2:
				typ = c.Value
			case 3:
				val, haveVal = c.Value, true
			case 4:
				dn = len(c.Value) == 1 && c.Value[0] != 0
			default:
				return ErrFilter
			}
			v = rest
		}
		if !haveVal {
			return ErrFilter
		}
		w.writeByte('(')
		w.writeValue(typ)
		if dn {
			w.write(":dn")
		}
		if rule != nil {
			w.writeByte(':')
			w.writeValue(rule)
		}
		w.write(":=")
		w.writeValue(val)
		w.writeByte(')')
	default:
		return ErrFilter
	}
	return nil
}

// locator records the MS-ADTS 6.3.3.1 netlogon ping assertions. It writes the value and
// returns true for a 4-byte NtVer (shown as a little-endian hex number) and a 16-byte
// DomainGuid (shown as a GUID), as tshark shows them.
func (w *filterWriter) locator(attr, val []byte) bool {
	if len(attr) > 16 {
		return false
	}
	switch {
	case strings.EqualFold(string(attr), "NtVer"):
		w.s.hasNtVer = true
		if len(val) == 4 {
			n := binary.LittleEndian.Uint32(val)
			var buf [10]byte
			buf[0], buf[1] = '0', 'x'
			for i := 0; i < 8; i++ {
				buf[9-i] = hexDigits[n&0xf]
				n >>= 4
			}
			w.write(string(buf[:]))
			return true
		}
	case strings.EqualFold(string(attr), "DomainGuid"):
		if len(val) == 16 {
			// A GUID in its Windows byte order, printed as tshark does.
			var buf [36]byte
			j := 0
			for i, k := range [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15} {
				if i == 4 || i == 6 || i == 8 || i == 10 {
					buf[j] = '-'
					j++
				}
				buf[j], buf[j+1] = hexDigits[val[k]>>4], hexDigits[val[k]&0xf]
				j += 2
			}
			w.write(string(buf[:]))
			return true
		}
	case strings.EqualFold(string(attr), "DnsDomain"):
		if w.s.DnsDomain == "" {
			w.s.DnsDomain = w.a.str(val, 255)
		}
	case strings.EqualFold(string(attr), "Host"):
		if w.s.Host == "" {
			w.s.Host = w.a.str(val, 255)
		}
	case strings.EqualFold(string(attr), "User"):
		if w.s.User == "" {
			w.s.User = w.a.str(val, 255)
		}
	}
	return false
}
