package reply_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"
	"unicode/utf8"

	"casemail/intake"
	"casemail/reply"
)

// composer is a sender From testFrom that only composes.
func composer(t testing.TB) *reply.SMTP {
	t.Helper()
	c, err := reply.NewSMTP(reply.Options{Host: "127.0.0.1", TLS: reply.TLSNone, From: testFrom}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw composes m and returns the message as it goes over the wire.
func raw(t *testing.T, m *intake.Outgoing) []byte {
	t.Helper()
	data, err := composer(t).Compose(m)
	if err != nil {
		t.Fatalf("Compose: %v", err)
	}
	return data
}

func TestComposeHeaderInjection(t *testing.T) {
	const evil = "\r\nBcc: x@evil.example"
	m := outgoing(1)
	m.Subject = "[CASE-1000] Hello" + evil + "\r\n\r\nInjected body"
	m.FromName = "Alice" + evil
	m.To = []string{
		`"Eve` + evil + `" <eve@customer.example>`,
		"Mallory" + evil + " <mallory@customer.example>",
		"Trent\nBcc: x@evil.example <trent@customer.example>",
	}
	m.ReplyTo = "Peggy" + evil + " <peggy@customer.example>"
	m.InReplyTo = "<a@b>" + evil
	m.References = []string{"<c@d>", "<e@f>" + evil}
	m.Attachments = []intake.OutAttached{
		{Name: "report" + evil + ".txt", ContentType: "text/plain" + evil, Data: []byte("hello")},
		{Name: "../../etc/passwd", ContentType: "text/plain", Data: []byte("root")},
		{Name: `C:\Windows\evil"` + "\x00\x1b.exe", ContentType: "application/octet-stream", Data: []byte{0, 1, 2}},
	}
	data := raw(t, m)

	for i, line := range strings.Split(string(data), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("line %d is an injected header: %q", i+1, line)
		}
		if strings.HasPrefix(line, "Injected body") {
			t.Errorf("line %d: the subject ended the header: %q", i+1, line)
		}
	}
	if bytes.Contains(data, []byte("\n\nInjected")) || bytes.ContainsAny(data, "\x00\x1b") {
		t.Error("control characters reached the message")
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := msg.Header["Bcc"]; ok {
		t.Errorf("Bcc header: %q", v)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
	}
	wantTo := []string{"eve@customer.example", "mallory@customer.example", "trent@customer.example"}
	if len(to) != len(wantTo) {
		t.Fatalf("To = %v, want %v", to, wantTo)
	}
	for i, a := range to {
		if a.Address != wantTo[i] {
			t.Errorf("To[%d] = %q, want %q", i, a.Address, wantTo[i])
		}
		if strings.ContainsAny(a.Name, "\r\n") {
			t.Errorf("To[%d] name %q has a line break", i, a.Name)
		}
	}
	if got := msg.Header.Get("In-Reply-To"); got != "" {
		t.Errorf("In-Reply-To = %q, want the malformed ID dropped", got)
	}
	if got := msg.Header.Get("References"); got != "<c@d>" {
		t.Errorf("References = %q, want <c@d>", got)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "[CASE-1000] Hello Bcc: x@evil.example Injected body"; subj != want {
		t.Errorf("Subject = %q, want %q", subj, want)
	}

	// Attachments: names without separators or control characters.
	var names []string
	for _, p := range parts(t, msg) {
		for k := range p.Header {
			if strings.EqualFold(k, "Bcc") {
				t.Errorf("part header %s", k)
			}
		}
		if name := p.FileName(); name != "" {
			names = append(names, name)
			if _, _, err := mime.ParseMediaType(p.Header.Get("Content-Type")); err != nil {
				t.Errorf("attachment Content-Type %q: %v", p.Header.Get("Content-Type"), err)
			}
		}
	}
	if len(names) != 3 {
		t.Fatalf("attachments %q, want 3", names)
	}
	for _, n := range names {
		if strings.ContainsAny(n, "/\\\r\n\x00\x1b") {
			t.Errorf("attachment name %q", n)
		}
	}
}

func TestComposeAttachment(t *testing.T) {
	m := outgoing(1)
	m.Attachments = []intake.OutAttached{{Name: "résumé des logs.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("ligne 1\nligne 2\n")}}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw(t, m)))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q (%v), want multipart/mixed", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	text, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if ct := text.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "text/plain; charset=utf-8") {
		t.Errorf("text part Content-Type %q", ct)
	}
	att, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	name, err := dec.DecodeHeader(att.FileName())
	if err != nil {
		t.Fatal(err)
	}
	if name != "résumé des logs.txt" {
		t.Errorf("attachment name %q", name)
	}
	if cte := att.Header.Get("Content-Transfer-Encoding"); cte != "base64" {
		t.Fatalf("attachment Content-Transfer-Encoding %q", cte)
	}
	if ct := att.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain;") {
		t.Errorf("attachment Content-Type %q", ct)
	}
	data, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, att))
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "ligne 1\nligne 2\n" {
		t.Errorf("attachment data %q", data)
	}
}

func TestComposeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*intake.Outgoing)
	}{
		{"no recipient", func(m *intake.Outgoing) { m.To = nil }},
		{"bad recipient", func(m *intake.Outgoing) { m.To = []string{"not an address"} }},
		{"no Message-ID", func(m *intake.Outgoing) { m.MessageID = "" }},
		{"Message-ID with space", func(m *intake.Outgoing) { m.MessageID = "<a b@c>" }},
		{"Message-ID with CRLF", func(m *intake.Outgoing) { m.MessageID = "<a@c>\r\nBcc: x@evil" }},
		{"bad Reply-To", func(m *intake.Outgoing) { m.ReplyTo = "nope" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := outgoing(1)
			tc.edit(m)
			_, err := composer(t).Compose(m)
			if !errors.Is(err, intake.ErrPermanent) {
				t.Errorf("Compose: %v, want an error wrapping ErrPermanent", err)
			}
		})
	}
}

func TestHeaderText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  a \r\n\tb  ", "a b"},
		{"a\r\nBcc: x", "a Bcc: x"},
		{"a\x00b\x1bc\x7fd", "abcd"},
		{"a\u2028b\u0085c", "a b c"},
		{"bidi\u202eexe.txt", "bidiexe.txt"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"Réponse à «ça»", "Réponse à «ça»"},
		{"a  b", "a b"},
		{" a", "a"},
		{"a ", "a"},
		{"a\tb", "a b"},
		{"[CASE-1000] Re: disk ~full!", "[CASE-1000] Re: disk ~full!"},
	} {
		if got := reply.HeaderText(tc.in); got != tc.want {
			t.Errorf("HeaderText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAttachmentName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{"../../etc/passwd", ".._.._etc_passwd"},
		{`C:\temp\x.txt`, "C:_temp_x.txt"},
		{"a\r\nb.txt", "a b.txt"},
		{"", "attachment"},
		{"..", "attachment"},
		{" / ", "_"},
	} {
		if got := reply.AttachmentName(tc.in); got != tc.want {
			t.Errorf("AttachmentName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := strings.Repeat("é", 300) + ".pdf"
	got := reply.AttachmentName(long)
	if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
		t.Errorf("AttachmentName(long) = %q (%d bytes)", got, len(got))
	}
}

// Long header values are folded into lines a mail program accepts, and
// read back as they were.
func TestComposeLongHeaders(t *testing.T) {
	m := outgoing(1)
	m.Subject = "[CASE-1000] " + strings.Repeat("Réponse très longue à «ça» ", 12)
	m.FromName = strings.Repeat("Élodie ", 25)
	m.To = nil
	for i := range 30 {
		m.To = append(m.To, fmt.Sprintf(`"Dupont, Jean %d" <jean.dupont.%d@customer.example>`, i, i))
	}
	m.To = append(m.To, strings.Repeat("Ünïcødé ", 20)+"<u@customer.example>")
	m.References = nil
	for i := range 20 {
		m.References = append(m.References, fmt.Sprintf("<ref-%d.%s@customer.example>", i, strings.Repeat("x", 40)))
	}
	quoteName := `rapport "final" \ été ` + strings.Repeat("é", 100) + ".pdf"
	m.Attachments = []intake.OutAttached{
		{Name: strings.Repeat("très long nom ", 20) + ".txt", ContentType: "text/plain", Data: []byte("a")},
		{Name: `say "hi" \ there.txt`, ContentType: "text/plain", Data: []byte("b")},
		{Name: quoteName, ContentType: "application/pdf", Data: []byte("c")},
	}
	data := raw(t, m)
	header, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
	for i, line := range strings.Split(string(header), "\r\n") {
		if len(line) > 998 {
			t.Errorf("header line %d is %d octets", i+1, len(line))
		}
		if len(line) > 78 && strings.Contains(strings.TrimSpace(line), " ") {
			t.Errorf("header line %d is %d octets and could have been folded: %q", i+1, len(line), line)
		}
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err != nil || subj != reply.HeaderText(m.Subject) {
		t.Errorf("Subject = %q (%v), want %q", subj, err, reply.HeaderText(m.Subject))
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != strings.TrimSpace(m.FromName) {
		t.Errorf("From = %q (%v)", msg.Header.Get("From"), err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 31 {
		t.Fatalf("To = %q (%v)", msg.Header.Get("To"), err)
	}
	if to[7].Name != "Dupont, Jean 7" || to[7].Address != "jean.dupont.7@customer.example" {
		t.Errorf("To[7] = %+v", to[7])
	}
	if want := strings.TrimSpace(strings.Repeat("Ünïcødé ", 20)); to[30].Name != want {
		t.Errorf("To[30] name = %q, want %q", to[30].Name, want)
	}
	if got, want := msg.Header.Get("References"), strings.Join(m.References, " "); got != want {
		t.Errorf("References = %q, want %q", got, want)
	}
	var names []string
	for _, p := range parts(t, msg) {
		if p.FileName() == "" {
			continue
		}
		name, err := dec.DecodeHeader(p.FileName())
		if err != nil {
			t.Fatal(err)
		}
		_, ctParams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("attachment Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		if n, _ := dec.DecodeHeader(ctParams["name"]); n != name {
			t.Errorf("Content-Type name %q, Content-Disposition filename %q", n, name)
		}
		names = append(names, name)
	}
	want := []string{reply.AttachmentName(m.Attachments[0].Name), `say "hi" _ there.txt`, reply.AttachmentName(quoteName)}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("attachment names %q, want %q", names, want)
	}
}

// Compose writes CRLF line ends only.
func TestComposeCRLF(t *testing.T) {
	got := raw(t, outgoing(1))
	if !bytes.HasSuffix(got, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(got, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("not CRLF line ends")
	}
}

// parts reads the parts of msg's multipart body, for their headers (the
// reader drops a part's content when it reads the next).
func parts(t *testing.T, msg *netmail.Message) []*multipart.Part {
	t.Helper()
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var out []*multipart.Part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
}
