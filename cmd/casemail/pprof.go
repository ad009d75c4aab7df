//go:build pprof

package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// A build with -tags pprof writes a CPU profile of the whole process to
// $CASEMAIL_CPUPROFILE (the benchmark's -bin flag takes such a build).
func init() {
	path := os.Getenv("CASEMAIL_CPUPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "casemail: cpu profile:", err)
		return
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "casemail: cpu profile:", err)
		return
	}
	atExit = func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
