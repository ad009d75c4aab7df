package reply_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"

	"casemail/intake"
	"casemail/reply"
)

// A text with lines starting with "." arrives intact: Compose writes no
// line starting with a dot, and the server decodes the same text.
func TestSendDotLines(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	m := outgoing(1)
	m.Text = ".\n..\n.hidden\nline\n." + strings.Repeat("x", 74) + ".continued after a soft break\n.\n"
	send(t, c, m)
	mails := s.Mails()
	if len(mails) != 1 {
		t.Fatalf("sink got %d mails, want 1", len(mails))
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

// SendComposed dot-stuffs what it is given: lines starting with "." reach
// the server as they were, and a lone "." does not end the mail early.
func TestSendComposedDotStuffing(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	m := outgoing(1)
	for i, tc := range []struct{ data, want string }{
		{".first\r\n.\r\n..\r\nmiddle\r\n.last\r\n", ""},
		{"Subject: x\r\n\r\n.\r\nQUIT\r\n", ""},
		{"bare\nLF\n.dot\n", "bare\r\nLF\r\n.dot\r\n"},
		{"no final line break\r\n.", "no final line break\r\n.\r\n"},
	} {
		if tc.want == "" {
			tc.want = tc.data
		}
		if err := c.SendComposed(context.Background(), m, []byte(tc.data)); err != nil {
			t.Fatalf("SendComposed %d: %v", i, err)
		}
		mails := s.Mails()
		if len(mails) != i+1 {
			t.Fatalf("sink has %d mails, want %d", len(mails), i+1)
		}
		if got := string(mails[i].Data); got != tc.want {
			t.Errorf("mail %d arrived as %q, want %q", i, got, tc.want)
		}
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
}

// What SendComposed delivers is byte for byte what Compose returned, to
// the envelope of m.
func TestSendComposedExact(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	m := outgoing(1)
	m.To = []string{"Bob Martin <bob@customer.example>", "carol@customer.example"}
	m.Attachments = []intake.OutAttached{{Name: "logs.txt", ContentType: "text/plain", Data: bytes.Repeat([]byte(".x\n"), 100)}}
	data, err := c.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendComposed(context.Background(), m, data); err != nil {
		t.Fatal(err)
	}
	got := s.Mails()[0]
	if !bytes.Equal(got.Data, data) {
		t.Errorf("server got\n%q\nwant\n%q", got.Data, data)
	}
	if got.From != "support@example.com" || strings.Join(got.To, " ") != "bob@customer.example carol@customer.example" {
		t.Errorf("envelope %q -> %q", got.From, got.To)
	}
}

func TestSendComposedErrors(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	data, err := c.Compose(outgoing(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range [][]string{nil, {"not an address"}, {"Bob <no address>"}, {"ok@example.com", "bad"}} {
		m := outgoing(1)
		m.To = to
		if err := c.SendComposed(context.Background(), m, data); !errors.Is(err, intake.ErrPermanent) {
			t.Errorf("SendComposed to %q: %v, want an error wrapping ErrPermanent", to, err)
		}
	}
	if n := len(s.Mails()); n != 0 {
		t.Errorf("sink got %d mails", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.SendComposed(context.Background(), outgoing(1), data); !errors.Is(err, reply.ErrClosed) {
		t.Errorf("SendComposed after Close: %v, want ErrClosed", err)
	}
}

// Compose may run on other goroutines while the sender sends (go test
// -race checks it).
func TestComposeWhileSending(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	const n = 20
	composed := make(chan []byte, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				m := outgoing(i)
				m.Text = fmt.Sprintf("mail %d\n", i)
				data, err := c.Compose(m)
				if err != nil {
					t.Error(err)
					return
				}
				composed <- data
			}
		})
	}
	go func() { wg.Wait(); close(composed) }()
	ctx := context.Background()
	sent := 0
	for data := range composed {
		if err := c.SendComposed(ctx, outgoing(0), data); err != nil {
			t.Fatal(err)
		}
		if err := composeAndSend(c, ctx, outgoing(100+sent)); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	if sent != n || len(s.Mails()) != 2*n {
		t.Errorf("sent %d composed mails, sink got %d mails; want %d and %d", sent, len(s.Mails()), n, 2*n)
	}
}
