package http

import (
	"errors"
	"testing"
)

func seeds(f *testing.F) {
	for _, name := range []string{"otrf_iertutil_stream6.hex", "zeek_mapi_http.hex", "ssdp_msearch.hex"} {
		for _, s := range loadSegments(f, name) {
			f.Add(s.payload)
		}
	}
	f.Add([]byte("RPC_IN_DATA /rpc/rpcproxy.dll?ca01:6001 HTTP/1.1\r\nContent-Length: 1073741824\r\n\r\n"))
	f.Add([]byte("POST /Corp%20CA_CES_Kerberos/service.svc HTTP/1.1\r\nHost: ces\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"))
}

// FuzzParseRequest checks ParseRequest, LooksLikeRequest, Classify and ChunkedLen on
// whatever follows a head.
func FuzzParseRequest(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = LooksLikeRequest(b)
		r, n, err := ParseRequest(b)
		if err != nil {
			if r != nil || n != 0 {
				t.Fatal("result with error")
			}
			if err != ErrNeedMore && err != ErrHeaderTooLarge && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n <= 0 || n > len(b) || n > MaxHeaderLen {
			t.Fatalf("head length %d of %d", n, len(b))
		}
		_ = Classify(r.Method, r.Path)
		_ = Classify(r.Method, r.Target)
		if m, err := ChunkedLen(b[n:]); err == nil && (m <= 0 || m > len(b)-n) {
			t.Fatalf("chunked length %d of %d", m, len(b)-n)
		}
	})
}

// FuzzParseResponse checks ParseResponse, LooksLikeResponse and ChunkedLen on the input.
func FuzzParseResponse(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = LooksLikeResponse(b)
		if m, err := ChunkedLen(b); err == nil && (m <= 0 || m > len(b)) {
			t.Fatalf("chunked length %d of %d", m, len(b))
		}
		r, n, err := ParseResponse(b)
		if err != nil {
			if r != nil || n != 0 {
				t.Fatal("result with error")
			}
			return
		}
		if n <= 0 || n > len(b) || r.Status < 0 || r.Status > 999 {
			t.Fatalf("head length %d status %d", n, r.Status)
		}
	})
}
