package tls

import "testing"

var fixtures = []struct {
	name       string
	serverPort int
}{
	{"psloggedon_stream3.hex", 443},
	{"psloggedon_stream4.hex", 443},
	{"ldap_starttls.hex", 389},
}

// records cuts a fixture into its records; the first byte of each is 'c' or 's'.
func records(t testing.TB, name string, serverPort int) [][]byte {
	var out [][]byte
	var bufs [2][]byte
	for _, s := range loadSegments(t, name) {
		d := 0
		if s.srcPort != serverPort {
			d = 1
		}
		bufs[d] = append(bufs[d], s.payload...)
		for {
			n, err := Frame(bufs[d])
			if err != nil {
				break
			}
			out = append(out, append([]byte{"sc"[d]}, bufs[d][:n]...))
			bufs[d] = bufs[d][n:]
		}
	}
	return out
}

func FuzzFrame(f *testing.F) {
	for _, fx := range fixtures {
		for _, r := range records(f, fx.name, fx.serverPort) {
			f.Add(r[1:])
		}
	}
	for _, s := range loadSegments(f, "not_tls.hex") {
		f.Add(s.payload)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Frame(b)
		if err == nil && (n < RecordHeaderLen || n > len(b) || n > RecordHeaderLen+MaxRecordLen) {
			t.Fatalf("Frame = %d for %d bytes", n, len(b))
		}
		if err == ErrNeedMore && n != 0 && n <= len(b) {
			t.Fatalf("ErrNeedMore with total %d <= %d", n, len(b))
		}
		if LooksLike(b) && (b[0] != TypeHandshake && b[0] != TypeAlert) {
			t.Fatalf("LooksLike on type %d", b[0])
		}
	})
}

// FuzzHandshake feeds one handshake message body to the parser its type selects.
func FuzzHandshake(f *testing.F) {
	for _, fx := range fixtures {
		for _, r := range records(f, fx.name, fx.serverPort) {
			rec := r[1:]
			if rec[0] != TypeHandshake || len(rec) < RecordHeaderLen+4 {
				continue
			}
			f.Add(rec[RecordHeaderLen], rec[RecordHeaderLen+4:])
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		switch typ % 3 {
		case 0:
			ch, err := ParseClientHello(body)
			if err == nil {
				if len(ch.CipherSuites) > MaxCipherSuites || len(ch.ALPN) > MaxALPN ||
					len(ch.SupportedVersions) > MaxVersions || ch.NumCipherSuites*2 > len(body) {
					t.Fatalf("caps exceeded: %+v", ch)
				}
				_ = ch.MaxVersion()
			}
		case 1:
			sh, err := ParseServerHello(body)
			if err == nil {
				_ = VersionName(sh.Version())
				_ = sh.CipherSuiteName()
			}
		case 2:
			c, err := ParseCertificate(body)
			if err == nil && c.ChainLen > len(body)/4 {
				t.Fatalf("chain of %d in %d bytes", c.ChainLen, len(body))
			}
		}
	})
}

// FuzzStream feeds a sequence of records, each prefixed by a direction byte ('c' = client),
// to a Conn.
func FuzzStream(f *testing.F) {
	for _, fx := range fixtures {
		var all []byte
		for _, r := range records(f, fx.name, fx.serverPort) {
			all = append(all, r...)
		}
		f.Add(all)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Conn
		for len(b) > 1 {
			fromClient := b[0] == 'c'
			n, err := Frame(b[1:])
			if err != nil {
				// Feed the broken remainder once to exercise the error path.
				c.Feed(fromClient, b[1:])
				break
			}
			ev, _ := c.Feed(fromClient, b[1:1+n])
			for _, e := range ev {
				_ = e.Alert.DescriptionName()
			}
			b = b[1+n:]
			for _, s := range []*Stream{&c.Client, &c.Server} {
				if len(s.buf) > MaxHandshakeLen+4+MaxRecordLen {
					t.Fatalf("buffer grew to %d", len(s.buf))
				}
			}
		}
		_ = c.HandshakeComplete()
	})
}
