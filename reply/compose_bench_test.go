package reply_test

import (
	"strings"
	"testing"
	"time"

	"casemail/intake"
	"casemail/reply"
)

// notification is an agents' notification carrying a 21 KiB customer text.
func notification() *intake.Outgoing {
	text := strings.Repeat("Les requêtes échouent depuis la mise à jour d'hier soir, merci de regarder.\n", 280)
	return &intake.Outgoing{
		Case: "CASE-1000", To: []string{"support-team@example.com"}, ReplyTo: "support@example.com",
		Subject: "[CASE-1000] Index bloqué", Text: text, MessageID: "<casemail.1.abc@example.com>",
		InReplyTo: "<a@acme.example>", References: []string{"<a@acme.example>"}, Date: time.Now(), AutoSubmitted: true,
	}
}

// BenchmarkComposeNotification composes an agents' notification carrying a
// 21 KiB customer text into the bytes sent over SMTP.
func BenchmarkComposeNotification(b *testing.B) {
	m := notification()
	c, err := reply.NewSMTP(reply.Options{Host: "127.0.0.1", TLS: reply.TLSNone, From: "Acme Support <support@example.com>"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Text)))
	for b.Loop() {
		if _, err := c.Compose(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderAck renders the default acknowledgement of a typical new
// case: what text/template costs the goroutine that commits mail, once per
// case.
func BenchmarkRenderAck(b *testing.B) {
	tmpl, err := reply.LoadTemplates("")
	if err != nil {
		b.Fatal(err)
	}
	due := time.Date(2026, 12, 8, 16, 0, 0, 0, time.UTC)
	c := &intake.Case{ID: "CASE-1000", State: intake.StateOpen, Account: "admin@acme.example", Engine: "acme-search",
		Severity: 2, Nature: "Queries time out: since the last deploy, about one in ten", Environment: "production",
		Contact: "alice@acme.example", Language: "en", CreatedAt: due.Add(-48 * time.Hour), FirstResponseDue: &due,
		Subject: "Queries time out", FirstResponseTarget: "1bd"}
	data := &intake.MailData{Case: c, Account: &intake.Account{Email: "admin@acme.example", Plan: "premium", Engines: []string{"acme-search"}},
		Support: "support@example.com", Sender: "alice@acme.example", Subject: "Queries time out",
		Due: "Tue 8 Dec 2026 08:00 PST (America/Los_Angeles)", Target: "1bd"}
	b.ReportAllocs()
	for range b.N {
		if _, _, err := tmpl.Render(intake.TmplAck, "en", data); err != nil {
			b.Fatal(err)
		}
	}
}
