//go:build !interop

package interop

import "testing"

// TestInteropSuite explains how to run the real-server suite: its tests
// carry the build tag "interop" and need Dovecot and mailpit, so plain
// `go test ./...` skips it.
func TestInteropSuite(t *testing.T) {
	t.Skip("interop suite not run: it needs Dovecot and mailpit. Run `bash interop/run.sh` " +
		"(installs them, starts private servers, runs `go test -tags interop ./interop/`), " +
		"or `go test -tags interop -v ./interop/` as root with them installed")
}
