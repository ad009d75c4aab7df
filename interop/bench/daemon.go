package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"casemail/internal/benchmail"
)

// The addresses of the daemon's config: it sends as supportAddr (where the
// generated mails go), agentAddr is the agents' list, notifyAddr gets the
// agents' notifications.
const (
	supportAddr = benchmail.Support
	notifyAddr  = "team@bench.example"
	agentAddr   = "dana@bench.example"
)

// daemon is one `casemail run` process with a config and store of its own.
type daemon struct {
	bin     string // the binary, when not the benchmark's
	dir     string
	cfg     string
	admin   string
	log     string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	err     error
}

// newDaemonDir writes a config for user's INBOX, the contacts file and the
// store path under dir. Everything is as a production config would have
// it (default limits, batch size, log level info), except that IMAP and
// SMTP are plaintext on loopback.
func (b *bench) newDaemonDir(name, user string, contacts []benchmail.Contact) (*daemon, error) {
	dir := filepath.Join(b.tmp, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	admin, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`# casemail benchmark (interop/bench)
[imap]
host = "127.0.0.1"
port = %d
tls = "none"
username = %q
password_env = "BENCH_IMAP_PASSWORD"
folder = "INBOX"
processed_folder = "Processed"
quarantine_folder = "Quarantine"
poll_interval = "30s"
idle = true
start_from = "all"
batch_size = %d
timeout = "1m"

[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
from = "Bench Support <%s>"
timeout = "30s"

[store]
path = "casemail.db"

[contacts]
file = "contacts.toml"

[agents]
addresses = [%q]
notify = %q

[admin]
listen = %q

[log]
level = "info"

[calendars.pacific]
time_zone = "America/Los_Angeles"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:00-18:00"

[plans.premium]
calendar = "pacific"
severities = [1, 2, 3]
first_response = { 1 = "4bh", 2 = "1bd", 3 = "2bd" }

[plans.standard]
calendar = "pacific"
severities = [3]
first_response = { 3 = "3bd" }
`, b.env.IMAPPort, user, b.batch, b.env.SMTPPort, supportAddr, agentAddr, notifyAddr, admin)
	d := &daemon{dir: dir, cfg: filepath.Join(dir, "casemail.toml"), admin: admin, log: filepath.Join(dir, "casemail.log")}
	if err := os.WriteFile(d.cfg, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "contacts.toml"), []byte(benchmail.ContactsTOML(contacts)), 0o600); err != nil {
		return nil, err
	}
	return d, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs the binary in a process group of its own (a terminal's ^C
// reaches the benchmark, which stops the daemon itself).
func (b *bench) start(d *daemon) error {
	f, err := os.OpenFile(d.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	bin := b.bin
	if d.bin != "" {
		bin = d.bin
	}
	cmd := exec.Command(bin, "run", "-config", d.cfg)
	cmd.Dir = d.dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "BENCH_IMAP_PASSWORD="+b.env.Password)
	cmd.Env = append(cmd.Env, strings.Fields(b.daemonEnv)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d.cmd, d.done = cmd, make(chan struct{})
	d.started = time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting casemail: %w", err)
	}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	b.daemonPid.Store(int64(cmd.Process.Pid))
	b.onCleanup(func() { d.kill() })
	return nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 20 s).
func (d *daemon) stop() (time.Duration, error) {
	if d.cmd == nil || !d.running() {
		return 0, nil
	}
	start := time.Now()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		return time.Since(start), nil
	case <-time.After(20 * time.Second):
		d.kill()
		return time.Since(start), fmt.Errorf("casemail did not exit within 20 s of SIGTERM; killed")
	}
}

func (d *daemon) kill() {
	if d.cmd != nil && d.cmd.Process != nil && d.running() {
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// logTail is the last lines of the daemon's log.
func (d *daemon) logTail(n int) string {
	data, _ := os.ReadFile(d.log)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// metrics scrapes /metrics: unlabelled series by name, labelled ones by
// name{labels}.
func (d *daemon) metrics() (map[string]float64, error) {
	resp, err := httpc.Get("http://" + d.admin + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "casemail_") && !strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out, sc.Err()
}

const metricCases = `casemail_messages_total{outcome="case_created"}`

// waitCases polls until n cases are counted, every `every`: /metrics, or
// with fromLog the daemon's log lines (which cost the daemon nothing). It
// returns the times of the first and the n-th case: from the log lines'
// own timestamps with fromLog, else those of the polls that saw them (up
// to `every` late); and how long the polls took.
func (d *daemon) waitCases(n int, every, timeout time.Duration, fromLog bool) (first, last time.Time, scrapes []time.Duration, err error) {
	deadline := time.Now().Add(timeout)
	var logOff int64
	var logCount int
	for {
		st := time.Now()
		c, merr := -1, error(nil)
		if fromLog {
			var k int
			k, logOff, merr = countNewLines(d.log, logOff, "outcome=case_created")
			logCount += k
			c = logCount
		} else {
			var m map[string]float64
			m, merr = d.metrics()
			if merr == nil {
				c = int(m[metricCases])
			}
		}
		now := time.Now()
		scrapes = append(scrapes, now.Sub(st))
		if merr == nil {
			if c > 0 && first.IsZero() {
				first = now
			}
			if c >= n {
				if fromLog {
					// The daemon's own timestamps, written right after
					// each commit, instead of the poll's: up to 50 ms
					// nearer the truth.
					first, now, merr = caseTimes(d.log, "outcome=case_created", n)
				}
				return first, now, scrapes, merr
			}
		}
		if !d.running() {
			return first, now, scrapes, fmt.Errorf("casemail exited (%v); last log lines:\n%s", d.err, d.logTail(30))
		}
		if now.After(deadline) {
			return first, now, scrapes, fmt.Errorf("%d cases not counted within %s (last count: %d, err %v); last log lines:\n%s",
				n, timeout, c, merr, d.logTail(30))
		}
		time.Sleep(every)
	}
}

// caseTimes returns the log times (time=…, millisecond precision) of the
// first and the n-th line holding needle in path.
func caseTimes(path, needle string, n int) (first, nth time.Time, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return first, nth, err
	}
	k := 0
	for line := range bytes.Lines(data) {
		if !bytes.Contains(line, []byte(needle)) {
			continue
		}
		if k++; k != 1 && k != n {
			continue
		}
		f, _, _ := bytes.Cut(line, []byte(" "))
		t, err := time.Parse(time.RFC3339Nano, string(bytes.TrimPrefix(f, []byte("time="))))
		if err != nil {
			return first, nth, fmt.Errorf("log line %q: no time: %w", line, err)
		}
		if k == 1 {
			first = t
		}
		if k == n {
			return first, t, nil
		}
	}
	return first, nth, fmt.Errorf("%s: %d lines with %q, want %d", path, k, needle, n)
}

// countNewLines counts the complete lines holding needle in path from
// offset on; it returns the count and the offset after the last complete
// line read.
func countNewLines(path string, off int64, needle string) (int, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, off, err
	}
	defer f.Close()
	if _, err := f.Seek(off, 0); err != nil {
		return 0, off, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, off, err
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return 0, off, nil
	}
	return bytes.Count(data[:end+1], []byte(needle)), off + int64(end) + 1, nil
}

// outcomes is the non-zero casemail_messages_total series.
func outcomes(m map[string]float64) string {
	var parts []string
	for k, v := range m {
		if strings.HasPrefix(k, "casemail_messages_total{") && v != 0 {
			o := strings.TrimSuffix(strings.TrimPrefix(k, `casemail_messages_total{outcome="`), `"}`)
			parts = append(parts, fmt.Sprintf("%s %v", o, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	sortStrings(parts)
	return strings.Join(parts, ", ")
}
