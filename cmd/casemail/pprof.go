//go:build pprof

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// A build with -tags pprof writes a CPU profile of the whole process to
// $CASEMAIL_CPUPROFILE, and the allocations of the whole process (heap
// profile, alloc_space) to $CASEMAIL_MEMPROFILE at exit (the benchmark's
// -bin flag takes such a build).
func init() {
	stopCPU := func() {}
	if path := os.Getenv("CASEMAIL_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "casemail: cpu profile:", err)
		} else {
			stopCPU = func() { pprof.StopCPUProfile(); f.Close() }
		}
	}
	mem := os.Getenv("CASEMAIL_MEMPROFILE")
	atExit = func() {
		stopCPU()
		if mem == "" {
			return
		}
		f, err := os.Create(mem)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "casemail: memory profile:", err)
		}
	}
}
