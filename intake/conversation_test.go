package intake_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"mime"
	"slices"
	"strings"
	"testing"
	"time"

	"casemail/intake"
)

const (
	alice = "Alice <alice@acme.example>"
	dana  = "Dana <dana@example.com>"
)

// step delivers one mail, waits until it is processed and everything it
// queued is delivered, and returns its result and the mail sent because of it.
func (e *env) step(raw string) (intake.Result, []sent) {
	e.t.Helper()
	n := e.resultCount()
	before := len(e.smtp.Received())
	e.deliver(raw)
	r := e.result(n + 1)
	all := e.sentAll()
	return r, all[before:]
}

// opened is a case alice opened, with the mail it caused.
type opened struct {
	id     intake.CaseID
	raw    string // alice's mail
	ack    sent   // to alice
	notify sent   // to the agents
}

// openCase makes alice open a case about acme-search.
func (e *env) openCase(subject string) opened {
	e.t.Helper()
	raw := mail(alice, subject, "Hello,\n\nEngine: acme-search\nSeverity: high\n\n"+subject+" since this morning.\n\nAlice")
	r, out := e.step(raw)
	wantOutcome(e.t, r, intake.OutcomeCaseCreated)
	o := opened{id: r.Case, raw: raw}
	for _, s := range out {
		switch {
		case slices.Contains(s.To, "alice@acme.example"):
			o.ack = s
		case slices.Contains(s.To, notifyAddr):
			o.notify = s
		}
	}
	if o.ack.MessageID == "" || o.notify.MessageID == "" {
		e.t.Fatalf("opening %s sent %v, want an ack and a notification", r.Case, out)
	}
	return o
}

// quote quotes text the way mail clients do.
func quote(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + l
	}
	return strings.Join(lines, "\n")
}

// replyTo builds a reply to s: subject, threading headers, quoted text.
func replyTo(from string, s sent, subject, text string, hdrs ...string) string {
	refs := strings.Join(append(slices.Clone(s.References), s.MessageID), " ")
	hdrs = append([]string{"In-Reply-To: " + s.MessageID, "References: " + refs}, hdrs...)
	body := text + "\n\nOn Mon, 23 Nov 2026 at 10:05, Acme Support <support@example.com> wrote:\n" + quote(s.Text)
	return mail(from, subject, body, hdrs...)
}

// encodeSubject makes a header-safe subject (RFC 2047 for non-ASCII).
func encodeSubject(s string) string {
	for _, r := range s {
		if r > 127 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func TestCustomerReplyByTagJoinsCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	r, out := e.step(replyTo(alice, o.ack, "Re: [CASE-1000] Index stuck", "It is still stuck after a restart."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != o.id {
		t.Fatalf("joined %s, want %s", r.Case, o.id)
	}
	c, _ := e.caseJSON(o.id)
	last := c.Messages[len(c.Messages)-1]
	if last.Direction != intake.In || last.Kind != intake.KindCustomer || last.Text != "It is still stuck after a restart." {
		t.Errorf("last message %+v, want the customer's new text only", last)
	}
	if c.State != intake.StateOpen {
		t.Errorf("state %s, want open", c.State)
	}
	if len(out) != 1 || out[0].To[0] != notifyAddr {
		t.Fatalf("sent %v, want one notification to the agents", out)
	}
	n := out[0]
	wantThreaded(t, n, o.id, true)
	wantContains(t, "notification", n.Text, "New reply from alice@acme.example on case CASE-1000", "It is still stuck after a restart.")
	wantNotContains(t, "notification", n.Text, "Thank you for contacting support")
	if got := n.Header.Get("Reply-To"); !strings.Contains(got, supportAddr) {
		t.Errorf("Reply-To %q", got)
	}
}

func TestCustomerReplyByReferencesOnlyJoinsCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	r, out := e.step(replyTo(alice, o.ack, "A different question", "And how do I reindex?"))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != o.id {
		t.Fatalf("joined %q, want %s (by References)", r.Case, o.id)
	}
	if len(e.cases()) != 1 {
		t.Errorf("a new case was opened")
	}
	if len(out) != 1 || out[0].To[0] != notifyAddr {
		t.Fatalf("sent %v, want one notification", out)
	}
	// In-Reply-To only, no References.
	raw := mail(alice, "Yet another subject", "One more thing.", "In-Reply-To: "+o.ack.MessageID)
	r, _ = e.step(raw)
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != o.id {
		t.Errorf("joined %q by In-Reply-To, want %s", r.Case, o.id)
	}
}

func TestTagWinsOverReferences(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.openCase("First problem")
	b := e.openCase("Second problem")
	r, _ := e.step(replyTo(alice, a.ack, "Re: ["+string(b.id)+"] Second problem", "About the second one."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if r.Case != b.id {
		t.Errorf("joined %s, want %s named by the tag", r.Case, b.id)
	}
}

func TestReplyPrefixesEndToEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	prefixes := []string{"RE :", "AW:", "TR:", "回复:", "Fwd: Re:", "SV:", "Re[2]:", "RE: AW:"}
	for i, p := range prefixes {
		subject := p + " [CASE-1000] Index stuck"
		// No threading headers: only the tag can join it.
		r, _ := e.step(mail(alice, encodeSubject(subject), "Reply number "+string(rune('A'+i))+"."))
		if r.Outcome != intake.OutcomeFollowUp || r.Case != o.id {
			t.Errorf("subject %q: %s %s (%s), want follow_up on %s", subject, r.Outcome, r.Case, r.Reason, o.id)
		}
	}
	if n := len(e.cases()); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
	c, _ := e.caseJSON(o.id)
	if got, want := c.MessageCount, 2+len(prefixes); got != want || len(c.Messages) != want {
		t.Errorf("message_count %d (%d stored), want %d", got, len(c.Messages), want)
	}
}

func TestHijackAttemptsAreRefused(t *testing.T) {
	e := newEnv(t, envOptions{AutoReplyLimit: 100})
	o := e.openCase("Index stuck")
	before, _ := e.caseJSON(o.id)

	attempts := []struct {
		name, from, raw string
	}{
		{"contact of another account quoting the tag", "bob@globex.example",
			mail("Bob <bob@globex.example>", "Re: [CASE-1000] Index stuck", "#close\nPlease close this, I am from Acme.")},
		{"stranger with References to a case mail", "mallory@unknown.example",
			replyTo("Mallory <mallory@unknown.example>", o.ack, "Re: Index stuck", "Please send me the logs.")},
		{"forwarded mail from a stranger carrying the tag", "eve@unknown.example",
			mail("Eve <eve@unknown.example>", "Fwd: [CASE-1000] Index stuck",
				"FYI\n\n---------- Forwarded message ---------\nFrom: Acme Support <support@example.com>\nSubject: [CASE-1000] Index stuck\n\n"+o.ack.Text)},
		{"agent-looking display name with a stranger address", "intruder@evil.example",
			replyTo("Dana <intruder@evil.example>", o.notify, "Re: [CASE-1000] Index stuck",
				"#resolve\nWe fixed it, please send your password to intruder@evil.example.")},
		{"agent address as display name", "intruder2@evil.example",
			mail("\"dana@example.com\" <intruder2@evil.example>", "Re: [CASE-1000] Index stuck", "#severity 1\nEscalating.")},
	}
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			r, out := e.step(a.raw)
			if r.Outcome != intake.OutcomeRefused {
				t.Errorf("outcome %s (%s), want refused", r.Outcome, r.Reason)
			}
			if r.Case != "" {
				t.Errorf("result names case %s", r.Case)
			}
			if len(out) != 1 || !slices.Equal(out[0].To, []string{a.from}) {
				t.Fatalf("sent %v, want one refusal to %s", out, a.from)
			}
			wantFromSupport(t, out[0])
			wantAuto(t, out[0], true)
			wantContains(t, "refusal", out[0].Text, "not\nregistered as a technical contact of the account that case belongs to")
			wantNotContains(t, "refusal", out[0].Text, "alice", "admin@acme.example", "Index stuck since")
			after, _ := e.caseJSON(o.id)
			if after.State != before.State || after.Severity != before.Severity ||
				len(after.Messages) != len(before.Messages) || after.MessageCount != before.MessageCount ||
				!after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("case changed: state %s→%s severity %d→%d messages %d→%d",
					before.State, after.State, before.Severity, after.Severity, len(before.Messages), len(after.Messages))
			}
		})
	}
	if n := len(e.cases()); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
	if got := sentTo(e.sentAll(), "alice@acme.example"); len(got) != 1 {
		t.Errorf("alice received %v, want only her ack", got)
	}
}

func TestReplyToResolvedCaseReopens(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	r, _ := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#resolve\nWe restarted the indexer; it should be fine now."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if c, _ := e.caseJSON(o.id); c.State != intake.StateResolved {
		t.Fatalf("state %s after #resolve, want resolved", c.State)
	}
	r, out := e.step(mail(alice, "Re: [CASE-1000] Index stuck", "It is stuck again."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	c, _ := e.caseJSON(o.id)
	if c.State != intake.StateOpen {
		t.Errorf("state %s, want open (a resolved case reopens)", c.State)
	}
	if len(e.cases()) != 1 {
		t.Errorf("a new case was opened")
	}
	if len(out) != 1 || out[0].To[0] != notifyAddr {
		t.Errorf("sent %v, want the notification", out)
	}
}

func TestReplyToClosedCaseOpensRelatedCase(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	r, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#note\n#close\nClosing, customer confirmed by phone."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if len(out) != 0 {
		t.Errorf("#note #close sent %v", out)
	}
	old, _ := e.caseJSON(o.id)
	if old.State != intake.StateClosed {
		t.Fatalf("state %s, want closed", old.State)
	}
	r, out = e.step(replyTo(alice, o.ack, "Re: [CASE-1000] Index stuck", "The problem is back."))
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.Case != "CASE-1001" {
		t.Fatalf("case %s, want a new CASE-1001", r.Case)
	}
	c, _ := e.caseJSON(r.Case)
	if !slices.Equal(c.Related, []intake.CaseID{o.id}) {
		t.Errorf("related %v, want [%s]", c.Related, o.id)
	}
	if c.Account != "admin@acme.example" || c.State != intake.StateOpen {
		t.Errorf("new case %s/%s", c.Account, c.State)
	}
	acks := sentTo(out, "alice@acme.example")
	if len(acks) != 1 {
		t.Fatalf("sent %v, want an ack to alice", out)
	}
	wantThreaded(t, acks[0], r.Case, true)
	wantContains(t, "ack", acks[0].Text, "This case follows case CASE-1000, which was closed")
	if strings.Contains(acks[0].Subject, "[CASE-1000]") {
		t.Errorf("ack subject %q names the old case", acks[0].Subject)
	}
	after, _ := e.caseJSON(o.id)
	if after.State != intake.StateClosed || len(after.Messages) != len(old.Messages) {
		t.Errorf("old case changed: %s, %d messages (was %d)", after.State, len(after.Messages), len(old.Messages))
	}
	// The next reply to the new ack joins the new case.
	r, _ = e.step(replyTo(alice, acks[0], "Re: "+acks[0].Subject, "More details."))
	if r.Case != "CASE-1001" || r.Outcome != intake.OutcomeFollowUp {
		t.Errorf("reply to the new ack: %s %s", r.Outcome, r.Case)
	}
}

func TestAgentReplyRelaysOnlyNewText(t *testing.T) {
	for _, style := range []string{"gmail", "outlook"} {
		t.Run(style, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			o := e.openCase("Index stuck")
			if !strings.Contains(o.notify.Text, "First response due") {
				t.Fatalf("notification lacks the due time:\n%s", o.notify.Text)
			}
			newText := "Hello Alice,\n\nWe restarted the indexer. Can you check?\n\nDana"
			var raw string
			if style == "gmail" {
				raw = replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", newText)
			} else {
				refs := strings.Join(append(slices.Clone(o.notify.References), o.notify.MessageID), " ")
				raw = mail(dana, "RE: [CASE-1000] Index stuck", newText+"\n\n"+
					"________________________________\n"+
					"From: Acme Support <support@example.com>\n"+
					"Sent: Monday, November 23, 2026 10:01 AM\n"+
					"To: support-team@example.com\n"+
					"Subject: [CASE-1000] Index stuck\n\n"+o.notify.Text,
					"In-Reply-To: "+o.notify.MessageID, "References: "+refs, "Thread-Topic: Index stuck")
			}
			r, out := e.step(raw)
			wantOutcome(t, r, intake.OutcomeFollowUp)
			if len(out) != 1 || !slices.Equal(out[0].To, []string{"alice@acme.example"}) {
				t.Fatalf("sent %v, want one relay to alice", out)
			}
			s := out[0]
			if s.From.Name != "Dana via Acme Support" || s.From.Addr != supportAddr {
				t.Errorf("From %q <%s>, want \"Dana via Acme Support\" <%s>", s.From.Name, s.From.Addr, supportAddr)
			}
			wantThreaded(t, s, o.id, false)
			// Threaded to what alice has: her mail or the ack.
			mine := []string{msgIDOf(o.raw), o.ack.MessageID}
			if len(s.InReplyTo) != 1 || !slices.Contains(mine, s.InReplyTo[0]) {
				t.Errorf("In-Reply-To %v, want one of %v", s.InReplyTo, mine)
			}
			if !slices.Contains(s.References, msgIDOf(o.raw)) {
				t.Errorf("References %v lack alice's mail %s", s.References, msgIDOf(o.raw))
			}
			if s.Subject != "Re: [CASE-1000] Index stuck" {
				t.Errorf("subject %q", s.Subject)
			}
			wantContains(t, "relay", s.Text, "We restarted the indexer. Can you check?")
			wantNotContains(t, "relay", s.Text, "First response due", "New case CASE-1000", "Reply to this mail",
				"support-team@example.com", "#note", "> ", "Sent: Monday")
			c, _ := e.caseJSON(o.id)
			if c.State != intake.StateWaiting {
				t.Errorf("state %s, want waiting", c.State)
			}
			if c.FirstResponseAt == nil {
				t.Errorf("first_response_at not set by the first agent answer")
			}
			last := c.Messages[len(c.Messages)-1]
			if last.Direction != intake.Out || last.Kind != intake.KindAgent || last.MessageID != s.MessageID {
				t.Errorf("last message %+v, want the relayed answer", last)
			}
			wantNotContains(t, "stored answer", last.Text, "First response due")
		})
	}
}

func TestAgentAttachmentsRelayed(t *testing.T) {
	e := newEnv(t, envOptions{})
	o := e.openCase("Index stuck")
	patch := []byte("--- a/indexer.conf\n+++ b/indexer.conf\n@@\n-workers = 1\n+workers = 4\n\x00\xff")
	sum := sha256.Sum256(patch)
	raw := "From: " + dana + "\r\nTo: support@example.com\r\nSubject: Re: [CASE-1000] Index stuck\r\n" +
		"Message-ID: " + newMsgID() + "\r\nIn-Reply-To: " + o.notify.MessageID + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease apply the attached patch.\r\n" +
		"--b\r\nContent-Type: text/x-diff; name=\"fix.patch\"\r\nContent-Disposition: attachment; filename=\"fix.patch\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString(patch) + "\r\n--b--\r\n"
	r, out := e.step(raw)
	wantOutcome(t, r, intake.OutcomeFollowUp)
	if len(out) != 1 || out[0].To[0] != "alice@acme.example" {
		t.Fatalf("sent %v, want the relay to alice", out)
	}
	atts := out[0].Attachments
	if len(atts) != 1 {
		t.Fatalf("relayed attachments %+v, want one", atts)
	}
	if atts[0].Name != "fix.patch" || atts[0].SHA256 != hex.EncodeToString(sum[:]) || atts[0].Size != int64(len(patch)) {
		t.Errorf("relayed %s (%d bytes, %s), want fix.patch (%d bytes, %x)", atts[0].Name, atts[0].Size, atts[0].SHA256, len(patch), sum)
	}
	wantContains(t, "relay", out[0].Text, "Please apply the attached patch.")
}

func TestAgentCommands(t *testing.T) {
	t.Run("note", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		o := e.openCase("Index stuck")
		r, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#note\nRoot cause: a stuck indexing worker."))
		wantOutcome(t, r, intake.OutcomeFollowUp)
		if len(out) != 0 {
			t.Errorf("#note sent %v", out)
		}
		c, _ := e.caseJSON(o.id)
		last := c.Messages[len(c.Messages)-1]
		if last.Kind != intake.KindNote || last.Text != "Root cause: a stuck indexing worker." || last.From != agentAddr {
			t.Errorf("last message %+v, want the note", last)
		}
		if c.State != intake.StateOpen {
			t.Errorf("state %s, want open (a note changes nothing)", c.State)
		}
	})
	for _, tc := range []struct {
		cmd  string
		want intake.State
	}{{"#resolve", intake.StateResolved}, {"#close", intake.StateClosed}, {"#waiting", intake.StateWaiting}} {
		t.Run(tc.cmd, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			o := e.openCase("Index stuck")
			r, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", tc.cmd+"\nThanks, all done on our side."))
			wantOutcome(t, r, intake.OutcomeFollowUp)
			if c, _ := e.caseJSON(o.id); c.State != tc.want {
				t.Errorf("state %s, want %s", c.State, tc.want)
			}
			want := 1
			if tc.want == intake.StateResolved {
				want = 2 // and the resolution notice with the survey
			}
			if len(out) != want || len(sentTo(out, "alice@acme.example")) != want {
				t.Fatalf("sent %v, want %d mails to alice", out, want)
			}
			wantNotContains(t, "relay", out[0].Text, tc.cmd)
			wantContains(t, "relay", out[0].Text, "Thanks, all done on our side.")
			wantAuto(t, out[0], false)
			if want == 2 {
				wantThreaded(t, out[1], o.id, true)
				wantContains(t, "resolution notice", out[1].Text, "We have resolved case CASE-1000", "from 1 (not at all) to 5")
			}
		})
	}
	t.Run("severity on premium", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		o := e.openCase("Index stuck")
		r, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#note\n#severity 1\nProduction is down, escalating."))
		wantOutcome(t, r, intake.OutcomeFollowUp)
		if len(out) != 0 {
			t.Errorf("sent %v", out)
		}
		if c, _ := e.caseJSON(o.id); c.Severity != 1 {
			t.Errorf("severity %d, want 1", c.Severity)
		}
	})
	t.Run("severity not allowed on standard", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		r, out := e.step(mail("Bob <bob@globex.example>", "Search down", "Engine: globex-prod\nAll queries fail."))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		id := r.Case
		notify := sentTo(out, notifyAddr)[0]
		before, _ := e.caseJSON(id)
		r, out = e.step(replyTo(dana, notify, "Re: ["+string(id)+"] Search down", "#severity 1\nWe are on it."))
		if len(out) != 1 || !slices.Equal(out[0].To, []string{agentAddr}) {
			t.Fatalf("sent %v, want one mail to the agent", out)
		}
		wantContains(t, "agent error", out[0].Text, "severity 1 is not allowed", "Nothing was sent to the customer")
		wantThreaded(t, out[0], id, true)
		after, _ := e.caseJSON(id)
		if after.Severity != 3 || after.State != before.State || len(after.Messages) != len(before.Messages) {
			t.Errorf("case changed: severity %d state %s messages %d→%d", after.Severity, after.State,
				len(before.Messages), len(after.Messages))
		}
		if got := sentTo(e.sentAll(), "bob@globex.example"); len(got) != 1 {
			t.Errorf("bob received %v, want only his ack", got)
		}
	})
	t.Run("unknown command", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		o := e.openCase("Index stuck")
		before, _ := e.caseJSON(o.id)
		r, out := e.step(replyTo(dana, o.notify, "Re: [CASE-1000] Index stuck", "#escalate\nPlease look at this, Alice."))
		wantOutcome(t, r, intake.OutcomeFollowUp)
		if len(out) != 1 || !slices.Equal(out[0].To, []string{agentAddr}) {
			t.Fatalf("sent %v, want the agent_help mail to the agent only", out)
		}
		wantContains(t, "agent help", out[0].Text, "#escalate", "#note", "#resolve", "#severity N", "nothing was sent to the customer")
		after, _ := e.caseJSON(o.id)
		if after.State != before.State || len(after.Messages) != len(before.Messages) {
			t.Errorf("case changed: %s, %d→%d messages", after.State, len(before.Messages), len(after.Messages))
		}
	})
}

// dsn builds a delivery status notification about msgID. how is
// "rfc822-headers", "rfc822" or "envelope-id".
func dsn(msgID, how string) string {
	var returned string
	switch how {
	case "rfc822-headers":
		returned = "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
			"From: Acme Support <support@example.com>\r\nTo: alice@acme.example\r\n" +
			"Subject: [CASE-1000] Index stuck\r\nMessage-ID: " + msgID + "\r\n\r\n"
	case "rfc822":
		returned = "--dsn\r\nContent-Type: message/rfc822\r\n\r\n" +
			"From: Acme Support <support@example.com>\r\nTo: alice@acme.example\r\n" +
			"Subject: [CASE-1000] Index stuck\r\nMessage-ID: " + msgID + "\r\n\r\nHello,\r\n\r\n"
	}
	envID := ""
	if how == "envelope-id" {
		envID = "Original-Envelope-Id: " + strings.Trim(msgID, "<>") + "\r\n"
	}
	return "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n" +
		"To: support@example.com\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Message-ID: " + newMsgID() + "\r\nAuto-Submitted: auto-replied\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"dsn\"\r\n\r\n" +
		"--dsn\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n" +
		"--dsn\r\nContent-Type: message/delivery-status\r\n\r\n" +
		"Reporting-MTA: dns; mx.acme.example\r\n" + envID + "\r\n" +
		"Final-Recipient: rfc822; alice@acme.example\r\nAction: failed\r\nStatus: 5.2.2\r\n" +
		"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n" +
		returned + "--dsn--\r\n"
}

func TestDeliveryReportNotesCase(t *testing.T) {
	for _, how := range []string{"rfc822-headers", "rfc822", "envelope-id"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			o := e.openCase("Index stuck")
			before, _ := e.caseJSON(o.id)
			r, out := e.step(dsn(o.ack.MessageID, how))
			wantOutcome(t, r, intake.OutcomeSuppressed)
			if r.Case != o.id {
				t.Errorf("report attached to %q, want %s (%s)", r.Case, o.id, r.Reason)
			}
			if len(out) != 0 {
				t.Errorf("sent %v, want nothing", out)
			}
			if n := len(e.cases()); n != 1 {
				t.Errorf("%d cases, want 1", n)
			}
			c, _ := e.caseJSON(o.id)
			if len(c.Messages) != len(before.Messages)+1 {
				t.Fatalf("%d messages, want %d", len(c.Messages), len(before.Messages)+1)
			}
			last := c.Messages[len(c.Messages)-1]
			if last.Kind != intake.KindSystem || last.Direction != intake.In {
				t.Errorf("last message %s/%s, want in/system", last.Direction, last.Kind)
			}
			wantContains(t, "system note", last.Text, "Delivery of "+o.ack.MessageID+" failed", "alice@acme.example", "5.2.2")
			if c.State != before.State {
				t.Errorf("state %s, want %s", c.State, before.State)
			}
		})
	}
}

func TestBounceAboutUnknownMessageCreatesNothing(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, how := range []string{"rfc822-headers", "envelope-id"} {
		r, out := e.step(dsn("<unknown-1234@elsewhere.example>", how))
		wantOutcome(t, r, intake.OutcomeSuppressed)
		if r.Case != "" || len(out) != 0 {
			t.Errorf("%s: case %q, sent %v; want nothing", how, r.Case, out)
		}
	}
	// A forged report naming a casemail-looking ID that no case knows.
	r, out := e.step(dsn("<casemail.1.deadbeef@example.com>", "rfc822-headers"))
	wantOutcome(t, r, intake.OutcomeSuppressed)
	if r.Case != "" || len(out) != 0 {
		t.Errorf("forged: case %q, sent %v; want nothing", r.Case, out)
	}
	if n := len(e.cases()); n != 0 {
		t.Errorf("%d cases, want 0", n)
	}
}

// TestConversation runs a whole case: the customer opens it, the agent
// answers, the customer replies under another subject (References only),
// the agent notes and resolves. Every mail each party received is checked,
// then the case as `cases show -json` gives it.
func TestConversation(t *testing.T) {
	e := newEnv(t, envOptions{})
	arrival := time.Date(2027, 3, 1, 9, 30, 0, 0, pacific) // a Monday, in the future

	open := mail("Alice Frémont <alice@acme.example>", "Search returns nothing",
		"Hello,\n\nAccount: admin@acme.example\nEngine: acme-search\nSeverity: urgent\nEnvironment: production\n"+
			"Issue: every query returns 0 results since 09:00\n\nAlice")
	n0 := len(e.smtp.Received())
	e.deliverAt(open, arrival)
	r1 := e.result(1)
	wantOutcome(t, r1, intake.OutcomeCaseCreated)
	out := e.sentAll()[n0:]
	ack, notify := sentTo(out, "alice@acme.example"), sentTo(out, notifyAddr)
	if len(out) != 2 || len(ack) != 1 || len(notify) != 1 {
		t.Fatalf("opening sent %v", out)
	}
	id := r1.Case
	wantThreaded(t, ack[0], id, true)
	wantThreaded(t, notify[0], id, true)
	if ack[0].Subject != "[CASE-1000] Search returns nothing" || notify[0].Subject != "[CASE-1000] Search returns nothing" {
		t.Errorf("subjects %q, %q", ack[0].Subject, notify[0].Subject)
	}
	// premium severity 1 → 4bh: 09:30 + 4 business hours = 13:30 PST.
	wantContains(t, "ack", ack[0].Text, "case CASE-1000", "Severity:    1 (urgent)", "13:30 PST", "4 business hours")
	wantContains(t, "notification", notify[0].Text, "New case CASE-1000, severity 1", "Contact:      alice@acme.example",
		"every query returns 0 results since 09:00", "First response due")

	// The agent answers from their mail client, quoting the notification.
	r2, out := e.step(replyTo("Dana <dana@example.com>", notify[0], "Re: [CASE-1000] Search returns nothing",
		"Hi Alice,\n\nA bad deploy emptied the index; we are rebuilding it. Results should be back within the hour.\n\nDana"))
	wantOutcome(t, r2, intake.OutcomeFollowUp)
	if len(out) != 1 || !slices.Equal(out[0].To, []string{"alice@acme.example"}) {
		t.Fatalf("agent answer sent %v", out)
	}
	relay := out[0]
	wantThreaded(t, relay, id, false)
	if relay.From.Name != "Dana via Acme Support" {
		t.Errorf("relay From name %q", relay.From.Name)
	}
	wantContains(t, "relay", relay.Text, "we are rebuilding it")
	wantNotContains(t, "relay", relay.Text, "First response due", "> ")

	// The customer replies under a new subject, threading by References only.
	r3, out := e.step(replyTo(alice, relay, "Results are back", "Confirmed, results are back. Thanks!"))
	wantOutcome(t, r3, intake.OutcomeFollowUp)
	if r3.Case != id {
		t.Fatalf("reply joined %q, want %s", r3.Case, id)
	}
	if len(out) != 1 || out[0].To[0] != notifyAddr {
		t.Fatalf("customer reply sent %v", out)
	}
	wantThreaded(t, out[0], id, true)
	wantContains(t, "reply notification", out[0].Text, "Confirmed, results are back. Thanks!")
	wantNotContains(t, "reply notification", out[0].Text, "we are rebuilding it")
	if c, _ := e.caseJSON(id); c.State != intake.StateOpen {
		t.Errorf("state after the customer's reply %s, want open", c.State)
	}

	// The agent notes, then resolves.
	r4, out := e.step(replyTo(dana, out[0], "Re: [CASE-1000] Results are back", "#note\nRoot cause: deploy script wiped the index."))
	wantOutcome(t, r4, intake.OutcomeFollowUp)
	if len(out) != 0 {
		t.Errorf("#note sent %v", out)
	}
	r5, out := e.step(replyTo(dana, notify[0], "Re: [CASE-1000] Search returns nothing", "#resolve\nGlad it works again. Closing this case as resolved."))
	wantOutcome(t, r5, intake.OutcomeFollowUp)
	if len(out) != 2 || len(sentTo(out, "alice@acme.example")) != 2 {
		t.Fatalf("#resolve sent %v, want the answer and the resolution notice to alice", out)
	}
	wantNotContains(t, "resolve relay", out[0].Text, "#resolve")
	wantContains(t, "resolve relay", out[0].Text, "Glad it works again.")
	wantThreaded(t, out[1], id, true)
	wantContains(t, "resolution notice", out[1].Text, "We have resolved case CASE-1000")

	// Every party's mailbox.
	all := e.sentAll()
	for _, s := range all {
		wantFromSupport(t, s)
		if !strings.Contains(s.Subject, "[CASE-1000]") {
			t.Errorf("%v lacks the tag", s)
		}
	}
	type got struct{ to, subject string }
	var mailboxes []got
	for _, s := range all {
		mailboxes = append(mailboxes, got{strings.Join(s.To, ","), s.Subject})
	}
	want := []got{
		{"alice@acme.example", "[CASE-1000] Search returns nothing"},
		{notifyAddr, "[CASE-1000] Search returns nothing"},
		{"alice@acme.example", "Re: [CASE-1000] Search returns nothing"},
		{notifyAddr, "Re: [CASE-1000] Search returns nothing"},
		{"alice@acme.example", "Re: [CASE-1000] Search returns nothing"},
		{"alice@acme.example", "Re: [CASE-1000] Resolved: Search returns nothing"},
	}
	if !slices.Equal(mailboxes, want) {
		t.Errorf("mail sent:\n got %v\nwant %v", mailboxes, want)
	}

	c, js := e.caseJSON(id)
	t.Logf("cases show -json: %s", js)
	if c.State != intake.StateResolved || c.Severity != 1 || c.Engine != "acme-search" || c.Environment != "production" ||
		c.Nature != "every query returns 0 results since 09:00" || c.Contact != "alice@acme.example" || c.Language != "en" {
		t.Errorf("case %+v", c)
	}
	wantDue := time.Date(2027, 3, 1, 13, 30, 0, 0, pacific)
	if c.FirstResponseDue == nil || !c.FirstResponseDue.Equal(wantDue) {
		t.Errorf("first_response_due %v, want %v", c.FirstResponseDue, wantDue)
	}
	type entry struct {
		dir  intake.Direction
		kind intake.Kind
		text string
	}
	wantMsgs := []entry{
		{intake.In, intake.KindCustomer, "Severity: urgent"},
		{intake.Out, intake.KindSystem, "We have opened case CASE-1000"},
		{intake.Out, intake.KindAgent, "we are rebuilding it"},
		{intake.In, intake.KindCustomer, "Confirmed, results are back. Thanks!"},
		{intake.In, intake.KindNote, "Root cause: deploy script wiped the index."},
		{intake.Out, intake.KindAgent, "Glad it works again."},
		{intake.Out, intake.KindSystem, "How satisfied are you"},
	}
	if len(c.Messages) != len(wantMsgs) {
		var b strings.Builder
		for _, m := range c.Messages {
			b.WriteString("\n  " + string(m.Direction) + "/" + string(m.Kind) + ": " + m.Subject)
		}
		t.Fatalf("%d messages, want %d:%s", len(c.Messages), len(wantMsgs), b.String())
	}
	for i, w := range wantMsgs {
		m := c.Messages[i]
		if m.Direction != w.dir || m.Kind != w.kind || !strings.Contains(m.Text, w.text) {
			t.Errorf("message %d: %s/%s %q, want %s/%s containing %q", i, m.Direction, m.Kind, m.Text, w.dir, w.kind, w.text)
		}
		if m.MessageID == "" || m.At.IsZero() || m.To == nil || m.Attachments == nil {
			t.Errorf("message %d: incomplete %+v", i, m)
		}
	}
	if c.Messages[3].Text != "Confirmed, results are back. Thanks!" {
		t.Errorf("customer reply stored as %q, want the new text only", c.Messages[3].Text)
	}
	if c.MessageCount != len(c.Messages) {
		t.Errorf("message_count %d, %d messages", c.MessageCount, len(c.Messages))
	}
	for _, key := range []string{`"id":"CASE-1000"`, `"state":"resolved"`, `"related":[]`, `"survey_rating":null`,
		`"first_response_due":"2027-03-01T21:30:00Z"`, `"direction":"in"`, `"kind":"note"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("cases show -json lacks %s", key)
		}
	}
}
