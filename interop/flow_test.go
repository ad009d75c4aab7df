//go:build interop

package interop

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestBasicFlow: a new-case mail becomes CASE-1000, alice gets the
// acknowledgement through mailpit, and the mail is moved to the processed
// folder, which casemail creates — over plaintext IMAP and over IMAPS with
// the generated CA trusted through SSL_CERT_FILE (implicit TLS on the IMAPS
// port, and STARTTLS on the plain one).
func TestBasicFlow(t *testing.T) {
	for _, mode := range []string{"none", "implicit", "starttls"} {
		t.Run("tls="+mode, func(t *testing.T) {
			s := newSetup(t, opts{TLS: mode, Idle: true, Poll: "2s"})
			if n := counts(t, s.user, "Processed")["Processed"]; n != -1 {
				t.Fatalf("Processed exists before the start (%d mails)", n)
			}
			msgID, raw := s.newCaseMail("Basic flow " + mode)
			appendMail(t, s.user, "INBOX", raw)
			var env []string
			if mode != "none" {
				env = append(env, "SSL_CERT_FILE="+srv.CAFile)
			}
			start := time.Now()
			p := s.start(env...)
			p.ready()

			var ack mpMessage
			eventually(t, 30*time.Second, "acknowledgement in mailpit", func() (bool, string) {
				msgs := mailpitTo(t, s.domain)
				for _, m := range msgs {
					if m.To[0].Address == s.contact {
						ack = m
						return true, ""
					}
				}
				return false, fmt.Sprintf("%d mails for %s", len(msgs), s.domain)
			})
			took := time.Since(start)
			if !strings.Contains(ack.Subject, "[CASE-1000]") {
				t.Errorf("ack subject %q: want the tag [CASE-1000]", ack.Subject)
			}
			if ack.From.Address != "support@"+s.domain {
				t.Errorf("ack From %q: want the support address", ack.From.Address)
			}
			raw2 := mailpitRaw(t, ack.ID)
			if got := header(raw2, "In-Reply-To"); got != "<"+msgID+">" {
				t.Errorf("ack In-Reply-To %q, want <%s>", got, msgID)
			}
			if got := header(raw2, "Auto-Submitted"); got != "auto-replied" {
				t.Errorf("ack Auto-Submitted %q, want auto-replied", got)
			}
			eventually(t, 15*time.Second, "mail moved to Processed", func() (bool, string) {
				c := counts(t, s.user, "INBOX", "Processed")
				return c["INBOX"] == 0 && c["Processed"] == 1, fmt.Sprint(c)
			})
			p.stop(syscall.SIGTERM, 10*time.Second)
			list := s.casesList()
			if len(list) != 1 || list[0].ID != "CASE-1000" || list[0].Contact != s.contact || list[0].Engine != "search" {
				t.Errorf("cases list: %+v, want one CASE-1000 from %s on engine search", list, s.contact)
			}
			summary(t, "case created, acknowledged and mail moved %.1fs after the start", took.Seconds())
		})
	}

	// The certificate is checked for real: without the CA casemail must
	// refuse the server, and say why.
	t.Run("tls=implicit/untrusted", func(t *testing.T) {
		s := newSetup(t, opts{TLS: "implicit"})
		p := s.start("SSL_CERT_FILE=/dev/null", "SSL_CERT_DIR=/nonexistent")
		if !p.waitLog("certificate", 1, 20*time.Second) {
			t.Fatalf("no certificate error logged while connecting without the CA")
		}
		if strings.Contains(p.logText(), "IMAP session ready") {
			t.Fatalf("casemail logged in over TLS to a server it should not trust")
		}
		p.stop(syscall.SIGTERM, 10*time.Second)
	})
}

// TestIdle: with IDLE and a 5 minute poll interval, a mail is acknowledged
// within ~1.5 s of its APPEND (Dovecot itself waits 0.5 s before it tells
// IDLE clients). Measures arrival→ack for 20 mails one at a time, with the
// processed mail left in INBOX flagged \Seen, then checks the usual set-up
// where processed mail is moved away.
func TestIdle(t *testing.T) {
	t.Run("flag-seen", func(t *testing.T) {
		s := newSetup(t, opts{Idle: true, Poll: "5m", Processed: "-"})
		lat := idleLatencies(t, s, 20, 20*time.Second)
		slices.Sort(lat)
		n := len(lat)
		p50, p99 := lat[n/2], lat[n-1] // 20 samples: p99 is the worst
		summary(t, "IDLE arrival→ack latency over %d mails: p50 %s, p99 %s, min %s",
			n, p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[0].Round(time.Millisecond))
		if p50 > 1500*time.Millisecond {
			t.Errorf("IDLE p50 latency %s: want within ~1.5 s (poll interval is 5m, so IDLE is not working)", p50)
		}
		if p99 > 5*time.Second {
			t.Errorf("IDLE p99 latency %s: want a few seconds at most", p99)
		}
	})
	t.Run("move", func(t *testing.T) {
		s := newSetup(t, opts{Idle: true, Poll: "5m"})
		lat := idleLatencies(t, s, 20, 10*time.Second)
		if len(lat) < 20 {
			t.Fatalf("with processed_folder set, IDLE picked up %d of 20 mails within 10 s each", len(lat))
		}
		slices.Sort(lat)
		summary(t, "IDLE with moves: p50 %s, p99 %s", lat[len(lat)/2].Round(time.Millisecond),
			lat[len(lat)-1].Round(time.Millisecond))
		if p50 := lat[len(lat)/2]; p50 > 1500*time.Millisecond {
			t.Errorf("IDLE p50 latency with moves %s: want within ~1.5 s", p50)
		}
	})
}

// idleLatencies appends n mails one at a time and returns the arrival→ack
// latency of each; it stops early (returning fewer) when an ack does not
// come within wait.
func idleLatencies(t *testing.T, s *setup, n int, wait time.Duration) []time.Duration {
	t.Helper()
	p := s.start()
	p.ready()
	defer p.stop(syscall.SIGTERM, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // let it enter IDLE
	c := dialIMAP(t, s.user)
	defer c.Close()
	var lat []time.Duration
	for i := 0; i < n; i++ {
		subject := fmt.Sprintf("Idle latency %02d", i)
		_, raw := s.newCaseMail(subject)
		appendWith(t, c, "INBOX", raw)
		arrived := time.Now()
		var ack *mpMessage
		for deadline := time.Now().Add(wait); ack == nil && time.Now().Before(deadline); {
			for _, m := range mailpitTo(t, s.domain) {
				if strings.HasSuffix(m.Subject, subject) {
					ack = &m
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		if ack == nil {
			t.Logf("mail %d not acknowledged within %s", i, wait)
			return lat
		}
		lat = append(lat, ack.Created.Sub(arrived))
		time.Sleep(100 * time.Millisecond)
	}
	if got := strings.Count(p.logText(), "IMAP session ready"); got != 1 {
		t.Errorf("casemail opened %d IMAP sessions, want 1 (no reconnects)", got)
	}
	return lat
}

// TestPoison: mails that cannot be processed (no From, garbage, two
// senders) go to the quarantine folder and the mail behind them flows.
func TestPoison(t *testing.T) {
	s := newSetup(t, opts{Idle: true, Poll: "2s"})
	p := s.start()
	p.ready()
	c := dialIMAP(t, s.user)
	defer c.Close()
	poison := [][]byte{
		[]byte("Subject: no sender at all\r\nMessage-ID: <poison-1@" + s.domain + ">\r\n\r\nwho am I?\r\n"),
		[]byte("\x00\x01\x02 binary garbage \xff\xfe without any header\r\n\x00\x00\r\n"),
		[]byte("From: a@" + s.domain + ", b@" + s.domain + "\r\nTo: support@" + s.domain +
			"\r\nSubject: two senders\r\nMessage-ID: <poison-3@" + s.domain + ">\r\n\r\nambiguous\r\n"),
	}
	for _, m := range poison {
		appendWith(t, c, "INBOX", m)
	}
	_, good := s.newCaseMail("After the poison")
	appendWith(t, c, "INBOX", good)
	eventually(t, 30*time.Second, "good mail acknowledged", func() (bool, string) {
		for _, m := range mailpitTo(t, s.domain) {
			if strings.HasSuffix(m.Subject, "After the poison") {
				return true, ""
			}
		}
		return false, "no ack"
	})
	eventually(t, 15*time.Second, "folders settled", func() (bool, string) {
		cn := counts(t, s.user, "INBOX", "Processed", "Quarantine")
		return cn["INBOX"] == 0 && cn["Quarantine"] == len(poison) && cn["Processed"] == 1, fmt.Sprint(cn)
	})
	p.stop(syscall.SIGTERM, 10*time.Second)
	if got := len(s.casesList()); got != 1 {
		t.Errorf("%d cases, want 1 (the poison must open none)", got)
	}
	if n := len(mailpitTo(t, s.domain)); n != 1 {
		t.Errorf("%d mails sent, want only the ack (poison is never answered)", n)
	}
	summary(t, "%d unreadable mails quarantined, the next mail made a case", len(poison))
}

// TestSIGTERM: stopping during intake is graceful within 10 s, and the
// store left behind opens with `casemail cases list` and passes bbolt's
// consistency check.
func TestSIGTERM(t *testing.T) {
	s := newSetup(t, opts{Idle: true, Poll: "2s", BatchSize: 5})
	var mails [][]byte
	for i := 0; i < 100; i++ {
		_, raw := s.newCaseMail(fmt.Sprintf("Sigterm %03d", i))
		mails = append(mails, raw)
	}
	multiAppend(t, s.user, "INBOX", mails, "")
	p := s.start()
	p.ready()
	// Stop in the middle of the intake.
	eventually(t, 30*time.Second, "intake under way", func() (bool, string) {
		n := strings.Count(p.logText(), "mail processed")
		return n >= 10, fmt.Sprintf("%d processed", n)
	})
	took := p.stop(syscall.SIGTERM, 10*time.Second)
	termErr := p.err
	if termErr != nil {
		t.Errorf("casemail exited with %v after SIGTERM, want status 0", termErr)
	}
	processed := strings.Count(p.logText(), "mail processed")
	list := s.casesList()
	if len(list) != processed {
		t.Errorf("cases list shows %d cases, the log %d processed mails", len(list), processed)
	}
	db, err := bolt.Open(s.store, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	must(t, err)
	var problems []string
	must(t, db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			problems = append(problems, err.Error())
		}
		return nil
	}))
	if len(problems) > 0 {
		t.Errorf("bbolt check: %s", strings.Join(problems, "; "))
	}
	db.Close()
	if cn := counts(t, s.user, "INBOX")["INBOX"]; cn != len(mails)-len(list) {
		t.Errorf("INBOX holds %d mails after the stop, want the %d not processed", cn, len(mails)-len(list))
	}

	// The next start takes the rest, and nothing twice.
	p = s.start()
	eventually(t, 30*time.Second, "the rest processed", func() (bool, string) {
		cn := counts(t, s.user, "INBOX", "Processed")
		return cn["INBOX"] == 0 && cn["Processed"] == len(mails), fmt.Sprint(cn)
	})
	p.stop(syscall.SIGTERM, 10*time.Second)
	if n := len(s.casesList()); n != len(mails) {
		t.Errorf("%d cases after the restart, want %d", n, len(mails))
	}
	summary(t, "SIGTERM during intake (%d of %d mails done): exit after %s (status %v), bbolt check clean=%v; restart finished the rest",
		len(list), len(mails), took.Round(time.Millisecond), termErr, len(problems) == 0)
}
