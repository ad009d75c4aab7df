package intake

import (
	"fmt"
	"strings"
)

// deliveryReport handles a bounce. When it is about a mail casemail sent,
// the case records that delivery failed; it is never answered, never opens
// a case, and never attaches to a case any mail but casemail's own.
func (d *Desk) deliveryReport(tx Tx, in *Incoming, r *Result) error {
	m := in.Msg
	r.Outcome = OutcomeSuppressed
	r.Reason = "delivery report"
	var refs []string
	if m.Report != nil && m.Report.OriginalMessageID != "" {
		refs = append(refs, m.Report.OriginalMessageID)
	}
	refs = append(refs, m.InReplyTo...)
	refs = append(refs, m.References...)
	for _, ref := range refs {
		if !d.ownMessageID(ref) {
			continue
		}
		id, err := tx.CaseOfMessage(ref)
		if err != nil {
			return err
		}
		c, err := tx.Case(id)
		if err != nil || c == nil {
			return err
		}
		text := "Delivery of " + ref + " failed"
		if rep := m.Report; rep != nil {
			if len(rep.Recipients) > 0 {
				text += " to " + strings.Join(rep.Recipients, ", ")
			}
			if rep.Action != "" || rep.Status != "" {
				text += fmt.Sprintf(" (action %s, status %s)", rep.Action, rep.Status)
			}
			if rep.Diagnostic != "" {
				text += ": " + rep.Diagnostic
			}
		}
		if _, err := d.record(tx, c, in, Message{Direction: In, Kind: KindSystem, Text: text}); err != nil {
			return err
		}
		r.Case = c.ID
		r.Reason = "delivery report: " + text
		return d.putCase(tx, c)
	}
	r.Reason = "delivery report about no mail casemail sent"
	return nil
}

// ownMessageID reports whether id is of the form casemail gives its mail.
func (d *Desk) ownMessageID(id string) bool {
	return strings.HasPrefix(id, "<casemail.") && strings.HasSuffix(id, "@"+d.domain+">")
}
