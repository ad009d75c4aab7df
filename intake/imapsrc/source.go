// Package imapsrc feeds the intake desk from an IMAP folder: it fetches new
// mail by UID in batches, parses each mail once as it streams in, hands the
// batch to the desk, and moves (or flags) each mail only after the desk has
// committed its effect. It reconnects with capped, jittered backoff and
// waits for new mail with IDLE when the server offers it.
package imapsrc

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"

	"casemail/intake"
	"casemail/mailparse"
)

// Options configure a Source.
type Options struct {
	Addr      string // host:port
	TLS       string // "implicit", "starttls" or "none"
	TLSConfig *tls.Config
	Username  string
	// Password returns the password, or the OAuth2 access token when
	// XOAuth2 is set; it is called at every login so that a token can be
	// refreshed.
	Password func() (string, error)
	XOAuth2  bool
	// TokenRefused, when set, is told that a login failed, so that the
	// next one gets a fresh token.
	TokenRefused func()

	Folder           string
	ProcessedFolder  string
	QuarantineFolder string
	PollInterval     time.Duration
	Idle             bool
	StartFrom        intake.StartFrom
	BatchSize        int
	// Timeout bounds every network operation; default 1 minute.
	Timeout time.Duration

	Parse mailparse.Options
	// VerifyDKIM checks each mail's DKIM signatures while it streams in;
	// LookupTXT resolves the keys (nil: the system resolver).
	VerifyDKIM bool
	LookupTXT  func(domain string) ([]string, error)

	Logger *slog.Logger
	Hooks  Hooks
}

// Hooks let the daemon observe the source (metrics, readiness); any may be nil.
type Hooks struct {
	Polled  func(d time.Duration, err error) // after every poll
	Fetched func(n int)                      // mails fetched
	// Backlog is told when a poll finds more than one batch of mail
	// (true) and when every mail of it is committed, before the last of
	// them are moved (false).
	Backlog   func(busy bool)
	Reconnect func(err error) // a session ended with err
}

// Source reads one IMAP folder into a Desk.
type Source struct {
	desk *intake.Desk
	opts Options
	log  *slog.Logger
}

// New builds a Source.
func New(desk *intake.Desk, opts Options) *Source {
	if opts.Folder == "" {
		opts.Folder = "INBOX"
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Minute
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 200
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.StartFrom == "" {
		opts.StartFrom = intake.StartUnseen
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{desk: desk, opts: opts, log: opts.Logger.With("folder", opts.Folder)}
}

// Run reads mail until ctx is done. Connection failures are retried with
// capped exponential backoff and jitter; it returns nil when ctx ends.
func (s *Source) Run(ctx context.Context) error {
	const minBackoff, maxBackoff = time.Second, 2 * time.Minute
	backoff := minBackoff
	for {
		start := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if s.opts.Hooks.Reconnect != nil {
			s.opts.Hooks.Reconnect(err)
		}
		if time.Since(start) > maxBackoff {
			backoff = minBackoff
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		s.log.Warn("IMAP session ended, reconnecting", "err", err, "in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// Check logs in and selects the folder, for `casemail check`.
func (s *Source) Check(ctx context.Context) (*imap.SelectData, error) {
	c, _, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.close()
	var sel *imap.SelectData
	err = c.do(func() (err error) {
		sel, err = c.Select(s.opts.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("selecting %s: %w", s.opts.Folder, err)
	}
	return sel, nil
}

// conn is a client whose every operation runs under a deadline: when one
// takes longer than the timeout the connection is closed, which makes the
// operation fail instead of hanging on a server that stopped answering.
type conn struct {
	*imapclient.Client
	timeout time.Duration

	// The session's folder and whether it is selected read-write (see
	// session).
	uidValidity uint32
	writable    bool
}

func (c *conn) do(op func() error) error {
	t := time.AfterFunc(c.timeout, func() { c.Client.Close() })
	err := op()
	if !t.Stop() {
		return fmt.Errorf("IMAP operation timed out after %s: %w", c.timeout, errOrClosed(err))
	}
	return err
}

func errOrClosed(err error) error {
	if err == nil {
		return net.ErrClosed
	}
	return err
}

func (c *conn) close() {
	done := make(chan struct{})
	go func() { _ = c.Logout().Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
	}
	c.Client.Close()
}

// connect dials, logs in and returns the connection and a channel that is
// signalled when the server reports new mail.
func (s *Source) connect(ctx context.Context) (*conn, <-chan struct{}, error) {
	wake := make(chan struct{}, 1)
	copts := &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Every EXISTS may announce new mail: a count that is
			// not higher can still hide arrivals once processed mail
			// was moved away (its EXPUNGEs come to another handler).
			// A poll it causes in vain is one UID SEARCH.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages == nil {
					return
				}
				select {
				case wake <- struct{}{}:
				default:
				}
			},
		},
	}
	// Until the session is ready, ending ctx closes the connection, so that
	// a server that accepts but never answers cannot hold up a shutdown.
	dialer := &net.Dialer{Timeout: s.opts.Timeout}
	raw, err := dialer.DialContext(ctx, "tcp", s.opts.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to IMAP %s: %w", s.opts.Addr, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	var c *imapclient.Client
	switch s.opts.TLS {
	case "implicit":
		cfg := s.tlsConfig()
		c = imapclient.New(tls.Client(raw, cfg), copts)
	case "starttls":
		copts.TLSConfig = s.tlsConfig()
		c, err = imapclient.NewStartTLS(raw, copts)
	case "none":
		c = imapclient.New(raw, copts)
	default:
		err = fmt.Errorf("tls %q: want implicit, starttls or none", s.opts.TLS)
	}
	if err != nil {
		raw.Close()
		return nil, nil, fmt.Errorf("IMAP %s: %w", s.opts.Addr, err)
	}
	cn := &conn{Client: c, timeout: s.opts.Timeout}
	if err := cn.do(c.WaitGreeting); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("IMAP %s greeting: %w", s.opts.Addr, err)
	}
	secret, err := s.opts.Password()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	err = cn.do(func() error {
		if s.opts.XOAuth2 {
			return c.Authenticate(newXOAuth2(s.opts.Username, secret))
		}
		return c.Login(s.opts.Username, secret).Wait()
	})
	if err != nil {
		c.Close()
		if s.opts.TokenRefused != nil {
			s.opts.TokenRefused()
		}
		return nil, nil, fmt.Errorf("IMAP login as %s: %w", s.opts.Username, err)
	}
	if ctx.Err() != nil {
		c.Close()
		return nil, nil, ctx.Err()
	}
	return cn, wake, nil
}

// tlsConfig is the configured TLS settings with the server name set.
func (s *Source) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(s.opts.Addr)
		cfg.ServerName = host
	}
	return cfg
}

// session runs one connection: select, resume, settle, then poll and wait
// until an error or the end of ctx.
func (s *Source) session(ctx context.Context) error {
	c, wake, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer c.close()
	for _, f := range []string{s.opts.ProcessedFolder, s.opts.QuarantineFolder} {
		if err := s.ensureFolder(c, f); err != nil {
			return err
		}
	}
	// The folder is examined (selected read-only) until the first move or
	// flag: fetching needs no more, and a read-write SELECT can be
	// costly on a folder full of new mail (Dovecot's maildir renames
	// every file from new/ to cur/ first: 80 ms for 5,000 mails), so a
	// backlog's first cases are committed before the server pays for it.
	var sel *imap.SelectData
	if err := c.do(func() (err error) {
		sel, err = c.Select(s.opts.Folder, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	}); err != nil {
		return fmt.Errorf("examining %s: %w", s.opts.Folder, err)
	}
	c.uidValidity = sel.UIDValidity
	st, err := s.desk.Resume(intake.Folder{
		Name: s.opts.Folder, UIDValidity: sel.UIDValidity, UIDNext: uint32(sel.UIDNext),
		Unseen: func() ([]uint32, error) {
			return s.search(c, &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}})
		},
	}, s.opts.StartFrom)
	if err != nil {
		return err
	}
	s.log.Info("IMAP session ready", "uid_validity", sel.UIDValidity, "messages", sel.NumMessages,
		"last_uid", st.LastUID, "backlog", len(st.Backlog), "pending", len(st.Pending))
	if err := s.resumeMoves(c, st.Pending); err != nil {
		return err
	}
	idle := s.opts.Idle && (c.Caps().Has(imap.CapIdle) || c.Caps().Has(imap.CapIMAP4rev2))
	for {
		start := time.Now()
		err := s.poll(ctx, c)
		if s.opts.Hooks.Polled != nil {
			s.opts.Hooks.Polled(time.Since(start), err)
		}
		if err != nil || ctx.Err() != nil {
			return err
		}
		if err := s.wait(ctx, c, wake, idle); err != nil {
			return err
		}
	}
}

// wait returns when new mail may have arrived, the poll interval has
// passed, or ctx ends.
func (s *Source) wait(ctx context.Context, c *conn, wake <-chan struct{}, idle bool) error {
	timer := time.NewTimer(s.opts.PollInterval)
	defer timer.Stop()
	if !idle {
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-wake:
		case <-c.Closed():
			return errors.New("IMAP connection closed")
		}
		return nil
	}
	var cmd *imapclient.IdleCommand
	if err := c.do(func() (err error) { cmd, err = c.Idle(); return err }); err != nil {
		return fmt.Errorf("IDLE: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-timer.C:
	case <-wake:
	case <-c.Closed():
	}
	return c.do(func() error {
		if err := cmd.Close(); err != nil {
			return fmt.Errorf("ending IDLE: %w", err)
		}
		return cmd.Wait()
	})
}

func (s *Source) ensureFolder(c *conn, name string) error {
	if name == "" {
		return nil
	}
	var found bool
	err := c.do(func() error {
		list, err := c.List("", name, nil).Collect()
		found = len(list) > 0
		return err
	})
	if err != nil {
		return fmt.Errorf("listing folder %s: %w", name, err)
	}
	if found {
		return nil
	}
	s.log.Info("creating folder", "name", name)
	err = c.do(func() error { return c.Create(name, nil).Wait() })
	if err != nil && !strings.Contains(strings.ToUpper(err.Error()), "ALREADYEXISTS") {
		return fmt.Errorf("creating folder %s: %w", name, err)
	}
	return nil
}

// search runs UID SEARCH; with ESEARCH (RFC 4731) the answer comes as
// ranges, a few bytes even for thousands of mails.
func (s *Source) search(c *conn, crit *imap.SearchCriteria) ([]uint32, error) {
	var opts *imap.SearchOptions
	if caps := c.Caps(); caps.Has(imap.CapESearch) || caps.Has(imap.CapIMAP4rev2) {
		opts = &imap.SearchOptions{ReturnAll: true}
	}
	var data *imap.SearchData
	err := c.do(func() (err error) {
		data, err = c.UIDSearch(crit, opts).Wait()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("UID SEARCH: %w", err)
	}
	uids := data.AllUIDs()
	out := make([]uint32, len(uids))
	for i, u := range uids {
		out[i] = uint32(u)
	}
	return out, nil
}

// newUIDs lists the UIDs above last with "UID SEARCH UID last+1:*": the
// answer holds the new mail only (plus the highest UID, which "*" always
// names), whatever the size of the folder.
func (s *Source) newUIDs(c *conn, last uint32) ([]uint32, error) {
	var set imap.UIDSet
	set.AddRange(imap.UID(last+1), 0) // last+1:*
	return s.search(c, &imap.SearchCriteria{UID: []imap.UIDSet{set}})
}

// poll processes the backlog and every mail above the last processed UID.
func (s *Source) poll(ctx context.Context, c *conn) error {
	st, err := s.desk.Position(s.opts.Folder)
	if err != nil {
		return err
	}
	found, err := s.newUIDs(c, st.LastUID)
	if err != nil {
		return err
	}
	todo := slices.Clone(st.Backlog)
	for _, u := range found {
		// "n:*" always matches the highest UID, even below n.
		if u > st.LastUID {
			todo = append(todo, u)
		}
	}
	slices.Sort(todo)
	todo = slices.Compact(todo)

	// Batches go through a pipeline: while the store commits batch N, the
	// connection moves committed mail, then fetches batch N+1. The
	// connection does one thing at a time, and no mail is moved before its
	// effect is committed. Moves wait for moveBatch committed mails, or the
	// end of the poll: a server may pay for every MOVE with a look at the
	// whole folder (Dovecot's maildir does), and while a backlog is taken
	// in, the server's CPU is better spent on the fetches. That a move is
	// done is recorded in the next batch's transaction (Batch.Settled),
	// after the last batch in one of its own.
	var (
		inFlight  *commit
		committed []intake.PendingMove // not yet moved
		moved     []uint32             // moved, not yet recorded
	)
	held := false
	release := func() {
		if held {
			s.opts.Hooks.Backlog(false)
			held = false
		}
	}
	if len(todo) > s.opts.BatchSize && s.opts.Hooks.Backlog != nil {
		s.opts.Hooks.Backlog(true)
		held = true
		defer release()
	}
	defer func() {
		if inFlight != nil {
			<-inFlight.done // never leave a commit running behind the session
		}
	}()
	for len(todo) > 0 && ctx.Err() == nil {
		n := min(len(todo), s.opts.BatchSize)
		mails, parsed, err := s.fetch(c, todo[:n])
		if err != nil {
			return err
		}
		todo = todo[n:]
		if s.opts.Hooks.Fetched != nil {
			s.opts.Hooks.Fetched(len(mails))
		}
		moves, err := inFlight.wait()
		inFlight = nil
		if err != nil {
			return err
		}
		committed = append(committed, moves...)
		if len(mails) > 0 {
			inFlight = s.startCommit(c.uidValidity, mails, parsed, moved)
			moved = nil
		}
		if len(committed) >= moveBatch {
			done, err := s.move(c, committed)
			moved = append(moved, done...)
			committed = nil
			if err != nil {
				return err
			}
		}
	}
	moves, err := inFlight.wait()
	inFlight = nil
	if err != nil {
		return err
	}
	// Every mail of the backlog is committed: its answers may go while the
	// server moves the mails (a few hundred ms for thousands).
	release()
	done, err := s.move(c, append(committed, moves...))
	moved = append(moved, done...)
	if serr := s.desk.Settled(s.opts.Folder, moved); err == nil {
		err = serr
	}
	return err
}

// moveBatch is how many committed mails a poll gathers before it moves
// them (see poll). They stay in the mailbox state meanwhile (stored as UID
// ranges), so a restart finishes their moves.
const moveBatch = 5000

// commit is a batch being committed by the desk.
type commit struct {
	done  chan struct{}
	moves []intake.PendingMove // where each committed mail goes
	err   error
}

// startCommit has the desk commit a batch once it is parsed, recording the
// moves settled since the last commit in the same transaction.
func (s *Source) startCommit(uidValidity uint32, mails []*intake.Incoming, parsed func(), settled []uint32) *commit {
	cm := &commit{done: make(chan struct{})}
	go func() {
		defer close(cm.done)
		parsed()
		results, err := s.desk.Process(&intake.Batch{
			Folder: s.opts.Folder, UIDValidity: uidValidity, Mails: mails, Settled: settled})
		if err != nil {
			cm.err = fmt.Errorf("committing batch: %w", err)
			return
		}
		for _, r := range results {
			cm.moves = append(cm.moves, intake.PendingMove{UID: r.UID, To: s.desk.Destination(r.Outcome)})
		}
	}()
	return cm
}

// wait waits for a batch's commit (nil: none) and returns its moves.
func (cm *commit) wait() ([]intake.PendingMove, error) {
	if cm == nil {
		return nil, nil
	}
	<-cm.done
	return cm.moves, cm.err
}

// parallelMax is the largest mail read into memory to be parsed by a
// worker while the next ones stream in; larger mails are parsed as they
// stream, never held whole in memory.
const parallelMax = 1 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// fetch reads the batch's mails. Each is parsed and analyzed once: small
// ones by a pool of workers (one per CPU) while the next ones arrive, and
// after fetch returns, until parsed returns; large ones as they stream.
// The connection goes on with its next command while the workers finish.
func (s *Source) fetch(c *conn, uids []uint32) (mails []*intake.Incoming, parsed func(), err error) {
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	type job struct {
		in  *intake.Incoming
		buf *bytes.Buffer
	}
	jobs := make(chan job, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s.read(j.in, bytes.NewReader(j.buf.Bytes()))
				j.buf.Reset()
				bufPool.Put(j.buf)
			}
		}()
	}
	err = c.do(func() error {
		defer close(jobs)
		cmd := c.Fetch(set, &imap.FetchOptions{
			UID: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}},
		})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			in := &intake.Incoming{}
			queued := false
			for {
				item := msg.Next()
				if item == nil {
					break
				}
				switch item := item.(type) {
				case imapclient.FetchItemDataUID:
					in.UID = uint32(item.UID)
				case imapclient.FetchItemDataInternalDate:
					in.Arrived = item.Time
				case imapclient.FetchItemDataBodySection:
					switch {
					case item.Literal == nil:
						in.ParseErr = errors.New("server sent no body")
					case item.Literal.Size() <= parallelMax:
						buf := bufPool.Get().(*bytes.Buffer)
						buf.Grow(int(item.Literal.Size()))
						if _, err := buf.ReadFrom(item.Literal); err != nil {
							bufPool.Put(buf)
							return err
						}
						jobs <- job{in, buf}
						queued = true
					default:
						s.read(in, item.Literal)
					}
				}
			}
			if in.UID == 0 {
				continue // an unsolicited FETCH (flags changed), not ours
			}
			if !queued && in.Msg == nil && in.ParseErr == nil {
				in.ParseErr = errors.New("server sent no body")
			}
			mails = append(mails, in)
		}
		return cmd.Close()
	})
	if err != nil {
		wg.Wait()
		return nil, nil, fmt.Errorf("UID FETCH: %w", err)
	}
	return mails, wg.Wait, nil
}

// read parses and analyzes one mail. A panic on a hostile mail makes it
// unreadable (rejected, kept in quarantine) rather than stop the daemon.
func (s *Source) read(in *intake.Incoming, r io.Reader) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic while reading a mail", "uid", in.UID, "panic", p, "stack", string(debug.Stack()))
			in.Msg, in.ParseErr = nil, fmt.Errorf("panic while reading: %v", p)
		}
	}()
	s.parse(in, r)
	intake.Analyze(in)
}

// parse reads one mail, parsing it and, when configured, verifying its
// DKIM signatures in the same pass.
func (s *Source) parse(in *intake.Incoming, r io.Reader) {
	if !s.opts.VerifyDKIM {
		in.Msg, in.ParseErr = mailparse.Parse(r, &s.opts.Parse)
		_, _ = io.Copy(io.Discard, r)
		return
	}
	pr, pw := io.Pipe()
	verified := make(chan []string, 1)
	go func() {
		vs, _ := dkim.VerifyWithOptions(pr, &dkim.VerifyOptions{LookupTXT: s.opts.LookupTXT})
		_, _ = io.Copy(io.Discard, pr) // the verifier may stop early
		var pass []string
		for _, v := range vs {
			if v.Err == nil && v.Domain != "" {
				pass = append(pass, strings.ToLower(v.Domain))
			}
		}
		verified <- pass
	}()
	tee := io.TeeReader(r, pw)
	in.Msg, in.ParseErr = mailparse.Parse(tee, &s.opts.Parse)
	_, _ = io.Copy(io.Discard, tee)
	pw.Close()
	in.DKIMPass, in.DKIMChecked = <-verified, true
}

// resumeMoves finishes the moves a previous session committed but may not
// have done: mails still in the folder are moved, the others (moved before
// the session ended) are only recorded as settled.
func (s *Source) resumeMoves(c *conn, pending []intake.PendingMove) error {
	if len(pending) == 0 {
		return nil
	}
	var set imap.UIDSet
	for _, p := range pending {
		set.AddNum(imap.UID(p.UID))
	}
	present, err := s.search(c, &imap.SearchCriteria{UID: []imap.UIDSet{set}})
	if err != nil {
		return err
	}
	var todo []intake.PendingMove
	var gone []uint32
	slices.Sort(present)
	for _, p := range pending {
		if _, found := slices.BinarySearch(present, p.UID); found {
			todo = append(todo, p)
		} else {
			gone = append(gone, p.UID)
		}
	}
	s.log.Info("finishing moves of the previous session", "to_move", len(todo), "already_gone", len(gone))
	if err := s.desk.Settled(s.opts.Folder, gone); err != nil {
		return err
	}
	return s.settle(c, todo)
}

// settle moves (or flags) mails whose effect is committed, then records it.
func (s *Source) settle(c *conn, moves []intake.PendingMove) error {
	done, err := s.move(c, moves)
	if serr := s.desk.Settled(s.opts.Folder, done); err == nil {
		err = serr
	}
	return err
}

// move moves (or flags) mails whose effect is committed, and returns the
// UIDs done, also after an error. Moves use MOVE when the server has it,
// else COPY, \Deleted and UID EXPUNGE of exactly those UIDs (UIDPLUS);
// never a plain EXPUNGE, which could remove mail casemail has not
// processed.
func (s *Source) move(c *conn, moves []intake.PendingMove) ([]uint32, error) {
	if len(moves) == 0 {
		return nil, nil
	}
	if err := s.writable(c); err != nil {
		return nil, err
	}
	byDest := make(map[string][]uint32)
	var dests []string
	for _, m := range moves {
		if _, ok := byDest[m.To]; !ok {
			dests = append(dests, m.To)
		}
		byDest[m.To] = append(byDest[m.To], m.UID)
	}
	var done []uint32
	for _, dest := range dests {
		var set imap.UIDSet
		for _, u := range byDest[dest] {
			set.AddNum(imap.UID(u))
		}
		var err error
		if dest == "" {
			err = s.flag(c, set, imap.FlagSeen)
		} else {
			err = s.moveSet(c, set, dest)
		}
		if err != nil {
			return done, err
		}
		done = append(done, byDest[dest]...)
	}
	return done, nil
}

// writable selects the session's folder read-write, once. A folder whose
// UIDVALIDITY changed since it was examined ends the session: the next one
// reads the folder again (Desk.Resume).
func (s *Source) writable(c *conn) error {
	if c.writable {
		return nil
	}
	var sel *imap.SelectData
	if err := c.do(func() (err error) {
		sel, err = c.Select(s.opts.Folder, nil).Wait()
		return err
	}); err != nil {
		return fmt.Errorf("selecting %s: %w", s.opts.Folder, err)
	}
	if sel.UIDValidity != c.uidValidity {
		return fmt.Errorf("selecting %s: UIDVALIDITY changed from %d to %d", s.opts.Folder, c.uidValidity, sel.UIDValidity)
	}
	c.writable = true
	return nil
}

func (s *Source) flag(c *conn, set imap.UIDSet, flags ...imap.Flag) error {
	return c.do(func() error {
		err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close()
		if err != nil {
			return fmt.Errorf("flagging %v: %w", set, err)
		}
		return nil
	})
}

func (s *Source) moveSet(c *conn, set imap.UIDSet, dest string) error {
	caps := c.Caps()
	if caps.Has(imap.CapMove) || caps.Has(imap.CapIMAP4rev2) {
		return c.do(func() error {
			if _, err := c.Move(set, dest).Wait(); err != nil {
				return fmt.Errorf("moving %v to %s: %w", set, dest, err)
			}
			return nil
		})
	}
	if err := c.do(func() error {
		if _, err := c.Copy(set, dest).Wait(); err != nil {
			return fmt.Errorf("copying %v to %s: %w", set, dest, err)
		}
		return nil
	}); err != nil {
		return err
	}
	if !caps.Has(imap.CapUIDPlus) {
		// Without UID EXPUNGE we cannot remove only these: leave them
		// marked, read and deleted for the user's client to expunge.
		return s.flag(c, set, imap.FlagDeleted, imap.FlagSeen)
	}
	if err := s.flag(c, set, imap.FlagDeleted); err != nil {
		return err
	}
	return c.do(func() error {
		if err := c.UIDExpunge(set).Close(); err != nil {
			return fmt.Errorf("UID EXPUNGE %v: %w", set, err)
		}
		return nil
	})
}

// newXOAuth2 is the SASL XOAUTH2 mechanism used by Gmail and Microsoft 365.
func newXOAuth2(user, token string) sasl.Client { return &xoauth2{user: user, token: token} }

type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	// The server sends a JSON error as a challenge; an empty answer ends it.
	return []byte{}, nil
}
