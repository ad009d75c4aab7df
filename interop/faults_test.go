//go:build interop

package interop

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"casemail/intake"
	"casemail/store"
)

// waitAck waits until mailpit holds an acknowledgement to alice whose
// subject ends with subject; it returns it.
func waitAck(t *testing.T, s *setup, subject string, timeout time.Duration) mpMessage {
	t.Helper()
	var ack mpMessage
	eventually(t, timeout, "ack of "+subject, func() (bool, string) {
		for _, m := range mailpitTo(t, s.domain) {
			if m.To[0].Address == s.contact && strings.HasSuffix(m.Subject, subject) {
				ack = m
				return true, ""
			}
		}
		return false, "no ack yet"
	})
	return ack
}

// TestIMAPRestart: Dovecot stops and starts again while casemail runs;
// casemail reconnects by itself and processes the next mail.
func TestIMAPRestart(t *testing.T) {
	s := newSetup(t, opts{Idle: true, Poll: "5s"})
	p := s.start()
	p.ready()
	_, raw := s.newCaseMail("Before the restart")
	appendMail(t, s.user, "INBOX", raw)
	waitAck(t, s, "Before the restart", 20*time.Second)

	must(t, serversSh("stop-dovecot", srv.Dir))
	down := time.Now()
	time.Sleep(3 * time.Second)
	must(t, serversSh("start-dovecot", srv.Dir))
	up := time.Now()
	if !p.waitLog("IMAP session ready", 2, 90*time.Second) {
		t.Fatalf("casemail did not reconnect within 90 s of Dovecot's restart")
	}
	reconnected := time.Since(up)
	for _, l := range strings.Split(p.logText(), "\n") {
		if strings.Contains(l, "session") || strings.Contains(l, "IDLE") {
			t.Log(l)
		}
	}
	_, raw = s.newCaseMail("After the restart")
	appendMail(t, s.user, "INBOX", raw)
	arrived := time.Now()
	ack := waitAck(t, s, "After the restart", 60*time.Second)
	if !strings.Contains(ack.Subject, "[CASE-1001]") {
		t.Errorf("ack %q: want CASE-1001", ack.Subject)
	}
	p.stop(syscall.SIGTERM, 10*time.Second)
	if n := len(s.casesList()); n != 2 {
		t.Errorf("%d cases, want 2", n)
	}
	summary(t, "Dovecot down %.1fs; casemail back in session %.1fs after it came up; next mail acked in %.1fs",
		up.Sub(down).Seconds(), reconnected.Seconds(), ack.Created.Sub(arrived).Seconds())
}

// TestUIDValidity: the watched folder is deleted and created again with
// the same mails (a new UIDVALIDITY); casemail reads it again but opens no
// duplicate case, and takes the new mail.
func TestUIDValidity(t *testing.T) {
	for _, mode := range []string{"moved-while-running", "flagged-while-stopped"} {
		t.Run(mode, func(t *testing.T) {
			o := opts{Folder: "Support", Idle: true, Poll: "2s"}
			if mode == "flagged-while-stopped" {
				o.Processed = "-"
			}
			s := newSetup(t, o)
			c := dialIMAP(t, s.user)
			defer c.Close()
			must(t, c.Create("Support", nil).Wait())
			var mails [][]byte
			for i := 0; i < 3; i++ {
				_, raw := s.newCaseMail(fmt.Sprintf("Uidvalidity %d", i))
				mails = append(mails, raw)
				appendWith(t, c, "Support", raw)
			}
			_, before := status(t, s.user, "Support")
			p := s.start()
			p.ready()
			eventually(t, 30*time.Second, "3 acks", func() (bool, string) {
				n := len(mailpitTo(t, s.domain))
				return n == 3, fmt.Sprintf("%d acks", n)
			})
			if mode == "flagged-while-stopped" {
				p.stop(syscall.SIGTERM, 10*time.Second)
			}

			// Recreate the folder with the same mails, unread, and one new.
			must(t, c.Delete("Support").Wait())
			time.Sleep(1100 * time.Millisecond) // Dovecot's UIDVALIDITY is time-based
			must(t, c.Create("Support", nil).Wait())
			_, newMail := s.newCaseMail("Uidvalidity new")
			for _, m := range append(mails, newMail) {
				appendWith(t, c, "Support", m)
			}
			_, after := status(t, s.user, "Support")
			if after == before {
				t.Fatalf("UIDVALIDITY did not change (%d): the test tests nothing", after)
			}
			if mode == "flagged-while-stopped" {
				p = s.start()
			}
			waitAck(t, s, "Uidvalidity new", 60*time.Second)
			eventually(t, 20*time.Second, "folder settled", func() (bool, string) {
				cn := counts(t, s.user, "Support", "Processed")
				if mode == "moved-while-running" {
					return cn["Support"] == 0 && cn["Processed"] == 7, fmt.Sprint(cn)
				}
				return strings.Count(p.logText(), "mail processed") >= 4, fmt.Sprint(cn)
			})
			time.Sleep(time.Second) // would a duplicate ack follow?
			p.stop(syscall.SIGTERM, 10*time.Second)
			if !strings.Contains(p.logText(), "UIDVALIDITY changed") {
				t.Errorf("casemail did not log the UIDVALIDITY change")
			}
			list := s.casesList()
			if len(list) != 4 {
				t.Errorf("%d cases, want 4 (3 before, 1 new; re-read mails are duplicates)", len(list))
			}
			if n := len(mailpitTo(t, s.domain)); n != 4 {
				t.Errorf("%d mails sent, want 4 acks", n)
			}
			summary(t, "UIDVALIDITY %d → %d: %d cases, %d acks, no duplicates", before, after,
				len(list), len(mailpitTo(t, s.domain)))
		})
	}
}

// TestCrashSafety: 500 new-case mails; casemail is killed with SIGKILL at
// random moments during the intake and restarted each time. In the end:
// exactly 500 cases, one per seeded Message-ID, every ack delivered at least
// once; acks delivered twice are counted and reported.
func TestCrashSafety(t *testing.T) {
	const total = 500
	s := newSetup(t, opts{Idle: true, Poll: "1s", BatchSize: 10})
	ids := map[string]int{}
	var mails [][]byte
	for i := 0; i < total; i++ {
		id, raw := s.newCaseMail(fmt.Sprintf("Crash %03d", i))
		ids[id] = i
		mails = append(mails, raw)
	}
	seedStart := time.Now()
	multiAppend(t, s.user, "INBOX", mails, "")
	t.Logf("seeded %d mails in %s", total, time.Since(seedStart).Round(time.Millisecond))

	// Kill at a random point of the intake: after a random number of
	// processed mails (at most a sixteenth of what is left, so that at
	// least eight kills fall during the intake) plus a random few
	// milliseconds (intake runs at thousands of mails a second).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	kills, during := 0, 0
	var progress []string
	for cases := 0; during < 8 && kills < 20 && total-cases > 12; {
		p := s.start()
		target := 1 + rng.IntN(max(1, (total-cases)/16))
		p.waitLog("mail processed", target, 30*time.Second)
		time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
		_ = p.cmd.Process.Kill()
		<-p.done
		kills++
		processed := strings.Count(p.logText(), "mail processed")
		cases = len(s.casesList())
		inbox := counts(t, s.user, "INBOX")["INBOX"]
		acks := len(mailpitTo(t, s.domain))
		if cases < total || inbox > 0 || acks < total {
			during++
		}
		progress = append(progress, fmt.Sprintf("kill %d after %s (%d processed by it): %d cases, %d in INBOX, %d acks",
			kills, time.Since(p.started).Round(time.Millisecond), processed, cases, inbox, acks))
	}
	t.Logf("kills:\n%s", strings.Join(progress, "\n"))
	if during < 8 {
		t.Errorf("only %d of %d kills fell during the intake", during, kills)
	}

	// Last start: let it finish.
	p := s.start()
	eventually(t, 3*time.Minute, "intake finished", func() (bool, string) {
		inbox := counts(t, s.user, "INBOX")["INBOX"]
		acked := map[string]bool{}
		for _, m := range mailpitTo(t, s.domain) {
			acked[caseTag(m.Subject)] = true
		}
		return inbox == 0 && len(acked) >= total, fmt.Sprintf("%d in INBOX, %d cases acked", inbox, len(acked))
	})
	elapsed := time.Since(start)
	time.Sleep(time.Second) // let the outbox drop what it delivered
	p.stop(syscall.SIGTERM, 10*time.Second)

	list := s.casesList()
	if len(list) != total {
		t.Errorf("cases list: %d cases, want %d", len(list), total)
	}
	// Each seeded Message-ID is in exactly one case.
	db, err := store.Open(s.store, &store.Options{ReadOnly: true, Timeout: 2 * time.Second})
	must(t, err)
	inCases := map[string][]string{}
	must(t, db.View(func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error {
			msgs, err := tx.Messages(c.ID)
			for _, m := range msgs {
				if m.Direction == intake.In {
					id := strings.Trim(m.MessageID, "<>")
					inCases[id] = append(inCases[id], string(c.ID))
				}
			}
			return err
		})
	}))
	db.Close()
	dupCases := 0
	for id, i := range ids {
		switch cs := inCases[id]; len(cs) {
		case 1:
		case 0:
			t.Errorf("mail %d (%s) is in no case", i, id)
		default:
			dupCases++
			t.Errorf("mail %d (%s) is in %d cases: %v", i, id, len(cs), cs)
		}
	}
	// Every case's ack delivered at least once; count the extra ones.
	acks := map[string]int{}
	for _, m := range mailpitTo(t, s.domain) {
		if m.To[0].Address == s.contact {
			acks[caseTag(m.Subject)]++
		}
	}
	twice, extra := 0, 0
	for _, c := range list {
		switch n := acks[c.ID]; {
		case n == 0:
			t.Errorf("%s: no ack delivered", c.ID)
		case n > 1:
			twice++
			extra += n - 1
		}
	}
	cn := counts(t, s.user, "INBOX", "Processed")
	if cn["INBOX"] != 0 || cn["Processed"] != total {
		t.Errorf("folders %v, want INBOX 0, Processed %d", cn, total)
	}
	summary(t, "%d mails, %d SIGKILLs (%d during intake), %s in all: %d cases, %d mails in more than one case, "+
		"%d acks missing, %d acks delivered more than once (%d extra copies)",
		total, kills, during, elapsed.Round(time.Second), len(list), dupCases, total-len(acks), twice, extra)
}

// TestSMTPOutage: mailpit stops while mail arrives and comes back ~20 s
// later; the outbox retries (first after 15 s, then 30 s …) and every
// queued mail arrives, in order within each case. Case 1000 is opened
// before the outage, so the sender also holds a connection that dies.
func TestSMTPOutage(t *testing.T) {
	s := newSetup(t, opts{Idle: true, Poll: "2s", Notify: "team@NOTIFY"})
	team := "team@" + s.domain
	// The notify address must be in the test's domain (mailpit search).
	cfg, err := os.ReadFile(s.cfg)
	must(t, err)
	must(t, os.WriteFile(s.cfg, []byte(strings.ReplaceAll(string(cfg), "team@NOTIFY", team)), 0o600))
	p := s.start()
	p.ready()
	c := dialIMAP(t, s.user)
	defer c.Close()

	subjects := []string{"Outage zero", "Outage one", "Outage two"}
	ids := make([]string, len(subjects))
	processed := 0
	open := func(i int) {
		var raw []byte
		ids[i], raw = s.newCaseMail(subjects[i])
		appendWith(t, c, "INBOX", raw)
		processed++
		if !p.waitLog("mail processed", processed, 20*time.Second) {
			t.Fatalf("mail %q not processed", subjects[i])
		}
	}
	reply := func(i int) {
		_, raw := s.followUpMail(fmt.Sprintf("CASE-%d", 1000+i), subjects[i], ids[i])
		appendWith(t, c, "INBOX", raw)
		processed++
		if !p.waitLog("mail processed", processed, 20*time.Second) {
			t.Fatalf("reply to %q not processed", subjects[i])
		}
	}
	open(0)
	eventually(t, 20*time.Second, "case 1000's mail delivered", func() (bool, string) {
		n := len(mailpitTo(t, s.domain))
		return n == 2, fmt.Sprintf("%d mails", n)
	})

	must(t, serversSh("stop-mailpit", srv.Dir))
	down := time.Now()
	reply(0)
	open(1)
	open(2)
	reply(1)
	reply(2)
	time.Sleep(time.Until(down.Add(20 * time.Second)))
	must(t, serversSh("start-mailpit", srv.Dir))
	up := time.Now()

	const want = 2 + 1 + 2*3 // case 1000 before; its reply; two cases with ack, notify, reply
	eventually(t, 4*time.Minute, "every queued mail delivered", func() (bool, string) {
		n := len(mailpitTo(t, s.domain))
		return n >= want, fmt.Sprintf("%d of %d mails", n, want)
	})
	late := time.Since(up)
	time.Sleep(2 * time.Second) // a duplicate would show now
	p.stop(syscall.SIGTERM, 10*time.Second)

	msgs := mailpitTo(t, s.domain)
	if len(msgs) != want {
		t.Errorf("%d mails delivered, want %d", len(msgs), want)
	}
	groups := byCase(msgs)
	for i := range subjects {
		id := fmt.Sprintf("CASE-%d", 1000+i)
		g := groups[id]
		var order []string
		for _, m := range g {
			kind := "notify"
			switch {
			case m.To[0].Address == s.contact:
				kind = "ack"
			case strings.HasPrefix(m.Subject, "Re:"):
				kind = "notify_reply"
			case m.To[0].Address == team:
				kind = "notify_new"
			}
			order = append(order, fmt.Sprintf("%s@%s", kind, m.Created.Format("15:04:05.000")))
		}
		t.Logf("%s: %s", id, strings.Join(order, ", "))
		if len(g) != 3 {
			t.Errorf("%s: %d mails, want ack, notify_new and notify_reply", id, len(g))
			continue
		}
		// The reply's notification was queued last: it must not arrive
		// before the others (mailpit's timestamps have 1 ms resolution).
		last := g[len(g)-1]
		if !strings.HasPrefix(last.Subject, "Re:") || last.To[0].Address != team {
			t.Errorf("%s: the reply's notification did not arrive last: %s", id, strings.Join(order, ", "))
		}
	}
	summary(t, "mailpit down %.1fs; all %d queued mails delivered %.1fs after it came back, in order per case",
		up.Sub(down).Seconds(), len(msgs), late.Seconds())
}

// byCase groups sent mail by case tag, each group in arrival order.
func byCase(msgs []mpMessage) map[string][]mpMessage {
	out := map[string][]mpMessage{}
	for _, m := range msgs {
		tag := caseTag(m.Subject)
		out[tag] = append(out[tag], m)
	}
	for _, g := range out {
		sort.SliceStable(g, func(i, j int) bool { return g[i].Created.Before(g[j].Created) })
	}
	return out
}
