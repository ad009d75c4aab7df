package intake

import (
	"fmt"
	"strings"

	"casemail/mailparse"
)

// handle decides what one mail means and applies it inside tx.
func (d *Desk) handle(tx Tx, in *Incoming) (Result, error) {
	r := Result{UID: in.UID}
	m := in.Msg
	if in.ParseErr != nil || m == nil {
		r.Outcome = OutcomeRejected
		r.Reason = fmt.Sprintf("unreadable mail: %v", in.ParseErr)
		return r, nil
	}
	r.MessageID, r.From, r.Subject = m.MessageID, m.From.Addr, m.Subject

	key := dedupeKey(m)
	if seen, err := tx.Seen(key); err != nil {
		return r, err
	} else if seen != nil {
		r.Outcome, r.Case = OutcomeSuppressed, seen.Case
		r.Reason = fmt.Sprintf("duplicate of a mail processed at %s (%s)", seen.At.Format("2006-01-02 15:04:05Z07:00"), seen.Outcome)
		return r, nil
	}

	if m.From.Addr != "" && d.mustAuthenticate(m.From.Addr) {
		if why := d.authenticate(in); why != "" {
			// Not marked seen: once an admin fixes the trust settings, the
			// same mail moved back to the inbox is processed.
			r.Outcome, r.Reason = OutcomeQuarantined, "sender authentication failed: "+why
			return r, nil
		}
	}
	var err error
	robot := d.robot(m)
	switch {
	case m.Report != nil || isBounceSender(m):
		err = d.deliveryReport(tx, in, &r)
	case robot != "":
		r.Outcome, r.Reason = OutcomeSuppressed, robot
	case m.From.Addr == "":
		r.Outcome, r.Reason = OutcomeRejected, "no usable From address"
	case m.FromCount > 1:
		r.Outcome, r.Reason = OutcomeRejected, fmt.Sprintf("%d From addresses: the sender is ambiguous", m.FromCount)
	default:
		var c *Case
		c, err = d.findCase(tx, m)
		if err == nil {
			if c != nil {
				err = d.followUp(tx, in, c, &r)
			} else {
				err = d.newCase(tx, in, nil, &r)
			}
		}
	}
	if err != nil || r.Outcome == OutcomeRejected {
		return r, err
	}
	return r, tx.MarkSeen(key, &SeenMail{Outcome: r.Outcome, Case: r.Case, At: d.now()})
}

// dedupeKey recognises a mail read twice: by its Message-ID ("<…>"), or
// by content ("sha256:…") when it has none.
func dedupeKey(m *mailparse.Message) string {
	if m.MessageID != "" {
		return m.MessageID
	}
	return "sha256:" + m.ContentHash
}

// robot returns why a mail must never be answered, or "" for a human's.
func (d *Desk) robot(m *mailparse.Message) string {
	h := &m.Header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return "Auto-Submitted: " + v
	}
	switch v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); v {
	case "bulk", "junk", "list":
		return "Precedence: " + v
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "List-Id"} {
		if h.Has(k) {
			return k + " header"
		}
	}
	if xl := strings.ToLower(strings.Join(h.Values("X-Loop"), " ")); xl != "" && strings.Contains(xl, d.supportAddr) {
		return "X-Loop names the support address"
	}
	if m.ReturnPath == "<>" {
		return "null envelope sender (Return-Path: <>)"
	}
	if m.From.Addr == d.supportAddr {
		return "sent by the support address itself"
	}
	return ""
}

// isBounceSender reports mail from a mailer daemon, or a delivery report.
func isBounceSender(m *mailparse.Message) bool {
	local, _, _ := strings.Cut(m.From.Addr, "@")
	return local == "mailer-daemon" || strings.HasPrefix(strings.ToLower(m.ContentType), "multipart/report")
}

// findCase finds the case a mail belongs to: by the tag in its subject,
// which wins, or by In-Reply-To/References. A tag naming no case makes the
// mail a new one.
func (d *Desk) findCase(tx Tx, m *mailparse.Message) (*Case, error) {
	if tag, ok := mailparse.CaseTag(m.Subject, d.opts.IDPrefix); ok {
		return tx.Case(CaseID(tag))
	}
	refs := append(append([]string{}, m.InReplyTo...), reversed(m.References)...)
	for _, ref := range refs {
		id, err := tx.CaseOfMessage(ref)
		if err != nil {
			return nil, err
		}
		if id != "" {
			return tx.Case(id)
		}
	}
	return nil, nil
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
