//go:build windows

package main

import (
	"fmt"

	"github.com/gopacket/gopacket/pcap"
)

// loadPcap loads Npcap's wpcap.dll (gopacket loads it at run time: no cgo needed).
func loadPcap() error {
	if err := pcap.LoadWinPCAP(); err != nil {
		return fmt.Errorf("live capture needs Npcap, which is not installed (%v): install it from https://npcap.com "+
			"(\"WinPcap API-compatible mode\" on), or capture with Wireshark/pktmon and run adcsflow analyze on the file", err)
	}
	return nil
}
