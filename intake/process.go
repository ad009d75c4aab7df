package intake

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
)

// Process applies the workflow to a batch of mails in one store
// transaction: cases, outgoing mail, dedupe records and the mailbox
// position are committed together, or none of them. When the batch fails,
// each mail is retried in a transaction of its own so that one poison
// message cannot hold back the others; a mail that fails MaxAttempts times
// is quarantined.
//
// The returned results are in batch order for the mails whose effect is
// committed; a mail that failed but may be retried has no result and stays
// in the mailbox state's backlog.
func (d *Desk) Process(b *Batch) ([]Result, error) {
	results, err := d.commit(b, b.Mails)
	if err == nil {
		d.after(results)
		return results, nil
	}
	if len(b.Mails) > 1 {
		d.log.Warn("batch failed, retrying one mail at a time", "folder", b.Folder, "mails", len(b.Mails), "err", err)
	}
	var all []Result
	for _, in := range b.Mails {
		rs, err := d.commit(b, []*Incoming{in})
		if err != nil {
			r, ferr := d.fail(b, in, err)
			if ferr != nil {
				return all, ferr
			}
			if r == nil {
				continue
			}
			rs = []Result{*r}
		}
		d.after(rs)
		all = append(all, rs...)
	}
	return all, nil
}

// after tells Observe of the results of a commit.
func (d *Desk) after(results []Result) {
	for _, r := range results {
		if d.opts.Observe != nil {
			d.opts.Observe(r)
		}
	}
}

// update runs fn in one store transaction and, once it is committed,
// hands the outgoing mail of the results fn returns to the outbox. Commits
// that queue mail take turns from the start of the transaction to the end
// of the hand-over: intake and the case timers commit from goroutines of
// their own, and were one commit's mail handed over before an earlier
// one's, the outbox could send a case's later mail first.
func (d *Desk) update(fn func(Tx) ([]Result, error)) ([]Result, error) {
	d.queueMu.Lock()
	defer d.queueMu.Unlock()
	var results []Result
	err := d.opts.Store.Update(func(tx Tx) (err error) {
		results, err = fn(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	d.queued(results)
	return results, nil
}

// queued hands the committed outgoing mail of results to the outbox.
func (d *Desk) queued(results []Result) {
	var out []*Outgoing
	for _, r := range results {
		out = append(out, r.Sent...)
	}
	if len(out) > 0 && d.opts.Queued != nil {
		d.opts.Queued(out)
	}
}

// errBatchMismatch means the mailbox was re-read under another UIDVALIDITY.
var errBatchMismatch = errors.New("mailbox UIDVALIDITY changed under the batch")

func (d *Desk) commit(b *Batch, mails []*Incoming) ([]Result, error) {
	return d.update(func(tx Tx) ([]Result, error) {
		st, err := tx.Mailbox(b.Folder)
		if err != nil {
			return nil, err
		}
		if st == nil || st.UIDValidity != b.UIDValidity {
			return nil, errBatchMismatch
		}
		st.settled(b.Settled)
		results := make([]Result, 0, len(mails))
		for _, in := range mails {
			r, err := d.handleSafe(tx, in)
			if err != nil {
				return nil, fmt.Errorf("uid %d: %w", in.UID, err)
			}
			results = append(results, r)
			st.done(in.UID, d.Destination(r.Outcome))
		}
		return results, tx.PutMailbox(b.Folder, st)
	})
}

// handleSafe turns a panic while handling one mail into an error, so that
// the transaction rolls back and the daemon goes on.
func (d *Desk) handleSafe(tx Tx, in *Incoming) (r Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			d.log.Error("panic while processing mail", "uid", in.UID, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return d.handle(tx, in)
}

// fail records a failed attempt at one mail. Below MaxAttempts the mail is
// put in the backlog to be fetched again; at MaxAttempts it is quarantined.
// It returns the quarantine result, or nil when the mail will be retried.
func (d *Desk) fail(b *Batch, in *Incoming, cause error) (*Result, error) {
	var res *Result
	err := d.opts.Store.Update(func(tx Tx) error {
		res = nil
		st, err := tx.Mailbox(b.Folder)
		if err != nil {
			return err
		}
		if st == nil || st.UIDValidity != b.UIDValidity {
			return errBatchMismatch
		}
		if st.Failures == nil {
			st.Failures = make(map[uint32]int)
		}
		st.Failures[in.UID]++
		n := st.Failures[in.UID]
		if n < d.opts.MaxAttempts {
			if !slices.Contains(st.Backlog, in.UID) {
				st.Backlog = append(st.Backlog, in.UID)
			}
			d.log.Warn("mail failed to process, will retry", "uid", in.UID, "attempt", n, "err", cause)
			return tx.PutMailbox(b.Folder, st)
		}
		r := Result{UID: in.UID, Outcome: OutcomeQuarantined,
			Reason: fmt.Sprintf("failed %d times: %v", n, cause)}
		if in.Msg != nil {
			r.MessageID, r.From, r.Subject = in.Msg.MessageID, in.Msg.From.Addr, in.Msg.Subject
		}
		st.done(in.UID, d.opts.QuarantineFolder)
		res = &r
		return tx.PutMailbox(b.Folder, st)
	})
	if err != nil {
		return nil, fmt.Errorf("recording failure of uid %d: %w", in.UID, err)
	}
	return res, nil
}

// Destination is where a mail goes once its outcome is committed.
func (d *Desk) Destination(o Outcome) string {
	switch o {
	case OutcomeQuarantined, OutcomeRejected:
		return d.opts.QuarantineFolder
	}
	return d.opts.ProcessedFolder
}

// done records that uid's effect is committed and that it is to be moved.
func (st *MailboxState) done(uid uint32, to string) {
	if uid > st.LastUID {
		st.LastUID = uid
	}
	if i := slices.Index(st.Backlog, uid); i >= 0 {
		st.Backlog = slices.Delete(st.Backlog, i, i+1)
	}
	delete(st.Failures, uid)
	st.Pending = append(st.Pending, PendingMove{UID: uid, To: to})
}
