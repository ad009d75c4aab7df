package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"casemail/intake"
	"casemail/internal/mailtest"
	"casemail/store"
)

// binary is the casemail command built once for the tests that run it as
// a process (run, signals, check).
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
	binaryDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryDir != "" {
		os.RemoveAll(binaryDir)
	}
	os.Exit(code)
}

// casemailBinary builds ./cmd/casemail into a temporary directory, once.
func casemailBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		binaryDir, binaryErr = os.MkdirTemp("", "casemail-test-bin-")
		if binaryErr != nil {
			return
		}
		binaryPath = filepath.Join(binaryDir, "casemail")
		cmd := exec.Command("go", "build", "-o", binaryPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

// syncBuffer is a bytes.Buffer safe for a process to write while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is a running `casemail run`.
type daemon struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{}
	err    error // after done
}

// startDaemon runs `casemail run -config cfg`; the process is killed at
// the end of the test if it still runs.
func startDaemon(t *testing.T, cfg string) *daemon {
	t.Helper()
	d := &daemon{stderr: new(syncBuffer), done: make(chan struct{})}
	d.cmd = exec.Command(casemailBinary(t), "run", "-config", cfg)
	d.cmd.Stdout = d.stderr
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("casemail run output:\n%s", d.stderr.String())
		}
	})
	return d
}

// waitAdmin waits until the daemon's admin endpoint accepts connections.
func (d *daemon) waitAdmin(t *testing.T, admin string) {
	t.Helper()
	waitFor(t, 15*time.Second, "the admin endpoint", func() bool {
		if d.exited() {
			t.Fatalf("casemail run exited early: %v\n%s", d.err, d.stderr.String())
		}
		c, err := net.DialTimeout("tcp", admin, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// wait waits for the process to exit and returns its exit status, or -1
// after timeout.
func (d *daemon) wait(timeout time.Duration) (int, time.Duration) {
	start := time.Now()
	select {
	case <-d.done:
		return d.cmd.ProcessState.ExitCode(), time.Since(start)
	case <-time.After(timeout):
		return -1, time.Since(start)
	}
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// freeAddr returns a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startServers starts the in-process IMAP and SMTP servers, closed at the
// end of the test.
func startServers(t *testing.T) (*mailtest.IMAPServer, *mailtest.SMTPServer) {
	t.Helper()
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Folders: []string{"Processed", "Quarantine"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	return imapSrv, smtpSrv
}

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const aliceMail = "From: Alice Frémont <alice@acme.example>\r\n" +
	"To: support@example.com\r\n" +
	"Subject: Index stuck\r\n" +
	"Message-ID: <run-test-1@acme.example>\r\n" +
	"Date: Mon, 23 Nov 2026 10:00:00 -0800\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
	"Hello,\r\n\r\n" +
	"Account: admin@acme.example\r\n" +
	"Engine: acme-search\r\n" +
	"Problem: indexing has been stuck since this morning\r\n" +
	"Severity: high\r\n" +
	"Environment: production\r\n\r\n" +
	"Thanks,\r\nAlice\r\n"

// TestRun drives the real binary against the in-process servers: a mail
// becomes a case, the admin endpoint answers `cases`, `healthcheck`,
// /metrics and /readyz while the daemon runs, SIGTERM stops it cleanly,
// and the store it leaves is readable directly and consistent.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	imapSrv, smtpSrv := startServers(t)
	admin := freeAddr(t)
	cfg := setup(t, imapSrv.Port(), smtpSrv.Port(), admin, imapSrv.Password())
	d := startDaemon(t, cfg)

	d.waitAdmin(t, admin)
	if _, err := imapSrv.Deliver("INBOX", []byte(aliceMail), time.Now()); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	waitFor(t, 15*time.Second, "CASE-1000 in cases list -json", func() bool {
		code, stdout, _ := run(t, "cases", "list", "-json", "-config", cfg)
		if code != 0 {
			return false
		}
		list = nil
		return json.Unmarshal([]byte(stdout), &list) == nil && len(list) == 1
	})
	if list[0]["id"] != "CASE-1000" || list[0]["account"] != "admin@acme.example" || list[0]["engine"] != "acme-search" ||
		list[0]["severity"] != 2.0 || list[0]["contact"] != "alice@acme.example" {
		t.Errorf("cases list -json = %v", list)
	}
	if _, ok := list[0]["messages"]; ok {
		t.Errorf("cases list -json has messages: %v", list[0])
	}

	// cases show through the admin endpoint, flags on either side.
	code, stdout, stderr := run(t, "cases", "show", "CASE-1000", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("cases show: exit %d, stderr %q", code, stderr)
	}
	obj := checkShowJSON(t, stdout, "CASE-1000")
	if msgs, _ := obj["messages"].([]any); len(msgs) == 0 {
		t.Errorf("CASE-1000 has no messages: %v", obj)
	} else if m := msgs[0].(map[string]any); m["direction"] != "in" || m["kind"] != "customer" || m["message_id"] != "<run-test-1@acme.example>" {
		t.Errorf("first message = %v", m)
	}
	if code, stdout2, _ := run(t, "cases", "show", "-json", "CASE-1000", "-config", cfg); code != 0 || stdout2 == "" {
		t.Errorf("cases show -json CASE-1000: exit %d", code)
	}
	if code, _, stderr := run(t, "cases", "show", "CASE-1999", "-config", cfg); code != 1 || !strings.Contains(stderr, "CASE-1999") {
		t.Errorf("cases show CASE-1999 while running: exit %d, %q", code, stderr)
	}

	// The acknowledgement and the notification reach the SMTP server.
	sent, err := smtpSrv.WaitFor(2, 15*time.Second)
	if err != nil {
		t.Fatalf("SMTP: %v (got %d)", err, len(sent))
	}
	for _, r := range sent {
		if !bytes.Contains(r.Data, []byte("[CASE-1000]")) {
			t.Errorf("mail to %v lacks [CASE-1000]:\n%s", r.To, r.Data)
		}
	}

	// healthcheck: exit 0 once the daemon is ready.
	waitFor(t, 10*time.Second, "healthcheck exit 0", func() bool {
		code, _, _ := run(t, "healthcheck", "-config", cfg)
		return code == 0
	})
	status, body := httpGet(t, "http://"+admin+"/readyz")
	var ready struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(body), &ready); err != nil {
		t.Fatalf("/readyz is not JSON: %v\n%s", err, body)
	}
	if status != 200 || !ready.Ready || len(ready.Checks) == 0 {
		t.Errorf("/readyz = %d %s", status, body)
	}
	names := map[string]bool{}
	for _, c := range ready.Checks {
		names[c.Name] = true
		if !c.OK {
			t.Errorf("/readyz check %s fails", c.Name)
		}
	}
	for _, n := range []string{"store", "imap", "smtp", "contacts"} {
		if !names[n] {
			t.Errorf("/readyz does not name check %s: %s", n, body)
		}
	}
	if status, body := httpGet(t, "http://"+admin+"/healthz"); status != 200 {
		t.Errorf("/healthz = %d %q", status, body)
	}

	status, metrics := httpGet(t, "http://"+admin+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		`casemail_messages_total{outcome="case_created"} 1`,
		`casemail_messages_total{outcome="refused"} 0`,
		`casemail_messages_total{outcome="suppressed"} 0`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// The store is held: a direct writer is refused.
	dbPath := filepath.Join(filepath.Dir(cfg), "data", "casemail.db")
	if _, err := store.Open(dbPath, &store.Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("store.Open while running: %v, want ErrLocked", err)
	}

	// The processed mail left INBOX.
	waitFor(t, 10*time.Second, "the mail moved to Processed", func() bool {
		inbox, _ := imapSrv.Messages("INBOX")
		done, _ := imapSrv.Messages("Processed")
		return len(inbox) == 0 && len(done) == 1
	})

	// SIGTERM: clean exit, status 0, within 10 s.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, took := d.wait(10 * time.Second)
	if code != 0 {
		t.Fatalf("after SIGTERM: exit status %d after %s (-1: still running)", code, took)
	}
	t.Logf("stopped %s after SIGTERM", took.Round(time.Millisecond))
	if !strings.Contains(d.stderr.String(), "casemail stopped") {
		t.Errorf("log does not say casemail stopped:\n%s", d.stderr.String())
	}

	// No daemon: cases list reads the file directly.
	code, stdout, stderr = run(t, "cases", "list", "-json", "-config", cfg)
	if code != 0 || !strings.Contains(stdout, `"CASE-1000"`) {
		t.Errorf("cases list after stop: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	db, err := store.Open(dbPath, &store.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("store.Open after stop: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Errorf("store Check after stop: %v", err)
	}
	err = db.View(func(tx intake.Tx) error {
		out, err := tx.Outbox(0, 0)
		if len(out) != 0 {
			t.Errorf("outbox holds %d mails after a clean stop", len(out))
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	// healthcheck with the daemon gone: exit 1.
	if code, _, _ := run(t, "healthcheck", "-config", cfg); code != 1 {
		t.Errorf("healthcheck with no daemon: exit %d, want 1", code)
	}
}

// TestCheck: `check` logs in to both servers and prints one ok line per
// check; a wrong IMAP password makes it fail with a FAIL imap line.
func TestCheck(t *testing.T) {
	imapSrv, smtpSrv := startServers(t)
	cfg := setup(t, imapSrv.Port(), smtpSrv.Port(), "", imapSrv.Password())
	if err := os.Mkdir(filepath.Join(filepath.Dir(cfg), "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "check", "-config", cfg)
	if code != 0 {
		t.Fatalf("check: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	seen := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "ok" {
			t.Errorf("line %q is not an ok line", l)
			continue
		}
		if seen[f[1]] {
			t.Errorf("check %s reported twice", f[1])
		}
		seen[f[1]] = true
	}
	for _, want := range []string{"config", "plans", "contacts", "store", "imap", "smtp"} {
		if !seen[want] {
			t.Errorf("no ok line for %s:\n%s", want, stdout)
		}
	}
	if len(smtpSrv.Received()) != 0 {
		t.Errorf("check sent %d mails", len(smtpSrv.Received()))
	}

	bad := setup(t, imapSrv.Port(), smtpSrv.Port(), "", "wrong-password")
	os.Mkdir(filepath.Join(filepath.Dir(bad), "data"), 0o750)
	code, stdout, stderr = run(t, "check", "-config", bad)
	if code != 1 {
		t.Errorf("check with a wrong IMAP password: exit %d, want 1", code)
	}
	if !strings.Contains(stdout, "FAIL  imap") {
		t.Errorf("no FAIL imap line:\n%s", stdout)
	}
	if !strings.Contains(stdout, "ok    smtp") || !strings.Contains(stdout, "ok    config") {
		t.Errorf("other checks should still pass:\n%s", stdout)
	}
	if !strings.Contains(stderr, "check") {
		t.Errorf("stderr %q does not say the check failed", stderr)
	}

	// An SMTP server that is down fails the smtp line.
	smtpSrv.SetDown(true)
	code, stdout, _ = run(t, "check", "-config", cfg)
	if code != 1 || !strings.Contains(stdout, "FAIL  smtp") {
		t.Errorf("check with SMTP down: exit %d\n%s", code, stdout)
	}
}

// tarpit listens on loopback, accepts connections and never says a word:
// a server that hangs. Closed at the end of the test.
func tarpit(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// TestCheckStoreDirectoryCreatedAtRun: `run` creates the store's
// directory (store.Open does MkdirAll), so `check` should not fail a fresh
// install whose store directory does not exist yet.
func TestCheckStoreDirectoryCreatedAtRun(t *testing.T) {
	imapSrv, smtpSrv := startServers(t)
	cfg := setup(t, imapSrv.Port(), smtpSrv.Port(), "", imapSrv.Password())
	code, stdout, _ := run(t, "check", "-config", cfg)
	if code != 0 {
		t.Errorf("check fails a store directory that run would create (cmd/casemail/check.go checkStore):\n%s", stdout)
	}
}

// startHungDaemon runs casemail against IMAP and SMTP tarpits, with 60 s
// timeouts, and waits until its admin endpoint answers.
func startHungDaemon(t *testing.T) *daemon {
	t.Helper()
	admin := freeAddr(t)
	cfgPath := setup(t, tarpit(t), tarpit(t), admin, "secret")
	data, _ := os.ReadFile(cfgPath)
	data = bytes.Replace(data, []byte(`timeout = "5s"`), []byte(`timeout = "60s"`), 1)
	data = bytes.Replace(data, []byte("[smtp]"), []byte("timeout = \"60s\"\n\n[smtp]"), 1)
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgPath)
	d.waitAdmin(t, admin)
	time.Sleep(200 * time.Millisecond) // let the IMAP connection attempt start
	return d
}

// TestStopWithHungServer: one SIGTERM stops casemail within 10 s (a
// container's stop grace period) even while the IMAP server hangs.
func TestStopWithHungServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	d := startHungDaemon(t)
	d.cmd.Process.Signal(syscall.SIGTERM)
	code, took := d.wait(10 * time.Second)
	if code == -1 {
		t.Fatalf("SIGTERM did not stop casemail within 10s while the IMAP server hangs before its greeting: " +
			"imapsrc.Source.connect ignores ctx (intake/imapsrc/source.go, `_ = ctx`), so shutdown waits for [imap] timeout")
	}
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	t.Logf("stopped %s after SIGTERM", took.Round(time.Millisecond))
}

// TestSecondSignal: a second SIGTERM during shutdown exits at once. To
// have a shutdown to interrupt, the IMAP and SMTP servers are tarpits that
// accept connections and never answer. Best effort: when the first signal
// already stops casemail quickly, there is nothing to test.
func TestSecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	d := startHungDaemon(t)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code, took := d.wait(time.Second); code != -1 {
		t.Skipf("first SIGTERM stopped casemail in %s (exit %d) even with hung servers: nothing to interrupt", took, code)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	code, took := d.wait(3 * time.Second)
	if code == -1 {
		t.Fatalf("a second SIGTERM did not stop casemail within 3s")
	}
	t.Logf("second signal: exit status %d after %s", code, took.Round(time.Millisecond))
	if code == 0 {
		t.Errorf("exit status 0 after a forced exit; want non-zero")
	}
	if !strings.Contains(d.stderr.String(), "second signal") {
		t.Errorf("output does not mention the second signal:\n%s", d.stderr.String())
	}
}
