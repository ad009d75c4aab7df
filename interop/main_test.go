//go:build interop

// Package interop runs casemail against real mail servers: a private
// Dovecot (IMAP, IMAPS, IDLE) and mailpit (SMTP sink with an HTTP API),
// started by servers.sh. Every test runs the real binary as a separate
// process with a config of its own, its own Dovecot user and its own store.
package interop

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// env is what servers.sh wrote to DIR/env.
type env struct {
	Dir       string
	Host      string
	IMAPPort  int
	IMAPSPort int
	SMTPPort  int
	HTTPPort  int
	CAFile    string
	Users     int
	Password  string
}

var (
	srv      env
	bin      string // the casemail binary under test
	repoRoot string
	nextUser atomic.Int32
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	work, err := os.MkdirTemp("", "casemail-interop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(work)

	bin = filepath.Join(work, "casemail")
	build := exec.Command("go", "build", "-o", bin, "./cmd/casemail")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: building casemail:", err)
		return 1
	}

	envFile := os.Getenv("INTEROP_ENV")
	if envFile == "" {
		// No servers given: start our own, and stop them whatever happens.
		dir, err := os.MkdirTemp("/tmp", "casemail-interop-srv-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		defer func() {
			if err := serversSh("stop", dir); err != nil {
				fmt.Fprintln(os.Stderr, "interop: stopping servers:", err)
			}
		}()
		if err := serversSh("start", dir); err != nil {
			fmt.Fprintln(os.Stderr, "interop: starting servers:", err)
			return 1
		}
		envFile = filepath.Join(dir, "env")
	}
	if srv, err = readEnv(envFile); err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	if err := mailpitDeleteAll(); err != nil {
		fmt.Fprintln(os.Stderr, "interop: emptying mailpit:", err)
		return 1
	}
	code := m.Run()
	printSummary()
	return code
}

// serversSh runs interop/servers.sh CMD DIR with its output on stderr.
func serversSh(cmd, dir string) error {
	c := exec.Command("bash", filepath.Join(repoRoot, "interop", "servers.sh"), cmd, dir)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	return c.Run()
}

func readEnv(path string) (env, error) {
	f, err := os.Open(path)
	if err != nil {
		return env{}, fmt.Errorf("reading servers' env: %w", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok {
			kv[k] = v
		}
	}
	num := func(k string) int {
		n, _ := strconv.Atoi(kv[k])
		if n == 0 && err == nil {
			err = fmt.Errorf("%s: %s missing or not a number", path, k)
		}
		return n
	}
	e := env{Dir: kv["DIR"], Host: kv["IMAP_HOST"], CAFile: kv["CA_FILE"], Password: kv["PASSWORD"],
		IMAPPort: num("IMAP_PORT"), IMAPSPort: num("IMAPS_PORT"), SMTPPort: num("SMTP_PORT"),
		HTTPPort: num("HTTP_PORT"), Users: num("USERS")}
	return e, err
}

// newUser hands each test a Dovecot user (mailbox) nobody else uses.
func newUser(t *testing.T) string {
	n := int(nextUser.Add(1))
	if n > srv.Users {
		t.Fatalf("out of Dovecot users (%d): raise INTEROP_USERS in servers.sh", srv.Users)
	}
	user := fmt.Sprintf("user%d", n)
	resetMailbox(t, user)
	return user
}
