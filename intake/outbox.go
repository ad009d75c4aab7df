package intake

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Retry policy of the outbox: the first retry comes within 30 s, then the
// wait doubles, never more than 5 minutes between tries.
const (
	firstRetry = 15 * time.Second
	maxRetry   = 5 * time.Minute
	// outboxPage is how many queued mails a round reads from the store at
	// a time.
	outboxPage = 200
	// recordWindow and recordMax bound a group commit of delivered mail:
	// each commit costs the disk two flushes, and the kernel's work for
	// them takes CPU from a local SMTP server (with a 5 ms window,
	// delivery to mailpit ran ~3 % slower); a crash re-sends at most the
	// mails of one window and the commit in progress (about 25 at 450
	// mails/s). A round's first windows are shorter (see recorder.run).
	recordWindow = 50 * time.Millisecond
	recordMax    = 64
	// memLimit bounds the bytes of queued mail the outbox keeps in memory
	// beside the store; past it, it reads the store page by page.
	memLimit = 1 << 20
	// maxHold bounds how long Hold keeps delivery waiting.
	maxHold = 10 * time.Second
)

// OutboxOptions configure an Outbox.
type OutboxOptions struct {
	Store  Store
	Sender Sender
	// Renderer renders the text of mails queued for rendering at
	// delivery (Outgoing.Later).
	Renderer Renderer
	Now      func() time.Time
	Logger   *slog.Logger
	// Sent is told of every delivery attempt (err nil on success).
	Sent func(m *Outgoing, err error)
}

// Outbox delivers queued mail, oldest first, keeping the order of each
// case's mail: a mail waits while an earlier one of its case is undelivered.
//
// The store holds the queue; the outbox also keeps the mail handed to it
// by Queue in memory, so that in the usual case it need not read back (and
// decode) what the desk has just written. The memory copy is only a cache:
// at start, after a failure, or when too much is queued, it reads the store.
type Outbox struct {
	opts OutboxOptions
	log  *slog.Logger
	wake chan struct{}

	mu       sync.Mutex
	mem      []*Outgoing // queued mail, by ID; all of it when complete
	memBytes int
	complete bool
	gen      uint64 // counts Queue calls that the cache could not take

	held      chan struct{} // closed when a Hold ends; nil when none
	heldUntil time.Time
}

// NewOutbox builds an Outbox.
func NewOutbox(opts OutboxOptions) *Outbox {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Outbox{opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// Wake tells the outbox to look at the store's queue again.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Hold holds delivery (on) while the source works through a backlog of
// mail, and resumes it (off). Delivery and intake share the CPUs, and so
// does a local SMTP server: a burst of mail is taken in first, its answers
// go out right after. A hold lasts at most maxHold, so that a long backlog
// never starves delivery.
func (o *Outbox) Hold(on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case on && o.held == nil:
		o.held, o.heldUntil = make(chan struct{}), time.Now().Add(maxHold)
	case !on && o.held != nil:
		close(o.held)
		o.held = nil
	}
}

// waitHold waits while delivery is held.
func (o *Outbox) waitHold(ctx context.Context) {
	o.mu.Lock()
	held, until := o.held, o.heldUntil
	o.mu.Unlock()
	if held == nil {
		return
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-held:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Queue hands the outbox mail that was just committed to the store's
// queue, and wakes it.
func (o *Outbox) Queue(ms []*Outgoing) {
	o.mu.Lock()
	for _, m := range ms {
		if !o.complete || o.memBytes+memSize(m) > memLimit {
			// From now on the store is read page by page: the copy is
			// of no use, and would only keep the heap larger through a
			// backlog (more garbage collection).
			o.complete = false
			o.mem, o.memBytes = nil, 0
			o.gen++
			break
		}
		i, found := slices.BinarySearchFunc(o.mem, m.ID, byID)
		if !found {
			c := *m // the caller keeps its own; delivery bookkeeping changes ours
			o.mem = slices.Insert(o.mem, i, &c)
			o.memBytes += memSize(m)
		}
	}
	o.mu.Unlock()
	o.Wake()
}

// pending returns the queued mail to try after the one whose ID is after
// (0: from the start), oldest first: from the memory copy when it holds
// all of it, else a page read from the store.
func (o *Outbox) pending(after uint64) ([]*Outgoing, error) {
	o.mu.Lock()
	if o.complete {
		i, _ := slices.BinarySearchFunc(o.mem, after+1, byID)
		page := slices.Clone(o.mem[i:])
		o.mu.Unlock()
		return page, nil
	}
	gen := o.gen
	o.mu.Unlock()
	var page []*Outgoing
	if err := o.opts.Store.View(func(tx Tx) (err error) {
		page, err = tx.Outbox(after, outboxPage+1)
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading outbox: %w", err)
	}
	size := 0
	for _, m := range page {
		size += memSize(m)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if after == 0 && len(page) <= outboxPage && size <= memLimit && gen == o.gen {
		// Nothing was queued while the store was read: this is all.
		o.mem, o.memBytes, o.complete = page, size, true
		return slices.Clone(page), nil
	}
	if len(page) > outboxPage {
		page = page[:outboxPage]
	}
	return page, nil
}

func byID(m *Outgoing, id uint64) int { return cmp.Compare(m.ID, id) }

// memSize is what the memory copy counts for m: its text, and a rough
// size of the rest (addresses, references, the data of a mail rendered at
// delivery).
func memSize(m *Outgoing) int { return len(m.Text) + 1<<10 }

// forget drops a delivered mail from the memory copy.
func (o *Outbox) forget(id uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i, found := slices.BinarySearchFunc(o.mem, id, byID)
	if found {
		o.memBytes -= memSize(o.mem[i])
		o.mem = slices.Delete(o.mem, i, i+1)
	}
}

// distrust makes the next round read the store again.
func (o *Outbox) distrust() {
	o.mu.Lock()
	o.complete = false
	o.mem, o.memBytes = nil, 0
	o.gen++
	o.mu.Unlock()
}

// Run delivers until ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	for {
		next, err := o.Flush(ctx)
		if err != nil && ctx.Err() == nil {
			o.log.Error("outbox round failed", "err", err)
			next = o.opts.Now().Add(firstRetry)
		}
		var timer <-chan time.Time
		if !next.IsZero() {
			timer = time.After(max(time.Until(next), 10*time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
		case <-timer:
		}
	}
}

// Flush tries every due mail once, going through the queue to its end
// (mail queued meanwhile included). It returns when the next try is due:
// zero when the queue is empty, already past when a mail came due during
// the round.
func (o *Outbox) Flush(ctx context.Context) (time.Time, error) {
	next, err := o.round(ctx)
	if err != nil {
		o.distrust()
	}
	return next, err
}

// round goes once through the queue, sending the due mails; it returns the
// earliest retry time of those that were not.
//
// Delivered mail is removed from the queue by a group commit running
// beside the sends: each transaction takes the mails delivered within
// recordWindow. A crash can thus re-send only the mails of one window, and
// delivery never waits for the disk.
func (o *Outbox) round(ctx context.Context) (time.Time, error) {
	var (
		next     time.Time
		serverUp = true
	)
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	rec := o.startRecorder()
	ready, stop := o.composeAhead()
	defer stop()
	var readErr error
	for c := range ready {
		if c.readErr != nil {
			readErr = c.readErr
			break
		}
		m := c.m
		if ctx.Err() != nil || !serverUp || rec.failed() {
			break
		}
		if c.blocked {
			continue
		}
		if !c.due {
			later(m.NextTry)
			continue
		}
		o.waitHold(ctx)
		if ctx.Err() != nil {
			break
		}
		now := o.opts.Now()
		err := c.err
		if err == nil {
			err = o.opts.Sender.SendComposed(ctx, m, c.data)
		}
		if o.opts.Sent != nil {
			o.opts.Sent(m, err)
		}
		switch {
		case err == nil:
			rec.done(m)
			o.forget(m.ID)
			o.log.Debug("mail delivered", "case", m.Case, "purpose", m.Purpose, "message_id", m.MessageID)
		case errors.Is(err, ErrPermanent):
			m.LastError = err.Error()
			rec.done(m)
			o.forget(m.ID)
			o.log.Error("mail refused for good, dropped from the queue", "case", m.Case, "purpose", m.Purpose,
				"to", m.To, "err", err)
		default:
			m.Attempts++
			m.LastError = err.Error()
			m.NextTry = now.Add(retryDelay(m.Attempts))
			rec.retry(m)
			later(m.NextTry)
			// A failure that is not about this mail means the server is
			// out of reach: the others would fail the same way (the round
			// ends, so no later mail of the case goes out before it).
			serverUp = false
			o.log.Warn("delivery failed, will retry", "case", m.Case, "purpose", m.Purpose,
				"attempt", m.Attempts, "next_try", m.NextTry.Format(time.RFC3339), "err", err)
		}
	}
	return next, errors.Join(readErr, rec.close())
}

// composed is a queued mail and its wire form.
type composed struct {
	m   *Outgoing
	due bool // composed only when due and not blocked
	// blocked: an earlier mail of the case is not due; a case's mail goes
	// out in order.
	blocked bool
	data    []byte
	err     error
	// readErr: reading the queue failed; the round ends (m is nil).
	readErr error
}

// composeAhead reads the queue page by page and composes its due mails on
// a goroutine of its own, a few ahead of the sends, so that the SMTP
// conversation never waits for the CPU or the store; a mail waiting behind
// one of its case that is not due is marked blocked, not composed. The
// channel gives every queued mail in order, up to the end of the queue or,
// when a mail that was not due has come due meanwhile, the end of a page
// (the next round tries it). stop ends it early.
func (o *Outbox) composeAhead() (<-chan composed, func()) {
	const ahead = 4
	ready := make(chan composed, ahead)
	quit := make(chan struct{})
	done := make(chan struct{})
	give := func(c composed) bool {
		select {
		case ready <- c:
			return true
		case <-quit:
			return false
		}
	}
	go func() {
		defer close(done)
		defer close(ready)
		w := walk{now: o.opts.Now, waiting: make(map[CaseID]bool)}
		for w.goOn() {
			page, err := o.pending(w.after)
			if err != nil {
				give(composed{readErr: err})
				return
			}
			if len(page) == 0 {
				return
			}
			for _, m := range page {
				c := w.take(m)
				if c.due && !c.blocked {
					var full *Outgoing
					if full, c.err = o.expand(m); c.err == nil {
						c.data, c.err = o.opts.Sender.Compose(full)
					}
				}
				if !give(c) {
					return
				}
			}
		}
	}()
	return ready, func() { close(quit); <-done }
}

// walk is where a round stands in the queue.
type walk struct {
	now     func() time.Time
	after   uint64          // the last mail taken
	waiting map[CaseID]bool // cases with a mail not due
	retry   time.Time       // the earliest try of a mail not due
}

// take marks m due or not, and blocked when an earlier mail of its case
// is not due.
func (w *walk) take(m *Outgoing) composed {
	w.after = m.ID
	c := composed{m: m, due: !m.NextTry.After(w.now())}
	switch {
	case m.Case != "" && w.waiting[m.Case]:
		c.blocked = true
	case !c.due:
		w.waiting[m.Case] = m.Case != ""
		if w.retry.IsZero() || m.NextTry.Before(w.retry) {
			w.retry = m.NextTry
		}
	}
	return c
}

// goOn reports whether the round reads another page: not once a mail it
// passed over has come due (the next round, from the start, sends it).
func (w *walk) goOn() bool { return w.retry.IsZero() || w.now().Before(w.retry) }

// expand returns m ready to compose: its text rendered (Later), read back
// from the case message that records it (TextSeq), or the case message it
// quotes put back (Quote, from queues of earlier versions). m itself,
// which stays queued, is not changed. A template that fails is a permanent
// failure: it would fail again.
func (o *Outbox) expand(m *Outgoing) (*Outgoing, error) {
	var seq uint64
	switch {
	case m.Later != nil:
		seq = m.Later.TextSeq
	case m.Quote != nil:
		seq = m.Quote.Seq
	case m.TextSeq != 0 && m.Text == "":
		seq = m.TextSeq
	default:
		return m, nil
	}
	var msg *Message
	if err := o.opts.Store.View(func(tx Tx) (err error) {
		msg, err = tx.Message(m.Case, seq)
		return err
	}); err != nil {
		return nil, fmt.Errorf("reading the text of %s: %w", m.MessageID, err)
	}
	text := "[casemail: this text is no longer in the store]"
	if msg != nil {
		text = msg.Text
	}
	full := *m
	full.Later, full.Quote = nil, nil
	switch l := m.Later; {
	case l != nil:
		data := *l.Data
		data.Text = text
		_, body, err := o.opts.Renderer.Render(l.Template, l.Lang, &data)
		if err != nil {
			return nil, fmt.Errorf("%w: template %s/%s: %v", ErrPermanent, l.Lang, l.Template, err)
		}
		full.Text = body
	case m.Quote != nil:
		text = strings.TrimSpace(text)
		at := min(max(m.Quote.At, 0), len(m.Text))
		full.Text = m.Text[:at] + text + m.Text[at:]
	default:
		full.Text = text
	}
	return &full, nil
}

// recorder writes the outcome of deliveries to the store in group commits.
type recorder struct {
	o     *Outbox
	ch    chan recorded
	end   chan struct{}
	err   error
	erred chan struct{}
}

type recorded struct {
	m     *Outgoing
	retry bool // update for a later try rather than remove
}

func (o *Outbox) startRecorder() *recorder {
	r := &recorder{o: o, ch: make(chan recorded, outboxPage), end: make(chan struct{}), erred: make(chan struct{})}
	go r.run()
	return r
}

func (r *recorder) done(m *Outgoing)  { r.ch <- recorded{m: m} }
func (r *recorder) retry(m *Outgoing) { r.ch <- recorded{m: m, retry: true} }

// failed reports that a commit failed: stop sending, the rest stays queued.
func (r *recorder) failed() bool {
	select {
	case <-r.erred:
		return true
	default:
		return false
	}
}

// close waits until everything handed over is committed.
func (r *recorder) close() error {
	close(r.ch)
	<-r.end
	return r.err
}

func (r *recorder) run() {
	defer close(r.end)
	// The window starts short and doubles up to recordWindow while
	// deliveries go on: a long round gets few syncs, and the first mails
	// a round delivers — those a daemon crashing soon after each start
	// would send again and again — are on record within milliseconds.
	wait := recordWindow / 16
	for first := range r.ch {
		// Gather what is delivered within a short window: one sync for
		// several mails, at the price of re-sending that many after a crash.
		group := []recorded{first}
		window := time.NewTimer(wait)
		wait = min(2*wait, recordWindow)
	more:
		for len(group) < recordMax {
			select {
			case x, ok := <-r.ch:
				if !ok {
					break more
				}
				group = append(group, x)
			case <-window.C:
				break more
			}
		}
		window.Stop()
		if r.err != nil {
			continue // drain; nothing more is written after a failure
		}
		if err := r.o.opts.Store.Update(func(tx Tx) error { return r.o.record(tx, group) }); err != nil {
			r.err = fmt.Errorf("recording deliveries: %w", err)
			close(r.erred)
		}
	}
}

// record applies a group of delivery outcomes in one transaction.
func (o *Outbox) record(tx Tx, group []recorded) error {
	for _, x := range group {
		m := x.m
		if x.retry {
			if err := tx.UpdateOutgoing(m); err != nil {
				return err
			}
			continue
		}
		if err := tx.DeleteOutgoing(m.ID); err != nil {
			return err
		}
		if m.LastError != "" && m.Case != "" {
			if err := o.noteFailure(tx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// noteFailure records on the case that a mail could not be delivered.
func (o *Outbox) noteFailure(tx Tx, m *Outgoing) error {
	c, err := tx.Case(m.Case)
	if err != nil || c == nil {
		return err
	}
	msg := &Message{Direction: Out, Kind: KindSystem, To: m.To, Subject: m.Subject,
		Text: "Delivery failed: " + m.LastError, MessageID: m.MessageID, At: o.opts.Now().UTC(),
		Attachments: []Attachment{}}
	if err := tx.AppendMessage(c.ID, msg); err != nil {
		return err
	}
	c.MessageCount++
	return tx.PutCase(c)
}

// retryDelay is the wait before try n+1: 15 s, 30 s, 1 min … at most 5 min,
// with up to 20 % jitter so that many queued mails do not retry together.
func retryDelay(attempts int) time.Duration {
	d := firstRetry << min(attempts-1, 10)
	d = min(d, maxRetry)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}
