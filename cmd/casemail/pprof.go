//go:build pprof

package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"sync"
	"time"
)

// A build with -tags pprof (the benchmark's -bin flag takes one) records,
// when the variable is set:
//
//	CASEMAIL_CPUPROFILE   a CPU profile, of the whole process or of its first
//	                      CASEMAIL_CPUPROFILE_FOR (e.g. "2s")
//	CASEMAIL_TRACE        an execution trace of the first CASEMAIL_CPUPROFILE_FOR
//	                      (default 2 s)
//	CASEMAIL_HEAPPROFILE  the live heap after CASEMAIL_HEAPPROFILE_AT (default 1 s)
//	CASEMAIL_MEMPROFILE   the allocations of the whole process, at exit
func init() {
	window, _ := time.ParseDuration(os.Getenv("CASEMAIL_CPUPROFILE_FOR"))
	traceWindow := window
	if traceWindow <= 0 {
		traceWindow = 2 * time.Second
	}
	stopCPU := record("CASEMAIL_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile, window)
	stopTrace := record("CASEMAIL_TRACE", trace.Start, trace.Stop, traceWindow)
	if path := os.Getenv("CASEMAIL_HEAPPROFILE"); path != "" {
		at, err := time.ParseDuration(os.Getenv("CASEMAIL_HEAPPROFILE_AT"))
		if err != nil {
			at = time.Second
		}
		time.AfterFunc(at, func() { writeProfile(path, "heap") })
	}
	mem := os.Getenv("CASEMAIL_MEMPROFILE")
	atExit = func() {
		stopCPU()
		stopTrace()
		if mem != "" {
			writeProfile(mem, "allocs")
		}
	}
}

// record starts a recording into the file $env names, if set, and returns
// what stops it (once); it stops by itself after d, when d > 0.
func record(env string, start func(io.Writer) error, stop func(), d time.Duration) func() {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = start(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "casemail: %s: %v\n", env, err)
		return func() {}
	}
	var once sync.Once
	end := func() { once.Do(func() { stop(); f.Close() }) }
	if d > 0 {
		time.AfterFunc(d, end)
	}
	return end
}

// writeProfile writes the named runtime profile to path.
func writeProfile(path, name string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "casemail: %s profile: %v\n", name, err)
	}
}
