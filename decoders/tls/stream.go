package tls

// MaxHandshakeLen caps one handshake message reassembled across records. Real certificate
// chains stay well below it; a larger length field is treated as an error rather than
// buffered.
const MaxHandshakeLen = 1 << 18

// Kind is the kind of an Event.
type Kind uint8

// Event kinds.
const (
	// KindHandshake: a handshake message read in clear. HandshakeType says which;
	// ClientHello, ServerHello or Certificate is set for those types.
	KindHandshake Kind = iota + 1
	// KindEncryptedHandshake: a handshake record sent after the sender's
	// ChangeCipherSpec (in TLS 1.2 the first is Finished). Its content is not read.
	KindEncryptedHandshake
	// KindAlert: one alert; Alert.Encrypted when it could not be read.
	KindAlert
	// KindChangeCipherSpec: a ChangeCipherSpec record.
	KindChangeCipherSpec
)

// Event is one finding from a record. Only the pointer matching HandshakeType is set.
type Event struct {
	Kind          Kind
	HandshakeType uint8
	ClientHello   *ClientHello
	ServerHello   *ServerHello
	Certificate   *Certificate
	// Err is set when a ClientHello, ServerHello or Certificate message was framed
	// correctly but its body did not parse; the pointer is then nil.
	Err   error
	Alert Alert
}

// Stream follows one direction of a TLS connection. Feed it the records of that
// direction in order (as Frame cuts them). It reassembles handshake messages that span
// records, splits records holding several, and stops reading handshake content once the
// direction is encrypted: after its ChangeCipherSpec, or in TLS 1.3 after the ServerHello
// (the server Stream sees that itself; the client Stream must be told, which Conn does).
// The zero value is ready to use.
type Stream struct {
	buf       []byte // a partial handshake message carried over from earlier records
	encrypted bool
	tls13     bool
	broken    bool // handshake framing lost: further clear handshake bytes are skipped

	ccs          bool
	encHandshake int
	appData      int
	records      int
	version      uint16 // from a ServerHello this Stream parsed or was told about
}

// Encrypted reports whether this direction has switched to encryption.
func (s *Stream) Encrypted() bool { return s.encrypted }

// SawChangeCipherSpec reports whether this direction sent a ChangeCipherSpec.
func (s *Stream) SawChangeCipherSpec() bool { return s.ccs }

// EncryptedHandshakeRecords counts handshake records sent after encryption began.
func (s *Stream) EncryptedHandshakeRecords() int { return s.encHandshake }

// ApplicationDataRecords counts application_data records.
func (s *Stream) ApplicationDataRecords() int { return s.appData }

// Records counts the records fed.
func (s *Stream) Records() int { return s.records }

// Version is the version chosen by a ServerHello seen on this Stream (or given by
// SetVersion), 0 if none.
func (s *Stream) Version() uint16 { return s.version }

// SetVersion tells the Stream the version the peer's ServerHello chose. For TLS 1.3 it
// marks the Stream encrypted from now on: a client sends nothing in clear after the
// ServerHello except ChangeCipherSpec (a HelloRetryRequest must not be passed here).
func (s *Stream) SetVersion(v uint16) {
	s.version = v
	if v == VersionTLS13 {
		s.tls13 = true
		s.encrypted = true
		s.buf = nil
	}
}

// Feed takes exactly one record (header included) and returns what it says. A record
// that does not frame is an error and changes nothing. An error from a handshake message
// body is reported in the Event; an error in handshake framing (an impossible length) is
// returned, and the Stream then ignores clear handshake bytes but still counts records,
// ChangeCipherSpec and alerts.
func (s *Stream) Feed(record []byte) ([]Event, error) {
	n, err := Frame(record)
	if err == ErrNeedMore {
		return nil, ErrRecordSize
	}
	if err != nil {
		return nil, err
	}
	if n != len(record) {
		return nil, ErrRecordSize
	}
	s.records++
	frag := record[RecordHeaderLen:]
	switch record[0] {
	case TypeChangeCipherSpec:
		s.ccs = true
		if !s.tls13 {
			s.encrypted = true
		}
		s.buf = nil
		return []Event{{Kind: KindChangeCipherSpec}}, nil
	case TypeAlert:
		return s.alerts(frag)
	case TypeApplicationData:
		s.appData++
		return nil, nil
	case TypeHandshake:
		if s.encrypted {
			s.encHandshake++
			return []Event{{Kind: KindEncryptedHandshake}}, nil
		}
		return s.handshake(frag)
	}
	return nil, nil // heartbeat
}

// alerts reads a plaintext alert record (several two-byte alerts may share one). After
// encryption began a record is reported as one encrypted alert, except a record of
// exactly two bytes, which no cipher in use can produce and so is plaintext.
func (s *Stream) alerts(frag []byte) ([]Event, error) {
	if s.encrypted && len(frag) != 2 {
		return []Event{{Kind: KindAlert, Alert: Alert{Encrypted: true}}}, nil
	}
	if len(frag) == 0 || len(frag)%2 != 0 {
		return nil, ErrAlertLength
	}
	ev := make([]Event, 0, len(frag)/2)
	for i := 0; i+1 < len(frag); i += 2 {
		ev = append(ev, Event{Kind: KindAlert, Alert: Alert{Level: frag[i], Description: frag[i+1]}})
	}
	return ev, nil
}

// handshake appends frag to any carried-over partial message and parses every complete
// message. Complete messages inside frag are parsed in place; only an incomplete tail is
// copied.
func (s *Stream) handshake(frag []byte) ([]Event, error) {
	if s.broken {
		return nil, nil
	}
	data := frag
	if len(s.buf) > 0 {
		s.buf = append(s.buf, frag...)
		data = s.buf
	}
	var ev []Event
	for len(data) >= 4 {
		mlen := int(data[1])<<16 | int(data[2])<<8 | int(data[3])
		if mlen > MaxHandshakeLen {
			s.broken = true
			s.buf = nil
			return ev, ErrHandshakeTooBig
		}
		if len(data) < 4+mlen {
			break
		}
		e := s.message(data[0], data[4:4+mlen])
		ev = append(ev, e)
		data = data[4+mlen:]
		if s.encrypted { // a TLS 1.3 ServerHello: whatever follows is not clear
			s.buf = nil
			return ev, nil
		}
	}
	switch {
	case len(data) == 0:
		s.buf = s.buf[:0]
	case len(s.buf) > 0:
		// data is a tail of s.buf: move it to the front, no new allocation.
		s.buf = s.buf[:copy(s.buf, data)]
	default:
		s.buf = append(s.buf[:0], data...)
	}
	return ev, nil
}

func (s *Stream) message(typ uint8, body []byte) Event {
	e := Event{Kind: KindHandshake, HandshakeType: typ}
	switch typ {
	case typeClientHello:
		e.ClientHello, e.Err = ParseClientHello(body)
	case typeServerHello:
		e.ServerHello, e.Err = ParseServerHello(body)
		if e.Err == nil && !e.ServerHello.HelloRetryRequest {
			s.version = e.ServerHello.Version()
			if s.version == VersionTLS13 {
				s.tls13 = true
				s.encrypted = true
			}
		}
	case typeCertificate:
		if s.tls13 {
			break // TLS 1.3 certificates are never in clear
		}
		e.Certificate, e.Err = ParseCertificate(body)
	}
	return e
}

// Conn follows both directions of one connection and decides whether the handshake
// completed. The zero value is ready to use.
type Conn struct {
	Client, Server Stream

	version       uint16
	clientEnc13   int  // TLS 1.3: client application_data records (Finished first)
	complete13    bool // TLS 1.3: server sent encrypted data after the client's first
	serverHelloOK bool
}

// Feed passes one record of the given direction to its Stream. When the server's
// ServerHello picks TLS 1.3 it marks the client direction encrypted too.
func (c *Conn) Feed(fromClient bool, record []byte) ([]Event, error) {
	if fromClient {
		ev, err := c.Client.Feed(record)
		if err == nil && c.version == VersionTLS13 && len(record) > 0 && record[0] == TypeApplicationData {
			c.clientEnc13++
		}
		return ev, err
	}
	ev, err := c.Server.Feed(record)
	if err == nil && c.version == VersionTLS13 && c.clientEnc13 > 0 && len(record) > 0 &&
		record[0] == TypeApplicationData {
		c.complete13 = true
	}
	if !c.serverHelloOK && c.Server.Version() != 0 {
		c.serverHelloOK = true
		c.version = c.Server.Version()
		c.Client.SetVersion(c.version)
	}
	return ev, err
}

// Version is the version the ServerHello chose, 0 if none was seen.
func (c *Conn) Version() uint16 { return c.version }

// HandshakeComplete reports whether the handshake is known to have completed.
//
// TLS 1.2 and older: each direction sent ChangeCipherSpec followed by an encrypted
// handshake record (Finished), or each direction sent application data (which also covers
// captures that start after the handshake). TLS 1.3, where everything after the
// ServerHello travels as application_data: the client sent two encrypted records
// (Finished, then data), or the server sent an encrypted record after the client's first
// one (a client that rejects the server sends one encrypted alert and stops; a server that
// rejects a client certificate is indistinguishable from one that accepted it).
func (c *Conn) HandshakeComplete() bool {
	if c.version == VersionTLS13 {
		return c.complete13 || c.clientEnc13 >= 2
	}
	if c.Client.ccs && c.Client.encHandshake > 0 && c.Server.ccs && c.Server.encHandshake > 0 {
		return true
	}
	return c.Client.appData > 0 && c.Server.appData > 0
}
