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
