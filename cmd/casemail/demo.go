package main

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/internal/mailtest"
)

// demoConfig is the demo's configuration: the example policy on loopback
// servers. %d are the IMAP and SMTP ports.
const demoConfig = `
[imap]
host = "127.0.0.1"
port = %d
tls = "none"
username = "support@example.com"
password_file = "imap.pass"
processed_folder = "Processed"
quarantine_folder = "Quarantine"
poll_interval = "5s"
idle = true
start_from = "all"

[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
from = "Acme Support <support@example.com>"

[store]
path = "casemail.db"

[contacts]
file = "contacts.toml"

[agents]
addresses = ["dana@example.com"]
notify = "support-team@example.com"

[admin]
listen = ""

` + demoPolicy

// demoPolicy is the Swiftype policy of config.example.toml, the part of
// the demo's config that tests of this package share.
const demoPolicy = `
[calendars.pacific]
time_zone = "America/Los_Angeles"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:00-18:00"
holidays = ["2026-12-25"]

[plans.premium]
calendar = "pacific"
severities = [1, 2, 3]
first_response = { 1 = "4bh", 2 = "1bd", 3 = "2bd" }

[plans.standard]
calendar = "pacific"
severities = [3]
first_response = { 3 = "3bd" }
`

const demoContacts = `
[[account]]
email    = "admin@acme.example"
name     = "Acme Corp"
plan     = "premium"
engines  = ["acme-search", "acme-staging"]
contacts = ["alice@acme.example", "ops@acme.example"]

[[account]]
email    = "it@globex.example"
name     = "Globex"
plan     = "standard"
engines  = ["globex-prod", "globex-test"]
contacts = ["bob@globex.example"]
`

// demoMail is one sample mail and what it is meant to show.
type demoMail struct {
	about string
	raw   string
}

var demoFirstRound = []demoMail{
	{"a French customer opens a case with every field (Outlook, windows-1252, quoted-printable)",
		"From: =?windows-1252?Q?Alice_Fr=E9mont?= <alice@acme.example>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: =?windows-1252?Q?Index_bloqu=E9?=\r\n" +
			"Message-ID: <demo-1@acme.example>\r\n" +
			"Date: Mon, 23 Nov 2026 10:00:00 -0800\r\n" +
			"MIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=windows-1252\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n" +
			"Content-Language: fr-FR\r\n\r\n" +
			"Bonjour,\r\n\r\n" +
			"Compte : admin@acme.example\r\n" +
			"Moteur : acme-search\r\n" +
			"Probl=E8me : l'indexation est bloqu=E9e depuis ce matin\r\n" +
			"Gravit=E9 : =E9lev=E9e\r\n" +
			"Environnement : production\r\n\r\n" +
			"Merci d'avance,\r\nAlice\r\n"},
	{"an English customer of a standard plan asks for severity 1 and names no engine (two to choose from)",
		"From: Bob Stone <bob@globex.example>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: Search results are empty\r\n" +
			"Message-ID: <demo-2@globex.example>\r\n" +
			"MIME-Version: 1.0\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Hello,\r\n\r\nSince the last deploy every query returns no results.\r\n\r\nSeverity: urgent\r\n\r\nThanks,\r\nBob\r\n"},
	{"a stranger who is not a technical contact",
		"From: Mallory <mallory@unknown.example>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: Please help\r\n" +
			"Message-ID: <demo-3@unknown.example>\r\n" +
			"Content-Type: text/plain\r\n\r\nCan you fix my search?\r\n"},
	{"an out-of-office auto-reply",
		"From: ops@acme.example\r\n" +
			"To: support@example.com\r\n" +
			"Subject: Automatic reply: out of office\r\n" +
			"Message-ID: <demo-4@acme.example>\r\n" +
			"Auto-Submitted: auto-replied\r\n" +
			"Content-Type: text/plain\r\n\r\nI am out of the office until Monday.\r\n"},
}

var demoSecondRound = []demoMail{
	{"the agent answers CASE-1000 from their mail client, quoting the notification",
		"From: Dana Agent <dana@example.com>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: Re: [CASE-1000] Index bloqué\r\n" +
			"Message-ID: <demo-5@example.com>\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Bonjour Alice,\r\n\r\nNous avons relancé l'indexation ; pouvez-vous vérifier ?\r\n\r\nDana\r\n\r\n" +
			"On Mon, 23 Nov 2026 at 10:01, Acme Support <support@example.com> wrote:\r\n" +
			"> New case CASE-1000, first response due …\r\n"},
	{"the customer replies; only her new text joins the case",
		"From: Alice <alice@acme.example>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: RE : [CASE-1000] Index bloqué\r\n" +
			"Message-ID: <demo-6@acme.example>\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\n\r\n" +
			"C'est réparé, merci !\r\n\r\n" +
			"Le lun. 23 nov. 2026 à 10:05, Dana via Acme Support <support@example.com> a écrit :\r\n" +
			"> Nous avons relancé l'indexation\r\n"},
	{"the agent adds an internal note and resolves the case",
		"From: Dana Agent <dana@example.com>\r\n" +
			"To: support@example.com\r\n" +
			"Subject: Re: [CASE-1000] Index bloqué\r\n" +
			"Message-ID: <demo-7@example.com>\r\n" +
			"Content-Type: text/plain\r\n\r\n#note\r\n#resolve\r\nRoot cause: a stuck indexing worker.\r\n"},
}

// runDemo runs the real daemon against in-process IMAP and SMTP servers
// and tells what happened.
func runDemo(ctx context.Context, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "casemail-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{})
	if err != nil {
		return err
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		return err
	}
	defer smtpSrv.Close()

	files := map[string]string{
		"casemail.toml": fmt.Sprintf(demoConfig, imapSrv.Port(), smtpSrv.Port()),
		"contacts.toml": demoContacts,
		"imap.pass":     imapSrv.Password(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o600); err != nil {
			return err
		}
	}
	cfg, err := config.Load(filepath.Join(tmp, "casemail.toml"))
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "casemail demo: IMAP server on %s, SMTP server on %s, store in %s\n", imapSrv.Addr(), smtpSrv.Addr(), tmp)
	fmt.Fprintf(w, "Accounts: admin@acme.example (premium; contacts alice@, ops@acme.example), it@globex.example (standard; contact bob@globex.example)\n")
	fmt.Fprintf(w, "Agents: dana@example.com; notifications go to support-team@example.com\n")

	var mu sync.Mutex
	var results []intake.Result
	done := make(chan struct{}, 16)
	d, err := NewDaemon(cfg, discardLogger(), Overrides{Observe: func(r intake.Result) {
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
		done <- struct{}{}
	}})
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- d.Run(runCtx) }()

	seen := 0
	for round, mails := range [][]demoMail{demoFirstRound, demoSecondRound} {
		fmt.Fprintf(w, "\n=== Round %d: %d mails arrive in INBOX\n", round+1, len(mails))
		for _, m := range mails {
			if _, err := imapSrv.Deliver("INBOX", []byte(m.raw), time.Now()); err != nil {
				return err
			}
		}
		if err := waitDemo(ctx, done, len(mails), d); err != nil {
			return err
		}
		mu.Lock()
		batch := results[seen:]
		seen = len(results)
		mu.Unlock()
		for i, r := range batch {
			about := ""
			if i < len(mails) {
				about = mails[i].about
			}
			printResult(w, seen-len(batch)+i+1, about, r)
		}
	}
	stop()
	if err := <-ran; err != nil {
		return err
	}

	db, err := caseSource{cfg}.list(caseFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n=== Cases in the store\n")
	printCases(w, db)

	fmt.Fprintf(w, "\n=== Mail the SMTP server received (%d)\n", len(smtpSrv.Received()))
	for i, r := range smtpSrv.Received() {
		msg, err := mail.ReadMessage(strings.NewReader(string(r.Data)))
		subject := "(unreadable)"
		if err == nil {
			subject, _ = new(mimeDecoder).DecodeHeader(msg.Header.Get("Subject"))
		}
		fmt.Fprintf(w, "%2d. to %-28s %s\n", i+1, strings.Join(r.To, ", "), subject)
	}
	inbox, _ := imapSrv.Messages("INBOX")
	processed, _ := imapSrv.Messages("Processed")
	fmt.Fprintf(w, "\nINBOX now holds %d mails; %d were moved to Processed after their effect was committed.\n", len(inbox), len(processed))

	c, err := caseSource{cfg}.show("CASE-1000")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n=== casemail cases show CASE-1000\n")
	printCase(w, c)
	return nil
}

// waitDemo waits until n mails are processed and the outbox is empty.
func waitDemo(ctx context.Context, done <-chan struct{}, n int, d *Daemon) error {
	deadline := time.After(20 * time.Second)
	for n > 0 {
		select {
		case <-done:
			n--
		case <-deadline:
			return fmt.Errorf("demo: mail not processed within 20s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		var queued []*intake.Outgoing
		if err := d.db.View(func(tx intake.Tx) (err error) { queued, err = tx.Outbox(0, 1); return err }); err != nil {
			return err
		}
		if len(queued) == 0 {
			return nil
		}
		select {
		case <-deadline:
			return fmt.Errorf("demo: outbox not delivered within 20s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func printResult(w io.Writer, n int, about string, r intake.Result) {
	fmt.Fprintf(w, "\n%d. %s\n", n, about)
	fmt.Fprintf(w, "   From %s, Subject %q\n", r.From, r.Subject)
	verdict := string(r.Outcome)
	if r.Case != "" {
		verdict += " " + string(r.Case)
	}
	fmt.Fprintf(w, "   -> %s: %s\n", verdict, r.Reason)
	if len(r.Sent) == 0 {
		fmt.Fprintf(w, "      nothing sent\n")
	}
	for _, m := range r.Sent {
		fmt.Fprintf(w, "      queued %-13s to %s: %q\n", m.Purpose, strings.Join(m.To, ", "), m.Subject)
	}
}

type mimeDecoder = mime.WordDecoder
