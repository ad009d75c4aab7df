package mailtest_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"casemail/internal/mailtest"
)

func mustStartSMTP(tb testing.TB, opts mailtest.SMTPOptions) *mailtest.SMTPServer {
	tb.Helper()
	s, err := mailtest.StartSMTP(opts)
	if err != nil {
		tb.Fatalf("StartSMTP: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustDialSMTP(tb testing.TB, s *mailtest.SMTPServer) *smtp.Client {
	tb.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// send runs one MAIL, RCPT…, DATA transaction.
func send(c *smtp.Client, from string, to []string, data []byte) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestSMTP_Receive(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{})
	if got := s.Host(); got != "127.0.0.1" || !strings.HasSuffix(s.Addr(), ":"+strconv.Itoa(s.Port())) {
		t.Errorf("Host %q, Addr %q, Port %d", got, s.Addr(), s.Port())
	}
	c := mustDialSMTP(t, s)
	before := time.Now()
	if err := send(c, "support@example.com", []string{"alice@acme.example", "ops@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	if err := send(c, "support@example.com", []string{"bob@acme.example"}, testMail(2)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitFor(2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("received %d, want 2", len(got))
	}
	r := got[0]
	if r.From != "support@example.com" || strings.Join(r.To, ",") != "alice@acme.example,ops@acme.example" || !bytes.Equal(r.Data, testMail(1)) || r.At.Before(before) {
		t.Errorf("received[0] = %+v", r)
	}
	if got[1].To[0] != "bob@acme.example" || !bytes.Equal(got[1].Data, testMail(2)) {
		t.Errorf("received[1] = %+v", got[1])
	}
	// Received returns copies.
	got[0].Data[0] = 'X'
	if s.Received()[0].Data[0] == 'X' {
		t.Error("Received shares its buffers with the caller")
	}
	s.Reset()
	if n := len(s.Received()); n != 0 {
		t.Errorf("after Reset: %d received", n)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d, want 1", got)
	}
	if s.CertPool() != nil {
		t.Error("CertPool() != nil without TLS")
	}
}

func TestSMTP_AuthRequired(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{Username: "desk@example.com", Password: "pw"})

	c := mustDialSMTP(t, s)
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
		t.Errorf("AUTH extension = %v %q", ok, mechs)
	}
	if err := c.Mail("support@example.com"); smtpCode(err) != 530 {
		t.Errorf("MAIL without AUTH: %v, want 530", err)
	}
	if err := c.Auth(smtp.PlainAuth("", "desk@example.com", "wrong", "127.0.0.1")); smtpCode(err) != 535 {
		t.Errorf("AUTH with a wrong password: %v, want 535", err)
	}

	c2 := mustDialSMTP(t, s)
	if err := c2.Auth(smtp.PlainAuth("", "desk@example.com", "pw", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := send(c2, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	if got := s.Received(); len(got) != 1 {
		t.Errorf("received %d, want 1", len(got))
	}
}

func TestSMTP_RefuseRcpt(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{})
	c := mustDialSMTP(t, s)

	for _, code := range []int{451, 550} {
		s.RefuseRcpt(1, code)
		if err := c.Mail("support@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("alice@acme.example"); smtpCode(err) != code {
			t.Errorf("refused RCPT: %v, want %d", err, code)
		}
		// Only the next one: the second recipient goes through.
		if err := c.Rcpt("ops@acme.example"); err != nil {
			t.Errorf("RCPT after the refusal: %v", err)
		}
		if err := c.Reset(); err != nil {
			t.Fatal(err)
		}
	}

	s.RefuseRcpt(2, 452)
	if err := send(c, "support@example.com", []string{"a@acme.example"}, testMail(1)); smtpCode(err) != 452 {
		t.Errorf("first of two: %v", err)
	}
	c.Reset()
	c2 := mustDialSMTP(t, s) // the count spans connections
	if err := send(c2, "support@example.com", []string{"a@acme.example"}, testMail(1)); smtpCode(err) != 452 {
		t.Errorf("second of two: %v", err)
	}
	c2.Reset()
	if err := send(c2, "support@example.com", []string{"a@acme.example"}, testMail(2)); err != nil {
		t.Errorf("after the refusals: %v", err)
	}
	if got := s.Received(); len(got) != 1 || !bytes.Equal(got[0].Data, testMail(2)) {
		t.Errorf("received %+v", got)
	}
}

func TestSMTP_SetDown(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{})
	live := mustDialSMTP(t, s)
	if err := live.Noop(); err != nil {
		t.Fatal(err)
	}

	s.SetDown(true)
	if err := live.Noop(); err == nil {
		t.Error("NOOP on a connection open before SetDown(true): no error")
	}
	if c, err := smtp.Dial(s.Addr()); err == nil {
		c.Close()
		t.Error("Dial while down: no error")
	}

	s.SetDown(false)
	c := mustDialSMTP(t, s)
	if err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Errorf("send after SetDown(false): %v", err)
	}
	if got := s.Connections(); got != 3 {
		t.Errorf("Connections() = %d, want 3 (the refused one counts)", got)
	}
}

func TestSMTP_DropNextData(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{})
	s.DropNextData(1)
	c := mustDialSMTP(t, s)
	err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1))
	if err == nil {
		t.Fatal("DATA on a dropped connection: no error")
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still usable after the drop")
	}
	if got := s.Received(); len(got) != 0 {
		t.Errorf("dropped mail recorded: %+v", got)
	}

	c2 := mustDialSMTP(t, s)
	if err := send(c2, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Errorf("retry: %v", err)
	}
	if got := s.Received(); len(got) != 1 {
		t.Errorf("received %d after retry, want 1", len(got))
	}
}

func TestSMTP_WaitForTimeout(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{})
	start := time.Now()
	got, err := s.WaitFor(1, 100*time.Millisecond)
	if err == nil || len(got) != 0 {
		t.Errorf("WaitFor on an empty server = %v, %v; want an error", got, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("WaitFor returned after %v", d)
	}

	// A mail arriving while waiting ends the wait.
	done := make(chan error, 1)
	go func() {
		_, err := s.WaitFor(1, 5*time.Second)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c := mustDialSMTP(t, s)
	if err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("WaitFor: %v", err)
	}

	// Close ends a wait.
	go func() {
		_, err := s.WaitFor(5, time.Minute)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("WaitFor after Close: no error")
		}
	case <-time.After(5 * time.Second):
		t.Error("WaitFor still waiting after Close")
	}
}

func TestSMTP_StartTLS(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{TLS: "starttls", Username: "desk@example.com", Password: "pw"})
	if s.CertPool() == nil {
		t.Fatal("CertPool() = nil")
	}
	c := mustDialSMTP(t, s)
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if err := c.StartTLS(&tls.Config{RootCAs: s.CertPool(), ServerName: "127.0.0.1"}); err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	if err := c.Auth(smtp.PlainAuth("", "desk@example.com", "pw", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH after STARTTLS: %v", err)
	}
	if err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	if got := s.Received(); len(got) != 1 {
		t.Errorf("received %d, want 1", len(got))
	}

	bad := mustDialSMTP(t, s)
	if err := bad.StartTLS(&tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("STARTTLS without CertPool: no error")
	}
}

func TestSMTP_ImplicitTLS(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{TLS: "implicit"})
	conn, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, s.Host())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
	if got := s.Received(); len(got) != 1 {
		t.Errorf("received %d, want 1", len(got))
	}

	// Plaintext gets no greeting.
	plain, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := smtp.NewClient(deadline(plain, 300*time.Millisecond), s.Host()); err == nil {
		t.Error("plaintext client talked to an implicit TLS server")
	}

	if _, err := mailtest.StartSMTP(mailtest.SMTPOptions{TLS: "bogus"}); err == nil {
		t.Error("StartSMTP with TLS \"bogus\": no error")
	}
}

func deadline(c net.Conn, d time.Duration) net.Conn {
	c.SetDeadline(time.Now().Add(d))
	return c
}

// xoauth2Auth is XOAUTH2 for net/smtp, answering the error challenge with
// an empty response.
type xoauth2Auth struct{ user, token string }

func (a xoauth2Auth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + a.user + "\x01auth=Bearer " + a.token + "\x01\x01"), nil
}

func (a xoauth2Auth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return []byte{}, nil
	}
	return nil, nil
}

func TestSMTP_XOAuth2(t *testing.T) {
	s := mustStartSMTP(t, mailtest.SMTPOptions{Username: "desk@example.com", XOAuth2Token: "tok"})
	c := mustDialSMTP(t, s)
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "XOAUTH2" {
		t.Errorf("AUTH = %v %q, want XOAUTH2 only", ok, mechs)
	}
	if err := c.Mail("support@example.com"); smtpCode(err) != 530 {
		t.Errorf("MAIL without AUTH: %v", err)
	}
	if err := c.Auth(xoauth2Auth{"desk@example.com", "wrong"}); smtpCode(err) != 535 {
		t.Errorf("wrong token: %v, want 535", err)
	}
	c = mustDialSMTP(t, s) // net/smtp quits after a failed AUTH
	if err := c.Auth(xoauth2Auth{"desk@example.com", "tok"}); err != nil {
		t.Fatalf("XOAUTH2: %v", err)
	}
	if err := send(c, "support@example.com", []string{"alice@acme.example"}, testMail(1)); err != nil {
		t.Fatal(err)
	}
}
