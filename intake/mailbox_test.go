package intake_test

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"casemail/intake"
	"casemail/internal/mailtest"
	"casemail/store"
)

// settle gives a running source time to select, resume and poll a few
// times, for tests that check that nothing happens.
func settle() { time.Sleep(800 * time.Millisecond) }

func uidsOf(msgs []mailtest.StoredMessage) []imap.UID {
	out := make([]imap.UID, len(msgs))
	for i, m := range msgs {
		out[i] = m.UID
	}
	return out
}

func TestStartFromUnseen(t *testing.T) {
	e := newEnv(t, envOptions{StartFrom: intake.StartUnseen, DeferStart: true})
	read1 := e.deliver(mail("Peter <peter@initech.example>", "Old, read", "Old problem."), imap.FlagSeen)
	unread := e.deliver(mail("Alice <alice@acme.example>", "Old, unread", "Engine: acme-search\nStill a problem."))
	read2 := e.deliver(mail("Bob <bob@globex.example>", "Old, read too", "Engine: globex-prod\nOld problem."), imap.FlagSeen)
	e.start()

	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.UID != uint32(unread) {
		t.Errorf("processed uid %d, want the unread %d", r.UID, unread)
	}
	e.deliver(mail("Peter <peter@initech.example>", "New", "New problem."))
	r2 := e.result(2)
	wantOutcome(t, r2, intake.OutcomeCaseCreated)
	settle()
	if n := e.resultCount(); n != 2 {
		t.Errorf("%d mails processed, want 2: %s", n, describe(e.waitResults(n)))
	}
	all := e.sentAll()
	if len(sentTo(all, "bob@globex.example")) != 0 || len(sentTo(all, "alice@acme.example")) != 1 ||
		len(sentTo(all, "peter@initech.example")) != 1 {
		t.Errorf("sent %v, want one ack to alice (unread backlog) and one to peter (new mail), none to bob", all)
	}
	if got, want := uidsOf(e.folder("INBOX")), []imap.UID{read1, read2}; !slices.Equal(got, want) {
		t.Errorf("INBOX holds %v, want the read backlog %v left alone", got, want)
	}
	if n := len(e.folder("Processed")); n != 2 {
		t.Errorf("Processed holds %d, want 2", n)
	}
}

func TestStartFromNow(t *testing.T) {
	e := newEnv(t, envOptions{StartFrom: intake.StartNow, DeferStart: true})
	e.deliver(mail("Peter <peter@initech.example>", "Old, unread", "Old problem."))
	e.deliver(mail("Alice <alice@acme.example>", "Old, read", "Old problem."), imap.FlagSeen)
	e.start()
	e.waitReady()
	settle()
	if n := e.resultCount(); n != 0 {
		t.Fatalf("%d mails processed at a start_from = now start, want 0", n)
	}
	e.deliver(mail("Bob <bob@globex.example>", "New", "Engine: globex-prod\nNew problem."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.From != "bob@globex.example" {
		t.Errorf("processed mail from %s, want the new one from bob", r.From)
	}
	if all := e.sentAll(); len(all) != 2 || len(sentTo(all, "bob@globex.example")) != 1 {
		t.Errorf("sent %v, want bob's ack and its notification", all)
	}
	if n := len(e.folder("INBOX")); n != 2 {
		t.Errorf("INBOX holds %d, want the 2 old mails left alone", n)
	}
	// A later start resumes where the store says, not at "now" again.
	e.restart()
	e.deliver(mail("Peter <peter@initech.example>", "Newer", "Another problem."))
	wantOutcome(t, e.result(2), intake.OutcomeCaseCreated)
	settle()
	if n := e.resultCount(); n != 2 {
		t.Errorf("%d results, want 2", n)
	}
}

func TestStartFromAll(t *testing.T) {
	e := newEnv(t, envOptions{StartFrom: intake.StartAll, DeferStart: true})
	e.deliver(mail("Peter <peter@initech.example>", "Old, read", "Old problem."), imap.FlagSeen)
	e.deliver(mail("Bob <bob@globex.example>", "Old, unread", "Engine: globex-prod\nOld problem."))
	e.start()
	rs := e.waitResults(2)
	for _, r := range rs {
		wantOutcome(t, r, intake.OutcomeCaseCreated)
	}
	waitFolder(t, e, "INBOX", 0)
	waitFolder(t, e, "Processed", 2)
}

func TestProcessedFolderMoveAfterCommit(t *testing.T) {
	type seen struct {
		uid         uint32
		inInbox     bool
		inProcessed int
		caseStored  bool
		err         error
	}
	var (
		mu   sync.Mutex
		obs  []seen
		envp *env
	)
	e := newEnv(t, envOptions{DeferStart: true, Observe: func(r intake.Result) {
		// Called after the commit, before the source moves the mail.
		s := seen{uid: r.UID}
		inbox, err := envp.imap.Messages("INBOX")
		s.err = err
		for _, m := range inbox {
			if uint32(m.UID) == r.UID {
				s.inInbox = true
			}
		}
		proc, _ := envp.imap.Messages("Processed")
		s.inProcessed = len(proc)
		s.caseStored = envp.db.View(func(tx intake.Tx) error {
			c, err := tx.Case(r.Case)
			if err == nil && c == nil {
				return errNoCase
			}
			return err
		}) == nil
		mu.Lock()
		obs = append(obs, s)
		mu.Unlock()
	}})
	envp = e
	e.start()
	uid := e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	r := e.result(1)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	mu.Lock()
	s := obs[0]
	mu.Unlock()
	if s.err != nil {
		t.Fatal(s.err)
	}
	if !s.caseStored || !s.inInbox || s.inProcessed != 0 {
		t.Errorf("at commit: case stored %v, mail in INBOX %v, Processed holds %d; want true, true, 0",
			s.caseStored, s.inInbox, s.inProcessed)
	}
	waitFolder(t, e, "Processed", 1)
	if n := len(e.folder("INBOX")); n != 0 {
		t.Errorf("INBOX holds %d after the move, want 0", n)
	}
	proc := e.folder("Processed")
	if !bytes.Contains(proc[0].Raw, []byte("Subject: Crawler stuck")) {
		t.Errorf("Processed holds %q", proc[0].Raw)
	}
	// The stored position has no pending move left once settled.
	waitSettled(t, e)
	st, err := e.desk.Position("INBOX")
	must(t, err)
	if st.LastUID != uint32(uid) || len(st.Pending) != 0 {
		t.Errorf("position %+v, want last uid %d and nothing pending", st, uid)
	}
}

var errNoCase = errorString("case not stored")

type errorString string

func (e errorString) Error() string { return string(e) }

// waitFolder waits until a server folder holds n mails.
func waitFolder(t *testing.T, e *env, folder string, n int) []mailtest.StoredMessage {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		msgs := e.folder(folder)
		if len(msgs) == n {
			return msgs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d mails after %v, want %d", folder, len(msgs), waitLimit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProcessedFolderEmptyFlagsSeen(t *testing.T) {
	e := newEnv(t, envOptions{FlagOnly: true})
	uid := e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	deadline := time.Now().Add(waitLimit)
	for {
		inbox := e.folder("INBOX")
		if len(inbox) != 1 || inbox[0].UID != uid {
			t.Fatalf("INBOX holds %v, want uid %d left in place", uidsOf(inbox), uid)
		}
		if slices.Contains(inbox[0].Flags, imap.FlagSeen) {
			if slices.Contains(inbox[0].Flags, imap.FlagDeleted) {
				t.Errorf("flags %v: the mail is marked \\Deleted", inbox[0].Flags)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("flags %v, want \\Seen", inbox[0].Flags)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := e.imap.Messages("Processed"); err == nil {
		t.Errorf("a Processed folder was created with processed_folder empty")
	}
}

func TestNoMoveServerCopiesAndExpungesOnlyItsMail(t *testing.T) {
	e := newEnv(t, envOptions{IMAP: mailtest.IMAPOptions{NoMove: true}, StartFrom: intake.StartNow, DeferStart: true})
	// A mail the user marked \Deleted but did not expunge, present before
	// casemail starts: casemail never processes it and must not expunge it.
	userDeleted := e.deliver(mail("Someone <someone@example.org>", "Old", "Old."), imap.FlagDeleted, imap.FlagSeen)
	e.start()
	e.waitReady()
	e.deliver(mail("Peter <peter@initech.example>", "Crawler stuck", "It is stuck."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	waitFolder(t, e, "Processed", 1)
	waitFolder(t, e, "INBOX", 1)
	inbox := e.folder("INBOX")
	if inbox[0].UID != userDeleted {
		t.Errorf("INBOX holds uid %d, want the user's \\Deleted mail %d", inbox[0].UID, userDeleted)
	}
	proc := e.folder("Processed")
	if slices.Contains(proc[0].Flags, imap.FlagDeleted) {
		t.Errorf("the copy in Processed has flags %v", proc[0].Flags)
	}
	// Another one while the user's mail is still there.
	e.deliver(mail("Bob <bob@globex.example>", "Second", "Engine: globex-prod\nTwo."))
	wantOutcome(t, e.result(2), intake.OutcomeCaseCreated)
	waitFolder(t, e, "Processed", 2)
	settle()
	if got := uidsOf(e.folder("INBOX")); !slices.Equal(got, []imap.UID{userDeleted}) {
		t.Errorf("INBOX holds %v, want only %d", got, userDeleted)
	}
}

func TestUIDValidityChangeMakesNoDuplicates(t *testing.T) {
	e := newEnv(t, envOptions{FlagOnly: true})
	e.deliver(mail("Peter <peter@initech.example>", "One", "One."))
	e.deliver(mail("Bob <bob@globex.example>", "Two", "Engine: globex-prod\nTwo."))
	e.waitResults(2)
	sentBefore := len(e.sentAll())
	old, err := e.imap.UIDValidity("INBOX")
	must(t, err)

	must(t, e.imap.ResetUIDValidity("INBOX"))
	e.imap.DropConnections()
	rs := e.waitResults(4) // the folder is read again
	for _, r := range rs[2:] {
		wantOutcome(t, r, intake.OutcomeSuppressed)
	}
	nv, err := e.imap.UIDValidity("INBOX")
	must(t, err)
	if nv == old {
		t.Fatal("UIDVALIDITY did not change")
	}
	e.deliver(mail("Alice <alice@acme.example>", "Three", "Engine: acme-search\nThree."))
	r := e.result(5)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	if r.Case != "CASE-1002" {
		t.Errorf("case %s, want CASE-1002", r.Case)
	}
	if n := len(e.cases()); n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
	if n := len(e.sentAll()); n != sentBefore+2 {
		t.Errorf("%d mails sent, want %d", n, sentBefore+2)
	}
	st, err := e.desk.Position("INBOX")
	must(t, err)
	if st.UIDValidity != nv {
		t.Errorf("stored UIDVALIDITY %d, want %d", st.UIDValidity, nv)
	}
}

// The folder is only examined until the first move. A UIDVALIDITY that
// changed in between ends the session instead of moving by UIDs that now
// name other mail (or none); the next session reads the folder again.
func TestUIDValidityChangeBeforeFirstMove(t *testing.T) {
	var e *env
	var once sync.Once
	e = newEnv(t, envOptions{DeferStart: true, Observe: func(intake.Result) {
		// Called after the commit, before the moves.
		once.Do(func() {
			if err := e.imap.ResetUIDValidity("INBOX"); err != nil {
				t.Error(err)
			}
		})
	}})
	e.deliver(mail("Peter <peter@initech.example>", "One", "One."))
	e.deliver(mail("Bob <bob@globex.example>", "Two", "Engine: globex-prod\nTwo."))
	e.start()
	rs := e.waitResults(4)
	for i, want := range []intake.Outcome{intake.OutcomeCaseCreated, intake.OutcomeCaseCreated,
		intake.OutcomeSuppressed, intake.OutcomeSuppressed} {
		wantOutcome(t, rs[i], want)
	}
	waitFolder(t, e, "Processed", 2)
	waitFolder(t, e, "INBOX", 0)
	if n := len(e.cases()); n != 2 {
		t.Errorf("%d cases, want 2", n)
	}
}

// waitSettled waits until the stored position of INBOX has no move left
// to make on the server.
func waitSettled(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		st, err := e.desk.Position("INBOX")
		must(t, err)
		if st != nil && len(st.Pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("moves still pending after %v: %+v", waitLimit, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestIMAPDropReconnects(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.deliver(mail("Peter <peter@initech.example>", "One", "One."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	// Drop once the move is settled: a drop during the MOVE is
	// TestPendingMoveOfVanishedMailDoesNotBlock.
	waitFolder(t, e, "Processed", 1)
	waitSettled(t, e)
	conns := e.imap.Connections()
	e.imap.DropConnections()
	e.deliver(mail("Bob <bob@globex.example>", "Two", "Engine: globex-prod\nTwo."))
	wantOutcome(t, e.result(2), intake.OutcomeCaseCreated)
	if e.imap.Connections() <= conns {
		t.Errorf("connections %d, want a new one after the drop (was %d)", e.imap.Connections(), conns)
	}
	// And once more, while idle.
	time.Sleep(300 * time.Millisecond)
	e.imap.DropConnections()
	time.Sleep(100 * time.Millisecond)
	e.deliver(mail("Alice <alice@acme.example>", "Three", "Engine: acme-search\nThree."))
	wantOutcome(t, e.result(3), intake.OutcomeCaseCreated)
	if n := len(e.cases()); n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
	waitFolder(t, e, "Processed", 3)
}

func TestGarbageIsRejectedAndQuarantined(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Binary garbage without a header. (imapmemserver serves an empty body
	// for a message whose header does not parse, so the source gets nothing
	// usable: it must still be rejected and quarantined.)
	garbage := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe\x7f\x1b\x80\r\n\r\n\x00\xc3\x28"
	// A header the server can read, then binary garbage, and no sender.
	binaryBody := "X-Mailer: broken\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\x02\xff\xfe\x00\x80\x81\x00"
	headerOnly := "X-Nothing: at all\r\n\r\n"
	e.deliver(garbage)
	e.deliver(binaryBody)
	e.deliver(headerOnly)
	e.deliver(mail("Peter <peter@initech.example>", "After the garbage", "A real problem."))
	rs := e.waitResults(4)
	for i, r := range rs[:3] {
		if r.Outcome != intake.OutcomeRejected {
			t.Errorf("mail %d: outcome %s (%s), want rejected", i+1, r.Outcome, r.Reason)
		}
		if len(r.Sent) != 0 {
			t.Errorf("mail %d: queued %d mails", i+1, len(r.Sent))
		}
	}
	wantOutcome(t, rs[3], intake.OutcomeCaseCreated)
	q := waitFolder(t, e, "Quarantine", 3)
	if string(q[1].Raw) != binaryBody {
		t.Errorf("quarantined raw %q, want the mail kept as is %q", q[1].Raw, binaryBody)
	}
	waitFolder(t, e, "Processed", 1)
	waitFolder(t, e, "INBOX", 0)
	if all := e.sentAll(); len(all) != 2 {
		t.Errorf("sent %v, want only the real mail's ack and notification", all)
	}
	if n := len(e.cases()); n != 1 {
		t.Errorf("%d cases, want 1", n)
	}
}

// TestPendingMoveOfVanishedMailDoesNotBlock: casemail moved a mail to
// Processed but stopped (crash, or the connection dropped during the MOVE)
// before it recorded the move as settled. At the next session the pending
// move names a UID that is no longer in INBOX. That must not keep casemail
// from reading new mail. (Found by TestIMAPDropReconnects when the drop
// fell during the MOVE; fixed in 39ad489.)
func TestPendingMoveOfVanishedMailDoesNotBlock(t *testing.T) {
	e := newEnv(t, envOptions{})
	uid := e.deliver(mail("Peter <peter@initech.example>", "One", "One."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	waitFolder(t, e, "Processed", 1)
	waitSettled(t, e)
	e.stop()

	// The state a crash between the MOVE and the Settled commit leaves.
	db, err := store.Open(e.dbPath, nil)
	must(t, err)
	must(t, db.Update(func(tx intake.Tx) error {
		st, err := tx.Mailbox("INBOX")
		if err != nil {
			return err
		}
		st.Pending = append(st.Pending, intake.PendingMove{UID: uint32(uid), To: "Processed"})
		return tx.PutMailbox("INBOX", st)
	}))
	must(t, db.Close())

	e.start()
	e.deliver(mail("Bob <bob@globex.example>", "Two", "Engine: globex-prod\nTwo."))
	wantOutcome(t, e.result(2), intake.OutcomeCaseCreated)
	waitSettled(t, e)
}

func TestServerWithoutIdlePolls(t *testing.T) {
	e := newEnv(t, envOptions{IMAP: mailtest.IMAPOptions{NoIdle: true}})
	e.waitReady()
	e.deliver(mail("Peter <peter@initech.example>", "One", "One."))
	wantOutcome(t, e.result(1), intake.OutcomeCaseCreated)
	e.deliver(mail("Bob <bob@globex.example>", "Two", "Engine: globex-prod\nTwo."))
	wantOutcome(t, e.result(2), intake.OutcomeCaseCreated)
	waitFolder(t, e, "Processed", 2)
}
