package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/adcsflow/adcsflow/analyzer"
	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

// BenchmarkMix analyzes the benchmark capture in process, for profiles (make profile):
// $ADCSFLOW_BENCH_FILE, or the default mix of the cache folder (generated when missing).
func BenchmarkMix(b *testing.B) {
	path := os.Getenv("ADCSFLOW_BENCH_FILE")
	if path == "" {
		dir := os.Getenv("ADCSFLOW_BENCH_CACHE")
		if dir == "" {
			home, _ := os.UserHomeDir()
			dir = filepath.Join(home, ".cache", "adcsflow-bench")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		c, err := generate(dir, capgen.MixOptions{Bytes: 2_100_000_000, Packets: 10_500_000, Duration: time.Hour, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		path = c.path
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for b.Loop() {
		rep, err := analyzer.AnalyzeFiles([]string{path}, analyzer.Options{})
		if err != nil {
			b.Fatal(err)
		}
		packets = rep.Summary.Packets
	}
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
