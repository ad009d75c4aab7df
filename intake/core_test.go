package intake_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"casemail/intake"
)

// pacific is the calendar zone of the test plans.
var pacific = mustZone("America/Los_Angeles")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// outlookFrench is what Outlook sends for a French customer: windows-1252,
// quoted-printable, "Label : value" with a space before the colon.
const outlookFrench = "From: =?windows-1252?Q?Alice_Fr=E9mont?= <alice@acme.example>\r\n" +
	"To: \"Support\" <support@example.com>\r\n" +
	"Subject: =?windows-1252?Q?Index_bloqu=E9?=\r\n" +
	"Thread-Topic: =?windows-1252?Q?Index_bloqu=E9?=\r\n" +
	"Message-ID: <AM0PR01MB1234FR@AM0PR01MB1234.eurprd01.prod.outlook.com>\r\n" +
	"Date: Mon, 23 Nov 2026 10:00:00 -0800\r\n" +
	"Content-Language: fr-FR\r\n" +
	"X-MS-Has-Attach: \r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"_000_AM0PR_\"\r\n\r\n" +
	"--_000_AM0PR_\r\n" +
	"Content-Type: text/plain; charset=\"windows-1252\"\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"Bonjour,\r\n\r\n" +
	"Compte : admin@acme.example\r\n" +
	"Moteur : acme-search\r\n" +
	"Probl=E8me : l'indexation est bloqu=E9e depuis ce matin\r\n" +
	"Gravit=E9 : =E9lev=E9e\r\n" +
	"Environnement : production\r\n\r\n" +
	"Merci d'avance,\r\nAlice Fr=E9mont\r\n\r\n" +
	"--_000_AM0PR_\r\n" +
	"Content-Type: text/html; charset=\"windows-1252\"\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<html><body><p>Bonjour,</p><p>Compte : admin@acme.example<br>Moteur : acme-search</p></body></html>\r\n\r\n" +
	"--_000_AM0PR_--\r\n"

func TestFrenchOutlookMailOpensCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	// A Monday in open hours, in the future so that no case timer falls due
	// while the test runs.
	arrival := time.Date(2027, 3, 1, 10, 0, 0, 0, pacific)
	e.deliverAt(outlookFrench, arrival)

	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.Case != "CASE-1000" {
		t.Errorf("case %s, want CASE-1000 (numbers count up from 1000)", r.Case)
	}
	c, _ := e.caseJSON(r.Case)
	checks := []struct{ field, got, want string }{
		{"state", string(c.State), "open"},
		{"account", c.Account, "admin@acme.example"},
		{"engine", c.Engine, "acme-search"},
		{"nature", c.Nature, "l'indexation est bloquée depuis ce matin"},
		{"environment", c.Environment, "production"},
		{"contact", c.Contact, "alice@acme.example"},
		{"language", c.Language, "fr"},
	}
	for _, k := range checks {
		if k.got != k.want {
			t.Errorf("case %s: got %q, want %q", k.field, k.got, k.want)
		}
	}
	if c.Severity != 2 {
		t.Errorf("severity %d, want 2 (Gravité : élevée)", c.Severity)
	}
	if !c.CreatedAt.Equal(arrival) {
		t.Errorf("created_at %v, want the INTERNALDATE %v", c.CreatedAt, arrival)
	}
	// premium 2 → 1bd: Monday 10:00 + 1 business day = Tuesday 10:00 PST.
	wantDue := time.Date(2027, 3, 2, 10, 0, 0, 0, pacific)
	if c.FirstResponseDue == nil || !c.FirstResponseDue.Equal(wantDue) {
		t.Errorf("first_response_due %v, want %v", c.FirstResponseDue, wantDue)
	}
	if len(c.Messages) != 2 || c.Messages[0].Kind != intake.KindCustomer || c.Messages[0].Direction != intake.In {
		t.Fatalf("messages %+v, want the customer's mail then the acknowledgement", c.Messages)
	}
	wantContains(t, "stored customer text", c.Messages[0].Text, "Moteur : acme-search", "Problème : l'indexation est bloquée")
	if c.Messages[0].MessageID != "<AM0PR01MB1234FR@AM0PR01MB1234.eurprd01.prod.outlook.com>" {
		t.Errorf("stored Message-ID %q", c.Messages[0].MessageID)
	}

	all := e.waitSent(2)
	acks := sentTo(all, "alice@acme.example")
	if len(acks) != 1 {
		t.Fatalf("mails to alice: %v, want one acknowledgement", acks)
	}
	ack := acks[0]
	if ack.Subject != "[CASE-1000] Index bloqué" {
		t.Errorf("ack subject %q, want %q", ack.Subject, "[CASE-1000] Index bloqué")
	}
	wantThreaded(t, ack, "CASE-1000", true)
	if !slices.Contains(ack.InReplyTo, "<AM0PR01MB1234FR@AM0PR01MB1234.eurprd01.prod.outlook.com>") {
		t.Errorf("ack In-Reply-To %v, want the customer's Message-ID", ack.InReplyTo)
	}
	wantContains(t, "French ack", ack.Text,
		"Nous avons ouvert le dossier CASE-1000",
		"Compte :        admin@acme.example (Acme Corp)",
		"Moteur :        acme-search",
		"Sévérité :      2 (élevée)",
		"Environnement : production",
		"2 mars 2027", "10:00 PST (America/Los_Angeles)",
		"1 jour ouvré")
	wantNotContains(t, "French ack", ack.Text, "Hello", "Thank you")

	notes := sentTo(all, notifyAddr)
	if len(notes) != 1 {
		t.Fatalf("mails to notify: %v, want one", notes)
	}
	wantThreaded(t, notes[0], "CASE-1000", true)
	if got := notes[0].Header.Get("Reply-To"); !strings.Contains(got, supportAddr) {
		t.Errorf("notification Reply-To %q, want the support address", got)
	}
	wantContains(t, "notification", notes[0].Text, "New case CASE-1000", "acme-search", "l'indexation est bloquée")
}

func TestHTMLOnlyMailTextHasNoTags(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck",
		"<html><head><style>p { color: red; }</style><script>alert(1)</script></head>"+
			"<body><div><p>Hello,</p><p>The <b>crawler</b> is stuck at <i>42%</i> &amp; makes no progress.</p>"+
			"<p>Severity: high</p></div></body></html>",
		"Content-Type: text/html; charset=utf-8"))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	text := c.Messages[0].Text
	wantContains(t, "message text", text, "crawler is stuck at 42% & makes no progress")
	wantNotContains(t, "message text", text, "<", ">", "&amp;", "color: red", "alert(1)")
	if c.Severity != 2 {
		t.Errorf("severity %d, want 2 read from the HTML text", c.Severity)
	}
}

func TestAttachmentHashInCaseMessage(t *testing.T) {
	e := newEnv(t, envOptions{})
	data := []byte("2026-11-23T10:00:00Z ERROR indexer: queue stuck\n\x00\x01\x02binary tail\xff")
	sum := sha256.Sum256(data)
	raw := "From: Peter <peter@initech.example>\r\n" +
		"To: support@example.com\r\nSubject: Logs attached\r\n" +
		"Message-ID: " + newMsgID() + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
		"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are the logs.\r\n" +
		"--b1\r\nContent-Type: application/octet-stream; name=\"indexer.log\"\r\n" +
		"Content-Disposition: attachment; filename=\"indexer.log\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" +
		base64.StdEncoding.EncodeToString(data) + "\r\n--b1--\r\n"
	e.deliver(raw)
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	atts := c.Messages[0].Attachments
	if len(atts) != 1 {
		t.Fatalf("attachments %+v, want one", atts)
	}
	want := intake.Attachment{Name: "indexer.log", Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
	if atts[0] != want {
		t.Errorf("attachment %+v, want %+v", atts[0], want)
	}
}

func TestEngineMissingListsAccountEngines(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Alice <alice@acme.example>", "Search is slow", "Hello,\n\nQueries take 10 s since this morning.\n\nAlice"))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	if c.Account != "admin@acme.example" {
		t.Errorf("account %q, want admin@acme.example inferred (alice is a contact of one account)", c.Account)
	}
	if c.Engine != "" {
		t.Errorf("engine %q, want empty: the account has two and none was named", c.Engine)
	}
	if c.Severity != 3 {
		t.Errorf("severity %d, want the default 3", c.Severity)
	}
	if c.Nature != "Search is slow: Hello," {
		// Nature defaults to the subject and first paragraph.
		wantContains(t, "nature", c.Nature, "Search is slow")
	}
	ack := sentTo(e.sentAll(), "alice@acme.example")
	if len(ack) != 1 {
		t.Fatalf("mails to alice: %v", ack)
	}
	wantContains(t, "ack", ack[0].Text, "Engine:      not set", "Engine: missing",
		"The engines of this account are: acme-search, acme-staging.")
}

func TestAccountAndEngineInferred(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "The crawler is stuck.\nSeverity: 1"))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	if c.Account != "it@initech.example" || c.Engine != "initech-search" || c.Severity != 1 || c.Language != "en" {
		t.Errorf("case %s/%s severity %d language %s, want it@initech.example/initech-search severity 1 en",
			c.Account, c.Engine, c.Severity, c.Language)
	}
	ack := sentTo(e.sentAll(), "peter@initech.example")
	if len(ack) != 1 {
		t.Fatalf("mails to peter: %v", ack)
	}
	wantContains(t, "ack", ack[0].Text, "Engine:      initech-search", "Severity:    1 (urgent)", "4 business hours")
	wantNotContains(t, "ack", ack[0].Text, "missing", "could not be used")
}

func TestAccountNamedNotContactIsRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Bob <bob@globex.example>", "Help with acme", "Account: admin@acme.example\nEngine: acme-search\n\nIt is broken."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeRefused)
	if r.Case != "" {
		t.Errorf("refused mail names case %s", r.Case)
	}
	if cs := e.cases(); len(cs) != 0 {
		t.Errorf("cases %v, want none", cs)
	}
	all := e.sentAll()
	if len(all) != 1 || !slices.Equal(all[0].To, []string{"bob@globex.example"}) {
		t.Fatalf("sent %v, want one refusal to bob", all)
	}
	wantFromSupport(t, all[0])
	wantAuto(t, all[0], true)
	wantContains(t, "refusal", all[0].Text, "not\nregistered as a technical contact of that account")
	wantNotContains(t, "refusal", all[0].Text, "admin@acme.example", "Acme Corp", "alice@")
}

func TestSeverityLoweredForStandardPlan(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Bob Stone <bob@globex.example>", "Search results are empty",
		"Hello,\n\nEngine: globex-prod\nSeverity: urgent\n\nThanks,\nBob"))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	if c.Severity != 3 {
		t.Errorf("severity %d, want 3 (standard allows only 3)", c.Severity)
	}
	if c.Engine != "globex-prod" {
		t.Errorf("engine %q", c.Engine)
	}
	ack := sentTo(e.sentAll(), "bob@globex.example")
	if len(ack) != 1 {
		t.Fatalf("mails to bob: %v", ack)
	}
	wantContains(t, "ack", ack[0].Text, "You asked for severity 1 (urgent)", "so we set this case to severity 3", "3 business days")
}

func TestUnknownSenderRefusedOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Mallory <mallory@unknown.example>", "Please help", "Can you fix my search?"))
	e.deliver(mail("Mallory <mallory@unknown.example>", "Please help!!", "Again: can you fix my search?"))
	rs := e.waitResults(2)
	for _, r := range rs {
		wantOutcome(t, r, intake.OutcomeRefused)
	}
	if len(rs[0].Sent) != 1 || len(rs[1].Sent) != 0 {
		t.Errorf("queued %d then %d mails, want 1 then 0", len(rs[0].Sent), len(rs[1].Sent))
	}
	all := e.sentAll()
	if len(all) != 1 || !slices.Equal(all[0].To, []string{"mallory@unknown.example"}) {
		t.Fatalf("sent %v, want exactly one refusal to mallory", all)
	}
	s := all[0]
	wantFromSupport(t, s)
	wantAuto(t, s, true)
	wantContains(t, "refusal", s.Text, "is not registered as a technical contact", "administrator")
	if !strings.HasPrefix(s.Subject, "Re: Please help") {
		t.Errorf("refusal subject %q", s.Subject)
	}
	if len(s.InReplyTo) != 1 || s.InReplyTo[0] == "" {
		t.Errorf("refusal In-Reply-To %v, want the refused mail", s.InReplyTo)
	}
	if cs := e.cases(); len(cs) != 0 {
		t.Errorf("cases %v, want none", cs)
	}
}

func TestLoopRulesNeverAnswered(t *testing.T) {
	e := newEnv(t, envOptions{AutoReplyLimit: 100})
	from := "Alice <alice@acme.example>"
	body := "Engine: acme-search\n\nI am out of the office."
	report := "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n" +
		"To: alice@acme.example\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: " + newMsgID() + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n" +
		"--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.example\r\n\r\n" +
		"Final-Recipient: rfc822; nobody@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n" +
		"--r--\r\n"
	// A multipart/report from a person's address, not a daemon's.
	reportFromPerson := strings.Replace(report, "Mail Delivery System <MAILER-DAEMON@mx.acme.example>", from, 1)
	cases := []struct{ name, raw string }{
		{"Auto-Submitted auto-replied", mail(from, "Out of office", body, "Auto-Submitted: auto-replied")},
		{"Auto-Submitted auto-generated", mail(from, "Out of office", body, "Auto-Submitted: auto-generated")},
		{"Precedence bulk", mail(from, "Newsletter", body, "Precedence: bulk")},
		{"Precedence junk", mail(from, "Newsletter", body, "Precedence: junk")},
		{"Precedence list", mail(from, "Newsletter", body, "Precedence: List")},
		{"X-Autoreply", mail(from, "Away", body, "X-Autoreply: yes")},
		{"X-Autorespond", mail(from, "Away", body, "X-Autorespond: Away")},
		{"List-Id", mail(from, "[dev] thread", body, "List-Id: Dev list <dev.lists.acme.example>")},
		{"multipart/report", reportFromPerson},
		{"MAILER-DAEMON sender", report},
		{"MAILER-DAEMON plain", mail("MAILER-DAEMON@mx.acme.example", "Delivery Status Notification", body)},
		{"null Return-Path", mail(from, "Vacation", body, "Return-Path: <>")},
		{"From the support address", mail("Acme Support <support@example.com>", "[CASE-9] ping", body)},
		{"From the support address, other case", mail("SUPPORT@Example.com", "Hello", body)},
		{"X-Loop naming support", mail(from, "Loop", body, "X-Loop: support@example.com")},
	}
	for _, c := range cases {
		e.deliver(c.raw)
	}
	rs := e.waitResults(len(cases))
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rs[i]
			if r.Outcome != intake.OutcomeSuppressed {
				t.Errorf("outcome %s (%s), want suppressed", r.Outcome, r.Reason)
			}
			if len(r.Sent) != 0 {
				t.Errorf("queued %d mails: %v", len(r.Sent), r.Sent[0].To)
			}
			if r.Case != "" {
				t.Errorf("joined case %s", r.Case)
			}
		})
	}
	// The control: Auto-Submitted: no is a person's mail and is answered.
	e.deliver(mail(from, "Real problem", body, "Auto-Submitted: no"))
	r := e.result(len(cases) + 1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	all := e.sentAll()
	if len(sentTo(all, "alice@acme.example")) != 1 || len(all) != 2 {
		t.Errorf("sent %v, want only the ack to alice and the notification of the Auto-Submitted: no mail", all)
	}
	if cs := e.cases(); len(cs) != 1 {
		t.Errorf("%d cases, want 1", len(cs))
	}
}

func TestDuplicateMailsMakeOneCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	withID := mail("Alice <alice@acme.example>", "Index stuck", "Engine: acme-search\nIt is stuck.")
	e.deliver(withID)
	e.deliver(withID)
	// Same content, no Message-ID: recognised by content.
	noID := mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck.", "Message-ID:")
	if strings.Contains(noID, "Message-ID") {
		t.Fatal("test mail has a Message-ID")
	}
	e.deliver(noID)
	e.deliver(noID)
	rs := e.waitResults(4)
	wantOutcome(t, rs[0], intake.OutcomeCaseCreated)
	wantOutcome(t, rs[1], intake.OutcomeSuppressed)
	wantOutcome(t, rs[2], intake.OutcomeCaseCreated)
	wantOutcome(t, rs[3], intake.OutcomeSuppressed)
	if rs[1].Case != rs[0].Case || rs[3].Case != rs[2].Case {
		t.Errorf("duplicates name cases %s and %s, want %s and %s", rs[1].Case, rs[3].Case, rs[0].Case, rs[2].Case)
	}
	if cs := e.cases(); len(cs) != 2 {
		t.Errorf("%d cases, want 2", len(cs))
	}
	if all := e.sentAll(); len(all) != 4 {
		t.Errorf("sent %v, want 2 acks and 2 notifications", all)
	}
	for _, id := range []intake.CaseID{rs[0].Case, rs[2].Case} {
		if c, _ := e.caseJSON(id); len(c.Messages) != 2 {
			t.Errorf("%s has %d messages, want 2 (mail, ack)", id, len(c.Messages))
		}
	}
	if n := len(e.folder("Processed")); n != 4 {
		t.Errorf("Processed holds %d mails, want all 4 (duplicates leave the inbox too)", n)
	}
}

func TestSMTPRefusalsDeliverOnce(t *testing.T) {
	e := newEnv(t, envOptions{NoOutboxLoop: true})
	const failures = 8 // enough to reach the 5-minute cap
	e.smtp.RefuseRcpt(failures, 451)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if len(r.Sent) != 2 {
		t.Fatalf("queued %d mails, want ack and notification", len(r.Sent))
	}
	// Each round fails on the first RCPT and stops (the server is out of
	// reach); the retry is not due before the clock moves.
	for i := 1; i <= failures; i++ {
		next := e.flush()
		q := e.queue()
		if len(q) != 2 {
			t.Fatalf("round %d: queue holds %d, want 2", i, len(q))
		}
		if q[0].Attempts != i || !strings.Contains(q[0].LastError, "451") {
			t.Errorf("round %d: attempts %d, last error %q", i, q[0].Attempts, q[0].LastError)
		}
		wait := next.Sub(e.clock.Now())
		maxWait := min(30*time.Second<<(i-1), 5*time.Minute)
		if wait <= 0 || wait > maxWait {
			t.Errorf("round %d: next try in %v, want within (0, %v]", i, wait, maxWait)
		}
		if i == 1 && wait > 30*time.Second {
			t.Errorf("first retry in %v, want within 30 s", wait)
		}
		// Not due yet: nothing is tried.
		e.flush()
		if q2 := e.queue(); q2[0].Attempts != i {
			t.Errorf("round %d: a try before its time (attempts %d)", i, q2[0].Attempts)
		}
		e.clock.Advance(wait + time.Second)
	}
	if next := e.flush(); !next.IsZero() {
		t.Errorf("queue not empty after the server accepted: next %v", next)
	}
	all := e.sentAll()
	if len(all) != 2 {
		t.Fatalf("sent %v, want ack and notification once each", all)
	}
	if all[0].To[0] != "peter@initech.example" || all[1].To[0] != notifyAddr {
		t.Errorf("order %v, want the ack then the notification", all)
	}
	// Nothing more, ever.
	e.clock.Advance(time.Hour)
	e.flush()
	if n := len(e.smtp.Received()); n != 2 {
		t.Errorf("%d mails after another flush, want 2", n)
	}
}

func TestSMTPDownThenUp(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.SetDown(true)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	// The outbox loop tries and fails; the mail stays queued.
	deadline := time.Now().Add(waitLimit)
	for {
		q := e.queue()
		if len(q) == 2 && q[0].Attempts > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempt recorded: %+v", q)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(e.smtp.Received()); n != 0 {
		t.Fatalf("%d mails received while down", n)
	}
	all := e.smtpBack(2)
	e.waitQueueEmpty()
	if len(e.smtp.Received()) != 2 {
		t.Errorf("sent %v, want 2", all)
	}
}

func TestRestartResumesFromStoredUID(t *testing.T) {
	// Flag-only: processed mail stays in INBOX, so only the stored UID keeps
	// it from being read again.
	e := newEnv(t, envOptions{FlagOnly: true})
	e.deliver(mail("Peter <peter@initech.example>", "First", "One."))
	e.deliver(mail("Alice <alice@acme.example>", "Second", "Engine: acme-search\nTwo."))
	e.waitResults(2)
	e.sentAll()
	before := len(e.smtp.Received())
	casesBefore := len(e.cases())

	if n := len(e.folder("INBOX")); n != 2 {
		t.Fatalf("INBOX holds %d mails, want 2 left in place", n)
	}
	e.restart()
	// Give the new session time to select, resume and poll.
	time.Sleep(700 * time.Millisecond)
	if n := e.resultCount(); n != 2 {
		t.Fatalf("%d results after restart, want 2: mail was processed again", n)
	}
	e.deliver(mail("Bob <bob@globex.example>", "Third", "Engine: globex-prod\nThree."))
	r := e.result(3)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.Case != "CASE-1002" {
		t.Errorf("new case %s, want CASE-1002", r.Case)
	}
	all := e.sentAll()
	if len(all) != before+2 {
		t.Errorf("%d mails sent, want %d before restart + 2", len(all), before)
	}
	if n := len(e.cases()); n != casesBefore+1 {
		t.Errorf("%d cases, want %d", n, casesBefore+1)
	}
	if e.resultCount() != 3 {
		t.Errorf("results %s", describe(e.waitResults(3)))
	}
}

func TestRestartResumesOutbox(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.SetDown(true)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	e.restart()
	if q := e.queue(); len(q) != 2 {
		t.Fatalf("queue after restart holds %d, want 2", len(q))
	}
	e.smtpBack(2)
	if all := e.sentAll(); len(all) != 2 {
		t.Errorf("sent %v, want 2", all)
	}
	if e.resultCount() != 1 {
		t.Errorf("mail processed again after restart: %s", describe(e.waitResults(1)))
	}
}

// TestNotificationQuoteStoredOnce: an agents' notification does not keep a
// second copy of the customer's text in the outbox; it is rendered when it
// is delivered, with the text from the case's conversation, also after a
// restart.
func TestNotificationQuoteStoredOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.SetDown(true)
	body := strings.Repeat("The crawler stops at the same page every night, log attached below.\n", 20) +
		"Last line, with accents: déjà vu."
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", body))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	e.restart()
	var note *intake.Outgoing
	for _, m := range e.queue() {
		if m.Purpose == intake.TmplNotifyNew {
			note = m
		}
	}
	if note == nil || note.Later == nil || note.Later.TextSeq == 0 || note.Later.Data == nil {
		t.Fatalf("queued notification %+v: want one rendered at delivery (Later)", note)
	}
	if note.Text != "" || note.Later.Data.Text != "" {
		t.Errorf("queued notification keeps a text: %q, data %q", note.Text, note.Later.Data.Text)
	}
	if note.Subject != "[CASE-1000] Crawler stuck" {
		t.Errorf("queued notification's subject %q, want it rendered at once", note.Subject)
	}
	got := sentTo(e.smtpBack(2), "support-team@example.com")
	if len(got) != 1 {
		t.Fatalf("notifications sent: %v", got)
	}
	// The body as sent (the parsed Text would cut at the separator, which
	// looks like a forwarded message's).
	wantContains(t, "notification", bodyAsSent(t, got[0].Raw),
		"----- Message from peter@initech.example -----\n\n"+strings.TrimSpace(body)+"\n")
}

// TestAnswerTextStoredOnce: an answer to the contact (here the
// acknowledgement) is recorded in the case's conversation, and the outbox
// refers to that message's text instead of keeping a second copy; after a
// restart it goes out with that text.
func TestAnswerTextStoredOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.SetDown(true)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "The crawler stops at the same page every night."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	e.restart()
	var ack *intake.Outgoing
	for _, m := range e.queue() {
		if m.Purpose == intake.TmplAck {
			ack = m
		}
	}
	if ack == nil || ack.TextSeq == 0 || ack.Text != "" {
		t.Fatalf("queued acknowledgement %+v: want its text left to the case message it names", ack)
	}
	var recorded *intake.Message
	must(t, e.db.View(func(tx intake.Tx) (err error) {
		recorded, err = tx.Message(r.Case, ack.TextSeq)
		return err
	}))
	if recorded == nil || recorded.MessageID != ack.MessageID || !strings.Contains(recorded.Text, "We have opened case "+string(r.Case)) {
		t.Fatalf("message %d of the case %+v: want the acknowledgement as recorded", ack.TextSeq, recorded)
	}
	got := sentTo(e.smtpBack(2), "peter@initech.example")
	if len(got) != 1 {
		t.Fatalf("acknowledgements sent: %v", got)
	}
	if body := bodyAsSent(t, got[0].Raw); strings.TrimSpace(body) != strings.TrimSpace(recorded.Text) {
		t.Errorf("acknowledgement sent\n%s\nwant the recorded text\n%s", body, recorded.Text)
	}
}

// smtpBack brings the SMTP server back, lets the retry delay pass, and
// waits for n mails in all to have gone out.
func (e *env) smtpBack(n int) []sent {
	e.smtp.SetDown(false)
	e.clock.Advance(10 * time.Minute)
	e.outbox.Wake()
	return e.waitSent(n)
}

// bodyAsSent is the decoded body of a raw single-part mail, with \n line ends.
func bodyAsSent(t *testing.T, rawMail string) string {
	t.Helper()
	ent, err := message.Read(strings.NewReader(rawMail))
	must(t, err)
	raw, err := io.ReadAll(ent.Body)
	must(t, err)
	return strings.ReplaceAll(string(raw), "\r\n", "\n")
}

// TestQuotedNotificationOfEarlierVersion: a notification queued by an
// earlier version, its text quoted by reference (Quote), goes out whole.
func TestQuotedNotificationOfEarlierVersion(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.SetDown(true)
	body := "The crawler stops at the same page every night.\n" + strings.Repeat("Log line.\n", 60)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", body))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	head, tail := "A customer wrote:\n\n", "\n-- \nend\n"
	must(t, e.db.Update(func(tx intake.Tx) error {
		return tx.Enqueue(&intake.Outgoing{Case: r.Case, Purpose: intake.TmplNotifyNew, To: []string{"old@example.com"},
			Subject: "[" + string(r.Case) + "] old", Text: head + tail, MessageID: "<old.1@example.com>",
			Date: e.clock.Now(), Quote: &intake.Quote{Seq: 1, At: len(head), Len: len(strings.TrimSpace(body))}})
	}))
	e.restart() // the upgrade
	got := sentTo(e.smtpBack(3), "old@example.com")
	if len(got) != 1 {
		t.Fatalf("old notification sent: %v", got)
	}
	if got, want := bodyAsSent(t, got[0].Raw), head+strings.TrimSpace(body)+tail; got != want {
		t.Errorf("old notification's body\n%s\nwant\n%s", got, want)
	}
}

// failingNotice fails to render an agents' notification of a text that
// says EXPLODE, which only delivery renders.
type failingNotice struct{ intake.Renderer }

func (f failingNotice) Render(name, lang string, data *intake.MailData) (string, string, error) {
	if name == intake.TmplNotifyNew && strings.Contains(data.Text, "EXPLODE") {
		return "", "", errorString("template exploded")
	}
	return f.Renderer.Render(name, lang, data)
}

// TestNotificationTemplateFailsAtDelivery: a notification whose template
// fails when it is delivered is dropped (it would fail again) and the
// failure is noted on the case; the acknowledgement goes out.
func TestNotificationTemplateFailsAtDelivery(t *testing.T) {
	e := newEnv(t, envOptions{Renderer: func(r intake.Renderer) intake.Renderer { return failingNotice{r} }})
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It will EXPLODE."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	e.waitQueueEmpty()
	sent := e.sentAll()
	if len(sent) != 1 || len(sentTo(sent, "peter@initech.example")) != 1 {
		t.Fatalf("sent %v; want the acknowledgement only", sent)
	}
	c, _ := e.caseJSON(r.Case)
	last := c.Messages[len(c.Messages)-1]
	wantContains(t, "note on the case", last.Text, "Delivery failed", "notify_new", "template exploded")
}

// TestOutboxHold: while the source works through a backlog the outbox
// holds delivery; the answers go out once the hold ends.
func TestOutboxHold(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.outbox.Hold(true)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	e.outbox.Wake()
	time.Sleep(200 * time.Millisecond) // time enough for a round that would send
	if got := e.smtp.Received(); len(got) != 0 {
		t.Fatalf("sent while held: %v", e.parseAll(got))
	}
	if q := e.queue(); len(q) != 2 {
		t.Fatalf("queue holds %d mails, want the ack and the notification", len(q))
	}
	e.outbox.Hold(false)
	e.waitSent(2)
}

// TestBacklogHoldsDelivery: mail waiting in the folder when the source
// starts, more than one batch of it, is taken in with delivery held; the
// answers go out once the backlog is committed, without waiting for the
// server to move the last of it.
func TestBacklogHoldsDelivery(t *testing.T) {
	e := newEnv(t, envOptions{DeferStart: true, BatchSize: 10})
	const n = 35
	for i := range n {
		e.deliver(mail("Peter <peter@initech.example>", fmt.Sprintf("Crawler stuck %d", i), "It is stuck.",
			"X-Auto-Response-Suppress: All")) // no acks: the auto-reply limit stays out of it
	}
	e.start()
	e.waitResults(n)
	e.waitSent(n) // one notification per case
	e.mu.Lock()
	calls := slices.Clone(e.backlog)
	e.mu.Unlock()
	if !slices.Equal(calls, []bool{true, false}) {
		t.Errorf("Backlog calls %v, want [true false]", calls)
	}
	e.mu.Lock()
	inbox := slices.Clone(e.inboxAtBacklog)
	e.mu.Unlock()
	if len(inbox) != 2 || inbox[0] != n || inbox[1] == 0 {
		t.Errorf("mails in INBOX when delivery was held and released: %v; want %d, then some still there (not yet moved)", inbox, n)
	}
}

// TestOutboxPagesKeepCaseOrder: a queue longer than the pages the outbox
// reads it in goes out in one round, every mail once, each case's in the
// order queued; a mail not yet due holds back its case's later mails on
// every later page, and the round says when it is due.
func TestOutboxPagesKeepCaseOrder(t *testing.T) {
	e := newEnv(t, envOptions{NoOutboxLoop: true})
	const n, cases = 450, 30 // over two pages of 200
	retryAt := e.clock.Now().Add(time.Hour).UTC().Truncate(time.Second)
	held := intake.CaseID("CASE-1003")
	var want, waiting []string // subjects: sent in order; left queued
	must(t, e.db.Update(func(tx intake.Tx) error {
		for i := range n {
			id := intake.CaseID(fmt.Sprintf("CASE-%d", 1000+i%cases))
			m := &intake.Outgoing{Case: id, Purpose: "ack", To: []string{"alice@acme.example"},
				Subject: fmt.Sprintf("[%s] mail %d", id, i), Text: "Hello.", MessageID: newMsgID(), Date: e.clock.Now()}
			switch {
			case id == held && i == 3+cases: // the case's second mail, on the first page
				m.NextTry, m.Attempts = retryAt, 1
				waiting = append(waiting, m.Subject)
			case id == held && i > 3+cases:
				waiting = append(waiting, m.Subject)
			default:
				want = append(want, m.Subject)
			}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
		}
		return nil
	}))
	if next := e.flush(); !next.Equal(retryAt) {
		t.Errorf("round says the next try is due at %v, want %v", next, retryAt)
	}
	if got := e.sentSubjects(); !slices.Equal(got, want) {
		t.Errorf("sent %d mails, want %d in queue order; first difference at %d", len(got), len(want),
			firstDiff(got, want))
	}
	var left []string
	for _, m := range e.queue() {
		left = append(left, m.Subject)
	}
	if !slices.Equal(left, waiting) {
		t.Errorf("left queued %v, want %v", left, waiting)
	}
}

// firstDiff is the first index where a and b differ.
func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// clockProbe renders the template "clock_probe" by moving the clock on,
// so that a test sees time pass at a known point of a round.
type clockProbe struct {
	intake.Renderer
	jump func()
}

func (p clockProbe) Render(name, lang string, data *intake.MailData) (string, string, error) {
	if name == "clock_probe" {
		p.jump()
		return "", "Probe.", nil
	}
	return p.Renderer.Render(name, lang, data)
}

// TestOutboxRoundYieldsToRetry: a round through a queue of several pages
// stops at the end of a page once a mail it passed over, waiting for its
// retry, has come due, so that the retry is not put off until the whole
// queue has gone out; the next round sends it first, then the rest.
func TestOutboxRoundYieldsToRetry(t *testing.T) {
	var e *env
	e = newEnv(t, envOptions{NoOutboxLoop: true, Renderer: func(r intake.Renderer) intake.Renderer {
		return clockProbe{r, func() { e.clock.Advance(2 * time.Hour) }}
	}})
	const n = 250 // a page of 200, then 50
	must(t, e.db.Update(func(tx intake.Tx) error {
		for i := range n {
			m := &intake.Outgoing{To: []string{"alice@acme.example"}, Subject: fmt.Sprintf("mail %d", i),
				Text: "Hello.", MessageID: newMsgID(), Date: e.clock.Now()}
			switch i {
			case 0: // waits for its retry, an hour away
				m.NextTry, m.Attempts = e.clock.Now().Add(time.Hour), 1
			case 10: // two hours pass as the round composes it
				m.Text, m.Later = "", &intake.Later{Template: "clock_probe", Lang: "en", Data: &intake.MailData{}}
			}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
		}
		return nil
	}))
	next := e.flush()
	if got := e.sentSubjects(); len(got) != 199 || got[0] != "mail 1" || got[198] != "mail 199" {
		t.Fatalf("first round sent %d mails (%v … %v), want the first page but the waiting mail: 1 … 199", len(got),
			got[:min(len(got), 1)], got[max(len(got)-1, 0):])
	}
	if next.After(e.clock.Now()) {
		t.Errorf("first round says the next try is at %v, want one already due (now %v)", next, e.clock.Now())
	}
	if next := e.flush(); !next.IsZero() {
		t.Errorf("second round says the next try is at %v, want none (queue empty)", next)
	}
	got := e.sentSubjects()[199:]
	if len(got) != 51 || got[0] != "mail 0" || got[1] != "mail 200" || got[50] != "mail 249" {
		t.Errorf("second round sent %d mails %v, want mail 0, then 200 … 249", len(got), got)
	}
}
