package intake_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"casemail/intake"
)

func TestSurveyRatingRecorded(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	_, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#resolve\nFixed: the indexer was restarted."))
	var notice sent
	for _, s := range out {
		if strings.Contains(s.Subject, "Resolved") {
			notice = s
		}
	}
	if notice.MessageID == "" {
		t.Fatalf("#resolve sent %v, want a resolution notice with the survey", out)
	}
	r, _ := e.step(replyTo(alice, notice, "Re: "+notice.Subject, "5/5"))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	c, js := e.caseJSON(o.id)
	if c.SurveyRating == nil || *c.SurveyRating != 5 {
		t.Errorf("survey_rating %v, want 5: %s", c.SurveyRating, js)
	}
	if c.State != intake.StateResolved {
		t.Errorf("state %s, want resolved (a rating alone does not reopen)", c.State)
	}
}

func TestAutoReplyRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{}) // the default: 3 automatic answers per sender per hour
	for i := range 4 {
		r, _ := e.step(mail(alice, "Problem "+string(rune('A'+i)), "Engine: acme-search\nSomething else broke."))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
	}
	all := e.sentAll()
	if got := sentTo(all, "alice@acme.example"); len(got) != 3 {
		t.Errorf("alice received %d acknowledgements, want 3 (rate limit)", len(got))
	}
	if got := sentTo(all, notifyAddr); len(got) != 4 {
		t.Errorf("agents received %d notifications, want 4: every case is announced", len(got))
	}
	// An hour later she is answered again.
	e.clock.Advance(61 * time.Minute)
	r, out := e.step(mail(alice, "Problem E", "Engine: acme-search\nYet another."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if len(sentTo(out, "alice@acme.example")) != 1 {
		t.Errorf("after an hour sent %v, want an ack to alice", out)
	}
}

func TestSMTPPermanentRefusalNotesCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.smtp.RefuseRcpt(1, 550)
	r, out := e.step(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if len(out) != 1 || out[0].To[0] != notifyAddr {
		t.Fatalf("sent %v, want the notification only (the ack was refused for good)", out)
	}
	if q := e.queue(); len(q) != 0 {
		t.Errorf("queue holds %d: a permanently refused mail is retried", len(q))
	}
	c, _ := e.caseJSON(r.Case)
	last := c.Messages[len(c.Messages)-1]
	if last.Kind != intake.KindSystem || !strings.Contains(last.Text, "Delivery failed") || !strings.Contains(last.Text, "550") {
		t.Errorf("last message %s %q, want a system note that delivery failed (550)", last.Kind, last.Text)
	}
}

func TestSMTPDropAfterDataRetriedOnce(t *testing.T) {
	e := newEnv(t, envOptions{NoOutboxLoop: true})
	e.smtp.DropNextData(1)
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	e.flush()
	if q := e.queue(); len(q) != 2 || q[0].Attempts != 1 {
		t.Fatalf("queue %d mails, first attempts %d; want 2 and 1", len(q), q[0].Attempts)
	}
	e.clock.Advance(31 * time.Second)
	e.flush()
	all := e.sentAll()
	if len(all) != 2 || all[0].To[0] != "peter@initech.example" || all[1].To[0] != notifyAddr {
		t.Errorf("sent %v, want the ack then the notification, once each", all)
	}
}

// TestHeaderInjectionEndToEnd sends user data with CR/LF into every header
// casemail writes from it: the subject (ack, notification, refusal) and the
// agent's display name (From of the relay).
func TestHeaderInjectionEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	evilSubject := "=?utf-8?Q?Broken=0D=0ABcc:_victim@evil.example=0D=0AX-Injected:_yes?="
	r, out := e.step(mail(alice, evilSubject, "Engine: acme-search\nIt broke."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	r2, out2 := e.step(mail("Mallory <mallory@unknown.example>", evilSubject, "Hi."))
	wantOutcome(t, r2, intake.OutcomeRefused)
	notify := sentTo(out, notifyAddr)[0]
	r3, out3 := e.step(replyTo("=?utf-8?Q?Dana=0D=0AX-Injected=3A_yes?= <dana@example.com>", notify,
		"Re: [CASE-1000] Broken", "We are on it."))
	wantOutcome(t, r3, intake.OutcomeFollowUp)

	all := append(append(append([]sent{}, out...), out2...), out3...)
	if len(all) != 4 {
		t.Fatalf("sent %v, want ack, notification, refusal, relay", all)
	}
	for _, s := range all {
		if len(s.To) != 1 || strings.Contains(s.To[0], "evil") {
			t.Errorf("%v: envelope recipients %v", s, s.To)
		}
		head, _, _ := strings.Cut(s.Raw, "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			l := strings.ToLower(line)
			if strings.HasPrefix(l, "bcc:") || strings.HasPrefix(l, "x-injected:") {
				t.Errorf("%v: injected header line %q", s, line)
			}
		}
		if s.Header.Has("Bcc") || s.Header.Has("X-Injected") {
			t.Errorf("%v: injected header", s)
		}
		if strings.ContainsAny(s.Subject, "\r\n") || strings.ContainsAny(s.From.Name, "\r\n") {
			t.Errorf("%v: line break in subject or From name %q", s, s.From.Name)
		}
	}
	relay := out3[0]
	if !strings.HasPrefix(relay.From.Name, "Dana") || relay.From.Addr != supportAddr {
		t.Errorf("relay From %q <%s>", relay.From.Name, relay.From.Addr)
	}
	if !slices.Equal(relay.To, []string{"alice@acme.example"}) {
		t.Errorf("relay to %v", relay.To)
	}
}

// poisonRenderer fails every mail about a subject containing "POISON".
type poisonRenderer struct{ intake.Renderer }

func (p poisonRenderer) Render(name, lang string, data *intake.MailData) (string, string, error) {
	if strings.Contains(data.Subject, "POISON") {
		return "", "", errorString("template exploded")
	}
	return p.Renderer.Render(name, lang, data)
}

func TestPoisonMailQuarantinedOthersGoOn(t *testing.T) {
	e := newEnv(t, envOptions{DeferStart: true,
		Renderer: func(r intake.Renderer) intake.Renderer { return poisonRenderer{r} }})
	e.deliver(mail("Peter <peter@initech.example>", "Before", "One."))
	poison := e.deliver(mail(alice, "POISON pill", "Engine: acme-search\nBoom."))
	e.deliver(mail("Bob <bob@globex.example>", "After", "Engine: globex-prod\nTwo."))
	e.start()
	rs := e.waitResults(3)
	byUID := map[uint32]intake.Result{}
	for _, r := range rs {
		byUID[r.UID] = r
	}
	if r := byUID[uint32(poison)]; r.Outcome != intake.OutcomeQuarantined {
		t.Errorf("poison mail: %s (%s), want quarantined", r.Outcome, r.Reason)
	}
	created := 0
	for _, r := range rs {
		if r.Outcome == intake.OutcomeCaseCreated {
			created++
		}
	}
	if created != 2 {
		t.Errorf("results %s, want the two other mails to make cases", describe(rs))
	}
	q := waitFolder(t, e, "Quarantine", 1)
	if !strings.Contains(string(q[0].Raw), "POISON pill") {
		t.Errorf("quarantined %q", q[0].Raw)
	}
	waitFolder(t, e, "Processed", 2)
	waitFolder(t, e, "INBOX", 0)
	if n := len(e.cases()); n != 2 {
		t.Errorf("%d cases, want 2 (the poison one rolled back)", n)
	}
	if got := sentTo(e.sentAll(), "alice@acme.example"); len(got) != 0 {
		t.Errorf("alice received %v", got)
	}
	// Later mail still flows.
	e.deliver(mail(alice, "Healthy", "Engine: acme-search\nFine."))
	wantOutcome(t, e.result(4), intake.OutcomeCaseCreated)
}

func TestContactOfSeveralAccountsNoneNamed(t *testing.T) {
	contacts := testContacts + `
[[account]]
email    = "it@umbrella.example"
name     = "Umbrella"
plan     = "standard"
engines  = ["umbrella-search"]
contacts = ["alice@acme.example"]
`
	e := newEnv(t, envOptions{Contacts: contacts})
	r, out := e.step(mail(alice, "Which account?", "Something broke."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c, _ := e.caseJSON(r.Case)
	if c.Account != "" || c.Engine != "" {
		t.Errorf("account %q engine %q, want both empty", c.Account, c.Engine)
	}
	ack := sentTo(out, "alice@acme.example")
	if len(ack) != 1 {
		t.Fatalf("sent %v", out)
	}
	wantContains(t, "ack", ack[0].Text, "Account:     not set", "Account: missing", "primary email address")
	wantNotContains(t, "ack", ack[0].Text, "it@umbrella.example", "admin@acme.example")
	// She completes it in a reply: it joins the case.
	r, _ = e.step(replyTo(alice, ack[0], "Re: "+ack[0].Subject, "Account: admin@acme.example\nEngine: acme-search"))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != c.ID {
		t.Errorf("reply joined %q, want %s", r.Case, c.ID)
	}
	// Naming the account makes a complete case.
	r, _ = e.step(mail(alice, "Umbrella search down", "Account: it@umbrella.example\nAll queries fail."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	c2, _ := e.caseJSON(r.Case)
	if c2.Account != "it@umbrella.example" || c2.Engine != "umbrella-search" {
		t.Errorf("case %s/%s, want it@umbrella.example/umbrella-search", c2.Account, c2.Engine)
	}
}

func TestLowerCaseTagJoinsCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	r, _ := e.step(mail(alice, "Re: [case-1000] Index stuck", "Lower case tag."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != o.id {
		t.Errorf("joined %q, want %s", r.Case, o.id)
	}
}

func TestSeverityCommandMovesDueTime(t *testing.T) {
	e := newEnv(t, envOptions{})
	raw := mail(alice, "Index stuck", "Engine: acme-search\nSeverity: normal\nIt is stuck.")
	e.deliverAt(raw, time.Date(2027, 3, 1, 9, 0, 0, 0, pacific))
	r := e.result(1)
	all := e.sentAll()
	notify := sentTo(all, notifyAddr)[0]
	before, _ := e.caseJSON(r.Case)
	// premium 3 → 2bd: Wednesday 09:00.
	if want := time.Date(2027, 3, 3, 9, 0, 0, 0, pacific); before.FirstResponseDue == nil || !before.FirstResponseDue.Equal(want) {
		t.Fatalf("due %v, want %v", before.FirstResponseDue, want)
	}
	_, out := e.step(replyTo(dana, notify, "Re: [CASE-1000] Index stuck", "#note\n#severity 1\nProduction is down."))
	for _, s := range out {
		if s.To[0] == "alice@acme.example" {
			t.Errorf("the customer was sent %v", s)
		}
	}
	after, _ := e.caseJSON(r.Case)
	// premium 1 → 4bh: Monday 13:00.
	if want := time.Date(2027, 3, 1, 13, 0, 0, 0, pacific); after.Severity != 1 || after.FirstResponseDue == nil || !after.FirstResponseDue.Equal(want) {
		t.Errorf("severity %d due %v, want 1 and %v", after.Severity, after.FirstResponseDue, want)
	}
}

func TestFrenchContactGetsFrenchRelay(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliverAt(outlookFrench, time.Date(2027, 3, 1, 10, 0, 0, 0, pacific))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	notify := sentTo(e.sentAll(), notifyAddr)[0]
	wantContains(t, "notification (agents read English)", notify.Text, "New case CASE-1000")
	_, out := e.step(replyTo(dana, notify, "Re: [CASE-1000] Index bloqué", "Bonjour Alice,\n\nNous avons relancé l'indexation.\n\nDana"))
	if len(out) != 1 || out[0].To[0] != "alice@acme.example" {
		t.Fatalf("sent %v", out)
	}
	if out[0].Subject != "Re: [CASE-1000] Index bloqué" {
		t.Errorf("subject %q", out[0].Subject)
	}
	wantContains(t, "relay", out[0].Text, "Nous avons relancé l'indexation.", "Dossier CASE-1000")
	wantNotContains(t, "relay", out[0].Text, "To answer, reply")
}

// TestReplyCompletesMissingFields: the acknowledgement asks the customer to
// "reply with the missing details, one per line, for example: Engine:
// acme-search". When she does, the case should record them.
func TestReplyCompletesMissingFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	r, out := e.step(mail(alice, "Search is slow", "Queries take 10 s."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	ack := sentTo(out, "alice@acme.example")[0]
	wantContains(t, "ack", ack.Text, "Please reply with the missing details", "Engine: acme-search")
	r2, _ := e.step(replyTo(alice, ack, "Re: "+ack.Subject, "Engine: acme-search\nEnvironment: staging"))
	wantOutcome(t, r2, intake.OutcomeFollowUp)
	c, _ := e.caseJSON(r.Case)
	if c.Engine != "acme-search" {
		t.Errorf("engine %q after the reply, want acme-search", c.Engine)
	}
	if c.Environment != "staging" {
		t.Errorf("environment %q after the reply, want staging", c.Environment)
	}
}

// TestBatchKeepsConversationOrder: a follow-up in the same batch to a case
// opened earlier in it lands after that case's acknowledgement, and every
// mail of the batch is queued, with its text and subject, in the order it
// was decided.
func TestBatchKeepsConversationOrder(t *testing.T) {
	e := newEnv(t, envOptions{DeferStart: true})
	first := mail(alice, "Index stuck", "Engine: acme-search\nThe index is stuck.")
	e.deliver(first)
	e.deliver(mail("Bob <bob@globex.example>", "Other trouble", "Engine: globex-prod\nSlow."))
	e.deliver(mail(alice, "Re: Index stuck", "Also, the logs are empty.", "In-Reply-To: "+msgIDOf(first)))
	e.start()
	rs := e.waitResults(3)
	if rs[0].Outcome != intake.OutcomeCaseCreated || rs[2].Outcome != intake.OutcomeFollowUp || rs[2].Case != rs[0].Case {
		t.Fatalf("results %s; want a case, another case, a follow-up of the first", describe(rs))
	}
	c, _ := e.caseJSON(rs[0].Case)
	var got []string
	for _, m := range c.Messages {
		got = append(got, string(m.Direction)+" "+string(m.Kind)+" "+m.Subject)
	}
	want := []string{
		"in customer Index stuck",
		"out system [" + string(c.ID) + "] Index stuck",
		"in customer Re: Index stuck",
	}
	if !slices.Equal(got, want) {
		t.Errorf("conversation\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var purposes []string
	for _, r := range rs {
		for _, m := range r.Sent {
			purposes = append(purposes, m.Purpose+" "+string(m.Case))
			if (m.Text == "" && m.Later == nil) || m.Subject == "" {
				t.Errorf("%s of %s handed to the outbox without its text or subject", m.Purpose, m.Case)
			}
		}
	}
	sent := e.waitSent(5)
	var order []string
	for _, s := range sent {
		order = append(order, s.Subject)
	}
	t.Logf("queued %v; delivered %v", purposes, order)
	wantPurposes := []string{"ack " + string(rs[0].Case), "notify_new " + string(rs[0].Case),
		"ack " + string(rs[1].Case), "notify_new " + string(rs[1].Case), "notify_reply " + string(rs[0].Case)}
	if !slices.Equal(purposes, wantPurposes) {
		t.Errorf("queued %v; want %v", purposes, wantPurposes)
	}
}
