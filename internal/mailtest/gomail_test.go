package mailtest_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail"

	"casemail/internal/mailtest"
)

// casemail's reply package sends with go-mail: check the sink works with it
// in every TLS mode, with PLAIN and XOAUTH2.
func TestSMTP_GoMail(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts mailtest.SMTPOptions
		auth mail.SMTPAuthType
	}{
		{"plain", mailtest.SMTPOptions{}, ""},
		{"starttls+PLAIN", mailtest.SMTPOptions{TLS: "starttls", Username: "desk", Password: "pw"}, mail.SMTPAuthPlain},
		{"implicit+XOAUTH2", mailtest.SMTPOptions{TLS: "implicit", Username: "desk", XOAuth2Token: "pw"}, mail.SMTPAuthXOAUTH2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustStartSMTP(t, tc.opts)
			opts := []mail.Option{mail.WithPort(s.Port()), mail.WithTimeout(5 * time.Second)}
			switch tc.opts.TLS {
			case "":
				opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
			case "starttls":
				opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
			case "implicit":
				opts = append(opts, mail.WithSSL())
			}
			if s.CertPool() != nil {
				opts = append(opts, mail.WithTLSConfig(&tls.Config{RootCAs: s.CertPool(), ServerName: s.Host()}))
			}
			if tc.auth != "" {
				opts = append(opts, mail.WithSMTPAuth(tc.auth), mail.WithUsername("desk"), mail.WithPassword("pw"))
			}
			c, err := mail.NewClient(s.Host(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			m := mail.NewMsg()
			if err := m.From("Acme Support <support@example.com>"); err != nil {
				t.Fatal(err)
			}
			if err := m.To("alice@acme.example"); err != nil {
				t.Fatal(err)
			}
			m.Subject("[CASE-1000] Received")
			m.SetBodyString(mail.TypeTextPlain, "Hello")
			if err := c.DialAndSend(m); err != nil {
				t.Fatalf("DialAndSend: %v", err)
			}
			got, err := s.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].From != "support@example.com" || got[0].To[0] != "alice@acme.example" || !strings.Contains(string(got[0].Data), "[CASE-1000] Received") {
				t.Errorf("received %+v", got[0])
			}
		})
	}
}
