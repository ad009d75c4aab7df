package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"casemail/calendar"
	"casemail/config"
	"casemail/intake"
	"casemail/intake/imapsrc"
	"casemail/mailparse"
	"casemail/reply"
	"casemail/store"
)

// Overrides let the demo and tests adjust what the config file cannot
// express: certificates to trust, a clock, an observer.
type Overrides struct {
	IMAPTLS *tls.Config
	SMTPTLS *tls.Config
	Now     func() time.Time
	Observe func(intake.Result)
	Timer   func(intake.Result)
	// AdminListener, when set, serves the admin endpoint on it instead of
	// listening on [admin] listen.
	AdminListener net.Listener
	// ContactsPoll is how often the contacts file is checked; default 2s.
	ContactsPoll time.Duration
	// LookupTXT resolves DKIM keys (tests serve their own); nil: DNS.
	LookupTXT func(domain string) ([]string, error)
}

// Daemon is casemail run: the IMAP source, the outbox and the admin
// endpoint around one store.
type Daemon struct {
	cfg     *config.Config
	ov      Overrides
	log     *slog.Logger
	db      *store.DB
	desk    *intake.Desk
	source  *imapsrc.Source
	outbox  *intake.Outbox
	sender  *reply.SMTP
	metrics *Metrics
	admin   net.Listener

	dir         atomic.Pointer[intake.Directory]
	contactsMu  sync.Mutex
	contactsErr error        // last reload failure, nil when the file in force is the file on disk
	contactsSig string       // identity of the file last loaded (inode, size, mtime)
	contactsNew string       // identity of a changed file seen once, not yet loaded
	lastPoll    atomic.Int64 // unix nanos of the last successful poll
}

// NewDaemon opens the store and builds every part; nothing runs until Run.
func NewDaemon(cfg *config.Config, log *slog.Logger, ov Overrides) (*Daemon, error) {
	if ov.Now == nil {
		ov.Now = time.Now
	}
	if ov.ContactsPoll == 0 {
		ov.ContactsPoll = 2 * time.Second
	}
	d := &Daemon{cfg: cfg, ov: ov, log: log, metrics: NewMetrics()}
	plans, err := cfg.BuildPlans()
	if err != nil {
		return nil, err
	}
	dir, err := config.LoadContacts(cfg.Contacts.File, plans)
	if err != nil {
		return nil, err
	}
	d.dir.Store(dir)
	d.contactsSig = fileSig(cfg.Contacts.File)
	tmpl, err := reply.LoadTemplates(cfg.Templates.Dir)
	if err != nil {
		return nil, err
	}
	imapPass, err := cfg.IMAPPassword()
	if err != nil {
		return nil, err
	}
	smtpPass, err := cfg.SMTPPassword()
	if err != nil {
		return nil, err
	}
	d.sender, err = reply.NewSMTP(smtpOptions(cfg, smtpPass, ov), log.With("component", "smtp"))
	if err != nil {
		return nil, err
	}
	reminder, err := calendar.ParseTarget(cfg.Cases.ReminderAfter)
	if err != nil {
		return nil, fmt.Errorf("[cases] reminder_after: %w", err)
	}
	d.db, err = store.Open(cfg.Store.Path, nil)
	if err != nil {
		return nil, err
	}
	d.outbox = intake.NewOutbox(intake.OutboxOptions{
		Store: d.db, Sender: d.sender, Renderer: tmpl, Now: ov.Now, Logger: log.With("component", "outbox"),
		Sent: d.metrics.sent,
	})
	d.desk, err = intake.NewDesk(intake.Options{
		Store: d.db, Renderer: tmpl, Directory: d.dir.Load, Plans: plans,
		Support: cfg.SMTP.From, Agents: cfg.Agents.Addresses, Notify: cfg.Agents.Notify,
		IDPrefix:        cfg.Cases.IDPrefix,
		ProcessedFolder: cfg.IMAP.ProcessedFolder, QuarantineFolder: cfg.IMAP.QuarantineFolder,
		AutoReplyLimit: cfg.Limits.AutoRepliesPerHour,
		Policy: intake.PolicyOptions{
			ReminderAfter:      reminder,
			MaxContactAttempts: cfg.Cases.MaxContactAttempts,
			ResolvedCloseAfter: cfg.Cases.ResolvedCloseAfter.Duration,
			ReopenWithin:       cfg.Cases.ReopenWithin.Duration,
		},
		Auth: intake.AuthOptions{
			TrustedAuthservIDs: cfg.Security.TrustedAuthservIDs,
			Require:            cfg.Security.RequireAuth,
		},
		Now: ov.Now, Logger: log.With("component", "intake"),
		Queued:  d.outbox.Queue,
		Observe: d.observe,
		Timer:   d.timer,
	})
	if err != nil {
		d.db.Close()
		return nil, err
	}
	imapPassword, imapRefused := imapSecret(cfg, imapPass, ov)
	d.source = imapsrc.New(d.desk, imapsrc.Options{
		Addr: net.JoinHostPort(cfg.IMAP.Host, strconv.Itoa(cfg.IMAP.Port)), TLS: cfg.IMAP.TLS,
		TLSConfig: ov.IMAPTLS, Username: cfg.IMAP.Username,
		Password:         imapPassword,
		TokenRefused:     imapRefused,
		XOAuth2:          cfg.IMAP.Auth == "xoauth2",
		Folder:           cfg.IMAP.Folder,
		ProcessedFolder:  cfg.IMAP.ProcessedFolder,
		QuarantineFolder: cfg.IMAP.QuarantineFolder,
		PollInterval:     cfg.IMAP.PollInterval.Duration, Idle: cfg.IMAP.Idle,
		StartFrom: intake.StartFrom(cfg.IMAP.StartFrom), BatchSize: cfg.IMAP.BatchSize,
		Timeout: cfg.IMAP.Timeout.Duration,
		Parse: mailparse.Options{
			MaxMessageBytes: cfg.Limits.MaxMessageBytes,
			KeepAttachments: d.fromAgent,
		},
		VerifyDKIM: cfg.Security.VerifyDKIM,
		LookupTXT:  ov.LookupTXT,
		Logger:     log.With("component", "imap"),
		Hooks: imapsrc.Hooks{
			Polled: d.polled,
			Fetched: func(n int) {
				d.metrics.fetched.Add(float64(n))
			},
			Reconnect: func(error) { d.metrics.reconnects.Inc() },
			Backlog:   d.outbox.Hold,
		},
	})
	d.metrics.watchStore(d.db, ov.Now)
	return d, nil
}

// smtpOptions are the sender's options from the config.
func smtpOptions(cfg *config.Config, password string, ov Overrides) reply.Options {
	o := reply.Options{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: password, From: cfg.SMTP.From,
		Timeout: cfg.SMTP.Timeout.Duration, TLSConfig: ov.SMTPTLS,
	}
	if cfg.SMTP.Auth == "xoauth2" {
		ts := newTokenSource("smtp", cfg.SMTP.TokenFile, cfg.SMTP.TokenCommand, ov.now())
		o.Token, o.TokenRefused = ts.Token, ts.Invalidate
	}
	return o
}

// imapSecret returns the IMAP password source, or OAuth2 tokens (and what
// to call when one is refused) with xoauth2.
func imapSecret(cfg *config.Config, password string, ov Overrides) (func() (string, error), func()) {
	if cfg.IMAP.Auth == "xoauth2" {
		ts := newTokenSource("imap", cfg.IMAP.TokenFile, cfg.IMAP.TokenCommand, ov.now())
		return ts.Token, ts.Invalidate
	}
	return func() (string, error) { return password, nil }, nil
}

func (ov Overrides) now() func() time.Time {
	if ov.Now != nil {
		return ov.Now
	}
	return time.Now
}

// fromAgent keeps attachment bytes of agents' mail, to relay them.
func (d *Daemon) fromAgent(h *mailparse.Header) bool {
	from := strings.ToLower(h.Get("From"))
	for _, a := range d.cfg.Agents.Addresses {
		if strings.Contains(from, strings.ToLower(a)) {
			return true
		}
	}
	return false
}

func (d *Daemon) observe(r intake.Result) {
	d.metrics.messages.WithLabelValues(string(r.Outcome)).Inc()
	d.log.Info("mail processed", "uid", r.UID, "message_id", r.MessageID, "outcome", string(r.Outcome),
		"case", string(r.Case), "reason", r.Reason, "sent", len(r.Sent))
	if d.ov.Observe != nil {
		d.ov.Observe(r)
	}
}

func (d *Daemon) timer(r intake.Result) {
	switch {
	case strings.HasPrefix(r.Reason, "first-response warning"):
		d.metrics.sla.WithLabelValues("warning").Inc()
	case strings.HasPrefix(r.Reason, "first-response target breached"):
		d.metrics.sla.WithLabelValues("breach").Inc()
	}
	if d.ov.Timer != nil {
		d.ov.Timer(r)
	}
}

// schedule runs case timers (first-response warnings and breaches,
// reminders, automatic closes) when they fall due, at least every minute.
func (d *Daemon) schedule(ctx context.Context) {
	for {
		if _, err := d.desk.Tick(); err != nil {
			d.log.Error("case timers", "err", err)
		}
		wait := time.Minute
		if next, err := d.desk.NextTimer(); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(d.ov.Now()), 100*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (d *Daemon) polled(dur time.Duration, err error) {
	d.metrics.pollDuration.Observe(dur.Seconds())
	if err == nil {
		d.lastPoll.Store(d.ov.Now().UnixNano())
	}
}

// Run runs until ctx ends, then finishes the mail in hand, gives the outbox
// a few seconds to deliver what it can, and closes the store.
func (d *Daemon) Run(ctx context.Context) error {
	defer d.close()
	g, gctx := errgroup.WithContext(ctx)
	if d.ov.AdminListener != nil {
		d.admin = d.ov.AdminListener
	} else if d.cfg.Admin.Listen != "" {
		ln, err := net.Listen("tcp", d.cfg.Admin.Listen)
		if err != nil {
			return fmt.Errorf("[admin] listen %s: %w", d.cfg.Admin.Listen, err)
		}
		d.admin = ln
	}
	if d.admin != nil {
		srv := &http.Server{Handler: d.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := srv.Serve(d.admin); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("admin endpoint: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
		d.log.Info("admin endpoint listening", "addr", d.admin.Addr().String())
	}
	outCtx, stopOutbox := context.WithCancel(context.Background())
	defer stopOutbox()
	outDone := make(chan struct{})
	go func() { defer close(outDone); _ = d.outbox.Run(outCtx) }()
	g.Go(func() error { return d.source.Run(gctx) })
	g.Go(func() error { d.watchContacts(gctx); return nil })
	g.Go(func() error { d.schedule(gctx); return nil })
	d.log.Info("casemail running", "imap", d.cfg.IMAP.Host, "folder", d.cfg.IMAP.Folder, "store", d.cfg.Store.Path)
	err := g.Wait()

	// Shutdown: the source has finished its batch; deliver what can go.
	stopOutbox()
	<-outDone
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, ferr := d.outbox.Flush(fctx); ferr != nil {
		d.log.Warn("outbox not flushed at shutdown; it resumes at next start", "err", ferr)
	}
	d.log.Info("casemail stopped")
	return err
}

func (d *Daemon) close() {
	d.sender.Close()
	if err := d.db.Close(); err != nil {
		d.log.Error("closing store", "err", err)
	}
}

// watchContacts reloads the contacts file when it changes, including when
// it is replaced by a rename. An invalid edit keeps the last good list.
func (d *Daemon) watchContacts(ctx context.Context) {
	t := time.NewTicker(d.ov.ContactsPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.reloadContacts()
	}
}

func (d *Daemon) reloadContacts() {
	sig := fileSig(d.cfg.Contacts.File)
	d.contactsMu.Lock()
	defer d.contactsMu.Unlock()
	if sig == d.contactsSig {
		return
	}
	if sig != d.contactsNew {
		// An editor may be writing it (truncate, then write: an empty or
		// half-written file can be valid TOML). A version is loaded once it
		// has stayed the same for a poll interval.
		d.contactsNew = sig
		return
	}
	d.contactsSig = sig
	plans, _ := d.cfg.BuildPlans()
	dir, err := config.LoadContacts(d.cfg.Contacts.File, plans)
	if err != nil {
		d.contactsErr = err
		d.metrics.contactsReloads.WithLabelValues("failed").Inc()
		d.log.Error("contacts file not reloaded; the last good list stays in force", "err", err)
		return
	}
	d.contactsErr = nil
	d.dir.Store(dir)
	d.metrics.contactsReloads.WithLabelValues("ok").Inc()
	a, c := dir.Counts()
	d.log.Info("contacts file reloaded", "file", d.cfg.Contacts.File, "accounts", a, "contacts", c)
}

// fileSig identifies a file's version: a rename-replacement changes the
// inode, an edit the size or modification time.
func fileSig(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%v/%d/%d", sysIno(fi), fi.Size(), fi.ModTime().UnixNano())
}

func sysIno(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
