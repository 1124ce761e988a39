// Command adcsflow tells, from a packet capture of a failed AD CS enrollment, which flows
// were tried, which were blocked, how that differs from the documented firewall rules, and
// which rules fix it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// Exit codes.
const (
	exitOK       = 0
	exitBlocked  = 1 // diff: a required flow was blocked
	exitBadInput = 2 // a file could not be read, or the command line is wrong
)

const usage = `adcsflow: what an AD CS enrollment tried on the network, what was blocked, and the rules that fix it

usage:
  adcsflow analyze [--format text|json|csv|markdown|html] [--point NAME=FILE]... FILE...
                  flows, outcomes, decoder findings, dynamic RPC, diff and rules; with captures
                  from two points (client and server side), where each failed flow was lost
  adcsflow capture -i IFACE [--filter BPF] [--duration 2m] [--count N] [--write FILE.pcapng] [--force]
                  [--snaplen N] [--format text|json|csv]   live capture, then the same report
  adcsflow capture --list-interfaces                  interfaces to capture on
  adcsflow diff [--baseline NAME|FILE] [--role ROLE=ADDR|NAME]... [--roles FILE] [--format text|json] FILE...
                  each baseline row ok / blocked / not-observed, plus the extra flows it lacks
                  (default baseline: documented; exit 1 when a required flow was blocked)
  adcsflow rules [--format table|csv|json|powershell|netsh|nftables|iptables|ip6tables]
                 [--aggregate /24[,/64]] [--role ROLE=ADDR|NAME]... [--roles FILE] FILE...
                  the minimal firewall rules for the flows the capture used or tried
  adcsflow baseline [--format yaml|table|json] [NAME|FILE]   list, print or check a baseline
  adcsflow help                                       this text

Roles: client, ces, cep, ca, dc; inferred from the capture, overridden with --role ca=10.0.0.20
or --role dc=dc01.corp.example (a name the capture proved), or --roles FILE (role=addr|name
per line). analyze also takes --baseline, --role and --roles.

Files are pcap or pcapng (Wireshark, dumpcap, tcpdump -w, pktmon etl2pcap), plain or
gzip-compressed. Several files are the parts of one capture when their times follow each
other (tcpdump -C/-G, dumpcap file sets, editcap -c), in any order; otherwise captures taken
at several points, merged in time order.

analyze, diff and rules take --workers N (default: one per CPU; the report is the same for
any N) and --max-flows N (open flows held at once). analyze --cpuprofile F --memprofile F
write pprof profiles. The Go runtime's soft memory limit is 128 MiB unless GOMEMLIMIT sets
another (the heap stays near it on long captures; more is used when an analysis needs it).

exit status: 0 analysed (warnings may have been printed), 1 (diff) a required flow was blocked,
2 unreadable input or bad usage
`

func main() {
	setMemoryLimit()
	// The table library keeps the widths of up to 8,192 strings (a 2 MB map made when the
	// program starts, held whatever the output format): a few hundred serve our tables.
	twwidth.SetCacheCapacity(512)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT sets one. The
// garbage collector otherwise lets the heap grow to twice what is live before it runs; with
// the limit it runs earlier once the heap nears it, so a long capture is analyzed in about
// this much memory (analyses that keep more than this still work: the limit is soft, the
// collector then just runs more often, capped at half the CPU).
const defaultMemoryLimit = 128 << 20

func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitBadInput
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "analyze", "analyse":
		return cmdAnalyze(rest, stdout, stderr)
	case "capture":
		return cmdCapture(rest, stdout, stderr)
	case "diff":
		return cmdDiff(rest, stdout, stderr)
	case "rules":
		return cmdRules(rest, stdout, stderr)
	case "baseline", "baselines":
		return cmdBaseline(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "adcsflow: unknown command %q\n\n%s", cmd, usage)
	return exitBadInput
}

// errUsage marks command-line mistakes.
var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// splitArgs separates --flag value / --flag=value pairs from positional arguments, so
// flags may come after the file names. bools lists the flags that take no value.
func splitArgs(args []string, valued, bools map[string]bool) (map[string][]string, []string, error) {
	flags := map[string][]string{}
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, val, hasVal = name[:j], name[j+1:], true
		}
		switch {
		case bools[name]:
			if hasVal {
				flags[name] = append(flags[name], val)
			} else {
				flags[name] = append(flags[name], "true")
			}
		case valued[name]:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, nil, usageErr("--%s needs a value", name)
				}
				i++
				val = args[i]
			}
			flags[name] = append(flags[name], val)
		default:
			return nil, nil, usageErr("unknown option %s", a)
		}
	}
	return flags, pos, nil
}

func last(flags map[string][]string, name, def string) string {
	if v := flags[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}
