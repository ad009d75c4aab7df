package intake_test

// Support-policy tests: first-response warnings and breaches, reminders and
// automatic closes, the survey, severity raised by the customer, the
// remembered language — driven by the injected clock of the harness, with
// a real store and IMAP/SMTP round trips.

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"casemail/intake"
)

// polLA is the zone of the test calendar.
func polLA(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/Los_Angeles")
	must(t, err)
	return loc
}

// polMonday is Monday 30 November 2026 at hh:mm in Los Angeles (PST).
func polMonday(t *testing.T, day, hh, mm int) time.Time {
	return time.Date(2026, 11, 30+day, hh, mm, 0, 0, polLA(t))
}

// polSetClock moves the injected clock so that it reads at (it keeps
// running at real speed from there).
func polSetClock(e *env, at time.Time) {
	e.clock.Advance(at.Sub(e.clock.Now()))
}

// polStep delivers raw, arriving at the clock's now, and returns the result
// and the mail sent because of it.
func polStep(e *env, raw string) (intake.Result, []sent) {
	e.t.Helper()
	n := e.resultCount()
	before := len(e.smtp.Received())
	e.deliverAt(raw, e.clock.Now())
	r := e.result(n + 1)
	all := e.sentAll()
	return r, all[before:]
}

// polTick runs the case timers once (NoScheduler) and returns what they did
// and the mail delivered because of it.
func polTick(e *env) ([]intake.Result, []sent) {
	e.t.Helper()
	before := len(e.smtp.Received())
	rs, err := e.desk.Tick()
	must(e.t, err)
	all := e.sentAll()
	return rs, all[before:]
}

// purposes lists "purpose→recipient" for the mail of results.
func purposes(rs []intake.Result) []string {
	var out []string
	for _, r := range rs {
		for _, s := range r.Sent {
			out = append(out, fmt.Sprintf("%s %s→%s", r.Case, s.Purpose, strings.Join(s.To, ",")))
		}
	}
	return out
}

// polOpen opens a case for from at the clock's now.
func polOpen(e *env, from, subject, body string) (intake.CaseID, map[string]sent) {
	e.t.Helper()
	r, out := polStep(e, mail(from, subject, body))
	wantOutcome(e.t, r, intake.OutcomeCaseCreated)
	got := map[string]sent{}
	for _, s := range out {
		got[s.To[0]] = s
	}
	return r.Case, got
}

// polAnswer makes the agent answer a case's notification.
func polAnswer(e *env, id intake.CaseID, notify sent, text string) []sent {
	e.t.Helper()
	r, out := polStep(e, secReply("Dana <dana@example.com>", notify, "Re: ["+string(id)+"] answer", text))
	wantOutcome(e.t, r, intake.OutcomeFollowUp)
	return out
}

// polReply is a customer's reply to s, with the quoted text mail clients add.
func polReply(from string, s sent, text string, hdrs ...string) string {
	body := text + "\n\nLe lun. 30 nov. 2026 à 10:05, Acme Support <support@example.com> a écrit :\n" + quoteLines(s.Text)
	refs := strings.Join(append(slices.Clone(s.References), s.MessageID), " ")
	hdrs = append([]string{"In-Reply-To: " + s.MessageID, "References: " + refs}, hdrs...)
	return mail(from, "Re: "+s.Subject, body, hdrs...)
}

func quoteLines(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

func TestPolicyFirstResponseWarningAndBreach(t *testing.T) {
	e := newEnv(t, envOptions{NoScheduler: true})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	a, _ := polOpen(e, "Alice <alice@acme.example>", "Search down", "Engine: acme-search\nSeverity: 1\nSearch is down in production.")
	b, bOut := polOpen(e, "Peter <peter@initech.example>", "Indexing down", "Severity: urgent\nIndexing is down.")
	ca, _ := e.caseJSON(a)
	if ca.Severity != 1 || ca.FirstResponseDue == nil || !ca.FirstResponseDue.Equal(polMonday(t, 0, 13, 0)) {
		t.Fatalf("case %s: severity %d, due %v, want 1 and Monday 13:00 PST", a, ca.Severity, ca.FirstResponseDue)
	}

	// The agent answers b at 10:00, before its warning.
	polSetClock(e, polMonday(t, 0, 10, 0))
	polAnswer(e, b, bOut[notifyAddr], "We are looking at the indexer.")
	cb, _ := e.caseJSON(b)
	if cb.FirstResponseMet == nil || !*cb.FirstResponseMet {
		t.Errorf("case %s answered before its due time: first_response_met %v, want true", b, cb.FirstResponseMet)
	}

	var all []intake.Result
	tick := func(at time.Time) []intake.Result {
		t.Helper()
		polSetClock(e, at)
		rs, _ := polTick(e)
		all = append(all, rs...)
		return rs
	}
	if rs := tick(polMonday(t, 0, 11, 59)); len(rs) != 0 {
		t.Errorf("11:59 (before 75 %%): timers did %v", purposes(rs))
	}
	rs := tick(polMonday(t, 0, 12, 0))
	if got, want := purposes(rs), []string{string(a) + " sla_warning→" + notifyAddr}; !slices.Equal(got, want) {
		t.Errorf("12:00 (75 %% of 4bh): sent %v, want %v", got, want)
	}
	if rs := tick(polMonday(t, 0, 12, 1)); len(rs) != 0 {
		t.Errorf("12:01: timers did %v, want nothing (warned once)", purposes(rs))
	}
	if rs := tick(polMonday(t, 0, 12, 59)); len(rs) != 0 {
		t.Errorf("12:59: timers did %v", purposes(rs))
	}
	rs = tick(polMonday(t, 0, 13, 0))
	if got, want := purposes(rs), []string{string(a) + " sla_breach→" + notifyAddr}; !slices.Equal(got, want) {
		t.Errorf("13:00 (4bh): sent %v, want %v", got, want)
	}
	if rs := tick(polMonday(t, 0, 17, 0)); len(rs) != 0 {
		t.Errorf("17:00: timers did %v, want nothing (breach told once)", purposes(rs))
	}
	for _, r := range all {
		if r.Case == b {
			t.Errorf("answered case %s got a timer: %s %v", b, r.Reason, purposes([]intake.Result{r}))
		}
	}
	ca, _ = e.caseJSON(a)
	if !ca.SLAWarned || !ca.SLABreached || ca.State != intake.StateOpen {
		t.Errorf("case %s: warned %v breached %v state %s", a, ca.SLAWarned, ca.SLABreached, ca.State)
	}
	// A late answer records the miss.
	polAnswer(e, a, sentTo(e.sentAll(), notifyAddr)[0], "Sorry for the delay.")
	ca, _ = e.caseJSON(a)
	if ca.FirstResponseMet == nil || *ca.FirstResponseMet {
		t.Errorf("case %s answered after its due time: first_response_met %v, want false", a, ca.FirstResponseMet)
	}
}

func TestPolicyWaitingRemindersAutoCloseReopen(t *testing.T) {
	e := newEnv(t, envOptions{NoScheduler: true})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	a, aOut := polOpen(e, "Alice <alice@acme.example>", "Slow queries", "Engine: acme-search\nSeverity: 2\nQueries are slow.")
	b, bOut := polOpen(e, "Peter <peter@initech.example>", "Bad ranking", "Severity: 2\nRanking is odd.")
	polSetClock(e, polMonday(t, 0, 10, 0))
	polAnswer(e, a, aOut[notifyAddr], "Which queries are slow?")
	polAnswer(e, b, bOut[notifyAddr], "Which queries rank badly?")
	for _, id := range []intake.CaseID{a, b} {
		if c, _ := e.caseJSON(id); c.State != intake.StateWaiting || c.ContactAttempts != 1 {
			t.Fatalf("%s after the answer: state %s attempts %d, want waiting 1", id, c.State, c.ContactAttempts)
		}
	}
	steps := []struct {
		at       time.Time
		want     []string
		attempts int
		state    intake.State
	}{
		{polMonday(t, 2, 9, 59), nil, 1, intake.StateWaiting}, // Wednesday, before 2bd
		{polMonday(t, 2, 10, 5), []string{"reminder→alice@acme.example", "reminder→peter@initech.example"}, 2, intake.StateWaiting},
		{polMonday(t, 4, 10, 0), nil, 2, intake.StateWaiting}, // Friday, just before
		{polMonday(t, 4, 10, 10), []string{"reminder→alice@acme.example", "reminder→peter@initech.example"}, 3, intake.StateWaiting},
		{polMonday(t, 8, 10, 5), nil, 3, intake.StateWaiting}, // next Tuesday, just before
		{polMonday(t, 8, 10, 15), []string{"auto_closed→alice@acme.example", "auto_closed_notify→support-team@example.com",
			"auto_closed→peter@initech.example", "auto_closed_notify→support-team@example.com"}, 3, intake.StateClosed},
	}
	var closing []sent
	for _, st := range steps {
		polSetClock(e, st.at)
		rs, out := polTick(e)
		var got []string
		for _, r := range rs {
			for _, s := range r.Sent {
				got = append(got, s.Purpose+"→"+s.To[0])
			}
		}
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: timers sent %v, want %v", st.at.Format("Mon 15:04"), got, st.want)
		}
		for _, id := range []intake.CaseID{a, b} {
			c, _ := e.caseJSON(id)
			if c.ContactAttempts != st.attempts || c.State != st.state {
				t.Errorf("%s at %s: attempts %d state %s, want %d %s", id, st.at.Format("Mon 15:04"), c.ContactAttempts, c.State, st.attempts, st.state)
			}
		}
		closing = out
	}
	for _, id := range []intake.CaseID{a, b} {
		if c, _ := e.caseJSON(id); !c.AutoClosed {
			t.Errorf("%s: auto_closed not recorded", id)
		}
	}
	notice := sentTo(closing, "alice@acme.example")
	if len(notice) != 1 {
		t.Fatalf("closing sent %v", closing)
	}
	wantAuto(t, notice[0], true)
	// The agents get their own notice, not the customer's text.
	ag := sentTo(closing, notifyAddr) // one per closed case
	if len(ag) != 2 {
		t.Fatalf("agents got %d closing notices, want 2", len(ag))
	}
	wantContains(t, "agents' closing notice", ag[0].Text, "closed automatically", "did not answer after 3 contact attempts")
	wantNotContains(t, "agents' closing notice", ag[0].Text, "to contact you")

	// Alice answers the next day, within reopen_within: a reopens.
	polSetClock(e, polMonday(t, 9, 11, 0))
	r, _ := polStep(e, polReply("Alice <alice@acme.example>", notice[0], "Sorry, I was away. The slow ones are the faceted queries."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if c, _ := e.caseJSON(a); r.Case != a || c.State != intake.StateOpen || c.ContactAttempts != 0 {
		t.Errorf("reply within reopen_within: case %s state %s attempts %d, want %s open 0", r.Case, c.State, c.ContactAttempts, a)
	}

	// Peter answers after reopen_within (7 days): a new, related case.
	polSetClock(e, polMonday(t, 16, 11, 0))
	r, out := polStep(e, polReply("Peter <peter@initech.example>", sentTo(closing, "peter@initech.example")[0],
		"Back from holidays: ranking is still odd for the query 'invoice'."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	nc, _ := e.caseJSON(r.Case)
	if r.Case == b || !slices.Equal(nc.Related, []intake.CaseID{b}) {
		t.Errorf("reply after reopen_within: case %s related %v, want a new case related to %s", r.Case, nc.Related, b)
	}
	if c, _ := e.caseJSON(b); c.State != intake.StateClosed {
		t.Errorf("%s: state %s, want it to stay closed", b, c.State)
	}
	if ack := sentTo(out, "peter@initech.example"); len(ack) != 1 || !strings.Contains(ack[0].Text, string(b)) {
		t.Errorf("new case's ack does not name %s: %v", b, ack)
	}
}

func TestPolicyResolveSurvey(t *testing.T) {
	e := newEnv(t, envOptions{NoScheduler: true})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	a, aOut := polOpen(e, "Alice <alice@acme.example>", "Facets wrong", "Engine: acme-search\nFacets show wrong counts.")
	b, bOut := polOpen(e, "Peter <peter@initech.example>", "Synonyms", "Synonyms are ignored.")

	polSetClock(e, polMonday(t, 0, 10, 0))
	out := polAnswer(e, a, aOut[notifyAddr], "#resolve\nFixed: the facet cache was stale, we rebuilt it.")
	toAlice := sentTo(out, "alice@acme.example")
	var notice sent
	for _, s := range toAlice {
		if strings.Contains(s.Subject, "Resolved") {
			notice = s
		}
	}
	if notice.MessageID == "" {
		t.Fatalf("#resolve sent %v, want a resolution notice to alice", out)
	}
	wantContains(t, "resolution notice", notice.Text, "1", "5")
	if !strings.Contains(strings.ToLower(notice.Text), "satisf") {
		t.Errorf("resolution notice has no survey:\n%s", notice.Text)
	}
	if c, _ := e.caseJSON(a); c.State != intake.StateResolved {
		t.Fatalf("state %s, want resolved", c.State)
	}

	rating := func(text string, hdrs ...string) intake.Case {
		t.Helper()
		r, _ := polStep(e, polReply("Alice <alice@acme.example>", notice, text, hdrs...))
		wantOutcome(t, r, intake.OutcomeFollowUp)
		c, _ := e.caseJSON(a)
		return c
	}
	c := rating("5")
	if c.SurveyRating == nil || *c.SurveyRating != 5 || c.State != intake.StateResolved {
		t.Errorf(`reply "5": rating %v state %s, want 5 resolved`, c.SurveyRating, c.State)
	}
	c = rating("note : 4 et merci", "Content-Language: fr")
	if c.SurveyRating == nil || *c.SurveyRating != 4 || c.State != intake.StateResolved {
		t.Errorf(`reply "note : 4 et merci": rating %v state %s, want 4 resolved`, c.SurveyRating, c.State)
	}
	c = rating("Actually the facet counts are wrong again this morning, on the 'brand' facet only; could you look again?")
	if c.State != intake.StateOpen {
		t.Errorf("longer reply: state %s, want open (reopened)", c.State)
	}

	// b is resolved and nobody answers: closed after resolved_close_after (7 days).
	polAnswer(e, b, bOut[notifyAddr], "#resolve\nSynonyms need a reindex; done.")
	polSetClock(e, polMonday(t, 7, 9, 59))
	if rs, _ := polTick(e); len(rs) != 0 {
		t.Errorf("before 7 days: timers did %v", rs)
	}
	polSetClock(e, polMonday(t, 7, 10, 5))
	rs, sentNow := polTick(e)
	if len(rs) != 1 || rs[0].Case != b {
		t.Errorf("after 7 days: timers did %v, want %s closed", describe(rs), b)
	}
	if cb, _ := e.caseJSON(b); cb.State != intake.StateClosed {
		t.Errorf("%s: state %s, want closed", b, cb.State)
	}
	t.Logf("closing a resolved case sent %v", sentNow)
}

func TestPolicyCustomerRaisesSeverity(t *testing.T) {
	e := newEnv(t, envOptions{NoScheduler: true})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	a, aOut := polOpen(e, "Alice <alice@acme.example>", "Slow", "Engine: acme-search\nSeverity: normal\nIt is slow.")
	before, _ := e.caseJSON(a)
	if before.Severity != 3 || before.FirstResponseDue == nil {
		t.Fatalf("severity %d due %v", before.Severity, before.FirstResponseDue)
	}
	polSetClock(e, polMonday(t, 0, 10, 0))
	r, out := polStep(e, polReply("Alice <alice@acme.example>", aOut["alice@acme.example"], "Severity: 1\nNow it is down in production."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	after, _ := e.caseJSON(a)
	if after.Severity != 1 {
		t.Errorf("severity %d, want 1 (raised)", after.Severity)
	}
	// Due recomputed from the arrival: 4 business hours from Monday 09:00.
	if after.FirstResponseDue == nil || !after.FirstResponseDue.Equal(polMonday(t, 0, 13, 0)) {
		t.Errorf("due %v, want Monday 13:00 PST (was %v)", after.FirstResponseDue, before.FirstResponseDue)
	}
	var changed []sent
	for _, s := range sentTo(out, notifyAddr) {
		if strings.Contains(s.Subject, "Severity raised") {
			changed = append(changed, s)
		}
	}
	if len(changed) != 1 {
		t.Errorf("sent %v, want one severity_changed to %s", out, notifyAddr)
	}

	// Standard plan: severities [3]; "Severity: 1" is not applied.
	g, gOut := polOpen(e, "Bob <bob@globex.example>", "Import", "Engine: globex-prod\nImports fail.")
	r, out = polStep(e, polReply("Bob <bob@globex.example>", gOut["bob@globex.example"], "Severity: 1\nPlease hurry."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if c, _ := e.caseJSON(g); c.Severity != 3 {
		t.Errorf("standard plan: severity %d, want 3", c.Severity)
	}
	for _, s := range out {
		if strings.Contains(s.Subject, "Severity raised") {
			t.Errorf("standard plan: %v", s)
		}
	}
	t.Logf("standard plan: %s", r.Reason)
}

func TestPolicyLanguageRemembered(t *testing.T) {
	e := newEnv(t, envOptions{NoScheduler: true})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	_, out := polOpen(e, "Pierre <peter@initech.example>", "Indexation bloquée",
		"Bonjour,\n\nProblème : l'indexation est bloquée depuis ce matin et les résultats de recherche ne sont plus à jour.\n\nMerci d'avance pour votre aide,\nPierre")
	if ack := out["peter@initech.example"]; !strings.HasPrefix(ack.Text, "Bonjour") {
		t.Fatalf("first ack is not French:\n%s", ack.Text)
	}
	polSetClock(e, polMonday(t, 1, 9, 0))
	id, out := polOpen(e, "Pierre <peter@initech.example>", "Search down", "Search down again, see logs.")
	if c, _ := e.caseJSON(id); c.Language != "fr" {
		t.Errorf("short mail: language %q, want fr (remembered)", c.Language)
	}
	if ack := out["peter@initech.example"]; !strings.HasPrefix(ack.Text, "Bonjour") {
		t.Errorf("second ack is not French:\n%s", ack.Text)
	}
	// A long English mail switches the contact to English.
	id, _ = polOpen(e, "Peter <peter@initech.example>", "Another thing",
		"Hello,\n\nThe autocomplete suggestions are empty for every query since yesterday evening, could you please have a look?\n\nThanks,\nPeter")
	if c, _ := e.caseJSON(id); c.Language != "en" {
		t.Errorf("long English mail: language %q, want en", c.Language)
	}
}

// TestPolicyLifeTranscript runs one case's whole life through the daemon's
// wiring (source, desk, scheduler, outbox) with the injected clock: opened,
// warned, answered, reminded twice, closed. It logs every mail each party
// received.
func TestPolicyLifeTranscript(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	n := 0
	wait := func(more int, what string) []sent {
		t.Helper()
		n += more
		got := e.waitSent(n)
		return got[n-more:]
	}
	e.deliverAt(mail("Alice <alice@acme.example>", "Search returns nothing",
		"Hello,\n\nEngine: acme-search\nSeverity: 1\nEnvironment: production\n\nEvery query returns no results since 08:40.\n\nAlice"), e.clock.Now())
	opened := wait(2, "ack and notification")
	id := e.result(1).Case

	polSetClock(e, polMonday(t, 0, 12, 0))
	wait(1, "first-response warning")

	polSetClock(e, polMonday(t, 0, 12, 30))
	var notify sent
	for _, s := range opened {
		if slices.Contains(s.To, notifyAddr) {
			notify = s
		}
	}
	e.deliverAt(secReply("Dana <dana@example.com>", notify, "Re: ["+string(id)+"] Search returns nothing",
		"Hello Alice,\n\nThe index alias points to an empty index. Can you confirm nobody ran a reindex at 08:40?\n\nDana"), e.clock.Now())
	wait(1, "the answer relayed")

	polSetClock(e, polMonday(t, 2, 12, 35))
	wait(1, "first reminder")
	polSetClock(e, polMonday(t, 4, 12, 40))
	wait(1, "second reminder")
	polSetClock(e, polMonday(t, 8, 12, 45))
	wait(2, "closing notices")
	time.Sleep(300 * time.Millisecond) // nothing more comes
	all := e.sentAll()
	if len(all) != n {
		t.Errorf("%d mails sent, want %d", len(all), n)
	}
	c, _ := e.caseJSON(id)
	if c.State != intake.StateClosed || !c.AutoClosed || c.ContactAttempts != 3 || !c.SLAWarned || c.SLABreached ||
		c.FirstResponseMet == nil || !*c.FirstResponseMet {
		t.Errorf("%s: state %s auto %v attempts %d warned %v breached %v met %v", id, c.State, c.AutoClosed,
			c.ContactAttempts, c.SLAWarned, c.SLABreached, c.FirstResponseMet)
	}
	toAlice := sentTo(all, "alice@acme.example")
	if len(toAlice) != 5 { // ack, answer, 2 reminders, closing notice
		t.Errorf("alice received %d mails, want 5", len(toAlice))
	}
	var b strings.Builder
	for _, party := range []string{"alice@acme.example", notifyAddr} {
		fmt.Fprintf(&b, "\n=== %s received %d mails", party, len(sentTo(all, party)))
		for _, s := range sentTo(all, party) {
			fmt.Fprintf(&b, "\n--- %s  to %s  Subject: %s  [Auto-Submitted: %s]", s.Header.Get("Date"), strings.Join(s.To, ","),
				s.Subject, s.Header.Get("Auto-Submitted"))
			lines := strings.Split(strings.TrimSpace(s.Text), "\n")
			kept := 0
			for _, l := range lines {
				if strings.TrimSpace(l) == "" {
					continue
				}
				b.WriteString("\n      " + l)
				if kept++; kept == 4 {
					break
				}
			}
		}
	}
	t.Logf("life of %s:%s", id, b.String())
}

// TestTimersAndIntakeQueueInOrder: intake and the case timers commit from
// goroutines of their own. The outbox is handed each commit's mail in the
// order the store queued it, even while one hand-over is slow, so that it
// never learns of a case's later mail before an earlier one.
func TestTimersAndIntakeQueueInOrder(t *testing.T) {
	var (
		mu      sync.Mutex
		ids     []uint64 // as handed over
		stall   atomic.Bool
		stalled = make(chan struct{}, 1)
		gate    = make(chan struct{})
	)
	e := newEnv(t, envOptions{NoScheduler: true, Queued: func(ms []*intake.Outgoing) {
		if stall.CompareAndSwap(true, false) {
			stalled <- struct{}{}
			<-gate
		}
		mu.Lock()
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		mu.Unlock()
	}})
	e.waitReady()
	polSetClock(e, polMonday(t, 0, 9, 0))
	a, _ := polOpen(e, "Alice <alice@acme.example>", "Search down", "Engine: acme-search\nSeverity: 1\nSearch is down in production.")
	polSetClock(e, polMonday(t, 0, 12, 0)) // a's first-response warning is due

	stall.Store(true) // the next hand-over waits at the gate
	e.deliverAt(mail("Peter <peter@initech.example>", "Indexing down", "Indexing is down."), e.clock.Now())
	select {
	case <-stalled: // intake committed Peter's case; its hand-over waits
	case <-time.After(waitLimit):
		t.Fatal("intake did not commit the second mail")
	}
	type tick struct {
		rs  []intake.Result
		err error
	}
	ticked := make(chan tick, 1)
	go func() {
		rs, err := e.desk.Tick()
		ticked <- tick{rs, err}
	}()
	time.Sleep(200 * time.Millisecond) // time enough for the timers to commit, were they free to
	close(gate)
	var tk tick
	select {
	case tk = <-ticked:
	case <-time.After(waitLimit):
		t.Fatal("the timers did not finish")
	}
	must(t, tk.err)
	if got, want := purposes(tk.rs), []string{string(a) + " sla_warning→" + notifyAddr}; !slices.Equal(got, want) {
		t.Fatalf("timers sent %v, want %v", got, want)
	}
	e.result(2)
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 5 || !slices.IsSorted(ids) {
		t.Errorf("queued mail handed to the outbox in the order %v, want 5 in queue order", ids)
	}
}
