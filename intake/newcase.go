package intake

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"casemail/mailparse"
)

// maxNature bounds the nature taken from a mail's subject and first paragraph.
const maxNature = 500

// newCase opens a case for a mail that belongs to none, if its sender may;
// related is the closed case a reply was addressed to, if any.
func (d *Desk) newCase(tx Tx, in *Incoming, related *Case, r *Result) error {
	m := in.Msg
	sender := m.From.Addr
	dir := d.opts.Directory()
	a := Analyze(in)
	text, fields := a.NewText, a.Fields
	lang, err := d.language(tx, sender, a)
	if err != nil {
		return err
	}

	accounts := dir.AccountsOf(sender)
	if len(accounts) == 0 {
		return d.refuse(tx, in, r, ReasonUnknownSender, lang, "sender is not a technical contact of any account")
	}
	var acct *Account
	var problems []Problem
	switch {
	case fields.Account != "":
		acct = dir.Account(fields.Account)
		if acct == nil || !dir.IsContactOf(sender, acct.Email) {
			return d.refuse(tx, in, r, ReasonNotInAccount, lang,
				fmt.Sprintf("sender is not a contact of the account named (%s)", fields.Account))
		}
	case len(accounts) == 1:
		acct = accounts[0]
	default:
		problems = append(problems, Problem{Field: "account", Reason: "missing"})
	}

	c := &Case{
		State:       StateOpen,
		Contact:     sender,
		Language:    lang,
		Environment: fields.Environment,
		CreatedAt:   in.Arrived.UTC(),
		Subject:     m.Subject,
		Related:     []CaseID{},
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = d.now()
	}
	if !m.Date.IsZero() {
		_, off := m.Date.Zone()
		c.ContactOffset = &off
	}
	data := &MailData{Support: d.supportAddr, Sender: sender, Subject: m.Subject, Dropped: m.Dropped}

	// Engine: named and valid, or inferred when the account has only one.
	if acct != nil {
		c.Account = acct.Email
		data.Account = acct
		switch e, ok := acct.HasEngine(fields.Engine); {
		case fields.Engine != "" && ok:
			c.Engine = e
		case fields.Engine != "":
			problems = append(problems, Problem{Field: "engine", Reason: "invalid", Value: fields.Engine})
		case len(acct.Engines) == 1:
			c.Engine = acct.Engines[0]
		default:
			problems = append(problems, Problem{Field: "engine", Reason: "missing"})
		}
		if c.Engine == "" {
			data.Engines = acct.Engines
		}
	}

	// Severity: defaulted, and lowered to what the plan allows.
	c.Severity = fields.Severity
	if c.Severity == 0 {
		c.Severity = DefaultSeverity
		if fields.SeverityRaw != "" {
			problems = append(problems, Problem{Field: "severity", Reason: "invalid", Value: fields.SeverityRaw})
		}
	}
	plan := d.plan(acct)
	if plan != nil {
		if s, lowered := plan.Clamp(c.Severity); lowered {
			data.SeverityLowered, data.RequestedSeverity = true, c.Severity
			c.Severity = s
		}
	}

	c.Nature = fields.Nature
	if c.Nature == "" {
		c.Nature = defaultNature(m.Subject, text)
	}
	if c.Nature == "" {
		problems = append(problems, Problem{Field: "nature", Reason: "missing"})
	}
	d.setDue(c, plan, data)

	n, err := tx.NextCaseNumber()
	if err != nil {
		return err
	}
	c.ID = FormatCaseID(d.opts.IDPrefix, n)
	if related != nil {
		c.Related = append(c.Related, related.ID)
		data.ReopenedFrom = related.ID
	}
	data.Case, data.Problems = c, problems

	seq, err := d.record(tx, c, in, Message{Direction: In, Kind: KindCustomer, Text: text})
	if err != nil {
		return err
	}
	r.Outcome, r.Case = OutcomeCaseCreated, c.ID
	r.Reason = caseReason(c, acct, problems, data.SeverityLowered)

	switch {
	case suppressesAuto(m):
		r.Reason += "; no acknowledgement: the mail asks for no automatic answers"
	case d.allowAuto(tx, sender, c.ID):
		if err := d.send(tx, c, r, TmplAck, lang, data, &Outgoing{
			To: []string{sender}, InReplyTo: m.MessageID, AutoSubmitted: true,
		}, true); err != nil {
			return err
		}
	default:
		r.Reason += "; acknowledgement withheld by the rate limit"
	}
	data.Text, data.textSeq = text, seq
	if c.FirstResponseDue != nil {
		data.Due = formatDue(*c.FirstResponseDue, plan, "en") // agents read English
	}
	if err := d.notify(tx, c, r, TmplNotifyNew, data); err != nil {
		return err
	}
	return d.putCase(tx, c)
}

// plan returns the account's plan, or nil.
func (d *Desk) plan(a *Account) *Plan {
	if a == nil {
		return nil
	}
	return d.opts.Plans[a.Plan]
}

// setDue computes the first-response due time from the plan.
func (d *Desk) setDue(c *Case, plan *Plan, data *MailData) {
	c.FirstResponseDue = nil
	if plan == nil || plan.Calendar == nil {
		return
	}
	target, ok := plan.FirstResponse[c.Severity]
	if !ok {
		return
	}
	due := plan.Calendar.Due(c.CreatedAt, target).UTC()
	c.FirstResponseDue = &due
	c.FirstResponseTarget = target.String()
	c.SLAWarned, c.SLABreached = false, false
	data.Target = target.String()
	data.Due = formatDue(due, plan, c.Language) + contactTime(due, plan, c)
}

// contactTime adds the due time in the customer's own time zone, when the
// Date of their mail shows one that differs from the plan's.
func contactTime(t time.Time, plan *Plan, c *Case) string {
	if c.ContactOffset == nil {
		return ""
	}
	_, planOff := t.In(plan.Calendar.Location()).Zone()
	if *c.ContactOffset == planOff {
		return ""
	}
	local := t.In(time.FixedZone("", *c.ContactOffset))
	zone := "UTC" + local.Format("-07:00")
	if c.Language == "fr" {
		return fmt.Sprintf(", soit %s %s chez vous (%s)", frDays[local.Weekday()], local.Format("15:04"), zone)
	}
	return fmt.Sprintf(", that is %s your time (%s)", local.Format("Mon 15:04"), zone)
}

// formatDue shows a due time in the plan's zone, naming the zone, in the
// case's language.
func formatDue(t time.Time, plan *Plan, lang string) string {
	loc := plan.Calendar.Location()
	t = t.In(loc)
	zone := t.Format("MST") + " (" + loc.String() + ")"
	if lang == "fr" {
		return fmt.Sprintf("%s %d %s %d %s %s", frDays[t.Weekday()], t.Day(), frMonths[t.Month()-1],
			t.Year(), t.Format("15:04"), zone)
	}
	return t.Format("Mon 2 Jan 2006 15:04 ") + zone
}

var (
	frDays   = [...]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."}
	frMonths = [...]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// defaultNature is the subject and the first paragraph of the text.
func defaultNature(subject, text string) string {
	para := firstParagraph(text, maxNature)
	n := strings.TrimSpace(mailparse.StripPrefixes(subject))
	switch {
	case n == "":
		n = para
	case para != "":
		n += ": " + para
	}
	return truncate(n, maxNature)
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

func caseReason(c *Case, acct *Account, problems []Problem, lowered bool) string {
	var b strings.Builder
	if acct != nil {
		fmt.Fprintf(&b, "contact of %s", acct.Email)
	} else {
		b.WriteString("contact of several accounts, none named")
	}
	fmt.Fprintf(&b, "; engine %q, severity %d", c.Engine, c.Severity)
	if lowered {
		b.WriteString(" (lowered to the plan's)")
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "; %s %s", p.Field, p.Reason)
		if p.Value != "" {
			fmt.Fprintf(&b, " (%q)", p.Value)
		}
	}
	return b.String()
}

// language picks the language to answer a new case in: the one detected
// in the mail, unless the mail says too little to tell (no
// Content-Language, a few words) and the contact is known to write in
// another; the choice is remembered for the contact.
func (d *Desk) language(tx Tx, sender string, a *Analysis) (string, error) {
	lang := a.Lang
	known, err := tx.ContactLanguage(sender)
	if err != nil {
		return "", err
	}
	if known != "" && known != lang && a.Short {
		return known, nil
	}
	if known != lang {
		err = tx.SetContactLanguage(sender, lang)
	}
	return lang, err
}
