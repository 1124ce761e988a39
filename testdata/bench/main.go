// Command bench measures adcsflow against the read floor (tcpdump -r, cat) and the
// reference dissector (tshark) on one large generated capture, in one run, and checks the
// throughput and memory targets of issue #8. Run it from the repository root:
//
//	go run ./testdata/bench [-size BYTES] [-packets N] [-runs 5] [-tshark-runs 3] [-cache DIR]
//	                        [-adcsflow BIN] [-args "--workers 1"] [-keep-going]
//
// The capture (capgen.WriteMix: >= 2.1 GB and >= 10.5 M packets by default) and a half-size
// one (same generator, half the duration: the "flat when the capture doubles" check) are
// written once into $ADCSFLOW_BENCH_CACHE or ~/.cache/adcsflow-bench, named by the
// generator's version and the size, so a changed generator makes new files. Every command
// runs -runs times (tshark -tshark-runs times), each run after an untimed read of the file
// into the page cache, round by round: a run of adcsflow, its half, tcpdump and cat per
// round, so that the ratios compare runs made in the same minutes; tshark's runs come after.
// The table shows medians of wall and CPU time (user+sys of the child) and the largest peak
// RSS. The exit status is 1 when a target fails (everything is still printed).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adcsflow/adcsflow/analyzer"
	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

// The targets of issue #8.
const (
	targetVsTshark   = 20.0  // adcsflow throughput / tshark throughput >=
	targetVsTcpdump  = 3.0   // adcsflow wall / tcpdump -r wall <=
	targetPktsPerCPU = 1.5e6 // packets per CPU-second >=
	targetRSSMB      = 150.0 // peak RSS (MB: 10^6 bytes, the stricter reading) <
	targetRSSGrowth  = 1.25  // RSS(full) / RSS(half) <=
)

type capture struct {
	path  string
	stats capgen.MixStats
	gen   time.Duration // generation time (0: from the cache)
}

type result struct {
	name    string
	cap     *capture
	runs    int
	argv    []string
	wall    time.Duration // median
	cpu     time.Duration // median user+sys
	rssKB   int64         // largest peak RSS (KiB, as the kernel counts)
	skipped string
	err     error

	walls, cpus []time.Duration // of the runs so far
}

func main() {
	defRuns := 5
	if v, err := strconv.Atoi(os.Getenv("BENCH_RUNS")); err == nil && v > 0 {
		defRuns = v
	}
	home, _ := os.UserHomeDir()
	defCache := os.Getenv("ADCSFLOW_BENCH_CACHE")
	if defCache == "" {
		defCache = filepath.Join(home, ".cache", "adcsflow-bench")
	}
	size := flag.Int64("size", 2_100_000_000, "capture size in bytes (at least)")
	packets := flag.Int64("packets", 10_500_000, "capture size in packets (at least)")
	runs := flag.Int("runs", defRuns, "runs of each command (median; env BENCH_RUNS)")
	tsharkRuns := flag.Int("tshark-runs", 3, "runs of tshark")
	cache := flag.String("cache", defCache, "folder for the generated captures and the adcsflow binary (env ADCSFLOW_BENCH_CACHE)")
	keepGoing := flag.Bool("keep-going", false, "measure the other commands when one fails (it is reported and fails the run)")
	bin := flag.String("adcsflow", "", "an adcsflow binary already built (default: go build ./cmd/adcsflow into the cache)")
	extra := flag.String("args", "", "extra arguments for adcsflow analyze, e.g. \"--workers 1\"")
	seed := flag.Uint64("seed", 1, "generator seed")
	flag.Parse()

	if err := os.MkdirAll(*cache, 0o755); err != nil {
		fatal(err)
	}
	dur := time.Hour
	full, err := generate(*cache, capgen.MixOptions{Bytes: *size, Packets: *packets, Duration: dur, Seed: *seed})
	if err != nil {
		fatal(err)
	}
	half, err := generate(*cache, capgen.MixOptions{Bytes: *size / 2, Packets: *packets / 2, Duration: dur / 2, Seed: *seed})
	if err != nil {
		fatal(err)
	}
	if *bin == "" {
		*bin = filepath.Join(*cache, "adcsflow")
		fmt.Printf("building %s\n", *bin)
		cmd := exec.Command("go", "build", "-o", *bin, "./cmd/adcsflow")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("go build ./cmd/adcsflow (run from the repository root): %w", err))
		}
	}
	adcsArgs := func(file string) []string {
		a := []string{"analyze", "--format", "json"}
		a = append(a, strings.Fields(*extra)...)
		return append(a, file)
	}
	type job struct {
		name string
		cap  *capture
		runs int
		argv []string
	}
	jobs := []job{
		{"adcsflow analyze", full, *runs, append([]string{*bin}, adcsArgs(full.path)...)},
		{"adcsflow analyze (half)", half, *runs, append([]string{*bin}, adcsArgs(half.path)...)},
		{"tcpdump -r", full, *runs, []string{"tcpdump", "-n", "-r", full.path, "-w", "/dev/null"}},
		{"tshark", full, *tsharkRuns, []string{"tshark", "-n", "-r", full.path, "-q", "-z", "conv,tcp", "-z", "conv,udp",
			"-T", "fields", "-e", "frame.number", "-e", "kerberos.msg_type", "-e", "epm.proto.tcp_port"}},
		{"cat", full, *runs, []string{"cat", full.path}},
	}
	// The quick commands run round by round, one run of each per round (adcsflow, its half,
	// tcpdump, cat), so that the ratios compare runs made in the same minutes: this
	// machine's speed drifts by a quarter within an hour, and five runs of one command then
	// five of the next would measure the drift too. tshark's long runs come after.
	var results []*result
	for _, j := range jobs {
		r := &result{name: j.name, cap: j.cap, runs: j.runs, argv: j.argv}
		results = append(results, r)
		if _, err := exec.LookPath(j.argv[0]); err != nil {
			r.skipped = j.argv[0] + " not installed"
		} else if j.runs <= 0 {
			r.skipped = "no runs asked"
		}
		if r.skipped != "" {
			fmt.Printf("%s: skipped (%s)\n", j.name, r.skipped)
			continue
		}
		fmt.Printf("%s: %d runs: %s\n", j.name, j.runs, strings.Join(j.argv, " "))
	}
	failed := false
	runRounds := func(rs []*result) {
		for i := 0; ; i++ {
			ran := false
			for _, r := range rs {
				if r.skipped != "" || r.err != nil || i >= r.runs || failed && !*keepGoing {
					continue
				}
				ran = true
				if runOnce(r, i); r.err != nil {
					failed = true
					fmt.Printf("%s: %v\n", r.name, r.err)
				}
			}
			if !ran {
				break
			}
		}
	}
	var quick, slow []*result
	for _, r := range results {
		if r.name == "tshark" {
			slow = append(slow, r)
		} else {
			quick = append(quick, r)
		}
	}
	runRounds(quick)
	runRounds(slow)
	for _, r := range results {
		if r.err == nil && len(r.walls) > 0 {
			r.wall, r.cpu = median(r.walls), median(r.cpus)
		}
	}
	fmt.Println()
	printSetup(full, half)
	printTable(results)
	if !printTargets(results) {
		failed = true
	}
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(2)
}

// generate writes the capture for opts into dir unless it is there already.
func generate(dir string, opts capgen.MixOptions) (*capture, error) {
	name := fmt.Sprintf("mix-v%d-s%d-%dB-%dp-%s.pcapng", capgen.MixVersion, opts.Seed, opts.Bytes, opts.Packets, opts.Duration)
	c := &capture{path: filepath.Join(dir, name)}
	meta := c.path + ".json"
	if _, err := os.Stat(c.path); err == nil {
		if b, err := os.ReadFile(meta); err == nil && json.Unmarshal(b, &c.stats) == nil {
			return c, nil
		}
	}
	fmt.Printf("generating %s\n", c.path)
	tmp := c.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := capgen.WriteMix(f, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	c.gen = time.Since(start)
	c.stats = st
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(meta, b, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, c.path); err != nil {
		return nil, err
	}
	fmt.Printf("generated %.2f GB, %d packets in %s\n", float64(st.Bytes)/1e9, st.Packets, c.gen.Round(time.Millisecond))
	return c, nil
}

// warm reads the file once so that every command finds it in the page cache.
func warm(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

// runOnce makes run i of r's command and adds its times and peak RSS to r.
func runOnce(r *result, i int) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		r.err = err
		return
	}
	defer devnull.Close()
	// Before every run, not once: this machine's kernel may page the file out of the
	// cache between runs (DAMON reclaim), and a run that reads from disk measures the disk.
	if err := warm(r.cap.path); err != nil {
		r.err = err
		return
	}
	var stderr bytes.Buffer
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Stdout, cmd.Stderr = devnull, &stderr
	floor := hwmKB("self")
	start := time.Now()
	err = cmd.Start()
	var polled int64
	if err == nil {
		done := make(chan struct{})
		go func() { polled = poll(cmd.Process.Pid, done) }()
		err = cmd.Wait()
		<-done
	}
	wall := time.Since(start)
	if err != nil {
		r.err = fmt.Errorf("run %d: %v: %s", i+1, err, lastLines(stderr.String(), 5))
		return
	}
	ps := cmd.ProcessState
	r.walls = append(r.walls, wall)
	r.cpus = append(r.cpus, ps.UserTime()+ps.SystemTime())
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		kb := int64(ru.Maxrss)
		if runtime.GOOS == "darwin" {
			kb /= 1024
		}
		// Go starts children with vfork (CLONE_VM): Linux counts the parent's memory
		// at the exec in the child's maxrss. Above that floor the value is the child's
		// own peak; at or below it, use the child's VmHWM sampled while it ran.
		if kb <= floor && polled > 0 {
			kb = polled
		}
		r.rssKB = max(r.rssKB, kb)
	}
	fmt.Printf("  %s run %d: %.2f s wall, %.2f s CPU\n", r.name, i+1, wall.Seconds(), (ps.UserTime() + ps.SystemTime()).Seconds())
}

// hwmKB reads VmHWM (peak RSS, KB) of a process from /proc (0 when unavailable).
func hwmKB(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// poll samples the VmHWM of a running process every 5 ms until it exits; it closes done.
func poll(pid int, done chan struct{}) int64 {
	defer close(done)
	p := strconv.Itoa(pid)
	var peak int64
	for {
		v := hwmKB(p)
		if v == 0 {
			return peak
		}
		peak = max(peak, v)
		time.Sleep(5 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (r *result) ok() bool { return r.skipped == "" && r.err == nil && r.wall > 0 }
func (r *result) mbps() float64 {
	return float64(r.cap.stats.Bytes) / 1e6 / r.wall.Seconds()
}
func (r *result) pps() float64 { return float64(r.cap.stats.Packets) / r.wall.Seconds() }

func printSetup(full, half *capture) {
	for _, c := range []*capture{full, half} {
		s := c.stats
		gen := "cached"
		if c.gen > 0 {
			gen = "generated in " + c.gen.Round(time.Millisecond).String()
		}
		fmt.Printf("%s: %.2f GB, %d packets, %s span, %s\n", filepath.Base(c.path), float64(s.Bytes)/1e9, s.Packets,
			s.End.Sub(s.Start).Round(time.Second), gen)
	}
	s := full.stats
	fmt.Printf("mix: bulk SMB2/HTTPS %.0f%% of packets, %.0f%% of bytes (%d SMB, %d HTTPS); %d lab sessions (%d ICertPassage, %d IPv6, %d VLAN, %d refragmented), %d DCOM; failures %d dropped, %d reset, %d ICMP; packets VLAN %d, IPv6 %d, fragments %d; %d conversations in flight at most\n",
		100*float64(s.BulkPackets)/float64(s.Packets), 100*float64(s.BulkBytes)/float64(s.FrameBytes), s.SMBTransfers, s.HTTPSTransfers,
		s.Sessions, s.SessionsICert, s.SessionsIPv6, s.SessionsVLAN, s.SessionsFragmented, s.DCOM, s.SYNDropped, s.SYNReset, s.UDPUnreachable,
		s.VLAN, s.IPv6, s.Fragments, s.MaxInFlight)
	fmt.Printf("machine: %d CPUs, %s/%s\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func printTable(results []*result) {
	t := analyzer.TextTable(os.Stdout, 0)
	t.Header("TOOL", "RUNS", "WALL S (MEDIAN)", "MB/S", "PACKETS/S", "CPU S", "CORES", "PEAK RSS MB")
	for _, r := range results {
		switch {
		case r.skipped != "":
			t.Append(r.name, "-", "skipped: "+r.skipped, "", "", "", "", "")
		case r.err != nil:
			t.Append(r.name, "-", "failed", "", "", "", "", "")
		default:
			t.Append(r.name, strconv.Itoa(r.runs), fmt.Sprintf("%.2f", r.wall.Seconds()), fmt.Sprintf("%.0f", r.mbps()),
				fmt.Sprintf("%.0f", r.pps()), fmt.Sprintf("%.2f", r.cpu.Seconds()), fmt.Sprintf("%.2f", r.cpu.Seconds()/r.wall.Seconds()),
				fmt.Sprintf("%.1f", mb(r.rssKB)))
		}
	}
	t.Render()
	fmt.Println()
}

// printTargets prints each target with its measured value; false if one failed.
func printTargets(results []*result) bool {
	by := map[string]*result{}
	for _, r := range results {
		by[r.name] = r
	}
	a, ah, td, ts := by["adcsflow analyze"], by["adcsflow analyze (half)"], by["tcpdump -r"], by["tshark"]
	t := analyzer.TextTable(os.Stdout, 0)
	t.Header("TARGET", "MEASURED", "RESULT")
	allOK := true
	row := func(name string, need []*result, value func() (string, bool)) {
		for _, r := range need {
			if !r.ok() {
				why := r.skipped
				if why == "" {
					why = r.name + " failed"
				}
				if r.skipped == "" || r == a || r == ah {
					allOK = false
					t.Append(name, "-", "FAIL ("+why+")")
				} else {
					t.Append(name, "-", "SKIP ("+why+")")
				}
				return
			}
		}
		v, ok := value()
		res := "PASS"
		if !ok {
			res, allOK = "FAIL", false
		}
		t.Append(name, v, res)
	}
	row(fmt.Sprintf("adcsflow throughput / tshark >= %.0fx", targetVsTshark), []*result{a, ts}, func() (string, bool) {
		x := ts.wall.Seconds() / a.wall.Seconds()
		return fmt.Sprintf("%.1fx", x), x >= targetVsTshark
	})
	row(fmt.Sprintf("adcsflow wall / tcpdump -r wall <= %.0fx", targetVsTcpdump), []*result{a, td}, func() (string, bool) {
		x := a.wall.Seconds() / td.wall.Seconds()
		return fmt.Sprintf("%.1fx", x), x <= targetVsTcpdump
	})
	row(fmt.Sprintf("adcsflow packets per CPU-second >= %.1f M", targetPktsPerCPU/1e6), []*result{a}, func() (string, bool) {
		x := float64(a.cap.stats.Packets) / a.cpu.Seconds()
		cores := a.cpu.Seconds() / a.wall.Seconds()
		return fmt.Sprintf("%.2f M (%.2f M packets/s wall on %.2f cores)", x/1e6, a.pps()/1e6, cores), x >= targetPktsPerCPU
	})
	row(fmt.Sprintf("adcsflow peak RSS < %.0f MB", targetRSSMB), []*result{a}, func() (string, bool) {
		x := mb(a.rssKB)
		return fmt.Sprintf("%.1f MB", x), x < targetRSSMB
	})
	row(fmt.Sprintf("RSS(full) / RSS(half) <= %.2f (flat)", targetRSSGrowth), []*result{a, ah}, func() (string, bool) {
		x := float64(a.rssKB) / float64(ah.rssKB)
		return fmt.Sprintf("%.2f (%.1f MB / %.1f MB)", x, mb(a.rssKB), mb(ah.rssKB)), x <= targetRSSGrowth
	})
	t.Render()
	if allOK {
		fmt.Println("\nall targets met")
	} else {
		fmt.Println("\nsome targets not met")
	}
	return allOK
}

// mb converts KiB (getrusage, /proc) to MB of 10^6 bytes.
func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }
