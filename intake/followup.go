package intake

import (
	"fmt"
	"strconv"
	"strings"

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
	lang := mailparse.DetectLanguage(in.Msg.Text, in.Msg.ContentLanguage)
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

// customerReply stores a customer's reply, reopens the case and forwards
// the new text to the agents. A reply to a closed case opens a new case
// that refers to it.
func (d *Desk) customerReply(tx Tx, in *Incoming, c *Case, r *Result) error {
	if c.State == StateClosed {
		return d.newCase(tx, in, c, r)
	}
	m := in.Msg
	text := mailparse.NewText(m.Text)
	if err := d.record(tx, c, in, Message{Direction: In, Kind: KindCustomer, Text: text}); err != nil {
		return err
	}
	r.Outcome = OutcomeFollowUp
	r.Reason = fmt.Sprintf("customer reply, case was %s", c.State)
	if c.State == StateResolved {
		if n, ok := mailparse.Rating(text); ok {
			c.SurveyRating = &n
			r.Reason += fmt.Sprintf("; survey rating %d", n)
		}
	}
	c.State = StateOpen
	data := &MailData{Case: c, Account: d.opts.Directory().Account(c.Account), Support: d.supportAddr,
		Sender: m.From.Addr, Subject: m.Subject, Text: text}
	if err := d.notify(tx, c, r, TmplNotifyReply, data); err != nil {
		return err
	}
	return d.putCase(tx, c)
}

// agentMail applies an agent's commands and relays the agent's new text to
// the case's contact.
func (d *Desk) agentMail(tx Tx, in *Incoming, c *Case, r *Result) error {
	m := in.Msg
	agent := m.From
	cmds, text := mailparse.Commands(mailparse.NewText(m.Text))
	text = strings.TrimSpace(text)
	r.Outcome = OutcomeFollowUp
	data := &MailData{Case: c, Account: d.opts.Directory().Account(c.Account), Support: d.supportAddr,
		Sender: agent.Addr, Subject: m.Subject, AgentName: agentName(agent)}
	toAgent := &Outgoing{To: []string{agent.Addr}, InReplyTo: m.MessageID, AutoSubmitted: true}

	note, state := false, StateWaiting
	var done []string
	for _, cmd := range cmds {
		switch cmd.Name {
		case "note":
			note = true
		case "resolve":
			state = StateResolved
		case "close":
			state = StateClosed
		case "waiting":
			state = StateWaiting
		case "severity":
			if err := d.changeSeverity(c, cmd.Arg, data); err != "" {
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

	if note {
		if err := d.record(tx, c, in, Message{Direction: In, Kind: KindNote, Text: text}); err != nil {
			return err
		}
		r.Reason = "internal note by " + agent.Addr
		c.State = stateAfterCommands(c.State, cmds)
		return d.putCase(tx, c)
	}

	if err := tx.IndexMessage(m.MessageID, c.ID); err != nil {
		return err
	}
	if text != "" {
		data.Text = text
		if c.FirstResponseAt == nil {
			now := d.now()
			c.FirstResponseAt = &now
		}
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
	} else {
		r.Reason = "agent mail with no text to relay"
	}
	if len(done) > 0 {
		r.Reason += "; commands " + strings.Join(done, " ")
	}
	c.State = state
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
func (d *Desk) changeSeverity(c *Case, arg string, data *MailData) string {
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
		d.setDue(c, plan, data)
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
