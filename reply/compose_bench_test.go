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
