//go:build cgo && !windows

package main

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// The default filter compiles for the link types capture meets (libpcap, no privilege).
func TestDefaultFilterCompiles(t *testing.T) {
	for _, c := range []struct {
		link layers.LinkType
		vlan bool
	}{{layers.LinkTypeEthernet, true}, {layers.LinkTypeLinuxSLL, false}, {layers.LinkType(276), false},
		{layers.LinkType(12), false} /* DLT_RAW */, {layers.LinkTypeNull, false}} {
		if _, err := pcap.CompileBPFFilter(c.link, defaultSnaplen, defaultFilter(c.vlan)); err != nil {
			t.Errorf("link %d: %v", c.link, err)
		}
	}
	if _, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, defaultSnaplen, "tcp port"); err == nil {
		t.Errorf("a bad filter compiled")
	}
}
