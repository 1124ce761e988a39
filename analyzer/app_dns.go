package analyzer

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// DNS is not reported in details; its answers tie names to addresses (hosts[].names),
// e.g. the CA's name from the client's lookup of it.
func init() {
	registerProtocol(&protocol{
		name: "dns", tcp: true, udp: true, ports: []uint16{53},
		// DNS has no reliable signature: only its port selects it.
		portOnly: true,
		detect:   func(dir int, b []byte) detection { return detectNo },
		newHandler: func(f *Flow) appHandler {
			return &dnsHandler{}
		},
	})
}

type dnsHandler struct {
	msg layers.DNS
}

func (h *dnsHandler) gap(c *appCtx, dir int) {}

func (h *dnsHandler) feed(c *appCtx, dir int, data []byte) int {
	if c.f.Transport == "udp" {
		h.message(c, dir, data)
		return len(data)
	}
	return feedFramed(c, data, func(b []byte) (int, error) {
		if len(b) < 2 {
			return 0, errNeedMore
		}
		n := 2 + int(binary.BigEndian.Uint16(b))
		if n > len(b) {
			return 0, errNeedMore
		}
		return n, nil
	}, func(m []byte) { h.message(c, dir, m[2:]) })
}

func (h *dnsHandler) message(c *appCtx, dir int, b []byte) {
	if dir != 1 {
		return
	}
	if err := h.msg.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil || !h.msg.QR {
		return
	}
	for _, rr := range h.msg.Answers {
		var addr netip.Addr
		switch rr.Type {
		case layers.DNSTypeA, layers.DNSTypeAAAA:
			a, ok := netip.AddrFromSlice(rr.IP)
			if !ok {
				continue
			}
			addr = a.Unmap()
		default:
			continue
		}
		c.a.addName(addr, string(rr.Name))
	}
}
