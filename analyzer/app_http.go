package analyzer

import (
	"net/netip"
	"strings"

	"github.com/adcsflow/adcsflow/decoders/http"
)

func init() {
	registerProtocol(&protocol{
		name: "http", tcp: true, ports: []uint16{80, 593, 5985},
		detect: func(dir int, b []byte) detection {
			if (dir == 0 && http.LooksLikeRequest(b)) || (dir == 1 && http.LooksLikeResponse(b)) {
				return detectYes
			}
			if len(b) < 8 {
				return detectMaybe
			}
			return detectNo
		},
		newHandler: func(f *Flow) appHandler {
			if f.Service != "rpc-over-http" && f.Service != "winrm" {
				f.Service = "http"
			}
			return &httpHandler{}
		},
	})
}

// httpHandler pairs requests with responses and skips bodies.
type httpHandler struct {
	skip    [2]int64 // body bytes still to skip; -1: until the connection ends
	chunked [2]bool
	pending []int // indexes into Requests awaiting a response
	stopped [2]bool
}

func (h *httpHandler) gap(c *appCtx, dir int) { h.stopped[dir] = true }

func (h *httpHandler) feed(c *appCtx, dir int, data []byte) int {
	used := 0
	for used < len(data) && !h.stopped[dir] {
		rest := data[used:]
		switch {
		case h.skip[dir] < 0:
			return len(data)
		case h.skip[dir] > 0:
			n := min(int64(len(rest)), h.skip[dir])
			h.skip[dir] -= n
			used += int(n)
			continue
		case h.chunked[dir]:
			n, err := http.ChunkedLen(rest)
			if err == http.ErrNeedMore {
				return used
			}
			h.chunked[dir] = false
			if err != nil {
				h.stopped[dir] = true
				return len(data)
			}
			used += n
			continue
		}
		n, ok := h.head(c, dir, rest)
		if n == 0 {
			if !ok {
				h.stopped[dir] = true
				return len(data)
			}
			return used
		}
		used += n
	}
	if h.stopped[dir] {
		return len(data)
	}
	return used
}

// head parses one request or response head; n == 0 with ok means wait for more.
func (h *httpHandler) head(c *appCtx, dir int, b []byte) (n int, ok bool) {
	d := c.f.Details.HTTP
	if d == nil {
		d = &HTTPDetails{Requests: []HTTPRequest{}}
		c.f.Details.HTTP = d
	}
	if dir == 0 {
		req, n, err := http.ParseRequest(b)
		if err == http.ErrNeedMore {
			return 0, true
		}
		if err != nil {
			c.malformed("http request: " + err.Error())
			return 0, false
		}
		if len(d.Requests) < maxDetailItems {
			d.Requests = append(d.Requests, HTTPRequest{Method: req.Method, Host: req.Host, Path: req.Path,
				Kind: http.Classify(req.Method, req.Path)})
			h.pending = append(h.pending, len(d.Requests)-1)
		}
		if req.Host != "" {
			host := req.Host
			if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.Contains(host[i:], "]") {
				host = host[:i]
			}
			if _, err := netip.ParseAddr(host); err != nil {
				c.a.addName(c.f.Server.Addr(), host)
			}
		}
		h.body(dir, req.ContentLength, req.Chunked, false)
		return n, true
	}
	resp, n, err := http.ParseResponse(b)
	if err == http.ErrNeedMore {
		return 0, true
	}
	if err != nil {
		c.malformed("http response: " + err.Error())
		return 0, false
	}
	if resp.Status >= 200 || resp.Status < 100 {
		if len(h.pending) > 0 {
			d.Requests[h.pending[0]].Status = resp.Status
			h.pending = h.pending[1:]
		}
	}
	h.body(dir, resp.ContentLength, resp.Chunked, true)
	return n, true
}

func (h *httpHandler) body(dir int, length int64, chunked, response bool) {
	switch {
	case chunked:
		h.chunked[dir] = true
	case length > 0:
		h.skip[dir] = length
	case length < 0 && response:
		h.skip[dir] = -1
	}
}
