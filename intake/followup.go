package intake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"casemail/mailparse"
)

// AgentCommands lists the commands agents may put at the top of a mail.
var AgentCommands = []string{"#note", "#resolve", "#close", "#waiting", "#severity N"}

// followUp joins a mail to its case, if its sender may write to it: a
// contact of the case's account, or an agent. Anyone else is refused and
// the case is left untouched.
func (d *Desk) followUp(tx Tx, in *Incoming, c *Case, r *Result) error {
	sender := in.Msg.From.Addr
	r.Case = c.ID
	switch {
	case d.isAgent(sender):
		return d.agentMail(tx, in, c, r)
	case d.mayWrite(sender, c):
		return d.customerReply(tx, in, c, r)
	}
	r.Case = ""
	lang := Analyze(in).Lang
	return d.refuse(tx, in, r, ReasonNotParticipant, lang,
		fmt.Sprintf("sender may not write to %s (not a contact of its account)", c.ID))
}

// mayWrite reports whether a non-agent may write to the case.
func (d *Desk) mayWrite(sender string, c *Case) bool {
	if c.Account == "" {
		return strings.EqualFold(sender, c.Contact)
	}
	return d.opts.Directory().IsContactOf(sender, c.Account)
}

// maxRatingReply bounds the text of a reply that only rates the support:
// such a reply is recorded without reopening the resolved case.
const maxRatingReply = 80

// customerReply stores a customer's reply, reopens the case and forwards
// the new text to the agents. A reply to a closed case opens a new case
// that refers to it, unless the case was closed automatically for want of
// an answer a short while ago: then the reply reopens it.
func (d *Desk) customerReply(tx Tx, in *Incoming, c *Case, r *Result) error {
	now := d.now()
	if c.State == StateClosed {
		recent := c.AutoClosed && c.ClosedAt != nil && now.Sub(*c.ClosedAt) <= d.opts.Policy.ReopenWithin
		if !recent {
			r.Case = ""
			return d.newCase(tx, in, c, r)
		}
	}
	m := in.Msg
	text := Analyze(in).NewText
	seq, err := d.record(tx, c, in, Message{Direction: In, Kind: KindCustomer, Text: text})
	if err != nil {
		return err
	}
	r.Outcome = OutcomeFollowUp
	r.Reason = fmt.Sprintf("customer reply, case was %s", c.State)
	data := d.mailData(c, "en")
	data.Sender, data.Subject, data.Text, data.textSeq = m.From.Addr, m.Subject, text, seq

	if c.State == StateResolved {
		if n, ok := mailparse.Rating(text); ok {
			c.SurveyRating = &n
			data.Rating = n
			r.Reason += fmt.Sprintf("; survey rating %d", n)
			if len(strings.TrimSpace(text)) <= maxRatingReply {
				// A rating alone: the case stays resolved.
				r.Reason += "; case stays resolved"
				if err := d.notify(tx, c, r, TmplNotifyReply, data); err != nil {
					return err
				}
				return d.putCase(tx, c)
			}
		}
	}
	c.State = StateOpen
	c.AutoClosed, c.ClosedAt, c.ResolvedAt = false, nil, nil
	c.WaitingSince, c.ContactAttempts = nil, 0
	d.completeFields(c, m.From.Addr, Analyze(in).Fields, r)
	if err := d.customerSeverity(tx, c, Analyze(in).Fields, r); err != nil {
		return err
	}
	if err := d.notify(tx, c, r, TmplNotifyReply, data); err != nil {
		return err
	}
	return d.putCase(tx, c)
}

// completeFields fills in what the case still lacks from the `Label:
// value` lines of a reply, as the acknowledgement asked: the account (only
// one the sender is a contact of), the engine (only one of the account's)
// and the environment.
func (d *Desk) completeFields(c *Case, sender string, f mailparse.Fields, r *Result) {
	dir := d.opts.Directory()
	var filled []string
	if c.Account == "" && f.Account != "" && dir.IsContactOf(sender, f.Account) {
		acct := dir.Account(f.Account)
		c.Account = acct.Email
		filled = append(filled, "account")
		if len(acct.Engines) == 1 && c.Engine == "" {
			c.Engine = acct.Engines[0]
		}
		plan := d.plan(acct)
		if plan != nil {
			c.Severity, _ = plan.Clamp(c.Severity)
			if c.FirstResponseAt == nil {
				d.setDue(c, plan, &MailData{})
			}
		}
	}
	if acct := dir.Account(c.Account); acct != nil && c.Engine == "" && f.Engine != "" {
		if e, ok := acct.HasEngine(f.Engine); ok {
			c.Engine = e
			filled = append(filled, "engine")
		}
	}
	if c.Environment == "" && f.Environment != "" {
		c.Environment = f.Environment
		filled = append(filled, "environment")
	}
	if len(filled) > 0 {
		r.Reason += "; completed " + strings.Join(filled, ", ")
	}
}

// customerSeverity raises the case's severity when a reply asks for a more
// urgent one ("Severity: 1", "Gravité : 1") that the plan allows; agents
// are told.
func (d *Desk) customerSeverity(tx Tx, c *Case, f mailparse.Fields, r *Result) error {
	if f.Severity == 0 || f.Severity >= c.Severity {
		return nil
	}
	plan := d.plan(d.opts.Directory().Account(c.Account))
	if plan != nil && !plan.Allows(f.Severity) {
		r.Reason += fmt.Sprintf("; severity %d asked, not allowed by the plan", f.Severity)
		return nil
	}
	old := c.Severity
	c.Severity = f.Severity
	if c.FirstResponseAt == nil {
		d.setDue(c, plan, &MailData{})
	}
	r.Reason += fmt.Sprintf("; severity raised from %d to %d", old, c.Severity)
	data := d.mailData(c, "en")
	data.OldSeverity = old
	return d.notify(tx, c, r, TmplSeverityChanged, data)
}

// agentMail applies an agent's commands and relays the agent's new text to
// the case's contact.
func (d *Desk) agentMail(tx Tx, in *Incoming, c *Case, r *Result) error {
	m := in.Msg
	agent := m.From
	now := d.now()
	cmds, text := mailparse.Commands(Analyze(in).NewText)
	text = strings.TrimSpace(text)
	r.Outcome = OutcomeFollowUp
	data := d.mailData(c, "en")
	data.Sender, data.Subject, data.AgentName = agent.Addr, m.Subject, agentName(agent)
	toAgent := &Outgoing{To: []string{agent.Addr}, InReplyTo: m.MessageID, AutoSubmitted: true}

	note := false
	var done []string
	for _, cmd := range cmds {
		switch cmd.Name {
		case "note":
			note = true
		case "resolve", "close", "waiting":
			// applied below, once the mail is recorded
		case "severity":
			if err := d.changeSeverity(c, cmd.Arg); err != "" {
				data.Error = err
				r.Reason = "agent command refused: " + err
				return d.send(tx, c, r, TmplAgentError, "en", data, toAgent, false)
			}
		default:
			data.Commands, data.Error = AgentCommands, "#"+cmd.Name
			r.Reason = fmt.Sprintf("unknown agent command #%s: agent told, nothing relayed", cmd.Name)
			return d.send(tx, c, r, TmplAgentHelp, "en", data, toAgent, false)
		}
		done = append(done, "#"+cmd.Name)
	}

	// An answer leaves the case waiting on the customer unless a command
	// says otherwise; a note leaves it as it is.
	state := stateAfterCommands(StateWaiting, cmds)
	if note {
		if _, err := d.record(tx, c, in, Message{Direction: In, Kind: KindNote, Text: text}); err != nil {
			return err
		}
		r.Reason = "internal note by " + agent.Addr
		state = stateAfterCommands(c.State, cmds)
	} else {
		if err := tx.IndexMessage(m.MessageID, c.ID); err != nil {
			return err
		}
		if text != "" {
			if err := d.relay(tx, in, c, r, text); err != nil {
				return err
			}
		} else {
			r.Reason = "agent mail with no text to relay"
		}
	}
	if len(done) > 0 {
		r.Reason += "; commands " + strings.Join(done, " ")
	}
	return d.setState(tx, c, r, state, now)
}

// relay sends an agent's new text, and the files they attached, to the
// case's contact. The first answer stops the first-response clock.
func (d *Desk) relay(tx Tx, in *Incoming, c *Case, r *Result, text string) error {
	m := in.Msg
	now := d.now()
	if c.FirstResponseAt == nil {
		c.FirstResponseAt = &now
		if c.FirstResponseDue != nil {
			met := !now.After(*c.FirstResponseDue)
			c.FirstResponseMet = &met
		}
	}
	data := d.mailData(c, c.Language)
	data.Text, data.AgentName, data.Sender = text, agentName(m.From), m.From.Addr
	out := &Outgoing{To: []string{c.Contact}, FromName: data.AgentName + " via " + d.supportDisplay()}
	for _, a := range m.Attachments {
		if a.Data != nil {
			out.Attachments = append(out.Attachments, OutAttached{Name: a.Name, ContentType: a.ContentType, Data: a.Data})
		}
	}
	if err := d.send(tx, c, r, TmplAgentReply, c.Language, data, out, true); err != nil {
		return err
	}
	r.Reason = "agent answer relayed to " + c.Contact
	// The answer is the first contact attempt of a waiting period.
	c.ContactAttempts, c.WaitingSince = 1, &now
	return nil
}

// setState moves a case to the state an agent's mail leaves it in, with
// what each state brings: a resolution notice and survey on resolve.
func (d *Desk) setState(tx Tx, c *Case, r *Result, state State, now time.Time) error {
	prev := c.State
	c.State = state
	switch state {
	case StateWaiting:
		if c.WaitingSince == nil {
			c.WaitingSince, c.ContactAttempts = &now, max(c.ContactAttempts, 1)
		}
	case StateResolved:
		c.WaitingSince = nil
		if prev != StateResolved {
			c.ResolvedAt = &now
			err := d.send(tx, c, r, TmplResolved, c.Language, d.mailData(c, c.Language),
				&Outgoing{To: []string{c.Contact}, AutoSubmitted: true}, true)
			if err != nil {
				return err
			}
		}
	case StateClosed:
		c.WaitingSince, c.ClosedAt, c.AutoClosed = nil, &now, false
	case StateOpen:
		c.WaitingSince = nil
	}
	return d.putCase(tx, c)
}

// stateAfterCommands is the state the commands of a note leave the case in.
func stateAfterCommands(cur State, cmds []mailparse.Command) State {
	for _, cmd := range cmds {
		switch cmd.Name {
		case "resolve":
			cur = StateResolved
		case "close":
			cur = StateClosed
		case "waiting":
			cur = StateWaiting
		}
	}
	return cur
}

// changeSeverity applies "#severity N"; it returns why it could not.
func (d *Desk) changeSeverity(c *Case, arg string) string {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > 4 {
		return fmt.Sprintf("#severity needs a number from 1 to 4, not %q", arg)
	}
	plan := d.plan(d.opts.Directory().Account(c.Account))
	if plan != nil && !plan.Allows(n) {
		return fmt.Sprintf("severity %d is not allowed by the %s plan of %s (allowed: %v)", n, plan.Name, c.Account, plan.Severities)
	}
	c.Severity = n
	if c.FirstResponseAt == nil {
		d.setDue(c, plan, &MailData{})
	}
	return ""
}

func agentName(a mailparse.Address) string {
	if a.Name != "" {
		return a.Name
	}
	local, _, _ := strings.Cut(a.Addr, "@")
	return local
}

func (d *Desk) supportDisplay() string {
	if d.supportName != "" {
		return d.supportName
	}
	return d.supportAddr
}
