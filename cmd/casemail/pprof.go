//go:build pprof

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

// A build with -tags pprof writes a CPU profile of the whole process to
// $CASEMAIL_CPUPROFILE (only the first $CASEMAIL_CPUPROFILE_FOR, e.g. "2s",
// when set), an execution trace of the first $CASEMAIL_CPUPROFILE_FOR
// (default 2 s) to $CASEMAIL_TRACE, the live heap after
// $CASEMAIL_HEAPPROFILE_AT (default 1 s) to $CASEMAIL_HEAPPROFILE, and the allocations of the whole process (heap
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
			var once sync.Once
			stopCPU = func() { once.Do(func() { pprof.StopCPUProfile(); f.Close() }) }
			if d, err := time.ParseDuration(os.Getenv("CASEMAIL_CPUPROFILE_FOR")); err == nil {
				time.AfterFunc(d, stopCPU)
			}
		}
	}
	if path := os.Getenv("CASEMAIL_TRACE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = trace.Start(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "casemail: trace:", err)
		} else {
			d, err := time.ParseDuration(os.Getenv("CASEMAIL_CPUPROFILE_FOR"))
			if err != nil {
				d = 2 * time.Second
			}
			time.AfterFunc(d, func() { trace.Stop(); f.Close() })
		}
	}
	if path := os.Getenv("CASEMAIL_HEAPPROFILE"); path != "" {
		d, err := time.ParseDuration(os.Getenv("CASEMAIL_HEAPPROFILE_AT"))
		if err != nil {
			d = time.Second
		}
		time.AfterFunc(d, func() {
			f, err := os.Create(path)
			if err == nil {
				err = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "casemail: heap profile:", err)
			}
		})
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
