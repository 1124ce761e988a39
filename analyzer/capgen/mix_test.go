package capgen_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer"
	"github.com/adcsflow/adcsflow/analyzer/capgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var smallMix = capgen.MixOptions{Bytes: 24 << 20, Packets: 60000, Duration: 60 * time.Second, Seed: 3}

// TestWriteMix generates a small mix and checks it against an independent decode: it
// parses, its timestamps increase, it has every kind of packet the mix promises, MixStats
// counts them right, the same options give the same bytes, and the analyzer reads it.
func TestWriteMix(t *testing.T) {
	var buf bytes.Buffer
	st, err := capgen.WriteMix(&buf, smallMix)
	if err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != st.Bytes || st.Packets < smallMix.Packets || st.Bytes < smallMix.Bytes {
		t.Fatalf("stats %+v for %d bytes", st, buf.Len())
	}
	var again bytes.Buffer
	if _, err := capgen.WriteMix(&again, smallMix); err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(buf.Bytes()) != sha256.Sum256(again.Bytes()) {
		t.Error("the same options gave different bytes")
	}

	r, err := pcapgo.NewNgReader(bytes.NewReader(buf.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var got capgen.MixStats
	var last time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !ci.Timestamp.After(last) {
			t.Fatalf("packet %d: time %v not after %v", got.Packets+1, ci.Timestamp, last)
		}
		last = ci.Timestamp
		got.Packets++
		got.FrameBytes += int64(len(data))
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		if p.ErrorLayer() != nil && p.Layer(layers.LayerTypeIPv4) == nil && p.Layer(layers.LayerTypeIPv6) == nil {
			t.Fatalf("packet %d: %v", got.Packets, p.ErrorLayer().Error())
		}
		if p.Layer(layers.LayerTypeDot1Q) != nil {
			got.VLAN++
		}
		var proto layers.IPProtocol
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			proto = ip.Protocol
			if ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
				got.Fragments++
			}
		} else if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			got.IPv6++
			proto = ip.NextHeader
		} else {
			t.Fatalf("packet %d: no IP layer", got.Packets)
		}
		switch proto {
		case layers.IPProtocolTCP:
			got.TCP++
		case layers.IPProtocolUDP:
			got.UDP++
		case layers.IPProtocolICMPv4, layers.IPProtocolICMPv6:
			got.ICMP++
		}
	}
	want := st
	want.Bytes, want.Start, want.End = 0, time.Time{}, time.Time{}
	got.BulkPackets, got.BulkBytes = want.BulkPackets, want.BulkBytes
	got.Sessions, got.SessionsIPv6, got.SessionsVLAN, got.SessionsFragmented, got.SessionsICert = want.Sessions, want.SessionsIPv6, want.SessionsVLAN, want.SessionsFragmented, want.SessionsICert
	got.DCOM, got.SMBTransfers, got.HTTPSTransfers = want.DCOM, want.SMBTransfers, want.HTTPSTransfers
	got.SYNDropped, got.SYNReset, got.UDPUnreachable, got.MaxInFlight = want.SYNDropped, want.SYNReset, want.UDPUnreachable, want.MaxInFlight
	if got != want {
		t.Errorf("decoded %+v\nMixStats %+v", got, want)
	}
	if st.VLAN == 0 || st.IPv6 == 0 || st.Fragments == 0 || st.ICMP == 0 || st.BulkPackets == 0 || st.SMBTransfers == 0 ||
		st.HTTPSTransfers == 0 || st.SessionsICert == 0 || st.SYNDropped == 0 || st.SYNReset == 0 || st.UDPUnreachable == 0 || st.DCOM == 0 {
		t.Errorf("a kind is missing: %+v", st)
	}
	if st.MaxInFlight < 20 {
		t.Errorf("only %d conversations in flight at most: not interleaved", st.MaxInFlight)
	}

	path := filepath.Join(t.TempDir(), "mix.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := analyzer.AnalyzeFiles([]string{path}, analyzer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(rep.Summary.Packets) != st.Packets {
		t.Errorf("analyzer read %d packets of %d", rep.Summary.Packets, st.Packets)
	}
	if len(rep.RPCAssignments) == 0 {
		t.Error("no EPM hand-out found in the mix")
	}
	services := map[string]bool{}
	for _, f := range rep.Flows {
		services[f.Service] = true
	}
	for _, s := range []string{"kerberos", "ldap", "cldap", "epm", "ldaps", "https", "smb"} {
		if !services[s] {
			t.Errorf("no %s flow in the mix (services %v)", s, services)
		}
	}
}
