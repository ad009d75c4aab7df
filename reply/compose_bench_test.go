package reply_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"casemail/intake"
	"casemail/reply"
)

// BenchmarkComposeNotification composes and encodes an agents'
// notification carrying a 21 KiB customer text, as sent over SMTP.
func BenchmarkComposeNotification(b *testing.B) {
	text := strings.Repeat("Les requêtes échouent depuis la mise à jour d'hier soir, merci de regarder.\n", 280)
	m := &intake.Outgoing{
		Case: "CASE-1000", To: []string{"support-team@example.com"}, ReplyTo: "support@example.com",
		Subject: "[CASE-1000] Index bloqué", Text: text, MessageID: "<casemail.1.abc@example.com>",
		InReplyTo: "<a@acme.example>", References: []string{"<a@acme.example>"}, Date: time.Now(), AutoSubmitted: true,
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for range b.N {
		msg, err := reply.Compose("Acme Support <support@example.com>", m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := msg.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
