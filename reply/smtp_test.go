package reply_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"casemail/intake"
	"casemail/reply"
)

const testFrom = "Acme Support <support@example.com>"

// mustSMTP returns a sender for the sink, closed at the end of the test.
// composeAndSend composes m and hands it to the server.
func composeAndSend(c *reply.SMTP, ctx context.Context, m *intake.Outgoing) error {
	data, err := c.Compose(m)
	if err != nil {
		return err
	}
	return c.SendComposed(ctx, m, data)
}

func mustSMTP(t testing.TB, s *sink, edit func(*reply.Options)) *reply.SMTP {
	t.Helper()
	opts := reply.Options{
		Host: s.Host, Port: s.Port, TLS: s.opts.TLS,
		Username: s.opts.User, Password: s.opts.Pass,
		From: testFrom, Timeout: 5 * time.Second,
		TLSConfig: s.ClientTLS, HelloName: "casemail.test",
	}
	if edit != nil {
		edit(&opts)
	}
	c, err := reply.NewSMTP(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// outgoing returns a realistic mail about case CASE-1000, number n.
func outgoing(n int) *intake.Outgoing {
	return &intake.Outgoing{
		Case:          "CASE-1000",
		Purpose:       intake.TmplAck,
		FromName:      "Alice via Acme Support",
		To:            []string{"Bob Martin <bob@customer.example>"},
		ReplyTo:       "support@example.com",
		Subject:       "[CASE-1000] Le moteur de recherche ne répond plus",
		Text:          "Bonjour,\n\nNous avons bien reçu votre demande — merci. Délai : 4 heures ouvrées.\n€ ≠ ½\n",
		MessageID:     fmt.Sprintf("<out-%d.case-1000@example.com>", n),
		InReplyTo:     "<orig@customer.example>",
		References:    []string{"<first@customer.example>", "<orig@customer.example>"},
		Date:          time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC),
		AutoSubmitted: true,
	}
}

func send(t testing.TB, c *reply.SMTP, m *intake.Outgoing) {
	t.Helper()
	if err := composeAndSend(c, context.Background(), m); err != nil {
		t.Fatalf("Send %s: %v", m.MessageID, err)
	}
}

func TestSendReusesOneConnection(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	const n = 5
	for i := range n {
		send(t, c, outgoing(i))
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
	mails := s.Mails()
	if len(mails) != n {
		t.Fatalf("sink got %d mails, want %d", len(mails), n)
	}
	for i, m := range mails {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msg.Header.Get("Message-ID"), fmt.Sprintf("<out-%d.case-1000@example.com>", i); got != want {
			t.Errorf("mail %d: Message-ID = %q, want %q (order kept, exact value)", i, got, want)
		}
	}
}

func TestSendHeaders(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	m := outgoing(1)
	send(t, c, m)
	mails := s.Mails()
	if len(mails) != 1 {
		t.Fatalf("sink got %d mails, want 1", len(mails))
	}
	got := mails[0]
	if got.From != "support@example.com" {
		t.Errorf("MAIL FROM = %q, want the support address", got.From)
	}
	if len(got.To) != 1 || got.To[0] != "bob@customer.example" {
		t.Errorf("RCPT TO = %q", got.To)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	dec := new(mime.WordDecoder)
	for _, tc := range []struct{ key, want string }{
		{"Message-ID", "<out-1.case-1000@example.com>"},
		{"In-Reply-To", "<orig@customer.example>"},
		{"References", "<first@customer.example> <orig@customer.example>"},
		{"Auto-Submitted", "auto-replied"},
		{"Reply-To", "<support@example.com>"},
		{"Date", "Tue, 24 Nov 2026 09:30:00 +0000"},
		{"Mime-Version", "1.0"},
	} {
		if v := h.Get(tc.key); v != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, v, tc.want)
		}
	}
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 {
		t.Fatalf("From %q: %v", h.Get("From"), err)
	}
	if from[0].Name != "Alice via Acme Support" || from[0].Address != "support@example.com" {
		t.Errorf("From = %+v, want Alice via Acme Support <support@example.com>", from[0])
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Bob Martin" || to[0].Address != "bob@customer.example" {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	subj, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	if subj != m.Subject {
		t.Errorf("Subject = %q, want %q", subj, m.Subject)
	}
	if !strings.Contains(subj, "[CASE-1000]") {
		t.Errorf("Subject %q lacks the case tag", subj)
	}
	if ct := h.Get("Content-Type"); !strings.EqualFold(ct, "text/plain; charset=UTF-8") {
		t.Errorf("Content-Type = %q", ct)
	}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
		t.Errorf("Content-Transfer-Encoding = %q", cte)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(m.Text, "\n", "\r\n"); string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
	if h.Get("User-Agent") != "" || h.Get("X-Mailer") != "" {
		t.Errorf("mail advertises its library: %q %q", h.Get("User-Agent"), h.Get("X-Mailer"))
	}
}

func TestSendNotAutoSubmitted(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	m := outgoing(1)
	m.AutoSubmitted, m.FromName, m.ReplyTo, m.InReplyTo, m.References = false, "", "", "", nil
	send(t, c, m)
	msg, err := netmail.ReadMessage(bytes.NewReader(s.Mails()[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Auto-Submitted", "Reply-To", "In-Reply-To", "References"} {
		if v, ok := msg.Header[k]; ok {
			t.Errorf("%s present: %q", k, v)
		}
	}
	if got := msg.Header.Get("From"); got != `"Acme Support" <support@example.com>` {
		t.Errorf("From = %q, want the configured display name", got)
	}
}

func TestSendTLS(t *testing.T) {
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			s := newSink(t, sinkOptions{TLS: mode, User: "casemail", Pass: "s3cret"})
			// By name, so that the client sends it (SNI) and checks the
			// certificate against it.
			c := mustSMTP(t, s, func(o *reply.Options) { o.Host = "localhost" })
			send(t, c, outgoing(1))
			send(t, c, outgoing(2))
			mails := s.Mails()
			if len(mails) != 2 {
				t.Fatalf("sink got %d mails, want 2", len(mails))
			}
			if !mails[0].TLS || mails[0].Server != "localhost" {
				t.Errorf("session TLS = %v, server name %q", mails[0].TLS, mails[0].Server)
			}
			if mails[0].User != "casemail" {
				t.Errorf("authenticated user = %q", mails[0].User)
			}
			if got := s.Connections(); got != 1 {
				t.Errorf("connections = %d, want 1", got)
			}
		})
	}
}

func TestSendTLSUntrusted(t *testing.T) {
	for _, mode := range []string{"starttls", "implicit"} {
		t.Run(mode, func(t *testing.T) {
			s := newSink(t, sinkOptions{TLS: mode})
			c := mustSMTP(t, s, func(o *reply.Options) { o.TLSConfig = nil }) // system roots
			err := composeAndSend(c, context.Background(), outgoing(1))
			if err == nil {
				t.Fatal("Send to a self-signed server without trusting it succeeded")
			}
			if errors.Is(err, intake.ErrPermanent) {
				t.Errorf("TLS failure is permanent: %v", err)
			}
		})
	}
}

func TestStartTLSRequired(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"}) // offers no STARTTLS
	c := mustSMTP(t, s, func(o *reply.Options) { o.TLS = reply.TLSStartTLS })
	err := composeAndSend(c, context.Background(), outgoing(1))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send without STARTTLS on offer: %v, want an error naming STARTTLS", err)
	}
	if len(s.Mails()) != 0 {
		t.Error("mail sent in clear")
	}
}

func TestAuth(t *testing.T) {
	t.Run("PLAIN", func(t *testing.T) {
		s := newSink(t, sinkOptions{TLS: "none", User: "casemail", Pass: "s3cret"})
		c := mustSMTP(t, s, nil)
		send(t, c, outgoing(1))
		if u := s.Mails()[0].User; u != "casemail" {
			t.Errorf("user = %q", u)
		}
	})
	t.Run("LOGIN only", func(t *testing.T) {
		s := newSink(t, sinkOptions{TLS: "starttls", User: "casemail", Pass: "s3cret", Mechs: []string{sasl.Login}})
		c := mustSMTP(t, s, nil)
		send(t, c, outgoing(1))
		if u := s.Mails()[0].User; u != "casemail" {
			t.Errorf("user = %q", u)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := newSink(t, sinkOptions{TLS: "none", User: "casemail", Pass: "s3cret"})
		c := mustSMTP(t, s, func(o *reply.Options) { o.Password = "wrong" })
		err := composeAndSend(c, context.Background(), outgoing(1))
		if err == nil {
			t.Fatal("Send with a wrong password succeeded")
		}
		if errors.Is(err, intake.ErrPermanent) {
			t.Errorf("a login failure fails the mail for good: %v", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Errorf("error shows the password: %v", err)
		}
		if err := c.Check(context.Background()); err == nil {
			t.Error("Check with a wrong password succeeded")
		}
	})
	t.Run("required but not configured", func(t *testing.T) {
		s := newSink(t, sinkOptions{TLS: "none", User: "casemail", Pass: "s3cret"})
		c := mustSMTP(t, s, func(o *reply.Options) { o.Username, o.Password = "", "" })
		err := composeAndSend(c, context.Background(), outgoing(1))
		if err == nil {
			t.Fatal("Send without authentication succeeded")
		}
		if errors.Is(err, intake.ErrPermanent) {
			t.Errorf("\"authentication required\" fails the mail for good: %v", err)
		}
	})
}

func TestCheck(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "starttls", User: "casemail", Pass: "s3cret"})
	c := mustSMTP(t, s, nil)
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(s.Mails()) != 0 {
		t.Error("Check sent mail")
	}
	// Check uses a connection of its own; Send still works after it.
	send(t, c, outgoing(1))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c2 := mustSMTP(t, s, func(o *reply.Options) { o.Port = port })
	if err := c2.Check(context.Background()); err == nil {
		t.Error("Check against a closed port succeeded")
	}
}

func TestRcptRefused(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)

	s.FailRcpt(550, "No such user here")
	err := composeAndSend(c, context.Background(), outgoing(1))
	if !errors.Is(err, intake.ErrPermanent) {
		t.Errorf("550 to RCPT: %v, want ErrPermanent", err)
	}
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Errorf("error %v does not show the server's reply", err)
	}

	s.FailRcpt(451, "Try again later")
	err = composeAndSend(c, context.Background(), outgoing(2))
	if err == nil || errors.Is(err, intake.ErrPermanent) {
		t.Errorf("451 to RCPT: %v, want a temporary error", err)
	}

	s.FailRcpt(0, "")
	send(t, c, outgoing(3))
	if got := s.Connections(); got != 1 {
		t.Errorf("connections = %d, want 1: refusals keep the connection", got)
	}
	if n := len(s.Mails()); n != 1 {
		t.Errorf("sink got %d mails, want 1", n)
	}
}

func TestRedialAfterDrop(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "starttls", User: "casemail", Pass: "s3cret"})
	c := mustSMTP(t, s, nil)
	send(t, c, outgoing(1))
	s.DropAll()
	time.Sleep(20 * time.Millisecond) // let the close reach the client's socket
	send(t, c, outgoing(2))           // the dead connection is replaced within this Send
	send(t, c, outgoing(3))
	if got := s.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
	if n := len(s.Mails()); n != 3 {
		t.Errorf("sink got %d mails, want 3", n)
	}
}

func TestServerDown(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	send(t, c, outgoing(1))
	s.srv.Close()
	err := composeAndSend(c, context.Background(), outgoing(2))
	if err == nil || errors.Is(err, intake.ErrPermanent) {
		t.Fatalf("Send with the server gone: %v, want a temporary error", err)
	}
}

func TestSendContext(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	send(t, c, outgoing(1))

	release := s.HoldData()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := composeAndSend(c, ctx, outgoing(2))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send on a stalled server: %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
	release()

	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := composeAndSend(c, cancelled, outgoing(3)); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: %v", err)
	}
	send(t, c, outgoing(4)) // dials again
}

func TestClose(t *testing.T) {
	s := newSink(t, sinkOptions{TLS: "none"})
	c := mustSMTP(t, s, nil)
	send(t, c, outgoing(1))
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := composeAndSend(c, context.Background(), outgoing(2)); !errors.Is(err, reply.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewSMTPOptions(t *testing.T) {
	ok := reply.Options{Host: "127.0.0.1", TLS: "none", From: testFrom}
	for _, tc := range []struct {
		name string
		edit func(*reply.Options)
		want string // in the error; "" means no error
	}{
		{"loopback v4", nil, ""},
		{"loopback v6", func(o *reply.Options) { o.Host = "::1" }, ""},
		{"localhost", func(o *reply.Options) { o.Host = "localhost" }, ""},
		{"none to a remote host", func(o *reply.Options) { o.Host = "smtp.example.com" }, "loopback"},
		{"none to a remote address", func(o *reply.Options) { o.Host = "192.0.2.1" }, "loopback"},
		{"starttls to a remote host", func(o *reply.Options) { o.Host, o.TLS = "smtp.example.com", "starttls" }, ""},
		{"unknown tls", func(o *reply.Options) { o.TLS = "ssl" }, "tls"},
		{"no host", func(o *reply.Options) { o.Host = "" }, "host"},
		{"no from", func(o *reply.Options) { o.From = "" }, "from"},
		{"bad from", func(o *reply.Options) { o.From = "Acme Support" }, "from"},
		{"from with CRLF", func(o *reply.Options) { o.From = "support@example.com\r\nBcc: x@evil" }, "from"},
		{"bad port", func(o *reply.Options) { o.Port = 70000 }, "port"},
		{"hello with space", func(o *reply.Options) { o.HelloName = "a b" }, "hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			if tc.edit != nil {
				tc.edit(&o)
			}
			_, err := reply.NewSMTP(o, nil)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("NewSMTP: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("NewSMTP: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func BenchmarkSend(b *testing.B) {
	s := newSink(b, sinkOptions{TLS: "none"})
	c := mustSMTP(b, s, nil)
	m := outgoing(0)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.MessageID = fmt.Sprintf("<bench-%d@example.com>", i)
		if err := composeAndSend(c, ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := s.Connections(); got != 1 {
		b.Errorf("connections = %d, want 1", got)
	}
}

// nullServer is an SMTP server on 127.0.0.1 that says yes to everything
// and throws mail away, spending little CPU on it: benchmarks against it
// measure mostly the client. It returns the options to reach it.
func nullServer(b testing.TB) reply.Options {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.Cleanup(func() { c.Close() })
			go nullSession(c)
		}
	}()
	return reply.Options{
		Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: reply.TLSNone,
		From: testFrom, Timeout: 5 * time.Second, HelloName: "casemail.test",
	}
}

func nullSession(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	io.WriteString(c, "220 null\r\n")
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		var reply string
		switch strings.ToUpper(string(line[:min(4, len(line))])) {
		case "EHLO":
			reply = "250-null\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
		case "DATA":
			io.WriteString(c, "354 go on\r\n")
			for {
				line, err := r.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
				if string(line) == ".\r\n" {
					break
				}
			}
			reply = "250 queued\r\n"
		case "QUIT":
			io.WriteString(c, "221 bye\r\n")
			return
		default:
			reply = "250 ok\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// BenchmarkSendNotification composes and sends the 21 KiB notification of
// BenchmarkComposeNotification.
func BenchmarkSendNotification(b *testing.B) {
	b.Run("sink", func(b *testing.B) {
		benchSend(b, mustSMTP(b, newSink(b, sinkOptions{TLS: "none"}), nil), notification())
	})
	b.Run("null", func(b *testing.B) {
		c, err := reply.NewSMTP(nullServer(b), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		benchSend(b, c, notification())
	})
}

func benchSend(b *testing.B, c *reply.SMTP, m *intake.Outgoing) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Text)))
	for b.Loop() {
		if err := composeAndSend(c, ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendComposed sends mails composed beforehand: what is left on
// the SMTP conversation's path once composing happens elsewhere.
func BenchmarkSendComposed(b *testing.B) {
	for _, bc := range []struct {
		name string
		m    *intake.Outgoing
	}{{"small", outgoing(0)}, {"notification", notification()}} {
		b.Run(bc.name, func(b *testing.B) {
			s := newSink(b, sinkOptions{TLS: "none"})
			c := mustSMTP(b, s, nil)
			benchSendComposed(b, c, bc.m)
			if got := s.Connections(); got != 1 {
				b.Errorf("connections = %d, want 1", got)
			}
		})
		b.Run(bc.name+"/null", func(b *testing.B) {
			c, err := reply.NewSMTP(nullServer(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			benchSendComposed(b, c, bc.m)
		})
	}
}

func benchSendComposed(b *testing.B, c *reply.SMTP, m *intake.Outgoing) {
	data, err := c.Compose(m)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := c.SendComposed(ctx, m, data); err != nil {
			b.Fatal(err)
		}
	}
}
