// Package http reads HTTP/1.x request and response heads as a passive observer sees them
// in one direction of a reassembled TCP stream, and classifies AD CS URLs (CRL and AIA
// fetches, OCSP, the CES and CEP web services, certsrv, RPC over HTTP). Heads are parsed by
// net/http; this package adds the framing (how many bytes the head takes, when to wait for
// more, a size cap), content detection and the chunked-body length. No I/O on the network,
// no globals, no panics.
package http

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"strings"
)

// MaxHeaderLen caps a request or response head (start line and headers).
const MaxHeaderLen = 64 << 10

// Errors returned by the parsers.
var (
	ErrNeedMore       = errors.New("http: need more data")
	ErrHeaderTooLarge = errors.New("http: header exceeds 64 KiB")
	ErrMalformed      = errors.New("http: malformed message")
)

// Request is the head of an HTTP/1.x request.
type Request struct {
	Method string
	// Target is the request-target exactly as sent ("/a/b.crl?x=1", "*", or an absolute URI).
	Target string
	// Path is the path of Target, still percent-encoded, without query ("/a/b.crl").
	Path    string
	Host    string
	Version string // "HTTP/1.1"
	// ContentLength is the body length, -1 when unknown (chunked, or a length net/http
	// leaves undetermined). A request with neither Content-Length nor chunked coding has
	// no body (0), RFC 9112 section 6.3.
	ContentLength int64
	Chunked       bool
	Header        http.Header
}

// Response is the head of an HTTP/1.x response.
type Response struct {
	Version string
	Status  int
	Reason  string
	// ContentLength is the body length; -1 when it is delimited by chunked coding or by
	// the end of the connection. 1xx, 204 and 304 responses have 0.
	ContentLength int64
	Chunked       bool
	Header        http.Header
}

// headLen returns the length of the head at the start of b (up to and including the
// empty line), ErrNeedMore while it is incomplete, and ErrHeaderTooLarge once more than
// MaxHeaderLen bytes arrived without an empty line. Bare LF line ends are accepted as
// net/http accepts them.
func headLen(b []byte) (int, error) {
	lim := b
	if len(lim) > MaxHeaderLen {
		lim = lim[:MaxHeaderLen]
	}
	for off := 0; ; {
		i := bytes.IndexByte(lim[off:], '\n')
		if i < 0 {
			break
		}
		off += i + 1
		switch {
		case off < len(lim) && lim[off] == '\n':
			return off + 1, nil
		case off+1 < len(lim) && lim[off] == '\r' && lim[off+1] == '\n':
			return off + 2, nil
		}
	}
	if len(b) >= MaxHeaderLen {
		return 0, ErrHeaderTooLarge
	}
	return 0, ErrNeedMore
}

// ParseRequest parses the request head at the start of b. It returns the request, the
// number of bytes the head takes (the body, if any, follows), and ErrNeedMore until the
// empty line that ends the head is present.
func ParseRequest(b []byte) (*Request, int, error) {
	n, err := headLen(b)
	if err != nil {
		return nil, 0, err
	}
	hr, err := http.ReadRequest(bufio.NewReaderSize(bytes.NewReader(b[:n]), n))
	if err != nil {
		return nil, 0, errors.Join(ErrMalformed, err)
	}
	r := &Request{
		Method:        hr.Method,
		Target:        hr.RequestURI,
		Host:          hr.Host,
		Version:       hr.Proto,
		ContentLength: hr.ContentLength,
		Chunked:       isChunked(hr.TransferEncoding),
		Header:        hr.Header,
	}
	if hr.URL != nil {
		r.Path = hr.URL.EscapedPath()
		if r.Path == "" && hr.URL.Opaque != "" {
			r.Path = hr.URL.Opaque
		}
	}
	return r, n, nil
}

// ParseResponse parses the response head at the start of b, as ParseRequest does.
func ParseResponse(b []byte) (*Response, int, error) {
	n, err := headLen(b)
	if err != nil {
		return nil, 0, err
	}
	hr, err := http.ReadResponse(bufio.NewReaderSize(bytes.NewReader(b[:n]), n), nil)
	if err != nil {
		return nil, 0, errors.Join(ErrMalformed, err)
	}
	_, reason, _ := strings.Cut(hr.Status, " ")
	return &Response{
		Version:       hr.Proto,
		Status:        hr.StatusCode,
		Reason:        reason,
		ContentLength: hr.ContentLength,
		Chunked:       isChunked(hr.TransferEncoding),
		Header:        hr.Header,
	}, n, nil
}

func isChunked(te []string) bool {
	return len(te) > 0 && strings.EqualFold(te[len(te)-1], "chunked")
}

// methods known to LooksLikeRequest: RFC 9110, WebDAV, Microsoft's RPC over HTTP and
// CCM, SSDP.
var methods = [...]string{
	"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH",
	"RPC_IN_DATA", "RPC_OUT_DATA", "CCM_POST", "M-SEARCH", "NOTIFY", "SUBSCRIBE",
}

// LooksLikeRequest reports whether b starts with a known method followed by a space and a
// request-target starting with '/', '*' or a letter (absolute URI, authority).
func LooksLikeRequest(b []byte) bool {
	for _, m := range methods {
		if len(b) > len(m)+1 && string(b[:len(m)]) == m && b[len(m)] == ' ' {
			c := b[len(m)+1]
			return c == '/' || c == '*' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		}
	}
	return false
}

// LooksLikeResponse reports whether b starts with "HTTP/1.x NNN".
func LooksLikeResponse(b []byte) bool {
	if len(b) < 12 || string(b[:7]) != "HTTP/1." || b[7] < '0' || b[7] > '9' || b[8] != ' ' {
		return false
	}
	for _, c := range b[9:12] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) == 12 || b[12] == ' ' || b[12] == '\r' || b[12] == '\n'
}
