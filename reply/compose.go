package reply

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/wneessen/go-mail"

	"casemail/intake"
)

// Compose builds the MIME message for m, From the support address from
// ("Acme Support <support@example.com>"), with m.FromName as display name
// when set. Every header value that comes from user data (subject, display
// names, file names) is made header-safe first (see HeaderText and
// AttachmentName): it can never add a header line. Message-ID is exactly
// m.MessageID. In-Reply-To and References entries that are not usable
// message IDs are dropped; an unusable m.MessageID, a recipient that is not
// an address or no recipient at all is an error wrapping
// intake.ErrPermanent, since sending again cannot mend it.
func Compose(from string, m *intake.Outgoing) (*mail.Msg, error) {
	support, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())

	sender := &netmail.Address{Name: nameText(support.Name), Address: support.Address}
	if name := nameText(m.FromName); name != "" {
		sender.Name = name
	}
	msg.FromMailAddress(sender)

	if len(m.To) == 0 {
		return nil, permanent(errors.New("reply: outgoing mail has no recipient"))
	}
	to := make([]*netmail.Address, 0, len(m.To))
	for _, s := range m.To {
		a, err := parseAddr(s)
		if err != nil {
			return nil, permanent(fmt.Errorf("reply: recipient %q: %w", HeaderText(s), err))
		}
		to = append(to, a)
	}
	msg.ToMailAddress(to...)

	if m.ReplyTo != "" {
		a, err := parseAddr(m.ReplyTo)
		if err != nil {
			return nil, permanent(fmt.Errorf("reply: Reply-To %q: %w", HeaderText(m.ReplyTo), err))
		}
		msg.ReplyToMailAddress(a)
	}

	msg.Subject(subjectText(m.Subject))
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	msg.SetDateWithValue(date)

	id := messageID(m.MessageID)
	if id == "" {
		return nil, permanent(fmt.Errorf("reply: outgoing mail has no usable Message-ID (%q)", HeaderText(m.MessageID)))
	}
	msg.SetMessageIDWithValue(id)
	if irt := messageID(m.InReplyTo); irt != "" {
		msg.SetGenHeader(mail.HeaderInReplyTo, "<"+irt+">")
	}
	refs := make([]string, 0, len(m.References))
	for _, r := range m.References {
		if r := messageID(r); r != "" {
			refs = append(refs, "<"+r+">")
		}
	}
	if len(refs) > 0 {
		// One value: go-mail joins several values with ", ", and folds
		// long headers at the spaces.
		msg.SetGenHeader(mail.HeaderReferences, strings.Join(refs, " "))
	}
	if m.AutoSubmitted {
		msg.SetGenHeader("Auto-Submitted", "auto-replied")
		// Asks Exchange and Outlook not to answer with out-of-office mail.
		msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	}

	msg.SetBodyString(mail.TypeTextPlain, strings.ToValidUTF8(m.Text, "\uFFFD"))
	for _, a := range m.Attachments {
		msg.AttachReadSeeker(AttachmentName(a.Name), bytes.NewReader(a.Data),
			mail.WithFileContentType(mail.ContentType(contentType(a.ContentType))))
	}
	return msg, nil
}

// parseFrom checks the support address of Options.From.
func parseFrom(from string) (*netmail.Address, error) {
	if HeaderText(from) != strings.TrimSpace(from) {
		return nil, fmt.Errorf("reply: from %q: control characters", from)
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("reply: from %q: %w", from, err)
	}
	return a, nil
}

// parseAddr parses one address ("a@b" or "Name <a@b>") and makes its
// display name header-safe. A display name that does not parse (it holds
// line breaks or unquoted specials) is kept in header-safe form rather than
// refusing the address.
func parseAddr(s string) (*netmail.Address, error) {
	a, err := netmail.ParseAddress(HeaderText(s))
	if err != nil {
		s = strings.TrimSpace(s)
		i := strings.LastIndexByte(s, '<')
		if i < 0 || !strings.HasSuffix(s, ">") {
			return nil, err
		}
		a, err = netmail.ParseAddress(s[i:])
		if err != nil {
			return nil, err
		}
		a.Name = strings.Trim(HeaderText(s[:i]), `" `)
	}
	if strings.ContainsFunc(a.Address, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, errors.New("control character in address")
	}
	a.Name = nameText(a.Name)
	return a, nil
}

// contentType returns the media type of ct without its parameters, or
// application/octet-stream when ct does not parse.
func contentType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !strings.Contains(mt, "/") {
		return "application/octet-stream"
	}
	return mt
}

// permanent marks err as a failure that sending again cannot mend.
func permanent(err error) error { return &permError{err} }

type permError struct{ err error }

func (e *permError) Error() string { return e.err.Error() }
func (e *permError) Unwrap() []error {
	return []error{e.err, intake.ErrPermanent}
}
