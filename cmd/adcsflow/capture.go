package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/adcsflow/adcsflow/analyzer"
)

// captureOptions is the parsed command line of `adcsflow capture`.
type captureOptions struct {
	iface      string
	filter     string // the user's BPF filter; "" means the default
	userFilter bool
	duration   time.Duration
	count      int
	write      string
	force      bool
	snaplen    int
	format     string
	promisc    bool
	list       bool
}

const captureUsage = `usage: adcsflow capture -i IFACE [--filter BPF] [--duration 2m] [--count N]
                        [--write FILE.pcapng] [--force] [--snaplen N] [--no-promisc]
                        [--format text|json|csv]
       adcsflow capture --list-interfaces
`

const defaultSnaplen = 262144

// adcsPorts are the ports the default filter keeps (TCP and UDP).
var adcsPorts = []int{88, 464, 389, 636, 3268, 3269, 135, 445, 139, 443, 80, 53, 593}

// defaultFilter is the BPF filter that keeps AD CS enrollment traffic: its ports, ICMP
// errors, the dynamic RPC ranges, IP fragments (fragmented Kerberos), and the same inside
// 802.1Q tags when the link has them.
func defaultFilter(vlan bool) string {
	ports := make([]string, len(adcsPorts))
	for i, p := range adcsPorts {
		ports[i] = "port " + strconv.Itoa(p)
	}
	core := strings.Join(ports, " or ") +
		" or icmp or icmp6" +
		" or tcp portrange 1025-5000 or tcp portrange 49152-65535" +
		" or (ip and ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)"
	if !vlan {
		return core
	}
	return core + " or (vlan and (" + core + "))"
}

func parseCaptureArgs(args []string) (captureOptions, error) {
	o := captureOptions{snaplen: defaultSnaplen, format: "text", promisc: true}
	flags, pos, err := splitArgs(args,
		map[string]bool{"i": true, "interface": true, "filter": true, "duration": true, "count": true, "c": true,
			"write": true, "w": true, "snaplen": true, "s": true, "format": true, "f": true},
		map[string]bool{"force": true, "list-interfaces": true, "D": true, "no-promisc": true})
	if err != nil {
		return o, err
	}
	if len(pos) > 0 {
		return o, usageErr("unexpected argument %q (the capture filter goes after --filter)", pos[0])
	}
	o.list = last(flags, "list-interfaces", last(flags, "D", "")) == "true"
	o.iface = last(flags, "interface", last(flags, "i", ""))
	if _, ok := flags["filter"]; ok {
		o.filter = strings.TrimSpace(last(flags, "filter", ""))
		o.userFilter = true
		if o.filter == "" {
			return o, usageErr("--filter is empty (leave it out for the default AD CS filter)")
		}
	}
	if v := last(flags, "duration", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			// A bare number is seconds.
			if n, err2 := strconv.ParseFloat(v, 64); err2 == nil {
				d, err = time.Duration(n*float64(time.Second)), nil
			}
		}
		if err != nil || d <= 0 {
			return o, usageErr("--duration wants a positive duration such as 30s, 2m or 1h30m, not %q", v)
		}
		o.duration = d
	}
	if v := last(flags, "count", last(flags, "c", "")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return o, usageErr("--count wants a positive number of packets, not %q", v)
		}
		o.count = n
	}
	if v := last(flags, "snaplen", last(flags, "s", "")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 64 || n > defaultSnaplen {
			return o, usageErr("--snaplen wants a number of bytes from 64 to %d, not %q", defaultSnaplen, v)
		}
		o.snaplen = n
	}
	o.write = last(flags, "write", last(flags, "w", ""))
	o.force = last(flags, "force", "") == "true"
	o.promisc = last(flags, "no-promisc", "") != "true"
	o.format = last(flags, "format", last(flags, "f", "text"))
	switch o.format {
	case "text", "json", "csv":
	default:
		return o, usageErr("unknown format %q (text, json, csv)", o.format)
	}
	if !o.list && o.iface == "" {
		return o, usageErr("no interface given: -i IFACE (adcsflow capture --list-interfaces lists them)")
	}
	return o, nil
}

func cmdCapture(args []string, stdout, stderr io.Writer) int {
	o, err := parseCaptureArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "adcsflow capture: %v\n\n%s", strings.TrimPrefix(err.Error(), errUsage.Error()+": "), captureUsage)
		return exitBadInput
	}
	if o.list {
		return listInterfaces(stdout, stderr)
	}
	if o.write != "" && !o.force {
		if _, err := os.Lstat(o.write); err == nil {
			fmt.Fprintf(stderr, "adcsflow capture: %s exists; it is not overwritten without --force\n", o.write)
			return exitBadInput
		}
	}
	return runCapture(o, stdout, stderr)
}

// createOutput opens the --write file: never over an existing one without --force.
func createOutput(path string, force bool) (*os.File, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%s exists; it is not overwritten without --force", path)
	}
	return f, err
}

// failureLine says in one line why a flow failed, the moment it is known:
// "10.0.0.20 -> 10.0.0.5:49712/tcp ICertPassage: no answer".
func failureLine(f *analyzer.Flow) string {
	svc := f.Service
	if f.RPCInterface != "" {
		svc = f.RPCInterface
	}
	var why string
	switch f.Outcome {
	case analyzer.OutcomeNoAnswer:
		why = fmt.Sprintf("no answer (%d SYN%s, nothing back)", f.SYNs, plural(f.SYNs))
	case analyzer.OutcomeReset:
		why = "refused (reset)"
	case analyzer.OutcomeICMP:
		why = "ICMP " + f.ICMP.Name() + " from " + f.ICMP.From.String()
		if f.ICMP.Firewall() {
			why += " (a firewall)"
		}
	case analyzer.OutcomeUnanswered:
		why = "no reply"
	default:
		why = f.Outcome
	}
	return fmt.Sprintf("%s -> %s/%s %s: %s", f.Client.Addr(), f.Server, f.Transport, svc, why)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// liveStatus prints the progress line on stderr: redrawn in place on a terminal, a plain
// line every plainEvery otherwise. Failed flows are printed above it as they are found.
type liveStatus struct {
	w          io.Writer
	tty        bool
	iface      string
	start      time.Time
	drawn      bool
	lastPlain  time.Time
	plainEvery time.Duration
	failed     int
	reported   map[*analyzer.Flow]bool
}

func newLiveStatus(w io.Writer, iface string, start time.Time) *liveStatus {
	return &liveStatus{w: w, tty: isTerminal(w), iface: iface, start: start, plainEvery: 10 * time.Second,
		lastPlain: start, reported: map[*analyzer.Flow]bool{}}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (s *liveStatus) clear() {
	if s.tty && s.drawn {
		fmt.Fprint(s.w, "\r\033[K")
		s.drawn = false
	}
}

// flowFailed prints a failed flow once (a flow reported as unanswered after the SYN
// timeout is not printed again when its 4-tuple is reused or an ICMP error comes late).
func (s *liveStatus) flowFailed(f *analyzer.Flow) {
	if s.reported[f] {
		return
	}
	s.reported[f] = true
	s.failed++
	s.clear()
	fmt.Fprintf(s.w, "  x %s\n", failureLine(f))
}

func (s *liveStatus) line(now time.Time, packets, flows int, d analyzer.Drops) string {
	return fmt.Sprintf("capturing on %s: %s, %d packet%s, %d flow%s, %d failed, dropped %d (kernel) %d (interface)",
		s.iface, fmtElapsed(now.Sub(s.start)), packets, plural(packets), flows, plural(flows), s.failed, d.Kernel, d.Interface)
}

// update redraws the status (terminal) or prints it when plainEvery has passed.
func (s *liveStatus) update(now time.Time, packets, flows int, d analyzer.Drops) {
	if s.tty {
		fmt.Fprint(s.w, "\r\033[K"+s.line(now, packets, flows, d))
		s.drawn = true
		return
	}
	if now.Sub(s.lastPlain) >= s.plainEvery {
		s.lastPlain = now
		fmt.Fprintln(s.w, s.line(now, packets, flows, d))
	}
}

func (s *liveStatus) done(now time.Time, why string, packets, flows int, d analyzer.Drops) {
	s.clear()
	fmt.Fprintf(s.w, "stopped (%s): %s\n", why, strings.TrimPrefix(s.line(now, packets, flows, d), "capturing on "))
}

func fmtElapsed(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// dropWarnings says what the drop counters mean for the report.
func dropWarnings(d analyzer.Drops) []string {
	var w []string
	if d.Kernel > 0 {
		w = append(w, fmt.Sprintf("the kernel dropped %d of %d packets (the capture buffer overflowed: adcsflow fell behind); "+
			"flows may be missing or look unanswered: narrow --filter, or capture to a file with dumpcap/tcpdump and run adcsflow analyze on it",
			d.Kernel, d.Received))
	}
	if d.Interface > 0 {
		w = append(w, fmt.Sprintf("the network interface or its driver dropped %d packets during the capture; "+
			"flows may be missing or look unanswered", d.Interface))
	}
	return w
}
