// Command casemail is the casemail daemon and its admin commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // calendars name IANA zones; a minimal container has no zoneinfo
)

// defaultMemoryLimit is the Go heap's soft limit when GOMEMLIMIT is not
// set: the garbage collector works harder rather than let a backlog of
// parsed mail grow the daemon. It is soft: a mail that needs more gets it.
const defaultMemoryLimit = 32 << 20

// atExit runs before the process exits; a profiling build (pprof.go) sets it.
var atExit = func() {}

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second signal exits at once.
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		<-again
		fmt.Fprintln(os.Stderr, "casemail: second signal, exiting now")
		os.Exit(1)
	}()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	atExit()
	os.Exit(code)
}
