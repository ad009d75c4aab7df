package intake_test

import (
	"fmt"
	"strings"
	"testing"

	"casemail/intake"
)

// TestTooManyAttachments: a mail over the attachment limit still opens its
// case; the case records what was not kept and the acknowledgement tells
// the sender which attachments were refused.
func TestTooManyAttachments(t *testing.T) {
	e := newEnv(t, envOptions{})
	var b strings.Builder
	b.WriteString("From: Alice <alice@acme.example>\r\nTo: support@example.com\r\nSubject: Logs attached\r\n" +
		"Message-ID: <many-attachments@acme.example>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\nEngine: acme-search\r\nHere are our logs.\r\n")
	for i := 1; i <= 102; i++ {
		fmt.Fprintf(&b, "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log-%03d.txt\"\r\n\r\nline %d\r\n", i, i)
	}
	b.WriteString("--b--\r\n")
	r, out := e.step(b.String())
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	if n := len(c.Messages[0].Attachments); n != 100 {
		t.Errorf("%d attachments recorded, want the first 100", n)
	}
	var note string
	for _, m := range c.Messages {
		if m.Kind == intake.KindSystem && m.Direction == intake.In {
			note = m.Text
		}
	}
	wantContains(t, "system note", note, "log-101.txt", "log-102.txt", "more than 100 attachments")
	ack := sentTo(out, "alice@acme.example")[0]
	wantContains(t, "ack", ack.Text, "were not kept", "log-101.txt, log-102.txt")
}
