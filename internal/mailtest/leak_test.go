package mailtest_test

import (
	"crypto/tls"
	"net/smtp"
	"runtime"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"casemail/internal/mailtest"
)

// TestNoGoroutineLeak starts and closes both servers 20 times, with live
// clients and an internal connection, and checks the goroutine count comes
// back to where it started.
func TestNoGoroutineLeak(t *testing.T) {
	start := runtime.NumGoroutine()
	for i := range 20 {
		imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{TLS: i%2 == 0, NoIdle: i%3 == 0, Folders: []string{"Processed"}})
		if err != nil {
			t.Fatal(err)
		}
		smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{TLS: []string{"", "starttls", "implicit"}[i%3]})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := imapSrv.Deliver("INBOX", testMail(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := imapSrv.Messages("INBOX"); err != nil {
			t.Fatal(err)
		}

		// An IMAP client left idling, and an SMTP client left open: Close
		// must end their server side.
		var c *imapclient.Client
		if i%2 == 0 {
			c, err = imapclient.DialTLS(imapSrv.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: imapSrv.CertPool()}})
		} else {
			c, err = imapclient.DialInsecure(imapSrv.Addr(), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(mailtest.DefaultUsername, mailtest.DefaultPassword).Wait(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if i%3 != 0 {
			if _, err := c.Idle(); err != nil {
				t.Fatal(err)
			}
		}
		var sc *smtp.Client
		if i%3 != 2 {
			if sc, err = smtp.Dial(smtpSrv.Addr()); err != nil {
				t.Fatal(err)
			}
			if err := sc.Hello("localhost"); err != nil {
				t.Fatal(err)
			}
		}

		if err := imapSrv.Close(); err != nil {
			t.Errorf("IMAP Close: %v", err)
		}
		if err := smtpSrv.Close(); err != nil {
			t.Errorf("SMTP Close: %v", err)
		}
		if err := imapSrv.Close(); err != nil {
			t.Errorf("second IMAP Close: %v", err)
		}
		c.Close()
		if sc != nil {
			sc.Close()
		}
	}

	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n = runtime.NumGoroutine(); n <= start {
			return
		}
	}
	buf := make([]byte, 1<<20)
	t.Errorf("%d goroutines after closing, %d before\n%s", n, start, buf[:runtime.Stack(buf, true)])
}
