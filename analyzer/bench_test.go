package analyzer

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/adcsflow/adcsflow/analyzer/capgen"
)

// benchCapture generates (once, into testdata/cache, not committed) a large capture made
// of copies of a real lab capture. ADCSFLOW_BENCH_COPIES sets its size.
func benchCapture(b *testing.B) (path string, size int64) {
	b.Helper()
	copies := 2000
	if v, err := strconv.Atoi(os.Getenv("ADCSFLOW_BENCH_COPIES")); err == nil && v > 0 {
		copies = v
	}
	dir := "../testdata/cache"
	path = filepath.Join(dir, "bench-"+strconv.Itoa(copies)+".pcap")
	if st, err := os.Stat(path); err == nil {
		return path, st.Size()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := capgen.Replicate("../testdata/captures/lab-all-open.pcapng", f, copies); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	return path, st.Size()
}

// BenchmarkAnalyze reads and analyzes the generated capture; it reports packets/s and MB/s.
func BenchmarkAnalyze(b *testing.B) {
	path, size := benchCapture(b)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	packets := 0
	for i := 0; i < b.N; i++ {
		rep, err := AnalyzeFiles([]string{path}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		packets = rep.Summary.Packets
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(packets)/sec, "packets/s")
	b.ReportMetric(float64(size)/sec/1e6, "MB/s")
}
