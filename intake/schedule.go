package intake

import (
	"fmt"
	"time"

	"casemail/calendar"
)

// PolicyOptions are the timers of the support policy.
type PolicyOptions struct {
	// WarnAt is the fraction of the first-response target at which agents
	// are warned; default 0.75.
	WarnAt float64
	// ReminderAfter is how long a waiting case waits for the customer
	// before a reminder; default 2 business days of the plan's calendar.
	ReminderAfter calendar.Target
	// MaxContactAttempts counts the agent's answer and the reminders;
	// when they are used up and the customer still has not answered, the
	// case closes. Default 3.
	MaxContactAttempts int
	// ResolvedCloseAfter closes a resolved case nobody answers; default
	// 7 days.
	ResolvedCloseAfter time.Duration
	// ReopenWithin is how long after an automatic close a reply reopens
	// the case; later replies open a new case referring to it. Default 7 days.
	ReopenWithin time.Duration
}

func (p *PolicyOptions) defaults() {
	if p.WarnAt <= 0 || p.WarnAt >= 1 {
		p.WarnAt = 0.75
	}
	if p.ReminderAfter.N == 0 {
		p.ReminderAfter = calendar.Target{N: 2, Unit: calendar.BusinessDays}
	}
	if p.MaxContactAttempts <= 0 {
		p.MaxContactAttempts = 3
	}
	if p.ResolvedCloseAfter <= 0 {
		p.ResolvedCloseAfter = 7 * 24 * time.Hour
	}
	if p.ReopenWithin <= 0 {
		p.ReopenWithin = 7 * 24 * time.Hour
	}
}

// Template names of the scheduler's mail.
const (
	TmplSLAWarning      = "sla_warning"        // 75 % of the first-response target, to notify
	TmplSLABreach       = "sla_breach"         // target missed, to notify
	TmplReminder        = "reminder"           // waiting case, to the contact
	TmplAutoClosed      = "auto_closed"        // closed for want of an answer, to the contact
	TmplAutoClosedAgent = "auto_closed_notify" // the same close, to notify
	TmplResolved        = "resolved"           // resolution notice with the survey, to the contact
	TmplSeverityChanged = "severity_changed"   // to notify
)

// putCase stores a case after working out when the scheduler must next
// look at it.
func (d *Desk) putCase(tx Tx, c *Case) error {
	c.NextCheck = d.nextCheck(c)
	return tx.PutCase(c)
}

// nextCheck is the case's next timer, nil when it has none.
func (d *Desk) nextCheck(c *Case) *time.Time {
	var t time.Time
	switch c.State {
	case StateOpen:
		if c.FirstResponseAt != nil || c.FirstResponseDue == nil {
			return nil
		}
		switch {
		case !c.SLAWarned:
			t = d.warnAt(c)
		case !c.SLABreached:
			t = *c.FirstResponseDue
		default:
			return nil
		}
	case StateWaiting:
		if c.WaitingSince == nil {
			return nil
		}
		t = d.reminderAt(c)
	case StateResolved:
		if c.ResolvedAt == nil {
			return nil
		}
		t = c.ResolvedAt.Add(d.opts.Policy.ResolvedCloseAfter)
	default:
		return nil
	}
	t = t.UTC()
	return &t
}

func (d *Desk) calendarOf(c *Case) *calendar.Calendar {
	if p := d.plan(d.opts.Directory().Account(c.Account)); p != nil {
		return p.Calendar
	}
	return nil
}

// warnAt is when WarnAt of the first-response target has run.
func (d *Desk) warnAt(c *Case) time.Time {
	cal := d.calendarOf(c)
	target, err := calendar.ParseTarget(c.FirstResponseTarget)
	if cal == nil || err != nil {
		// Without the plan, a fraction of the wall-clock span.
		span := c.FirstResponseDue.Sub(c.CreatedAt)
		return c.CreatedAt.Add(time.Duration(float64(span) * d.opts.Policy.WarnAt))
	}
	return cal.At(c.CreatedAt, target, d.opts.Policy.WarnAt)
}

// reminderAt is when a waiting case next needs a reminder (or closing).
func (d *Desk) reminderAt(c *Case) time.Time {
	if cal := d.calendarOf(c); cal != nil {
		return cal.Due(*c.WaitingSince, d.opts.Policy.ReminderAfter)
	}
	return c.WaitingSince.Add(48 * time.Hour)
}

// NextTimer is when the earliest case timer falls due (zero when none).
func (d *Desk) NextTimer() (time.Time, error) {
	var t time.Time
	err := d.opts.Store.View(func(tx Tx) (err error) { t, err = tx.NextDue(); return err })
	return t, err
}

// Tick runs every case timer that is due: first-response warnings and
// breaches, reminders, automatic closes. It returns what it did, one
// Result per case acted on.
func (d *Desk) Tick() ([]Result, error) {
	results, err := d.update(func(tx Tx) ([]Result, error) {
		ids, err := tx.DueCases(d.now(), 500)
		if err != nil {
			return nil, err
		}
		var results []Result
		for _, id := range ids {
			c, err := tx.Case(id)
			if err != nil {
				return nil, err
			}
			if c == nil {
				continue
			}
			r := Result{Case: id}
			if err := d.timer(tx, c, &r); err != nil {
				return nil, fmt.Errorf("case %s timer: %w", id, err)
			}
			if err := d.putCase(tx, c); err != nil {
				return nil, err
			}
			if r.Reason != "" {
				results = append(results, r)
			}
		}
		return results, nil
	})
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		d.log.Info("case timer", "case", string(r.Case), "action", r.Reason, "sent", len(r.Sent))
		if d.opts.Timer != nil {
			d.opts.Timer(r)
		}
	}
	return results, nil
}

// timer acts on one case whose NextCheck has come.
func (d *Desk) timer(tx Tx, c *Case, r *Result) error {
	now := d.now()
	data := d.mailData(c, "en") // agents read English
	toContact := d.mailData(c, c.Language)
	switch c.State {
	case StateOpen:
		if c.FirstResponseAt != nil || c.FirstResponseDue == nil {
			return nil
		}
		if !c.SLAWarned && !now.Before(d.warnAt(c)) {
			c.SLAWarned = true
			r.Reason = "first-response warning"
			if now.Before(*c.FirstResponseDue) {
				return d.notify(tx, c, r, TmplSLAWarning, data)
			}
		}
		if !c.SLABreached && !now.Before(*c.FirstResponseDue) {
			c.SLABreached = true
			r.Reason = "first-response target breached"
			return d.notify(tx, c, r, TmplSLABreach, data)
		}
	case StateWaiting:
		if c.WaitingSince == nil || now.Before(d.reminderAt(c)) {
			return nil
		}
		if c.ContactAttempts < d.opts.Policy.MaxContactAttempts {
			c.ContactAttempts++
			c.WaitingSince = &now
			r.Reason = fmt.Sprintf("reminder %d of %d", c.ContactAttempts, d.opts.Policy.MaxContactAttempts)
			return d.send(tx, c, r, TmplReminder, c.Language, toContact,
				&Outgoing{To: []string{c.Contact}, AutoSubmitted: true}, true)
		}
		c.State, c.ClosedAt, c.AutoClosed, c.WaitingSince = StateClosed, &now, true, nil
		r.Reason = fmt.Sprintf("closed after %d contact attempts without an answer", c.ContactAttempts)
		if err := d.send(tx, c, r, TmplAutoClosed, c.Language, toContact,
			&Outgoing{To: []string{c.Contact}, AutoSubmitted: true}, true); err != nil {
			return err
		}
		return d.notify(tx, c, r, TmplAutoClosedAgent, data)
	case StateResolved:
		if c.ResolvedAt == nil || now.Before(c.ResolvedAt.Add(d.opts.Policy.ResolvedCloseAfter)) {
			return nil
		}
		c.State, c.ClosedAt = StateClosed, &now
		r.Reason = "resolved case closed after " + d.opts.Policy.ResolvedCloseAfter.String() + " without reply"
		return d.appendMessage(tx, c, &Message{Direction: Out, Kind: KindSystem, From: d.supportAddr,
			Text: r.Reason, At: now})
	}
	return nil
}

// mailData is the template data about a case.
func (d *Desk) mailData(c *Case, lang string) *MailData {
	acct := d.opts.Directory().Account(c.Account)
	data := &MailData{Case: c, Account: acct, Support: d.supportAddr, Subject: c.Subject,
		Target: c.FirstResponseTarget, ReopenDays: int(d.opts.Policy.ReopenWithin / (24 * time.Hour)),
		MaxAttempts: d.opts.Policy.MaxContactAttempts}
	if c.FirstResponseDue != nil {
		if p := d.plan(acct); p != nil && p.Calendar != nil {
			data.Due = formatDue(*c.FirstResponseDue, p, lang)
			if lang == c.Language {
				data.Due += contactTime(*c.FirstResponseDue, p, c)
			}
		} else {
			data.Due = c.FirstResponseDue.Format("Mon 2 Jan 2006 15:04 MST")
		}
	}
	return data
}
