package kerberos

import "github.com/adcsflow/adcsflow/decoders/ber"

// FrameTCP reads the 4-byte record mark (RFC 4120 section 7.2.2, also used by kpasswd over
// TCP) at the start of b and returns 4 plus the record length: the number of bytes the caller
// must buffer before it holds the whole record. It returns ErrNeedMore when b is shorter than
// 4 bytes, ErrRecordMark when the reserved high bit is set and ErrRecordLength for a zero
// length or one above 1 MiB (the caller should stop buffering and report the stream
// malformed). It does not require the record itself to be present.
func FrameTCP(b []byte) (total int, err error) {
	if len(b) < 4 {
		return 0, ErrNeedMore
	}
	if b[0]&0x80 != 0 {
		return 0, ErrRecordMark
	}
	n := int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	if n == 0 || n > maxTCPRecord {
		return 0, ErrRecordLength
	}
	return 4 + n, nil
}

// LooksLike reports whether b begins like a Kerberos message: a UDP datagram, or a TCP
// payload with or without the 4-byte record mark. It checks the application tag (10-15,
// 20-22, 30), that a SEQUENCE follows, that pvno is 5 and that msg-type equals the tag, and
// that the lengths nest (the message itself may be cut short, as in a first TCP segment).
// With a record mark, the mark must equal the message's encoded length.
func LooksLike(b []byte) bool {
	if looksLikeMessage(b, -1) {
		return true
	}
	if len(b) < 4 || b[0] != 0 || b[1]&0xf0 != 0 {
		return false
	}
	n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
	return looksLikeMessage(b[4:], n)
}

// looksLikeMessage checks the start of one message; want >= 0 is the exact encoded length
// the message must have.
func looksLikeMessage(b []byte, want int) bool {
	class, cons, tag, vl, hl, err := ber.Header(b)
	if err != nil || class != ber.ClassApplication || !cons || !isMsgType(tag) {
		return false
	}
	if want >= 0 && hl+vl != want {
		return false
	}
	b = b[hl:]
	class, cons, stag, svl, shl, err := ber.Header(b)
	if err != nil || class != ber.ClassUniversal || !cons || stag != ber.TagSequence || shl+svl != vl {
		return false
	}
	b = b[shl:]
	pvnoTag := 0
	if tag == TypeASReq || tag == TypeTGSReq {
		pvnoTag = 1
	}
	return smallIntField(b, pvnoTag, 5) && smallIntField(skipField(b), pvnoTag+1, tag)
}

// smallIntField checks that b starts with [tag] { INTEGER want } for 0 <= want < 128, in its
// minimal (DER) encoding or with non-minimal long-form lengths.
func smallIntField(b []byte, tag, want int) bool {
	class, cons, t, vl, hl, err := ber.Header(b)
	if err != nil || class != ber.ClassContext || !cons || t != tag || vl > len(b)-hl {
		return false
	}
	in, _, err := ber.Read(b[hl : hl+vl])
	if err != nil || !in.Is(ber.ClassUniversal, ber.TagInteger) || in.Constructed || in.Len() != vl {
		return false
	}
	return len(in.Value) == 1 && int(in.Value[0]) == want
}

// skipField returns b after its first element, or nil.
func skipField(b []byte) []byte {
	_, rest, err := ber.Read(b)
	if err != nil {
		return nil
	}
	return rest
}
