//go:build cgo || windows

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/adcsflow/adcsflow/analyzer"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"github.com/gopacket/gopacket/pcapgo"
)

// Why a capture stopped.
const (
	stopNone int32 = iota
	stopSignal
	stopDuration
)

// readTimeout bounds how long a read waits, so that Ctrl-C, --duration and the SYN
// timeout are handled within it even when no packet comes.
const readTimeout = 200 * time.Millisecond

// captureBuffer is the kernel buffer libpcap asks for: bursts at line rate fit in it.
const captureBuffer = 32 << 20

func listInterfaces(stdout, stderr io.Writer) int {
	if err := loadPcap(); err != nil {
		fmt.Fprintf(stderr, "adcsflow capture: %v\n", err)
		return exitBadInput
	}
	devs, err := pcap.FindAllDevs()
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow capture: listing interfaces: %v\n%s", err, privilegeHelp())
		return exitBadInput
	}
	if len(devs) == 0 {
		fmt.Fprintf(stderr, "adcsflow capture: libpcap sees no interfaces\n%s", privilegeHelp())
		return exitBadInput
	}
	writeInterfaces(stdout, devs)
	return exitOK
}

func writeInterfaces(w io.Writer, devs []pcap.Interface) {
	for i, d := range devs {
		var addrs []string
		for _, a := range d.Addresses {
			addrs = append(addrs, a.IP.String())
		}
		line := fmt.Sprintf("%2d. %s", i+1, d.Name)
		if d.Description != "" {
			line += " (" + d.Description + ")"
		}
		if len(addrs) > 0 {
			line += "  " + strings.Join(addrs, " ")
		}
		fmt.Fprintln(w, line)
	}
}

// resolveInterface finds the interface by name, by description (Npcap names are GUIDs) or
// by its number in --list-interfaces.
func resolveInterface(name string, devs []pcap.Interface) (string, bool) {
	for _, d := range devs {
		if d.Name == name {
			return d.Name, true
		}
	}
	for _, d := range devs {
		if d.Description != "" && strings.EqualFold(d.Description, name) {
			return d.Name, true
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 1 && n <= len(devs) {
		return devs[n-1].Name, true
	}
	return "", false
}

func runCapture(o captureOptions, stdout, stderr io.Writer) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "adcsflow capture: "+format+"\n", args...)
		return exitBadInput
	}
	if err := loadPcap(); err != nil {
		return fail("%v", err)
	}
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return fail("listing interfaces: %v\n%s", err, privilegeHelp())
	}
	iface, ok := resolveInterface(o.iface, devs)
	if !ok {
		fmt.Fprintf(stderr, "adcsflow capture: unknown interface %q; the interfaces are:\n", o.iface)
		writeInterfaces(stderr, devs)
		return exitBadInput
	}
	// A filter that does not compile is told before privileges are checked.
	if o.userFilter {
		if _, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, o.snaplen, o.filter); err != nil {
			return fail("the capture filter does not compile: %v\n  filter: %s\n(see man pcap-filter; leave --filter out for the default AD CS filter)",
				pcapMessage(err), o.filter)
		}
	}

	h, err := openLive(iface, o)
	if err != nil {
		return fail("%v", err)
	}
	link := h.LinkType()
	expr := o.filter
	if !o.userFilter {
		expr = defaultFilter(link == layers.LinkTypeEthernet)
	}
	if err := h.SetBPFFilter(expr); err != nil {
		h.Close()
		return fail("the capture filter does not compile for %s (link type %s): %v\n  filter: %s",
			iface, analyzer.LinkTypeName(link), pcapMessage(err), expr)
	}

	var (
		out *os.File
		bw  *bufio.Writer
		ng  *pcapgo.NgWriter
	)
	if o.write != "" {
		if out, err = createOutput(o.write, o.force); err != nil {
			h.Close()
			return fail("%v", err)
		}
		bw = bufio.NewWriterSize(out, 1<<20)
		ng, err = pcapgo.NewNgWriterInterface(bw, pcapgo.NgInterface{
			Name: iface, Filter: expr, OS: runtime.GOOS, LinkType: link, SnapLength: uint32(o.snaplen),
			TimestampResolution: 9,
		}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "adcsflow capture"}})
		if err != nil {
			h.Close()
			out.Close()
			return fail("%s: %v", o.write, err)
		}
	}

	a := analyzer.New(analyzer.Options{})
	info := &analyzer.CaptureInfo{File: "live:" + iface, Format: "live"}
	if o.write != "" {
		info.File += " (" + o.write + ")"
	}
	idx := a.AddCapture(info)
	start := time.Now()
	status := newLiveStatus(stderr, iface, start)
	a.OnFlowFailed = status.flowFailed

	var stop atomic.Int32
	var tickDue atomic.Bool
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		<-sigs
		stop.CompareAndSwap(stopNone, stopSignal)
		<-sigs
		// A second Ctrl-C while the report is written: give up at once.
		fmt.Fprintln(stderr, "\nadcsflow capture: interrupted twice, exiting without a report")
		os.Exit(130)
	}()
	if o.duration > 0 {
		t := time.AfterFunc(o.duration, func() { stop.CompareAndSwap(stopNone, stopDuration) })
		defer t.Stop()
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	tickDone := make(chan struct{})
	defer close(tickDone)
	go func() {
		for {
			select {
			case <-ticker.C:
				tickDue.Store(true)
			case <-tickDone:
				return
			}
		}
	}()

	drops := func() analyzer.Drops {
		st, err := h.Stats()
		if err != nil {
			return analyzer.Drops{}
		}
		return analyzer.Drops{Received: st.PacketsReceived, Kernel: st.PacketsDropped, Interface: st.PacketsIfDropped}
	}
	if status.tty {
		status.update(start, 0, 0, analyzer.Drops{})
	} else {
		fmt.Fprintf(stderr, "capturing on %s (Ctrl-C to stop)\n", iface)
	}

	why := "Ctrl-C"
	frame := 0
	var writeErr error
	for {
		switch stop.Load() {
		case stopSignal:
			why = "interrupted"
		case stopDuration:
			why = "--duration " + o.duration.String()
		}
		if stop.Load() != stopNone {
			break
		}
		if tickDue.Load() {
			tickDue.Store(false)
			now := time.Now()
			a.Tick(now)
			status.update(now, a.Packets(), a.FlowCount(), drops())
		}
		data, ci, err := h.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, pcap.NextErrorTimeoutExpired) {
				continue
			}
			if err == io.EOF {
				why = "the interface went away"
			} else {
				why = "read error: " + err.Error()
				info.Warnings = append(info.Warnings, "capture stopped by a read error: "+err.Error())
			}
			break
		}
		frame++
		if ng != nil && writeErr == nil {
			ci.InterfaceIndex = 0
			if writeErr = ng.WritePacket(ci, data); writeErr != nil {
				status.clear()
				fmt.Fprintf(stderr, "adcsflow capture: writing %s: %v; the file ends at packet %d, the capture goes on\n",
					o.write, writeErr, frame-1)
			}
		}
		a.Handle(analyzer.Packet{Data: data, Timestamp: ci.Timestamp, Length: ci.Length, Link: link, File: idx, Frame: frame})
		if o.count > 0 && frame >= o.count {
			why = "--count " + strconv.Itoa(o.count)
			break
		}
	}
	end := time.Now()
	a.Tick(end)
	d := drops()
	h.Close()
	status.done(end, why, a.Packets(), a.FlowCount(), d)

	info.Dropped = &d
	info.Warnings = append(info.Warnings, dropWarnings(d)...)
	status2 := exitOK
	if out != nil {
		if writeErr == nil {
			writeErr = ng.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{LastUpdate: end, StartTime: start,
				EndTime: end, PacketsReceived: uint64(d.Received), PacketsDropped: uint64(d.Kernel + d.Interface)})
		}
		if writeErr == nil {
			writeErr = ng.Flush()
		}
		if err := out.Close(); writeErr == nil {
			writeErr = err
		}
		if writeErr != nil {
			info.Warnings = append(info.Warnings, fmt.Sprintf("%s is incomplete: %v", o.write, writeErr))
			status2 = exitBadInput
		} else {
			fmt.Fprintf(stderr, "wrote %d packets to %s\n", frame, o.write)
		}
	}
	if frame == 0 {
		if o.userFilter {
			info.Warnings = append(info.Warnings, fmt.Sprintf("no packets captured on %s with filter %q", iface, expr))
		} else {
			info.Warnings = append(info.Warnings, fmt.Sprintf("no packets captured on %s with the default AD CS filter", iface))
		}
	}
	rep := a.Finish()
	if err := writeReport(rep, o.format, stdout); err != nil {
		return fail("writing the report: %v", err)
	}
	if st := inputStatus(rep, nil, o.format, stderr); st != exitOK {
		return st
	}
	return status2
}

// openLive opens the interface for capture and turns libpcap's errors into advice.
func openLive(iface string, o captureOptions) (*pcap.Handle, error) {
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, openError(iface, err, "")
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(o.snaplen) },
		func() error { return in.SetPromisc(o.promisc) },
		func() error { return in.SetTimeout(readTimeout) },
		func() error { return in.SetBufferSize(captureBuffer) },
	} {
		if err := set(); err != nil {
			return nil, openError(iface, err, "")
		}
	}
	h, err := in.Activate()
	if err != nil {
		detail := ""
		if e := in.Error(); e != nil {
			detail = e.Error()
		}
		return nil, openError(iface, err, detail)
	}
	return h, nil
}

func openError(iface string, err error, detail string) error {
	msg := err.Error()
	if detail != "" && !strings.Contains(msg, detail) {
		msg += ": " + detail
	}
	low := strings.ToLower(msg)
	switch {
	case strings.Contains(low, "permission") || strings.Contains(low, "not permitted") ||
		strings.Contains(low, "access is denied") || strings.Contains(low, "denied"):
		return fmt.Errorf("no permission to capture on %s (%s)\n%s", iface, msg, privilegeHelp())
	case strings.Contains(low, "no such device"):
		return fmt.Errorf("%s: no such interface (%s); adcsflow capture --list-interfaces lists them", iface, msg)
	case strings.Contains(low, "not up"):
		return fmt.Errorf("%s is down (%s); bring it up first (ip link set %s up)", iface, msg, iface)
	}
	return fmt.Errorf("cannot capture on %s: %s", iface, msg)
}

// pcapMessage is libpcap's message without gopacket's wrapping.
func pcapMessage(err error) string {
	return strings.TrimSpace(err.Error())
}

// privilegeHelp says what live capture needs on this system.
func privilegeHelp() string {
	switch runtime.GOOS {
	case "windows":
		return "Live capture needs Npcap (https://npcap.com); run as Administrator when Npcap was installed " +
			"with \"Restrict Npcap driver's access to Administrators only\".\n"
	case "darwin":
		return "Live capture needs root (sudo adcsflow capture ...) or read access to /dev/bpf* " +
			"(Wireshark's ChmodBPF gives it to the access_bpf group).\n"
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/path/to/adcsflow"
	}
	return "Live capture needs root (sudo adcsflow capture ...), or the capabilities on the binary:\n" +
		"  sudo setcap cap_net_raw,cap_net_admin=eip " + exe + "\n"
}
