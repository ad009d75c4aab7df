package main

// Mail loops with a badly behaved peer help desk, and the contacts file
// reloaded while the daemon runs; both run the daemon in process (NewDaemon
// and Run) against the mailtest servers.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/internal/mailtest"
	"casemail/mailparse"
)

// inproc is a daemon running in this process.
type inproc struct {
	t       *testing.T
	imap    *mailtest.IMAPServer
	smtp    *mailtest.SMTPServer
	dir     string // holds casemail.toml and contacts.toml
	admin   string // admin endpoint address
	d       *Daemon
	mu      sync.Mutex
	results []intake.Result
}

// startInproc writes a config (cli_test.go's), replaces the contacts file
// with contacts when set, and runs the daemon until the end of the test.
func startInproc(t *testing.T, contacts string, ov Overrides) *inproc {
	t.Helper()
	p := &inproc{t: t}
	p.imap, p.smtp = startServers(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.admin = ln.Addr().String()
	cfgPath := setup(t, p.imap.Port(), p.smtp.Port(), p.admin, p.imap.Password())
	p.dir = filepath.Dir(cfgPath)
	if contacts != "" {
		writeFile(t, p.dir, "contacts.toml", contacts)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ov.AdminListener = ln
	observe := ov.Observe
	ov.Observe = func(r intake.Result) {
		p.mu.Lock()
		p.results = append(p.results, r)
		p.mu.Unlock()
		if observe != nil {
			observe(r)
		}
	}
	d, err := NewDaemon(cfg, discardLogger(), ov)
	if err != nil {
		t.Fatal(err)
	}
	p.d = d
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("the daemon did not stop within 20s")
		}
	})
	return p
}

func (p *inproc) resultsCopy() []intake.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]intake.Result(nil), p.results...)
}

// deliverAndWait delivers raw and waits for its result.
func (p *inproc) deliverAndWait(raw string) intake.Result {
	p.t.Helper()
	n := len(p.resultsCopy())
	if _, err := p.imap.Deliver("INBOX", []byte(raw), time.Now()); err != nil {
		p.t.Fatal(err)
	}
	var r intake.Result
	waitFor(p.t, 15*time.Second, "the mail to be processed", func() bool {
		rs := p.resultsCopy()
		if len(rs) > n {
			r = rs[n]
			return true
		}
		return false
	})
	return r
}

var loopSeq atomic.Int64

func loopMail(from, subject, body string, hdrs ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: support@example.com\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <loop-%d.%d@test>\r\n",
		from, subject, time.Now().Format(time.RFC1123Z), loopSeq.Add(1), time.Now().UnixNano())
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	return b.String()
}

const peerAddr = "helpdesk@peer.example"

// runPeer answers every mail casemail sends to the peer, the way a badly
// behaved help desk does: a new Message-ID, "Re: " + subject, In-Reply-To,
// and no Auto-Submitted. It stops when ctx ends; it returns the times at
// which casemail sent the peer a mail.
func runPeer(ctx context.Context, t *testing.T, p *inproc, unthreaded bool) <-chan []time.Time {
	out := make(chan []time.Time, 1)
	go func() {
		var seen []time.Time
		done := 0
		ticket := 5000
		for {
			rs := p.smtp.Received()
			for _, r := range rs[done:] {
				if !containsAddr(r.To, peerAddr) {
					continue
				}
				seen = append(seen, time.Now())
				m, err := mailparse.Parse(bytes.NewReader(r.Data), nil)
				if err != nil {
					t.Errorf("peer: parsing casemail's mail: %v", err)
					continue
				}
				ticket++
				subject, hdrs := "Re: "+m.Subject, []string{"In-Reply-To: " + m.MessageID, "References: " + m.MessageID}
				if unthreaded {
					// Worse still: a new subject and no threading headers,
					// so every answer looks like a new request.
					subject, hdrs = fmt.Sprintf("Ticket #%d received", ticket), nil
				}
				reply := loopMail("Peer Help Desk <"+peerAddr+">", subject,
					fmt.Sprintf("Thank you for contacting the Peer help desk. Your request has been logged as ticket #%d.\nWe will get back to you shortly.\n\n> %s", ticket, firstLine(m.Text)),
					hdrs...)
				if _, err := p.imap.Deliver("INBOX", []byte(reply), time.Now()); err != nil {
					t.Errorf("peer: %v", err)
				}
			}
			done = len(rs)
			select {
			case <-ctx.Done():
				out <- seen
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

func containsAddr(list []string, addr string) bool {
	for _, a := range list {
		if strings.EqualFold(a, addr) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// TestLoopWithPeerAutoResponder: casemail and an auto-responder that marks
// nothing as automatic answer each other; casemail sends the peer at most
// its rate limit and stops, whether the peer is a contact or a stranger.
func TestLoopWithPeerAutoResponder(t *testing.T) {
	peerContacts := testContacts + `
[[account]]
email    = "it@peer.example"
name     = "Peer Inc"
plan     = "standard"
engines  = ["peer-search"]
contacts = ["helpdesk@peer.example"]
`
	for _, run := range []struct {
		name       string
		contacts   string
		unthreaded bool
	}{
		{"peer is a contact", peerContacts, false},
		{"peer is a stranger", "", false},
		{"peer is a contact, answers unthreaded", peerContacts, true},
		{"peer is a stranger, answers unthreaded", "", true},
	} {
		t.Run(run.name, func(t *testing.T) {
			t.Parallel()
			p := startInproc(t, run.contacts, Overrides{})
			const runFor = 10 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), runFor)
			defer cancel()
			peer := runPeer(ctx, t, p, run.unthreaded)
			// The peer's help desk writes first, like a ticket notification.
			if _, err := p.imap.Deliver("INBOX", []byte(loopMail("Peer Help Desk <"+peerAddr+">", "Ticket #5000: your order",
				"Hello,\n\nWe received your request about the search engine and opened ticket #5000.\n\nPeer Help Desk")), time.Now()); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			sentAt := <-peer
			rs := p.resultsCopy()
			counts := map[intake.Outcome]int{}
			for _, r := range rs {
				counts[r.Outcome]++
			}
			var offsets []string
			for _, at := range sentAt {
				offsets = append(offsets, at.Sub(start).Round(10*time.Millisecond).String())
			}
			t.Logf("%s: in %s casemail sent the peer %d mails (at %v); processed %d mails %v; %d mails sent in all",
				run.name, runFor, len(sentAt), offsets, len(rs), counts, len(p.smtp.Received()))
			if len(sentAt) == 0 {
				t.Errorf("casemail never answered the peer: the test proves nothing")
			}
			if len(sentAt) > 3 {
				t.Errorf("casemail sent the peer %d mails in %s, want at most 3 (auto_replies_per_hour)", len(sentAt), runFor)
			}
			if n := len(sentAt); n > 0 && sentAt[n-1].Sub(start) > runFor-3*time.Second {
				t.Errorf("casemail still sent the peer a mail %s after the start: the loop did not stop", sentAt[n-1].Sub(start))
			}
		})
	}
}

// metricValue reads one sample of /metrics.
func metricValue(t *testing.T, admin, name, label string) float64 {
	t.Helper()
	_, body := httpGet(t, "http://"+admin+"/metrics")
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*"` + regexp.QuoteMeta(label) + `"[^}]*\} (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestContactsReloadWhileRunning: an edit and a replacement by rename take
// effect; an invalid edit keeps the last good list and fails /readyz's
// contacts check, naming the line.
func TestContactsReloadWhileRunning(t *testing.T) {
	p := startInproc(t, "", Overrides{ContactsPoll: 100 * time.Millisecond})
	contacts := filepath.Join(p.dir, "contacts.toml")
	reloads := func(label string) float64 {
		return metricValue(t, p.admin, "casemail_contacts_reloads_total", label)
	}
	waitFor(t, 15*time.Second, "the admin endpoint", func() bool { return reloads("ok") >= 0 })

	body := "Engine: acme-search\nThe index is stale."
	if r := p.deliverAndWait(loopMail("Carol <carol@acme.example>", "Before", body)); r.Outcome != intake.OutcomeRefused {
		t.Fatalf("carol before the edit: %s (%s)", r.Outcome, r.Reason)
	}

	// 1. Edit in place.
	withCarol := strings.Replace(testContacts, `contacts = ["alice@acme.example", "ops@acme.example"]`,
		`contacts = ["alice@acme.example", "ops@acme.example", "carol@acme.example"]`, 1)
	if withCarol == testContacts {
		t.Fatal("test contacts changed shape")
	}
	edited := time.Now()
	if err := os.WriteFile(contacts, []byte(withCarol), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the edit reloaded", func() bool { return reloads("ok") >= 1 })
	t.Logf("edit in place applied after %s", time.Since(edited).Round(time.Millisecond))
	if r := p.deliverAndWait(loopMail("Carol <carol@acme.example>", "After edit", body)); r.Outcome != intake.OutcomeCaseCreated {
		t.Errorf("carol after the edit: %s (%s)", r.Outcome, r.Reason)
	}

	// 2. Replace by rename.
	withDave := strings.Replace(withCarol, `"carol@acme.example"]`, `"carol@acme.example", "dave@acme.example"]`, 1)
	tmp := filepath.Join(p.dir, "contacts.toml.tmp")
	if err := os.WriteFile(tmp, []byte(withDave), 0o600); err != nil {
		t.Fatal(err)
	}
	renamed := time.Now()
	if err := os.Rename(tmp, contacts); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the replacement reloaded", func() bool { return reloads("ok") >= 2 })
	t.Logf("replacement by rename applied after %s", time.Since(renamed).Round(time.Millisecond))
	if r := p.deliverAndWait(loopMail("Dave <dave@acme.example>", "After rename", body)); r.Outcome != intake.OutcomeCaseCreated {
		t.Errorf("dave after the rename: %s (%s)", r.Outcome, r.Reason)
	}

	// 3. An invalid edit: the last good list stays, /readyz names the line.
	broken := strings.Replace(withDave, `plan     = "standard"`, `plan     = "standard`, 1)
	brokenLine := 0
	for i, l := range strings.Split(broken, "\n") {
		if strings.Contains(l, `"standard`) && !strings.Contains(l, `"standard"`) {
			brokenLine = i + 1
		}
	}
	if err := os.WriteFile(contacts, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Ready  bool `json:"ready"`
		Checks []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	var status int
	var detail string
	waitFor(t, 10*time.Second, "/readyz to report the contacts file", func() bool {
		var body string
		status, body = httpGet(t, "http://"+p.admin+"/readyz")
		if json.Unmarshal([]byte(body), &ready) != nil {
			return false
		}
		for _, c := range ready.Checks {
			if c.Name == "contacts" && !c.OK {
				detail = c.Detail
				return true
			}
		}
		return false
	})
	t.Logf("/readyz %d, contacts check: %s", status, detail)
	if status != 503 || ready.Ready {
		t.Errorf("/readyz status %d ready %v, want 503 false", status, ready.Ready)
	}
	if !strings.Contains(detail, fmt.Sprintf("line %d", brokenLine)) {
		t.Errorf("contacts check %q does not name line %d", detail, brokenLine)
	}
	if r := p.deliverAndWait(loopMail("Dave <dave@acme.example>", "After a bad edit", body)); r.Outcome != intake.OutcomeCaseCreated {
		t.Errorf("dave after the invalid edit (last good list): %s (%s)", r.Outcome, r.Reason)
	}
	if reloads("failed") < 1 {
		t.Errorf("casemail_contacts_reloads_total{failed} not counted")
	}

	// 4. Fixed again: ready.
	if err := os.WriteFile(contacts, []byte(withDave+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "/readyz 200 after the fix", func() bool {
		s, _ := httpGet(t, "http://"+p.admin+"/readyz")
		return s == 200
	})
}

// TestContactsReloadWaitsForStableFile: a contacts file caught while an
// editor writes it (emptied by the truncate, which is valid TOML) is not
// loaded; a version is loaded once it has stayed the same for a poll.
func TestContactsReloadWaitsForStableFile(t *testing.T) {
	p := startInproc(t, "", Overrides{ContactsPoll: time.Hour}) // polled by hand below
	contacts := filepath.Join(p.dir, "contacts.toml")
	accounts := func() int { a, _ := p.d.dir.Load().Counts(); return a }
	before := accounts()
	if before == 0 {
		t.Fatal("test contacts have no account")
	}
	// The truncate.
	if err := os.WriteFile(contacts, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p.d.reloadContacts()
	if got := accounts(); got != before {
		t.Fatalf("an emptied file seen once was loaded: %d accounts, want %d", got, before)
	}
	withCarol := strings.Replace(testContacts, `"ops@acme.example"]`, `"ops@acme.example", "carol@acme.example"]`, 1)
	time.Sleep(10 * time.Millisecond) // then the write, with a new modification time
	if err := os.WriteFile(contacts, []byte(withCarol), 0o600); err != nil {
		t.Fatal(err)
	}
	p.d.reloadContacts() // first sight of the written file
	p.d.reloadContacts() // the same a poll later: loaded
	if got := accounts(); got != before || len(p.d.dir.Load().AccountsOf("carol@acme.example")) != 1 {
		t.Errorf("after the write: %d accounts (want %d), carol in %d", got, before, len(p.d.dir.Load().AccountsOf("carol@acme.example")))
	}
}
