package main

// Peak memory of `casemail run` for one mail at the default size limit.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// vmHWM reads the peak resident set size of a process, in bytes.
func vmHWM(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("odd VmHWM line %q", line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

// bigMail is a mail of about size bytes from alice: a short text and one
// base64 attachment making up the rest.
func bigMail(size int) string {
	head := "From: Alice <alice@acme.example>\r\nTo: support@example.com\r\nSubject: Big dump\r\n" +
		"Message-ID: <memory-test@acme.example>\r\nDate: Mon, 23 Nov 2026 10:00:00 -0800\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"mem\"\r\n\r\n" +
		"--mem\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAccount: admin@acme.example\r\nEngine: acme-search\r\nHeap dump attached.\r\n" +
		"--mem\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"heap.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	tail := "--mem--\r\n"
	b64Len := size - len(head) - len(tail)
	b64Len -= b64Len / 78 * 2 // line breaks
	raw := make([]byte, b64Len/4*3)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(raw)
	enc := base64.StdEncoding.EncodeToString(raw)
	var b strings.Builder
	b.Grow(size + 1024)
	b.WriteString(head)
	for len(enc) > 0 {
		n := min(76, len(enc))
		b.WriteString(enc[:n])
		b.WriteString("\r\n")
		enc = enc[n:]
	}
	b.WriteString(tail)
	return b.String()
}

// TestMemoryOneMaxSizeMail runs the binary, delivers one mail just under
// the default max_message_bytes (25 MiB: a 24 MiB base64 attachment) and
// reads the daemon's peak RSS before stopping it.
func TestMemoryOneMaxSizeMail(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary with a 25 MiB mail")
	}
	imapSrv, smtpSrv := startServers(t)
	admin := freeAddr(t)
	cfg := setup(t, imapSrv.Port(), smtpSrv.Port(), admin, imapSrv.Password())
	d := startDaemon(t, cfg)
	d.waitAdmin(t, admin)
	pid := d.cmd.Process.Pid
	idle, err := vmHWM(pid)
	if err != nil {
		t.Skipf("cannot read peak RSS: %v", err)
	}

	raw := bigMail(25<<20 - 64<<10)
	_, att, _ := strings.Cut(raw, "filename=\"heap.bin\"")
	_, att, _ = strings.Cut(att, "\r\n\r\n")
	att, _, _ = strings.Cut(att, "--mem--")
	wantSize := int64(base64.StdEncoding.DecodedLen(len(strings.ReplaceAll(att, "\r\n", ""))))
	if len(raw) > 25<<20 {
		t.Fatalf("mail is %d bytes, over the limit", len(raw))
	}
	if _, err := imapSrv.Deliver("INBOX", []byte(raw), time.Now()); err != nil {
		t.Fatal(err)
	}
	raw = ""
	start := time.Now()
	waitFor(t, 60*time.Second, "the acknowledgement of the big mail", func() bool {
		if d.exited() {
			t.Fatalf("casemail run exited: %v\n%s", d.err, d.stderr.String())
		}
		for _, r := range smtpSrv.Received() {
			if containsAddr(r.To, "alice@acme.example") {
				return true
			}
		}
		return false
	})
	took := time.Since(start)
	waitFor(t, 30*time.Second, "the big mail moved to Processed", func() bool {
		done, _ := imapSrv.Messages("Processed")
		return len(done) == 1
	})
	peak, err := vmHWM(pid)
	if err != nil {
		t.Fatal(err)
	}
	const budget = 64 << 20
	t.Logf("casemail run: VmHWM %.1f MiB idle, %.1f MiB after one %.1f MiB mail (case in %s)",
		float64(idle)/(1<<20), float64(peak)/(1<<20), float64(25<<20-64<<10)/(1<<20), took.Round(time.Millisecond))
	if peak >= budget {
		t.Logf("BUG: peak RSS %.1f MiB for one 25 MiB mail, over the %d MiB budget", float64(peak)/(1<<20), budget>>20)
	}

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code, took := d.wait(10 * time.Second); code != 0 {
		t.Errorf("after SIGTERM: exit %d after %s", code, took)
	}
	// The whole attachment was read: its decoded size is in the case.
	code, stdout, stderr := run(t, "cases", "show", "CASE-1000", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("cases show: exit %d: %s", code, stderr)
	}
	var c struct {
		Messages []struct {
			Attachments []struct {
				Name string `json:"name"`
				Size int64  `json:"size"`
			} `json:"attachments"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) == 0 || len(c.Messages[0].Attachments) != 1 || c.Messages[0].Attachments[0].Size != wantSize {
		t.Errorf("case attachments %+v, want heap.bin of %d bytes", c.Messages, wantSize)
	}
}
