package http

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

type segment struct {
	frame   int
	srcPort int
	payload []byte
}

// loadSegments reads a fixture written by tshark -T fields -e frame.number -e
// tcp.srcport -e tcp.payload (see testdata/README.md).
func loadSegments(t testing.TB, name string) []segment {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []segment
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			t.Fatalf("%s: bad line %q", name, sc.Text())
		}
		fr, err1 := strconv.Atoi(fields[0])
		port, err2 := strconv.Atoi("0" + fields[1])
		b, err3 := hex.DecodeString(fields[2])
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out = append(out, segment{fr, port, b})
	}
	return out
}

// message is one parsed head with the frame that completed it, as the test compares
// with the tshark columns.
type message struct {
	frame int
	req   *Request
	resp  *Response
}

// replay walks one TCP connection as an analyzer would: per direction, parse a head,
// skip its body (Content-Length or chunked), repeat.
func replay(t *testing.T, segs []segment, serverPort int) []message {
	t.Helper()
	var out []message
	var bufs [2][]byte
	var skip [2]int // body bytes still to skip
	var chunked [2]bool
	for _, s := range segs {
		d := 0
		if s.srcPort == serverPort {
			d = 1
		}
		bufs[d] = append(bufs[d], s.payload...)
		for len(bufs[d]) > 0 {
			if chunked[d] {
				n, err := ChunkedLen(bufs[d])
				if err == ErrNeedMore {
					break
				}
				if err != nil {
					t.Fatalf("frame %d: chunked: %v", s.frame, err)
				}
				bufs[d], chunked[d] = bufs[d][n:], false
				continue
			}
			if skip[d] > 0 {
				k := min(skip[d], len(bufs[d]))
				bufs[d], skip[d] = bufs[d][k:], skip[d]-k
				continue
			}
			var cl int64
			var ch bool
			var n int
			var err error
			if d == 0 {
				var r *Request
				r, n, err = ParseRequest(bufs[d])
				if err == nil {
					out = append(out, message{frame: s.frame, req: r})
					cl, ch = r.ContentLength, r.Chunked
				}
			} else {
				var r *Response
				r, n, err = ParseResponse(bufs[d])
				if err == nil {
					out = append(out, message{frame: s.frame, resp: r})
					cl, ch = r.ContentLength, r.Chunked
				}
			}
			if err == ErrNeedMore {
				break
			}
			if err != nil {
				t.Fatalf("frame %d: %v", s.frame, err)
			}
			bufs[d] = bufs[d][n:]
			chunked[d] = ch
			if cl > 0 {
				skip[d] = int(cl)
			}
		}
	}
	return out
}

// The columns of otrf_iertutil_stream6.tshark: frame|method|host|uri|version|code|phrase|
// content_length|transfer_encoding. tshark lists each POST in the frame that completes its
// body (191, 197, 214), after the server's "100 Continue"; the replay sees the POST head
// complete in the earlier frame (188, 194, 210: the client sent Expect: 100-continue and
// waited), so those rows carry the head's frame and come before the 100.
func TestOTRFKeepAlive(t *testing.T) {
	got := replay(t, loadSegments(t, "otrf_iertutil_stream6.hex"), 80)
	want := []string{
		"184|GET|10.10.10.5|/en-us/docs.html|HTTP/1.1|||0|",
		"186||||HTTP/1.1|200|OK|-1|chunked",
		"188|POST|10.10.10.5|/en-us/docs.html|HTTP/1.1|||1036|",
		"190||||HTTP/1.1|100|Continue|0|",
		"193||||HTTP/1.1|200|OK|-1|chunked",
		"194|POST|10.10.10.5|/en-us/index.html|HTTP/1.1|||316|",
		"196||||HTTP/1.1|100|Continue|0|",
		"209||||HTTP/1.1|200|OK|-1|chunked",
		"210|POST|10.10.10.5|/en-us/index.html|HTTP/1.1|||316|",
		"213||||HTTP/1.1|100|Continue|0|",
	}
	compare(t, got, want)
}

func compare(t *testing.T, got []message, want []string) {
	t.Helper()
	rows := make([]string, len(got))
	for i, m := range got {
		if m.req != nil {
			rows[i] = strings.Join([]string{strconv.Itoa(m.frame), m.req.Method, m.req.Host, m.req.Target,
				m.req.Version, "", "", strconv.FormatInt(m.req.ContentLength, 10), chunk(m.req.Chunked)}, "|")
		} else {
			rows[i] = strings.Join([]string{strconv.Itoa(m.frame), "", "", "", m.resp.Version,
				strconv.Itoa(m.resp.Status), m.resp.Reason, strconv.FormatInt(m.resp.ContentLength, 10),
				chunk(m.resp.Chunked)}, "|")
		}
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d messages, want %d:\n%s", len(rows), len(want), strings.Join(rows, "\n"))
	}
	for i := range rows {
		if rows[i] != want[i] {
			t.Errorf("message %d: got %q want %q", i, rows[i], want[i])
		}
	}
}

func chunk(b bool) string {
	if b {
		return "chunked"
	}
	return ""
}

func TestZeekMAPIHTTP(t *testing.T) {
	segs := loadSegments(t, "zeek_mapi_http.hex")
	// Head-bearing segments from two connections, each parsed alone. tshark reports the
	// two responses in the frames completing their bodies (107 for the head in 73, 178 for
	// the head in 139) and none for 161, whose body lost a segment (its Info column still
	// reads "HTTP/1.0 200 OK").
	want := map[int]string{
		73:  "HTTP/1.0|200|OK|10784",
		123: "GET|webmail.aol.com|/@iconURL@|HTTP/1.1",
		139: "HTTP/1.0|404|Not Found|546",
		143: "GET|webmail.aol.com|/dig/brandInfo.js|HTTP/1.1",
		161: "HTTP/1.0|200|OK|3366",
		361: "GET|webmail.aol.com|/msglist.adp?refreshedOnError=2|HTTP/1.1",
	}
	// The server sent each response head in a segment of its own (the 546-byte 404 body
	// is frame 178 alone, tshark tcp.len 546), so the head length is the segment length.
	for _, s := range segs {
		var got string
		switch {
		case LooksLikeRequest(s.payload):
			r, _, err := ParseRequest(s.payload)
			if err != nil {
				t.Fatalf("frame %d: %v", s.frame, err)
			}
			got = r.Method + "|" + r.Host + "|" + r.Target + "|" + r.Version
			if s.frame == 361 && (r.Path != "/msglist.adp" || r.ContentLength != 0 || r.Chunked) {
				t.Errorf("path %q cl %d", r.Path, r.ContentLength)
			}
		case LooksLikeResponse(s.payload):
			r, n, err := ParseResponse(s.payload)
			if err != nil {
				t.Fatalf("frame %d: %v", s.frame, err)
			}
			got = r.Version + "|" + strconv.Itoa(r.Status) + "|" + r.Reason + "|" + strconv.FormatInt(r.ContentLength, 10)
			if n != len(s.payload) {
				t.Errorf("frame %d: head %d of %d bytes", s.frame, n, len(s.payload))
			}
		default:
			t.Fatalf("frame %d not recognised", s.frame)
		}
		if got != want[s.frame] {
			t.Errorf("frame %d: %q want %q (tshark)", s.frame, got, want[s.frame])
		}
		delete(want, s.frame)
	}
	if len(want) != 0 {
		t.Errorf("frames not in fixture: %v", want)
	}
}

func TestSSDP(t *testing.T) {
	s := loadSegments(t, "ssdp_msearch.hex")[0]
	if !LooksLikeRequest(s.payload) {
		t.Fatal("M-SEARCH not recognised")
	}
	r, n, err := ParseRequest(s.payload)
	if err != nil || n != len(s.payload) {
		t.Fatalf("%v %d/%d", err, n, len(s.payload))
	}
	if r.Method != "M-SEARCH" || r.Target != "*" || r.Host != "239.255.255.250:1900" || r.Version != "HTTP/1.1" {
		t.Errorf("%+v", r)
	}
	if Classify(r.Method, r.Path) != "" {
		t.Error("classified")
	}
}

func TestNeedMoreAndLimits(t *testing.T) {
	full := []byte("GET /CertEnroll/ca.crl HTTP/1.1\r\nHost: pki.corp.example\r\n\r\nrest")
	for i := 0; i < len(full)-4; i++ {
		if _, _, err := ParseRequest(full[:i]); err != ErrNeedMore {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	r, n, err := ParseRequest(full)
	if err != nil || n != len(full)-4 || r.Path != "/CertEnroll/ca.crl" || r.Host != "pki.corp.example" {
		t.Fatalf("%+v %d %v", r, n, err)
	}
	big := append([]byte("GET / HTTP/1.1\r\nX: "), make([]byte, MaxHeaderLen)...)
	if _, _, err := ParseRequest(big); err != ErrHeaderTooLarge {
		t.Errorf("64 KiB head: %v", err)
	}
	if _, _, err := ParseRequest(big[:MaxHeaderLen-1]); err != ErrNeedMore {
		t.Errorf("just under: %v", err)
	}
	for _, bad := range []string{
		"GET\r\n\r\n",
		"GET / FOO/1.1\r\n\r\n",
		"\x16\x03\x01\x00\x10\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	} {
		if _, _, err := ParseRequest([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, bad := range []string{"HTTP/1.1 abc\r\n\r\n", "HTTP/1.1\r\n\r\n", "SSH-2.0\r\n\r\n"} {
		if _, _, err := ParseResponse([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// RPC over HTTP v2 sends a huge Content-Length as a channel length.
	r, _, err = ParseRequest([]byte("RPC_IN_DATA /rpc/rpcproxy.dll?ca01:6001 HTTP/1.1\r\nHost: ca01\r\nContent-Length: 1073741824\r\n\r\n"))
	if err != nil || r.ContentLength != 1073741824 || Classify(r.Method, r.Target) != ClassRPCOverHTTP {
		t.Errorf("rpc_in_data %+v %v", r, err)
	}
	// A response delimited by the connection close.
	resp, _, err := ParseResponse([]byte("HTTP/1.0 200 OK\nContent-Type: x\n\n"))
	if err != nil || resp.ContentLength != -1 || resp.Chunked || resp.Reason != "OK" {
		t.Errorf("close-delimited %+v %v", resp, err)
	}
}

func TestLooksLike(t *testing.T) {
	yes := []string{"GET / HTTP/1.1", "POST /ADPolicyProvider_CEP_Kerberos/service.svc HTTP/1.1",
		"CCM_POST /ccm_system/request HTTP/1.1", "RPC_OUT_DATA /rpc/rpcproxy.dll?x HTTP/1.1",
		"M-SEARCH * HTTP/1.1", "CONNECT ca01:443 HTTP/1.1", "OPTIONS * HTTP/1.1"}
	for _, s := range yes {
		if !LooksLikeRequest([]byte(s)) {
			t.Errorf("%q not a request", s)
		}
	}
	no := []string{"", "GET", "GET  /", "get / HTTP/1.1", "GETX / HTTP/1.1", "HTTP/1.1 200 OK", "\x16\x03\x01"}
	for _, s := range no {
		if LooksLikeRequest([]byte(s)) {
			t.Errorf("%q taken for a request", s)
		}
	}
	for _, s := range []string{"HTTP/1.1 200 OK\r\n", "HTTP/1.0 404", "HTTP/1.1 100 Continue"} {
		if !LooksLikeResponse([]byte(s)) {
			t.Errorf("%q not a response", s)
		}
	}
	for _, s := range []string{"HTTP/1.1 20 OK", "HTTP/2 200", "HTTP/1.1 2000", "RTSP/1.0 200 OK", "HTTP/1.1  200"} {
		if LooksLikeResponse([]byte(s)) {
			t.Errorf("%q taken for a response", s)
		}
	}
	// Other protocols' first bytes from the captures (shared with decoders/tls).
	for _, s := range loadSegments(t, "not_http.hex") {
		if LooksLikeRequest(s.payload) || LooksLikeResponse(s.payload) {
			t.Errorf("frame %d taken for HTTP", s.frame)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct{ method, path, want string }{
		{"GET", "/CertEnroll/Corp-CA01-CA.crl", "crl"},
		{"GET", "/CertEnroll/Corp-CA01-CA+.crl", "crl"},
		{"GET", "/CertEnroll/Corp%20Issuing%20CA(1).CRL", "crl"},
		{"HEAD", "/pki/root.crl?x=1", "crl"},
		{"POST", "/CertEnroll/ca.crl", ""},
		{"GET", "/CertEnroll/ca01.corp.example_Corp-CA01-CA.crt", "aia"},
		{"GET", "/aia/root.cer", "aia"},
		{"GET", "/aia/bundle.P7C", "aia"},
		{"GET", "/aia/bundle.p7b", "aia"},
		{"GET", "/aia/root.der", ""},
		{"POST", "/ocsp", "ocsp"},
		{"GET", "/ocsp/MFQwUjBQME4wTDAJBgUrDgMCGgUABBQ%2B", "ocsp"},
		{"GET", "/ocspx", ""},
		{"POST", "/Corp-CA01-CA_CES_Kerberos/service.svc", "ces"},
		{"POST", "/Corp%20Issuing%20CA_CES_UsernamePassword/service.svc/CES", "ces"},
		{"POST", "/corp_ca_ces_certificate/Service.svc", "ces"},
		{"POST", "/_CES_Kerberos/service.svc", ""},
		{"POST", "/Corp-CA_CES_NTLM/service.svc", ""},
		{"POST", "/Corp-CA_CES_Kerberos/other.svc", ""},
		{"POST", "/ADPolicyProvider_CEP_Kerberos/service.svc", "cep"},
		{"POST", "/adpolicyprovider_cep_usernamepassword/service.svc/CEP", "cep"},
		{"POST", "https://ces.corp.example/ADPolicyProvider_CEP_Certificate/service.svc", "cep"},
		{"POST", "/ADPolicyProvider_CEP_Basic/service.svc", ""},
		{"GET", "/certsrv/", "certsrv"},
		{"POST", "/CertSrv/certfnsh.asp", "certsrv"},
		{"GET", "/certsrvx", ""},
		{"RPC_IN_DATA", "/rpc/rpcproxy.dll?ca01.corp.example:6004", "rpc-over-http"},
		{"RPC_OUT_DATA", "/RPC/RpcProxy.dll", "rpc-over-http"},
		{"RPC_IN_DATA", "/other", ""},
		{"GET", "/rpc/rpcproxy.dll", ""},
		{"GET", "/en-us/docs.html", ""},
		{"GET", "", ""},
		{"GET", "%zz.crl", "crl"},
	}
	for _, c := range cases {
		if got := Classify(c.method, c.path); got != c.want {
			t.Errorf("Classify(%q, %q) = %q, want %q", c.method, c.path, got, c.want)
		}
	}
}

func TestChunkedLen(t *testing.T) {
	// The 200 response of otrf frame 186 carries its whole chunked body.
	for _, s := range loadSegments(t, "otrf_iertutil_stream6.hex") {
		if s.frame != 186 {
			continue
		}
		_, n, err := ParseResponse(s.payload)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ChunkedLen(s.payload[n:])
		if err != nil || n+m != len(s.payload) {
			t.Fatalf("chunked body: %d+%d of %d, %v", n, m, len(s.payload), err)
		}
		for i := 0; i < len(s.payload)-n; i++ {
			if _, err := ChunkedLen(s.payload[n : n+i]); err != ErrNeedMore {
				t.Fatalf("prefix %d: %v", i, err)
			}
		}
	}
	cases := []struct {
		in   string
		n    int
		want error
	}{
		{"0\r\n\r\n", 5, nil},
		{"4;ext=1\r\nabcd\r\n0\r\nTrailer: x\r\n\r\nNEXT", 32, nil},
		{"4\nabcd\n0\n\n", 10, nil},
		{"A\r\n0123456789\r\n0\r\n\r\n", 20, nil},
		{"ffffffffffffffff\r\n", 0, ErrNeedMore},
		{"fffffffffffffffff\r\n", 0, ErrMalformed},
		{"zz\r\n", 0, ErrMalformed},
		{"\r\n", 0, ErrMalformed},
		{"4\r\nabcdXY0\r\n\r\n", 0, ErrMalformed},
		{"4\r\nabcd\r", 0, ErrNeedMore},
		{strings.Repeat("1", maxChunkLine), 0, ErrMalformed},
	}
	for _, c := range cases {
		n, err := ChunkedLen([]byte(c.in))
		if n != c.n || err != c.want {
			t.Errorf("%q: %d %v, want %d %v", c.in, n, err, c.n, c.want)
		}
	}
}
