package kerberos

import "testing"

func benchPDUs(b *testing.B) [][]byte {
	var msgs [][]byte
	for _, p := range loadPDUs(b) {
		if p.tcp {
			msgs = append(msgs, p.raw[4:])
		} else {
			msgs = append(msgs, p.raw)
		}
	}
	return msgs
}

func BenchmarkParse(b *testing.B) {
	msgs := benchPDUs(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseInto and BenchmarkParseBriefInto decode into a reused Message, as the
// analyzer does.
func BenchmarkParseInto(b *testing.B)      { benchInto(b, ParseInto) }
func BenchmarkParseBriefInto(b *testing.B) { benchInto(b, ParseBriefInto) }

func benchInto(b *testing.B, parse func(*Message, []byte) error) {
	msgs := benchPDUs(b)
	m := new(Message)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := parse(m, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLooksLike(b *testing.B) {
	msg := loadPDUs(b)[0].raw
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		LooksLike(msg)
	}
}
