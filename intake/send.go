package intake

import (
	"fmt"
	"strings"

	"casemail/mailparse"
)

// maxReferences bounds the References header of outgoing mail.
const maxReferences = 20

// record appends an incoming mail to a case's conversation and indexes its
// Message-ID so that replies to it thread into the case. It returns the
// message's Seq.
func (d *Desk) record(tx Tx, c *Case, in *Incoming, msg Message) (uint64, error) {
	m := in.Msg
	msg.From = m.From.Addr
	msg.Subject = m.Subject
	msg.MessageID = m.MessageID
	msg.At = in.Arrived.UTC()
	if msg.At.IsZero() {
		msg.At = d.now()
	}
	msg.To = addrs(m.To)
	msg.Attachments = make([]Attachment, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		msg.Attachments = append(msg.Attachments, Attachment{Name: a.Name, Size: a.Size, SHA256: a.SHA256})
	}
	if err := d.appendMessage(tx, c, &msg); err != nil {
		return 0, err
	}
	if len(m.Problems) > 0 {
		// What could not be decoded or was over a limit stays on record.
		note := &Message{Direction: In, Kind: KindSystem, From: d.supportAddr, Subject: m.Subject,
			Text: "Not everything in this mail could be kept:\n- " + strings.Join(m.Problems, "\n- "), At: msg.At}
		if err := d.appendMessage(tx, c, note); err != nil {
			return 0, err
		}
	}
	return msg.Seq, tx.IndexMessage(m.MessageID, c.ID)
}

func (d *Desk) appendMessage(tx Tx, c *Case, msg *Message) error {
	if msg.To == nil {
		msg.To = []string{}
	}
	if msg.Attachments == nil {
		msg.Attachments = []Attachment{}
	}
	if err := tx.AppendMessage(c.ID, msg); err != nil {
		return err
	}
	c.MessageCount++
	c.UpdatedAt = d.now()
	if msg.MessageID != "" {
		c.LastMessageID = msg.MessageID
		c.References = appendRef(c.References, msg.MessageID)
	}
	return nil
}

// appendRef keeps the first reference and the most recent ones.
func appendRef(refs []string, id string) []string {
	refs = append(refs, id)
	if len(refs) > maxReferences {
		refs = append(refs[:1], refs[len(refs)-maxReferences+1:]...)
	}
	return refs
}

// send renders a template and queues the mail; when toCase is set it is
// also recorded in the case's conversation as a mail that went out.
func (d *Desk) send(tx Tx, c *Case, r *Result, tmpl, lang string, data *MailData, out *Outgoing, toCase bool) error {
	var subject, body string
	var err error
	if data.textSeq != 0 && c != nil && !toCase {
		// A notification carrying a case message: rendered at delivery.
		subject, err = d.opts.Renderer.RenderSubject(tmpl, lang, data)
		later := *data
		later.Text = ""
		if data.Case != nil {
			snap := *data.Case // the case changes on; the notification says what was decided
			later.Case = &snap
		}
		if data.Account != nil {
			acct := *data.Account
			acct.Contacts = nil // may be thousands; no notification shows them
			later.Account = &acct
		}
		out.Later = &Later{Template: tmpl, Lang: lang, Data: &later, TextSeq: data.textSeq}
	} else {
		subject, body, err = d.opts.Renderer.Render(tmpl, lang, data)
	}
	if err != nil {
		return fmt.Errorf("template %s/%s: %w", lang, tmpl, err)
	}
	out.Purpose = tmpl
	out.Text = body
	out.Subject = subject
	out.MessageID = d.newMessageID()
	out.Date = d.now()
	if c != nil {
		out.Case = c.ID
		if tag := "[" + string(c.ID) + "]"; !strings.Contains(out.Subject, tag) {
			out.Subject = tag + " " + out.Subject
		}
		out.References = append([]string(nil), c.References...)
		if out.InReplyTo == "" {
			out.InReplyTo = c.LastMessageID
		}
		if err := tx.IndexMessage(out.MessageID, c.ID); err != nil {
			return err
		}
	} else if out.InReplyTo != "" {
		out.References = []string{out.InReplyTo}
	}
	if c != nil && toCase {
		kind, from := KindSystem, d.supportAddr
		if tmpl == TmplAgentReply {
			kind, from = KindAgent, data.Sender
		}
		msg := &Message{
			Direction: Out, Kind: kind, From: from, To: out.To,
			Subject: out.Subject, Text: body, MessageID: out.MessageID, At: out.Date,
		}
		if err := d.appendMessage(tx, c, msg); err != nil {
			return err
		}
		out.TextSeq = msg.Seq // the queue refers to the text, stored once
	}
	if err := tx.Enqueue(out); err != nil {
		return err
	}
	r.Sent = append(r.Sent, out)
	return nil
}

// notify sends agents' [agents] notify a mail about the case, with Reply-To
// the support address so that their answers come back to casemail.
func (d *Desk) notify(tx Tx, c *Case, r *Result, tmpl string, data *MailData) error {
	if d.opts.Notify == "" {
		return nil
	}
	return d.send(tx, c, r, tmpl, "en", data, &Outgoing{
		To: []string{d.opts.Notify}, ReplyTo: d.supportAddr, AutoSubmitted: true,
	}, false)
}

// refuse answers a sender who may not open or join a case, at most once
// per sender per RefusalWindow.
func (d *Desk) refuse(tx Tx, in *Incoming, r *Result, reason, lang, why string) error {
	r.Outcome, r.Reason = OutcomeRefused, why
	sender := in.Msg.From.Addr
	key := "refusal:" + sender
	n, err := tx.Hits(key, d.now().Add(-d.opts.RefusalWindow))
	if err != nil {
		return err
	}
	if suppressesAuto(in.Msg) {
		r.Reason += "; not answered: the mail asks for no automatic answers"
		return nil
	}
	if n > 0 || !d.allowAuto(tx, sender, "") {
		r.Reason += "; already refused recently, not answered again"
		return nil
	}
	if err := tx.Hit(key, d.now()); err != nil {
		return err
	}
	data := &MailData{Support: d.supportAddr, Sender: sender, Subject: in.Msg.Subject, Reason: reason}
	return d.send(tx, nil, r, TmplRefusal, lang, data, &Outgoing{
		To: []string{sender}, InReplyTo: in.Msg.MessageID, AutoSubmitted: true,
	}, false)
}

// suppressesAuto reports a mail that asks for no automatic answers
// (Microsoft's X-Auto-Response-Suppress: All, AutoReply or OOF): it is still
// processed, but casemail does not acknowledge or refuse it.
func suppressesAuto(m *mailparse.Message) bool {
	for _, v := range strings.Split(strings.ToLower(m.Header.Get("X-Auto-Response-Suppress")), ",") {
		switch strings.TrimSpace(v) {
		case "all", "autoreply", "oof":
			return true
		}
	}
	return false
}

// allowAuto applies the rate limit on automatic answers to one sender and,
// when id is set, on one case; it counts the answer when it allows it.
func (d *Desk) allowAuto(tx Tx, sender string, id CaseID) bool {
	since := d.now().Add(-d.opts.AutoReplyWindow)
	keys := []string{"auto:" + strings.ToLower(sender)}
	if id != "" {
		keys = append(keys, "auto-case:"+string(id))
	}
	for _, k := range keys {
		n, err := tx.Hits(k, since)
		if err != nil || n >= d.opts.AutoReplyLimit {
			return false
		}
	}
	for _, k := range keys {
		if tx.Hit(k, d.now()) != nil {
			return false
		}
	}
	return true
}

func addrs(list []mailparse.Address) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a.Addr != "" {
			out = append(out, a.Addr)
		}
	}
	return out
}
