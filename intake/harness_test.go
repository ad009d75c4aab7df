package intake_test

// The harness runs casemail the way cmd/casemail/daemon.go wires it — an
// imapsrc.Source feeding an intake.Desk over a bbolt store, and an
// intake.Outbox delivering through reply.SMTP — against the in-process IMAP
// and SMTP servers of internal/mailtest, over real TCP on 127.0.0.1.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"casemail/config"
	"casemail/intake"
	"casemail/intake/imapsrc"
	"casemail/internal/mailtest"
	"casemail/mailparse"
	"casemail/reply"
	"casemail/store"
)

const (
	supportFrom = "Acme Support <support@example.com>"
	supportAddr = "support@example.com"
	agentAddr   = "dana@example.com"
	notifyAddr  = "support-team@example.com"

	// waitLimit bounds every wait of the harness.
	waitLimit = 20 * time.Second
)

// testPolicy is the calendar and plans of config.example.toml (Swiftype
// policy), decoded with config.Parse and built with BuildPlans.
const testPolicy = `
[calendars.pacific]
time_zone = "America/Los_Angeles"
weekdays  = ["mon", "tue", "wed", "thu", "fri"]
hours     = "08:00-18:00"
holidays  = ["2026-12-25"]

[plans.premium]
calendar       = "pacific"
severities     = [1, 2, 3]
first_response = { 1 = "4bh", 2 = "1bd", 3 = "2bd" }

[plans.standard]
calendar       = "pacific"
severities     = [3]
first_response = { 3 = "3bd" }
`

// testContacts is the allowlist of most tests.
//   - acme: premium, two engines, two contacts
//   - globex: standard, two engines
//   - initech: premium, one engine
const testContacts = `
[[account]]
email    = "admin@acme.example"
name     = "Acme Corp"
plan     = "premium"
engines  = ["acme-search", "acme-staging"]
contacts = ["alice@acme.example", "ops@acme.example"]

[[account]]
email    = "it@globex.example"
name     = "Globex"
plan     = "standard"
engines  = ["globex-prod", "globex-test"]
contacts = ["bob@globex.example"]

[[account]]
email    = "it@initech.example"
name     = "Initech"
plan     = "premium"
engines  = ["initech-search"]
contacts = ["peter@initech.example"]
`

type envOptions struct {
	IMAP       mailtest.IMAPOptions
	FlagOnly   bool             // processed_folder = "" (flag \Seen and leave)
	StartFrom  intake.StartFrom // default "all"
	Contacts   string           // default testContacts
	DeferStart bool             // do not start the daemon in newEnv; call env.start
	// NoOutboxLoop leaves the outbox to the test: it calls env.flush.
	NoOutboxLoop bool
	// NoScheduler does not run the case timers (Desk.Tick).
	NoScheduler    bool
	AutoReplyLimit int
	// Renderer, when set, wraps the templates (to inject failures).
	Renderer func(intake.Renderer) intake.Renderer
	// Log sends the daemon's logs to t.Log (also set by CASEMAIL_TEST_LOG=1).
	Log bool
	// Observe is called with every result, right after its commit and
	// before the mail is moved on the server.
	Observe func(intake.Result)
	// Sec holds the [security] settings: sender authentication and DKIM.
	Sec secOptions
	// BatchSize is the source's batch size (default imapsrc's).
	BatchSize int
	// Queued, when set, is handed the queued mail of every commit before
	// the outbox is.
	Queued func([]*intake.Outgoing)
}

// env is one casemail daemon with its servers and store.
type env struct {
	t      *testing.T
	opts   envOptions
	imap   *mailtest.IMAPServer
	smtp   *mailtest.SMTPServer
	clock  *clock
	dbPath string
	plans  map[string]*intake.Plan
	tmpl   *reply.Templates
	dir    *intake.Directory

	processed, quarantine string

	// The running parts; replaced by restart.
	db     *store.DB
	desk   *intake.Desk
	outbox *intake.Outbox
	sender *reply.SMTP
	source *imapsrc.Source
	cancel context.CancelFunc
	wg     sync.WaitGroup
	runs   int

	mu      sync.Mutex
	results []intake.Result
	backlog []bool // the source's Backlog calls
	// inboxAtBacklog: the mails in INBOX at each Backlog call
	inboxAtBacklog []int
	timers         []intake.Result // what the case timers did
	changed        chan struct{}
}

// clock is the injected Now of the desk and the outbox: real time plus an
// offset that tests can advance.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	if opts.StartFrom == "" {
		opts.StartFrom = intake.StartAll
	}
	if opts.Contacts == "" {
		opts.Contacts = testContacts
	}
	e := &env{t: t, opts: opts, clock: &clock{}, changed: make(chan struct{}),
		dbPath: filepath.Join(t.TempDir(), "casemail.db"), quarantine: "Quarantine"}
	if !opts.FlagOnly {
		e.processed = "Processed"
	}

	cfg, err := config.Parse([]byte(testPolicy))
	must(t, err)
	e.plans, err = cfg.BuildPlans()
	must(t, err)
	e.dir, err = config.ParseContacts([]byte(opts.Contacts), e.plans)
	must(t, err)
	e.tmpl, err = reply.LoadTemplates("")
	must(t, err)

	e.imap, err = mailtest.StartIMAP(opts.IMAP)
	must(t, err)
	t.Cleanup(func() { e.imap.Close() })
	e.smtp, err = mailtest.StartSMTP(mailtest.SMTPOptions{})
	must(t, err)
	t.Cleanup(func() { e.smtp.Close() })
	// Registered last, so it runs first: the daemon stops before the servers.
	t.Cleanup(e.stop)

	if !opts.DeferStart {
		e.start()
	}
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// start opens the store and runs the source and the outbox, as
// cmd/casemail's NewDaemon and Run do.
func (e *env) start() {
	t := e.t
	t.Helper()
	if e.cancel != nil {
		t.Fatal("harness: daemon already running")
	}
	var err error
	e.db, err = store.Open(e.dbPath, nil)
	must(t, err)
	e.sender, err = reply.NewSMTP(reply.Options{
		Host: e.smtp.Host(), Port: e.smtp.Port(), TLS: reply.TLSNone, From: supportFrom,
		Timeout: 5 * time.Second, HelloName: "casemail.test",
	}, nil)
	must(t, err)
	var renderer intake.Renderer = e.tmpl
	if e.opts.Renderer != nil {
		renderer = e.opts.Renderer(renderer)
	}
	e.outbox = intake.NewOutbox(intake.OutboxOptions{Store: e.db, Sender: e.sender, Renderer: renderer,
		Now: e.clock.Now, Logger: e.logger("outbox")})
	queued := func(ms []*intake.Outgoing) {
		if e.opts.Queued != nil {
			e.opts.Queued(ms)
		}
		if !e.opts.NoOutboxLoop {
			e.outbox.Queue(ms)
		}
	}
	e.desk, err = intake.NewDesk(intake.Options{
		Store: e.db, Renderer: renderer, Directory: func() *intake.Directory { return e.dir },
		Plans: e.plans, Support: supportFrom, Agents: []string{agentAddr}, Notify: notifyAddr,
		IDPrefix: "CASE", ProcessedFolder: e.processed, QuarantineFolder: e.quarantine,
		AutoReplyLimit: e.opts.AutoReplyLimit,
		Auth:           e.opts.Sec.Auth,
		Now:            e.clock.Now,
		Logger:         e.logger("intake"),
		Queued:         queued,
		Observe:        e.observe,
		Timer:          e.timer,
	})
	must(t, err)
	e.source = imapsrc.New(e.desk, imapsrc.Options{
		Addr: e.imap.Addr(), TLS: "none", Username: e.imap.Username(),
		Password:         func() (string, error) { return e.imap.Password(), nil },
		Folder:           "INBOX",
		ProcessedFolder:  e.processed,
		QuarantineFolder: e.quarantine,
		PollInterval:     200 * time.Millisecond,
		Idle:             true,
		StartFrom:        e.opts.StartFrom,
		Timeout:          10 * time.Second,
		Logger:           e.logger("imap"),
		Parse:            mailparse.Options{KeepAttachments: fromAgent},
		VerifyDKIM:       e.opts.Sec.VerifyDKIM,
		LookupTXT:        e.opts.Sec.LookupTXT,
		BatchSize:        e.opts.BatchSize,
		Hooks: imapsrc.Hooks{Backlog: func(busy bool) {
			inbox, _ := e.imap.Messages("INBOX")
			e.mu.Lock()
			e.backlog = append(e.backlog, busy)
			e.inboxAtBacklog = append(e.inboxAtBacklog, len(inbox))
			e.mu.Unlock()
			e.outbox.Hold(busy) // as the daemon does
		}},
	})
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.runs++
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = e.source.Run(ctx)
	}()
	if !e.opts.NoOutboxLoop {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			_ = e.outbox.Run(ctx)
		}()
	}
	if !e.opts.NoScheduler {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			e.schedule(ctx, e.desk)
		}()
	}
}

// schedule runs the case timers as cmd/casemail's Daemon.schedule does,
// waking at least every 200 ms so that a test's clock advance is seen soon.
func (e *env) schedule(ctx context.Context, desk *intake.Desk) {
	for {
		if _, err := desk.Tick(); err != nil && ctx.Err() == nil {
			e.t.Errorf("case timers: %v", err)
		}
		wait := 200 * time.Millisecond
		if next, err := desk.NextTimer(); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(e.clock.Now()), 10*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (e *env) timer(r intake.Result) {
	e.mu.Lock()
	e.timers = append(e.timers, r)
	e.mu.Unlock()
}

// logger returns a logger writing to t.Log when logs are asked for, else nil.
func (e *env) logger(component string) *slog.Logger {
	if !e.opts.Log && os.Getenv("CASEMAIL_TEST_LOG") == "" {
		return nil
	}
	t := e.t
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})).
		With("component", component)
}

type tlogWriter struct{ t *testing.T }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// waitReady waits until the source has selected the folder and stored its
// position, so that mail delivered from now on is new to it.
func (e *env) waitReady() {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st, err := e.desk.Position("INBOX")
		must(e.t, err)
		if st != nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the source did not resume INBOX within %v", waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fromAgent is the daemon's KeepAttachments: keep the bytes of agents' mail.
func fromAgent(h *mailparse.Header) bool {
	return strings.Contains(strings.ToLower(h.Get("From")), agentAddr)
}

// stop ends the source and the outbox, waits for them and closes the
// sender and the store. Mail still queued stays in the store.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(waitLimit):
		e.t.Errorf("harness: daemon did not stop within %v", waitLimit)
	}
	e.cancel = nil
	e.sender.Close()
	if err := e.db.Close(); err != nil {
		e.t.Errorf("closing store: %v", err)
	}
}

// restart stops everything, reopens the store and starts again.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

func (e *env) observe(r intake.Result) {
	if e.opts.Observe != nil {
		e.opts.Observe(r)
	}
	e.mu.Lock()
	e.results = append(e.results, r)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// waitResults waits until n mails in all were processed and returns every
// result so far.
func (e *env) waitResults(n int) []intake.Result {
	e.t.Helper()
	deadline := time.After(waitLimit)
	for {
		e.mu.Lock()
		if len(e.results) >= n {
			out := slices.Clone(e.results)
			e.mu.Unlock()
			return out
		}
		ch := e.changed
		got := slices.Clone(e.results)
		e.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			e.t.Fatalf("waited %v for %d results, got %d: %s", waitLimit, n, len(got), describe(got))
		}
	}
}

// result waits for the n-th result (1-based).
func (e *env) result(n int) intake.Result {
	e.t.Helper()
	return e.waitResults(n)[n-1]
}

func (e *env) resultCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.results)
}

func describe(rs []intake.Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  uid %d %s %s %s: %s", r.UID, r.Outcome, r.Case, r.Subject, r.Reason)
	}
	return b.String()
}

// waitQueueEmpty waits until the outbox holds no mail: every mail queued
// so far was handed to the SMTP server (or dropped for good).
func (e *env) waitQueueEmpty() {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		q := e.queue()
		if len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("outbox still holds %d mails after %v; first: %s %v %q (attempts %d, last error %q)",
				len(q), waitLimit, q[0].Purpose, q[0].To, q[0].Subject, q[0].Attempts, q[0].LastError)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) queue() []*intake.Outgoing {
	e.t.Helper()
	var q []*intake.Outgoing
	must(e.t, e.db.View(func(tx intake.Tx) (err error) {
		q, err = tx.Outbox(0, 0)
		return err
	}))
	return q
}

// flush runs one outbox round by hand (NoOutboxLoop).
func (e *env) flush() time.Time {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	next, err := e.outbox.Flush(ctx)
	if err != nil {
		e.t.Fatalf("outbox flush: %v", err)
	}
	return next
}

// sent is one mail the SMTP sink received, parsed.
type sent struct {
	To          []string // envelope recipients
	Envelope    string   // MAIL FROM
	From        mailparse.Address
	Subject     string
	Text        string
	MessageID   string
	InReplyTo   []string
	References  []string
	Header      mailparse.Header
	Attachments []mailparse.Attachment
	Raw         string
}

func (s sent) String() string {
	return fmt.Sprintf("to %v %q", s.To, s.Subject)
}

func parseSent(t testing.TB, r mailtest.Received) sent {
	t.Helper()
	m, err := mailparse.Parse(bytes.NewReader(r.Data), &mailparse.Options{
		KeepAttachments: func(*mailparse.Header) bool { return true }})
	if err != nil {
		t.Fatalf("parsing sent mail: %v\n%s", err, r.Data)
	}
	return sent{To: r.To, Envelope: r.From, From: m.From, Subject: m.Subject, Text: m.Text,
		MessageID: m.MessageID, InReplyTo: m.InReplyTo, References: m.References,
		Header: m.Header, Attachments: m.Attachments, Raw: string(r.Data)}
}

// waitSent waits until the SMTP sink holds n mails in all and returns them.
func (e *env) waitSent(n int) []sent {
	e.t.Helper()
	rs, err := e.smtp.WaitFor(n, waitLimit)
	if err != nil {
		e.t.Fatalf("%v; got: %v", err, e.parseAll(rs))
	}
	return e.parseAll(rs)
}

// sentAll returns what the sink holds once the outbox is empty.
// sentSubjects lists the subjects of every mail the server has received
// so far, in order (without waiting for the queue to empty).
func (e *env) sentSubjects() []string {
	var out []string
	for _, s := range e.parseAll(e.smtp.Received()) {
		out = append(out, s.Subject)
	}
	return out
}

func (e *env) sentAll() []sent {
	e.t.Helper()
	e.waitQueueEmpty()
	return e.parseAll(e.smtp.Received())
}

func (e *env) parseAll(rs []mailtest.Received) []sent {
	out := make([]sent, len(rs))
	for i, r := range rs {
		out[i] = parseSent(e.t, r)
	}
	return out
}

// sentTo filters mails by envelope recipient.
func sentTo(all []sent, addr string) []sent {
	var out []sent
	for _, s := range all {
		if slices.Contains(s.To, addr) {
			out = append(out, s)
		}
	}
	return out
}

// caseJSON returns case id as `casemail cases show -json` prints it, and
// that JSON decoded into an intake.Case.
func (e *env) caseJSON(id intake.CaseID) (intake.Case, []byte) {
	e.t.Helper()
	var c *intake.Case
	must(e.t, e.db.View(func(tx intake.Tx) error {
		var err error
		if c, err = tx.Case(id); err != nil || c == nil {
			return err
		}
		c.Messages, err = tx.Messages(id)
		if c.Messages == nil {
			c.Messages = []intake.Message{}
		}
		return err
	}))
	if c == nil {
		e.t.Fatalf("case %s not in the store", id)
	}
	data, err := json.Marshal(c)
	must(e.t, err)
	var out intake.Case
	must(e.t, json.Unmarshal(data, &out))
	return out, data
}

// cases lists every case of the store, by ID.
func (e *env) cases() []*intake.Case {
	e.t.Helper()
	var list []*intake.Case
	must(e.t, e.db.View(func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error { list = append(list, c); return nil })
	}))
	slices.SortFunc(list, func(a, b *intake.Case) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return list
}

// deliver puts raw in INBOX, arriving now.
func (e *env) deliver(raw string, flags ...imap.Flag) imap.UID {
	e.t.Helper()
	return e.deliverAt(raw, time.Now(), flags...)
}

func (e *env) deliverAt(raw string, at time.Time, flags ...imap.Flag) imap.UID {
	e.t.Helper()
	uid, err := e.imap.Deliver("INBOX", []byte(raw), at, flags...)
	must(e.t, err)
	return uid
}

// folder lists a folder's messages on the server.
func (e *env) folder(name string) []mailtest.StoredMessage {
	e.t.Helper()
	msgs, err := e.imap.Messages(name)
	must(e.t, err)
	return msgs
}

// --- test mail ---

var mailSeq atomic.Int64

// newMsgID makes a unique Message-ID for a test mail.
func newMsgID() string {
	return fmt.Sprintf("<test-%d.%d@mail.test>", mailSeq.Add(1), time.Now().UnixNano())
}

// mail builds a plain UTF-8 mail. body uses \n; lines end in \r\n in the
// result. hdrs are extra "Key: value" lines; a Message-ID, Content-Type or
// To among them replaces the default; "Message-ID:" alone means none.
func mail(from, subject, body string, hdrs ...string) string {
	var b strings.Builder
	has := func(key string) bool {
		for _, h := range hdrs {
			if strings.HasPrefix(strings.ToLower(h), strings.ToLower(key)+":") {
				return true
			}
		}
		return false
	}
	fmt.Fprintf(&b, "From: %s\r\n", from)
	if !has("To") {
		b.WriteString("To: support@example.com\r\n")
	}
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	if !has("Date") {
		b.WriteString("Date: Mon, 23 Nov 2026 10:00:00 -0800\r\n")
	}
	if !has("Message-ID") {
		fmt.Fprintf(&b, "Message-ID: %s\r\n", newMsgID())
	}
	if !has("Content-Type") {
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n")
	}
	for _, h := range hdrs {
		if strings.TrimSpace(h) == "Message-ID:" {
			continue
		}
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(crlf(body))
	return b.String()
}

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// msgIDOf returns the Message-ID header of a raw test mail.
func msgIDOf(raw string) string {
	for _, line := range strings.Split(raw, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.TrimSpace(v)
		}
		if line == "" {
			break
		}
	}
	return ""
}

// --- assertions ---

func wantOutcome(t testing.TB, r intake.Result, want intake.Outcome) {
	t.Helper()
	if r.Outcome != want {
		t.Fatalf("uid %d %q: outcome %s (%s), want %s", r.UID, r.Subject, r.Outcome, r.Reason, want)
	}
}

func wantContains(t testing.TB, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, got)
		}
	}
}

func wantNotContains(t testing.TB, what, got string, nots ...string) {
	t.Helper()
	for _, w := range nots {
		if strings.Contains(got, w) {
			t.Errorf("%s contains %q, it should not:\n%s", what, w, got)
		}
	}
}

// wantThreaded checks the headers every mail casemail sends about a case
// carries.
func wantThreaded(t testing.TB, s sent, id intake.CaseID, auto bool) {
	t.Helper()
	if !strings.Contains(s.Subject, "["+string(id)+"]") {
		t.Errorf("%v: subject lacks [%s]", s, id)
	}
	wantFromSupport(t, s)
	if len(s.InReplyTo) == 0 {
		t.Errorf("%v: no In-Reply-To", s)
	}
	if len(s.References) == 0 {
		t.Errorf("%v: no References", s)
	}
	if !strings.HasPrefix(s.MessageID, "<casemail.") {
		t.Errorf("%v: Message-ID %q is not casemail's", s, s.MessageID)
	}
	wantAuto(t, s, auto)
}

func wantFromSupport(t testing.TB, s sent) {
	t.Helper()
	if s.From.Addr != supportAddr {
		t.Errorf("%v: From %q, want the support address %s", s, s.From.Addr, supportAddr)
	}
}

func wantAuto(t testing.TB, s sent, auto bool) {
	t.Helper()
	got := s.Header.Get("Auto-Submitted")
	switch {
	case auto && got != "auto-replied":
		t.Errorf("%v: Auto-Submitted %q, want auto-replied", s, got)
	case !auto && got != "":
		t.Errorf("%v: Auto-Submitted %q, want none (a person's answer)", s, got)
	}
}
