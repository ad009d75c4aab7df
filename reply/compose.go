package reply

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"time"

	"casemail/intake"
)

// Compose builds the mail for m as it goes over the wire: header and body,
// CRLF line ends, no dot-stuffing (SendComposed does it). It does no I/O
// and may be called from any goroutine, also while SendComposed is
// running.
//
// The mail is From Options.From, with m.FromName as display name when set.
// Every header value that comes from user data (subject, display names,
// file names) is made header-safe first (see HeaderText and
// AttachmentName): it can never add a header line. Message-ID is exactly
// m.MessageID. In-Reply-To and References entries that are not usable
// message IDs are dropped; an unusable m.MessageID, a recipient that is not
// an address or no recipient at all is an error wrapping
// intake.ErrPermanent, since sending again cannot mend it.
//
// The text is text/plain; charset=UTF-8 in quoted-printable, with no line
// starting with "."; attachments make the mail multipart/mixed, each one
// base64.
func (s *SMTP) Compose(m *intake.Outgoing) ([]byte, error) {
	return compose(s.sender, m)
}

// supportSender is the From address of the support: its display name made
// header-safe.
func supportSender(support *netmail.Address) netmail.Address {
	return netmail.Address{Name: nameText(support.Name), Address: support.Address}
}

// foldAt is the line length beyond which header values are folded, at a
// space, where they have one (RFC 2047 wants lines with encoded words to be
// no longer than 76).
const foldAt = 76

func compose(sender netmail.Address, m *intake.Outgoing) ([]byte, error) {
	if name := nameText(m.FromName); name != "" {
		sender.Name = name
	}
	rcpts, err := recipients(m.To)
	if err != nil {
		return nil, err
	}
	to := make([]string, len(rcpts))
	for i, a := range rcpts {
		to[i] = a.String()
	}
	var replyTo string
	if m.ReplyTo != "" {
		a, err := parseAddr(m.ReplyTo)
		if err != nil {
			return nil, permanent(fmt.Errorf("reply: Reply-To %q: %w", HeaderText(m.ReplyTo), err))
		}
		replyTo = a.String()
	}
	id := messageID(m.MessageID)
	if id == "" {
		return nil, permanent(fmt.Errorf("reply: outgoing mail has no usable Message-ID (%q)", HeaderText(m.MessageID)))
	}

	size := 1024 + len(m.Subject)*3 + len(m.Text)*3/2
	for _, a := range m.Attachments {
		size += 512 + len(a.Name)*3 + base64.StdEncoding.EncodedLen(len(a.Data))*78/76
	}
	b := make([]byte, 0, size)

	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	b = append(b, "Date: "...)
	b = date.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\r\n"...)
	b = appendHeader(b, "From", sender.String())
	b = appendHeader(b, "To", strings.Join(to, ", "))
	if replyTo != "" {
		b = appendHeader(b, "Reply-To", replyTo)
	}
	b = appendHeader(b, "Subject", mime.QEncoding.Encode("UTF-8", subjectText(m.Subject)))
	b = appendHeader(b, "Message-ID", "<"+id+">")
	if irt := messageID(m.InReplyTo); irt != "" {
		b = appendHeader(b, "In-Reply-To", "<"+irt+">")
	}
	refs := make([]string, 0, len(m.References))
	for _, r := range m.References {
		if r := messageID(r); r != "" {
			refs = append(refs, "<"+r+">")
		}
	}
	if len(refs) > 0 {
		b = appendHeader(b, "References", strings.Join(refs, " "))
	}
	if m.AutoSubmitted {
		b = append(b, "Auto-Submitted: auto-replied\r\n"...)
		// Asks Exchange and Outlook not to answer with out-of-office mail.
		b = append(b, "X-Auto-Response-Suppress: All\r\n"...)
	}
	b = append(b, "MIME-Version: 1.0\r\n"...)

	const textHeader = "Content-Type: text/plain; charset=UTF-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	if len(m.Attachments) == 0 {
		b = append(b, textHeader...)
		b = appendQP(b, m.Text) // it replaces invalid UTF-8
		if n := len(b); b[n-2] != '\r' || b[n-1] != '\n' {
			b = append(b, "\r\n"...)
		}
		return b, nil
	}

	// Random: it cannot occur in the text (base64 has no "-").
	boundary := "casemail-" + rand.Text()
	b = append(b, "Content-Type: multipart/mixed; boundary="...)
	b = append(b, boundary...)
	b = append(b, "\r\n\r\n--"...)
	b = append(b, boundary...)
	b = append(b, "\r\n"+textHeader...)
	b = appendQP(b, m.Text) // it replaces invalid UTF-8
	for _, a := range m.Attachments {
		name := paramValue(AttachmentName(a.Name))
		b = append(b, "\r\n--"...)
		b = append(b, boundary...)
		b = append(b, "\r\n"...)
		b = appendHeader(b, "Content-Type", contentType(a.ContentType)+"; name="+name)
		b = appendHeader(b, "Content-Disposition", "attachment; filename="+name)
		b = append(b, "Content-Transfer-Encoding: base64\r\n\r\n"...)
		b = appendBase64(b, a.Data)
	}
	b = append(b, "\r\n--"...)
	b = append(b, boundary...)
	b = append(b, "--\r\n"...)
	return b, nil
}

// appendHeader appends the header field "name: value", folded before a
// space where a line would be longer than foldAt. value must be
// header-safe; a CR or LF in it would become a space all the same.
func appendHeader(b []byte, name, value string) []byte {
	if strings.ContainsAny(value, "\r\n") {
		value = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, value)
	}
	b = append(b, name...)
	b = append(b, ':')
	if len(name)+2+len(value) <= foldAt {
		b = append(b, ' ')
		b = append(b, value...)
		return append(b, '\r', '\n')
	}
	line := len(b) - len(name) - 1 // where the current line starts
	for {
		word, rest, more := strings.Cut(value, " ")
		if len(b)-line+1+len(word) > foldAt && len(b)-line > 1 {
			b = append(b, '\r', '\n')
			line = len(b)
		}
		b = append(b, ' ')
		b = append(b, word...)
		if !more {
			return append(b, '\r', '\n')
		}
		value = rest
	}
}

// paramValue is name as the quoted value of a name or filename parameter:
// as it is when it is printable ASCII, otherwise as RFC 2047 encoded words
// (which mail programs read in file names more widely than RFC 2231).
func paramValue(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c > '~' {
			ascii = false
			break
		}
	}
	if !ascii {
		enc := mime.QEncoding
		if strings.ContainsAny(name, `"\`) {
			// Q leaves them as they are, which would end the quoted string.
			enc = mime.BEncoding
		}
		return `"` + enc.Encode("UTF-8", name) + `"`
	}
	var b strings.Builder
	b.Grow(len(name) + 4)
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(name[i])
	}
	b.WriteByte('"')
	return b.String()
}

// appendBase64 appends data in base64, in lines of 76 characters, each
// ending with CRLF.
func appendBase64(b []byte, data []byte) []byte {
	const in = 57 // octets per line of 76
	enc := base64.StdEncoding
	b = slices.Grow(b, enc.EncodedLen(len(data))+(len(data)/in+1)*2)
	for len(data) > 0 {
		chunk := data[:min(in, len(data))]
		data = data[len(chunk):]
		b = append(enc.AppendEncode(b, chunk), '\r', '\n')
	}
	return b
}

// recipients parses the addresses of m.To: a mail without any, or with one
// that is not an address, can never be sent (ErrPermanent).
func recipients(to []string) ([]*netmail.Address, error) {
	if len(to) == 0 {
		return nil, permanent(errors.New("reply: outgoing mail has no recipient"))
	}
	out := make([]*netmail.Address, len(to))
	for i, s := range to {
		a, err := parseAddr(s)
		if err != nil {
			return nil, permanent(fmt.Errorf("reply: recipient %q: %w", HeaderText(s), err))
		}
		out[i] = a
	}
	return out, nil
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
