package kerberos

import "testing"

func BenchmarkParse(b *testing.B) {
	var msgs [][]byte
	for _, p := range loadPDUs(b) {
		if p.tcp {
			msgs = append(msgs, p.raw[4:])
		} else {
			msgs = append(msgs, p.raw)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(msgs[i%len(msgs)]); err != nil {
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
