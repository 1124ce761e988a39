package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

// startProfiles starts the pprof CPU profile and arranges the allocation profile (flags
// --cpuprofile FILE, --memprofile FILE of analyze; make profile uses them). The returned
// function stops and writes them.
func startProfiles(cpu, mem string) (stop func(), err error) {
	stop = func() {}
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return stop, fmt.Errorf("--cpuprofile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return stop, fmt.Errorf("--cpuprofile: %v", err)
		}
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	if mem != "" {
		runtime.MemProfileRate = 64 << 10
		cpuStop := stop
		stop = func() {
			cpuStop()
			f, err := os.Create(mem)
			if err != nil {
				fmt.Fprintf(os.Stderr, "adcsflow: --memprofile: %v\n", err)
				return
			}
			defer f.Close()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(os.Stderr, "adcsflow: --memprofile: %v\n", err)
			}
		}
	}
	return stop, nil
}
