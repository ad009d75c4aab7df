package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"casemail/intake"
	"casemail/store"
)

// MustOpen opens a fresh store in a temporary directory, closed at the end
// of the test.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	return MustOpenPath(tb, filepath.Join(tb.TempDir(), "casemail.db"), nil)
}

// MustOpenPath opens the store at path, closed at the end of the test.
func MustOpenPath(tb testing.TB, path string, opts *store.Options) *store.DB {
	tb.Helper()
	db, err := store.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// update runs fn in a write transaction or fails the test.
func update(tb testing.TB, db *store.DB, fn func(intake.Tx) error) {
	tb.Helper()
	if err := db.Update(fn); err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

// view runs fn in a read transaction or fails the test.
func view(tb testing.TB, db *store.DB, fn func(intake.Tx) error) {
	tb.Helper()
	if err := db.View(fn); err != nil {
		tb.Fatalf("View: %v", err)
	}
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func sampleCase(id intake.CaseID) *intake.Case {
	due := t0.Add(4 * time.Hour)
	rating := 4
	return &intake.Case{
		ID: id, State: intake.StateOpen, Account: "admin@acme.example", Engine: "acme-search",
		Severity: 2, Nature: "indexing is stuck", Environment: "production",
		Contact: "alice@acme.example", Language: "fr", CreatedAt: t0,
		FirstResponseDue: &due, Related: []intake.CaseID{"CASE-998"}, SurveyRating: &rating,
		Subject: "Index bloqué", UpdatedAt: t0, MessageCount: 1,
		LastMessageID: "<m1@acme.example>", References: []string{"<m1@acme.example>"},
	}
}

func sampleMessage(text string) *intake.Message {
	return &intake.Message{
		Direction: intake.In, Kind: intake.KindCustomer, From: "alice@acme.example",
		To: []string{"support@example.com"}, Subject: "help", Text: text,
		MessageID: "<" + text + "@acme.example>", At: t0,
		Attachments: []intake.Attachment{{Name: "log.txt", Size: 12, SHA256: "abc"}},
	}
}

func nextNumber(tb testing.TB, db *store.DB) uint64 {
	tb.Helper()
	var n uint64
	update(tb, db, func(tx intake.Tx) (err error) { n, err = tx.NextCaseNumber(); return err })
	return n
}

func TestCaseNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casemail.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for want := uint64(intake.FirstCaseNumber); want < intake.FirstCaseNumber+3; want++ {
		if got := nextNumber(t, db); got != want {
			t.Errorf("NextCaseNumber() = %d, want %d", got, want)
		}
	}
	if intake.FirstCaseNumber != 1000 {
		t.Errorf("FirstCaseNumber = %d, want 1000", intake.FirstCaseNumber)
	}
	// A number taken in a transaction that rolls back may be reused: it was
	// never handed out.
	errRollback := errors.New("rollback")
	err = db.Update(func(tx intake.Tx) error {
		if _, err := tx.NextCaseNumber(); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update error = %v", err)
	}
	db.Close()

	// Reopened, numbering goes on: never reused.
	db = MustOpenPath(t, path, nil)
	if got := nextNumber(t, db); got != 1003 {
		t.Errorf("after reopen NextCaseNumber() = %d, want 1003", got)
	}
	// Several in one transaction are distinct.
	var got []uint64
	update(t, db, func(tx intake.Tx) error {
		for range 3 {
			n, err := tx.NextCaseNumber()
			if err != nil {
				return err
			}
			got = append(got, n)
		}
		return nil
	})
	if !slices.Equal(got, []uint64{1004, 1005, 1006}) {
		t.Errorf("numbers in one transaction = %v", got)
	}
}

func TestCaseRoundTrip(t *testing.T) {
	db := MustOpen(t)
	c := sampleCase("CASE-1000")
	c.Messages = []intake.Message{*sampleMessage("ignored")}
	update(t, db, func(tx intake.Tx) error { return tx.PutCase(c) })
	if len(c.Messages) != 1 {
		t.Errorf("PutCase changed the caller's Messages: %v", c.Messages)
	}
	var got *intake.Case
	view(t, db, func(tx intake.Tx) (err error) { got, err = tx.Case("CASE-1000"); return err })
	want := sampleCase("CASE-1000")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Case() =\n%+v\nwant\n%+v", got, want)
	}
	var msgs []intake.Message
	view(t, db, func(tx intake.Tx) (err error) { msgs, err = tx.Messages("CASE-1000"); return err })
	if len(msgs) != 0 {
		t.Errorf("PutCase stored Messages: %v", msgs)
	}

	// Update in place.
	got.State = intake.StateWaiting
	update(t, db, func(tx intake.Tx) error { return tx.PutCase(got) })
	var again *intake.Case
	view(t, db, func(tx intake.Tx) (err error) { again, err = tx.Case("CASE-1000"); return err })
	if again.State != intake.StateWaiting {
		t.Errorf("state = %s, want waiting", again.State)
	}

	// Missing case: nil, nil.
	view(t, db, func(tx intake.Tx) error {
		c, err := tx.Case("CASE-9999")
		if c != nil || err != nil {
			t.Errorf("Case(missing) = %v, %v; want nil, nil", c, err)
		}
		return nil
	})
}

func TestForEachCase(t *testing.T) {
	db := MustOpen(t)
	ids := []intake.CaseID{"CASE-1000", "CASE-1001", "CASE-100", "OTHER-1000"}
	update(t, db, func(tx intake.Tx) error {
		for _, id := range ids {
			if err := tx.PutCase(sampleCase(id)); err != nil {
				return err
			}
		}
		return nil
	})
	var got []intake.CaseID
	view(t, db, func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error { got = append(got, c.ID); return nil })
	})
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ForEachCase saw %v, want %v", got, want)
	}
	// An error from fn stops the walk and is returned.
	stop := errors.New("stop")
	n := 0
	err := db.View(func(tx intake.Tx) error {
		return tx.ForEachCase(func(*intake.Case) error { n++; return stop })
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("ForEachCase with failing fn: err %v after %d calls", err, n)
	}
}

// TestMessagesOrderAndIsolation: messages come back in append order, and
// case IDs that are prefixes of each other (CASE-100, CASE-1000) do not
// see each other's messages.
func TestMessagesOrderAndIsolation(t *testing.T) {
	db := MustOpen(t)
	ids := []intake.CaseID{"CASE-1000", "CASE-100", "CASE-10000", "CASE-1001", "CASE-10"}
	// Interleave appends across cases and transactions.
	for round := range 4 {
		update(t, db, func(tx intake.Tx) error {
			for _, id := range ids {
				if err := tx.AppendMessage(id, sampleMessage(fmt.Sprintf("%s-%d", id, round))); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, id := range ids {
		var msgs []intake.Message
		view(t, db, func(tx intake.Tx) (err error) { msgs, err = tx.Messages(id); return err })
		var texts []string
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		want := []string{string(id) + "-0", string(id) + "-1", string(id) + "-2", string(id) + "-3"}
		if !slices.Equal(texts, want) {
			t.Errorf("Messages(%s) = %v, want %v", id, texts, want)
		}
	}
	// Round trip of one message's fields.
	view(t, db, func(tx intake.Tx) error {
		msgs, err := tx.Messages("CASE-10")
		if err != nil {
			return err
		}
		want := sampleMessage("CASE-10-0")
		want.Seq = 5 // the fifth message appended
		if !reflect.DeepEqual(&msgs[0], want) {
			t.Errorf("message = %+v, want %+v", msgs[0], *want)
		}
		one, err := tx.Message("CASE-10", 5)
		if err != nil || !reflect.DeepEqual(one, want) {
			t.Errorf("Message(CASE-10, 5) = %+v, %v; want %+v", one, err, *want)
		}
		if other, err := tx.Message("CASE-100", 5); other != nil || err != nil {
			t.Errorf("Message(CASE-100, 5) = %+v, %v; want none (message 5 is CASE-10's)", other, err)
		}
		none, err := tx.Messages("CASE-1")
		if len(none) != 0 || err != nil {
			t.Errorf("Messages(CASE-1) = %v, %v; want none", none, err)
		}
		return nil
	})
}

func TestMessageIDIndex(t *testing.T) {
	db := MustOpen(t)
	update(t, db, func(tx intake.Tx) error {
		if err := tx.IndexMessage("<a@x>", "CASE-1000"); err != nil {
			return err
		}
		if err := tx.IndexMessage("<b@x>", "CASE-1001"); err != nil {
			return err
		}
		return tx.IndexMessage("", "CASE-1002") // ignored
	})
	view(t, db, func(tx intake.Tx) error {
		for mid, want := range map[string]intake.CaseID{"<a@x>": "CASE-1000", "<b@x>": "CASE-1001", "<c@x>": "", "": ""} {
			got, err := tx.CaseOfMessage(mid)
			if err != nil || got != want {
				t.Errorf("CaseOfMessage(%q) = %q, %v; want %q", mid, got, err, want)
			}
		}
		return nil
	})
}

func TestSeen(t *testing.T) {
	db := MustOpen(t)
	s := &intake.SeenMail{Outcome: intake.Outcome("case_created"), Case: "CASE-1000", At: t0}
	update(t, db, func(tx intake.Tx) error { return tx.MarkSeen("mid:<a@x>", s) })
	view(t, db, func(tx intake.Tx) error {
		got, err := tx.Seen("mid:<a@x>")
		if err != nil || got == nil || *got != *s {
			t.Errorf("Seen = %+v, %v; want %+v", got, err, s)
		}
		got, err = tx.Seen("mid:<other@x>")
		if err != nil || got != nil {
			t.Errorf("Seen(unknown) = %+v, %v; want nil, nil", got, err)
		}
		return nil
	})
}

// A received mail's dedupe record and its Message-ID's case share the
// message_ids bucket without reading each other.
func TestSeenBesideMessageIndex(t *testing.T) {
	db := MustOpen(t)
	s := &intake.SeenMail{Outcome: intake.Outcome("case_created"), Case: "CASE-1000", At: t0}
	update(t, db, func(tx intake.Tx) error {
		if err := tx.IndexMessage("<a@x>", "CASE-1000"); err != nil {
			return err
		}
		if err := tx.MarkSeen("<a@x>", s); err != nil {
			return err
		}
		return tx.MarkSeen("<b@x>", s) // seen, never indexed (a refusal)
	})
	view(t, db, func(tx intake.Tx) error {
		if id, err := tx.CaseOfMessage("<a@x>"); err != nil || id != "CASE-1000" {
			t.Errorf("CaseOfMessage(<a@x>) = %q, %v; want CASE-1000", id, err)
		}
		if got, err := tx.Seen("<a@x>"); err != nil || got == nil || *got != *s {
			t.Errorf("Seen(<a@x>) = %+v, %v; want %+v", got, err, s)
		}
		if id, err := tx.CaseOfMessage("<b@x>"); err != nil || id != "" {
			t.Errorf("CaseOfMessage(<b@x>) = %q, %v; want none", id, err)
		}
		if got, err := tx.Seen("<c@x>"); err != nil || got != nil {
			t.Errorf("Seen(<c@x>) = %+v, %v; want nil", got, err)
		}
		return nil
	})
}

// outboxSubjects lists the subjects of tx.Outbox(after, limit).
func outboxSubjects(t *testing.T, db *store.DB, after uint64, limit int) []string {
	t.Helper()
	var out []string
	view(t, db, func(tx intake.Tx) error {
		list, err := tx.Outbox(after, limit)
		for _, m := range list {
			out = append(out, m.Subject)
		}
		return err
	})
	return out
}

func TestOutbox(t *testing.T) {
	db := MustOpen(t)
	var ids []uint64
	update(t, db, func(tx intake.Tx) error {
		for i := range 5 {
			m := &intake.Outgoing{Case: "CASE-1000", Purpose: "ack", To: []string{"alice@acme.example"},
				Subject: fmt.Sprintf("mail %d", i), MessageID: fmt.Sprintf("<o%d@example.com>", i), Date: t0}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if !slices.IsSorted(ids) || ids[0] == 0 || len(slices.Compact(slices.Clone(ids))) != 5 {
		t.Fatalf("Enqueue IDs = %v, want distinct, increasing, non-zero", ids)
	}
	subjects := func(limit int) []string { return outboxSubjects(t, db, 0, limit) }
	if got := subjects(0); !slices.Equal(got, []string{"mail 0", "mail 1", "mail 2", "mail 3", "mail 4"}) {
		t.Errorf("Outbox(0, 0) = %v", got)
	}
	if got := subjects(2); !slices.Equal(got, []string{"mail 0", "mail 1"}) {
		t.Errorf("Outbox(0, 2) = %v", got)
	}
	// after: the mails queued after one, whether or not it is still queued.
	if got := outboxSubjects(t, db, ids[1], 2); !slices.Equal(got, []string{"mail 2", "mail 3"}) {
		t.Errorf("Outbox(%d, 2) = %v", ids[1], got)
	}
	if got := outboxSubjects(t, db, ids[4], 0); got != nil {
		t.Errorf("Outbox(last ID, 0) = %v, want none", got)
	}

	// UpdateOutgoing keeps the queue position.
	update(t, db, func(tx intake.Tx) error {
		list, err := tx.Outbox(0, 1)
		if err != nil {
			return err
		}
		list[0].Attempts = 2
		list[0].LastError = "421 try later"
		return tx.UpdateOutgoing(list[0])
	})
	view(t, db, func(tx intake.Tx) error {
		list, err := tx.Outbox(0, 0)
		if len(list) != 5 || list[0].Attempts != 2 || list[0].LastError != "421 try later" || list[0].ID != ids[0] {
			t.Errorf("after UpdateOutgoing head = %+v (of %d), %v", list[0], len(list), err)
		}
		return nil
	})

	// DeleteOutgoing removes one; the rest keep their order.
	update(t, db, func(tx intake.Tx) error {
		if err := tx.DeleteOutgoing(ids[0]); err != nil {
			return err
		}
		return tx.DeleteOutgoing(ids[3])
	})
	if got := subjects(0); !slices.Equal(got, []string{"mail 1", "mail 2", "mail 4"}) {
		t.Errorf("after DeleteOutgoing Outbox(0, 0) = %v", got)
	}
	if got := outboxSubjects(t, db, ids[0], 0); !slices.Equal(got, []string{"mail 1", "mail 2", "mail 4"}) {
		t.Errorf("after DeleteOutgoing Outbox(%d, 0) = %v", ids[0], got)
	}

	// IDs keep increasing after deletes and a reopen: never reused.
	path := db.Path()
	db.Close()
	db = MustOpenPath(t, path, nil)
	update(t, db, func(tx intake.Tx) error {
		m := &intake.Outgoing{Subject: "mail 5", Date: t0}
		if err := tx.Enqueue(m); err != nil {
			return err
		}
		if m.ID <= ids[4] {
			t.Errorf("ID after reopen = %d, want > %d", m.ID, ids[4])
		}
		return nil
	})
	view(t, db, func(tx intake.Tx) error {
		list, err := tx.Outbox(0, 0)
		if len(list) != 4 || list[3].Subject != "mail 5" {
			t.Errorf("Outbox after reopen: %d entries, %v", len(list), err)
		}
		return nil
	})
}

func TestHits(t *testing.T) {
	db := MustOpen(t)
	update(t, db, func(tx intake.Tx) error {
		for i := range 5 {
			if err := tx.Hit("reply:alice@acme.example", t0.Add(time.Duration(i)*20*time.Minute)); err != nil {
				return err
			}
		}
		return tx.Hit("reply:bob@globex.example", t0)
	})
	// Hits at t0, +20, +40, +60, +80 min.
	count := func(key string, since time.Time) int {
		var n int
		view(t, db, func(tx intake.Tx) (err error) { n, err = tx.Hits(key, since); return err })
		return n
	}
	for _, tc := range []struct {
		since time.Time
		want  int
	}{
		{t0.Add(-time.Hour), 5},
		{t0, 5}, // at or after
		{t0.Add(time.Minute), 4},
		{t0.Add(60 * time.Minute), 2},
		{t0.Add(2 * time.Hour), 0},
	} {
		if got := count("reply:alice@acme.example", tc.since); got != tc.want {
			t.Errorf("Hits(since %s) = %d, want %d", tc.since.Sub(t0), got, tc.want)
		}
	}
	if got := count("reply:nobody", t0.Add(-time.Hour)); got != 0 {
		t.Errorf("Hits(unknown key) = %d", got)
	}
	// A write transaction prunes what is older than the window for good.
	update(t, db, func(tx intake.Tx) error {
		n, err := tx.Hits("reply:alice@acme.example", t0.Add(30*time.Minute))
		if n != 3 {
			t.Errorf("Hits in Update = %d, want 3", n)
		}
		return err
	})
	if got := count("reply:alice@acme.example", t0.Add(-time.Hour)); got != 3 {
		t.Errorf("after pruning Hits(all) = %d, want 3", got)
	}
	if got := count("reply:bob@globex.example", t0.Add(-time.Hour)); got != 1 {
		t.Errorf("pruning one key touched another: bob has %d", got)
	}
}

func TestMailbox(t *testing.T) {
	db := MustOpen(t)
	st := &intake.MailboxState{UIDValidity: 42, LastUID: 17, Backlog: []uint32{3, 5},
		Pending: []intake.PendingMove{{UID: 16, To: "Processed"}, {UID: 17}}, Failures: map[uint32]int{9: 2}}
	update(t, db, func(tx intake.Tx) error { return tx.PutMailbox("INBOX", st) })
	view(t, db, func(tx intake.Tx) error {
		got, err := tx.Mailbox("INBOX")
		if err != nil || !reflect.DeepEqual(got, st) {
			t.Errorf("Mailbox(INBOX) = %+v, %v; want %+v", got, err, st)
		}
		got, err = tx.Mailbox("Other")
		if err != nil || got != nil {
			t.Errorf("Mailbox(Other) = %+v, %v; want nil, nil", got, err)
		}
		return nil
	})
}

func TestContactLanguage(t *testing.T) {
	db := MustOpen(t)
	update(t, db, func(tx intake.Tx) error {
		if err := tx.SetContactLanguage("alice@acme.example", "fr"); err != nil {
			return err
		}
		return tx.SetContactLanguage("bob@globex.example", "en")
	})
	update(t, db, func(tx intake.Tx) error { return tx.SetContactLanguage("bob@globex.example", "fr") })
	view(t, db, func(tx intake.Tx) error {
		for addr, want := range map[string]string{"alice@acme.example": "fr", "bob@globex.example": "fr", "carol@x.example": ""} {
			if got, err := tx.ContactLanguage(addr); err != nil || got != want {
				t.Errorf("ContactLanguage(%s) = %q, %v; want %q", addr, got, err, want)
			}
		}
		return nil
	})
}

// TestUpdateRollsBack: an error from fn leaves nothing behind.
func TestUpdateRollsBack(t *testing.T) {
	db := MustOpen(t)
	boom := errors.New("boom")
	err := db.Update(func(tx intake.Tx) error {
		if err := tx.PutCase(sampleCase("CASE-1000")); err != nil {
			return err
		}
		if err := tx.AppendMessage("CASE-1000", sampleMessage("x")); err != nil {
			return err
		}
		if err := tx.Enqueue(&intake.Outgoing{Subject: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update error = %v, want boom", err)
	}
	view(t, db, func(tx intake.Tx) error {
		c, _ := tx.Case("CASE-1000")
		msgs, _ := tx.Messages("CASE-1000")
		out, _ := tx.Outbox(0, 0)
		if c != nil || len(msgs) != 0 || len(out) != 0 {
			t.Errorf("rolled-back transaction left case %v, %d messages, %d outgoing", c, len(msgs), len(out))
		}
		return nil
	})
}

// TestSecondWriterLocked: while one process (here: one DB) holds the store,
// a second writer gets ErrLocked after its timeout, naming the file.
func TestSecondWriterLocked(t *testing.T) {
	db := MustOpen(t)
	start := time.Now()
	_, err := store.Open(db.Path(), &store.Options{Timeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("second Open took %s with a 200ms timeout", elapsed)
	}
	if err != nil && !strings.Contains(err.Error(), db.Path()) {
		t.Errorf("error %q does not name the file", err)
	}
	// A read-only open waits for the writer too.
	_, err = store.Open(db.Path(), &store.Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("read-only Open while a writer holds the file: %v, want ErrLocked", err)
	}
	// Once closed, it opens.
	db.Close()
	db2 := MustOpenPath(t, db.Path(), &store.Options{Timeout: time.Second})
	db2.Close()
}

// TestReadOnly: with no writer, a read-only open reads, and several may
// read at once; writes fail.
func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casemail.db")
	db := MustOpenPath(t, path, nil)
	update(t, db, func(tx intake.Tx) error { return tx.PutCase(sampleCase("CASE-1000")) })
	db.Close()

	r1 := MustOpenPath(t, path, &store.Options{ReadOnly: true})
	r2 := MustOpenPath(t, path, &store.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	for _, r := range []*store.DB{r1, r2} {
		view(t, r, func(tx intake.Tx) error {
			c, err := tx.Case("CASE-1000")
			if c == nil || err != nil {
				t.Errorf("read-only Case = %v, %v", c, err)
			}
			return nil
		})
	}
	if err := r1.Update(func(tx intake.Tx) error { return tx.PutCase(sampleCase("CASE-1001")) }); err == nil {
		t.Error("Update on a read-only store succeeded")
	}
	// A writer waits for the readers.
	if _, err := store.Open(path, &store.Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Errorf("writer Open while readers hold the file: %v, want ErrLocked", err)
	}
}

// TestReadOnlyMissingFile: a read-only open does not create a store.
func TestReadOnlyMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.db")
	if db, err := store.Open(path, &store.Options{ReadOnly: true}); err == nil {
		db.Close()
		t.Fatal("read-only Open of a missing file succeeded")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only Open created %s", path)
	}
}

// TestOpenCreatesDirectory: the store's directory is made when missing.
func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "var", "lib", "casemail", "casemail.db")
	db := MustOpenPath(t, path, nil)
	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("store file mode %v is readable by others", perm)
	}
}

// TestNewerSchemaRefused: a store written by a newer casemail is not
// opened for writing.
func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "casemail.db")
	db := MustOpenPath(t, path, nil)
	db.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, store.SchemaVersion + 1})
	})
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(path, nil)
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a newer schema: %v; want an error naming the file and saying it is newer", err)
	}
}

func TestBackupAndCheck(t *testing.T) {
	db := MustOpen(t)
	update(t, db, func(tx intake.Tx) error {
		for i := range 50 {
			id := intake.FormatCaseID("CASE", uint64(1000+i))
			if err := tx.PutCase(sampleCase(id)); err != nil {
				return err
			}
			if err := tx.AppendMessage(id, sampleMessage(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return tx.Enqueue(&intake.Outgoing{Subject: "queued"})
	})
	if err := db.Check(); err != nil {
		t.Fatalf("Check: %v", err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	// The backup runs while the store stays open and writable.
	n, err := db.Backup(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	update(t, db, func(tx intake.Tx) error { return tx.PutCase(sampleCase("CASE-2000")) })

	b := MustOpenPath(t, backup, &store.Options{ReadOnly: true})
	if err := b.Check(); err != nil {
		t.Errorf("backup Check: %v", err)
	}
	var ids []intake.CaseID
	view(t, b, func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error { ids = append(ids, c.ID); return nil })
	})
	if len(ids) != 50 || slices.Contains(ids, "CASE-2000") {
		t.Errorf("backup holds %d cases (CASE-2000 after backup: %v), want the 50 before", len(ids), slices.Contains(ids, "CASE-2000"))
	}
	view(t, b, func(tx intake.Tx) error {
		c, err := tx.Case("CASE-1042")
		if err != nil || !reflect.DeepEqual(c, sampleCase("CASE-1042")) {
			t.Errorf("backup Case(CASE-1042) = %+v, %v", c, err)
		}
		msgs, err := tx.Messages("CASE-1042")
		if err != nil || len(msgs) != 1 || msgs[0].Text != "42" {
			t.Errorf("backup Messages(CASE-1042) = %v, %v", msgs, err)
		}
		out, err := tx.Outbox(0, 0)
		if err != nil || len(out) != 1 {
			t.Errorf("backup outbox = %v, %v", out, err)
		}
		return nil
	})
	b.Close()
	// The backup is a working store: it opens for writing and numbering
	// continues.
	w := MustOpenPath(t, backup, nil)
	if err := w.Check(); err != nil {
		t.Errorf("backup reopened Check: %v", err)
	}
}

// TestMessageTextStoredAsIs: a message's text is kept byte for byte,
// whatever it holds, beside a record written before this layout (plain
// JSON) in the same case.
func TestMessageTextStoredAsIs(t *testing.T) {
	db := MustOpen(t)
	texts := []string{"", "{\"text\":\"not json\"}", "a\x00b\r\n\"quoted\" \\ back", strings.Repeat("déjà vu\n", 3000)}
	update(t, db, func(tx intake.Tx) error {
		for _, text := range texts {
			if err := tx.AppendMessage("CASE-1000", sampleMessage(text)); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, db, func(tx intake.Tx) error {
		msgs, err := tx.Messages("CASE-1000")
		if err != nil || len(msgs) != len(texts) {
			t.Fatalf("Messages = %d, %v; want %d", len(msgs), err, len(texts))
		}
		for i, m := range msgs {
			want := sampleMessage(texts[i])
			want.Seq = uint64(i + 1)
			if !reflect.DeepEqual(&m, want) {
				t.Errorf("message %d = %+v, want %+v", i, m, *want)
			}
			one, err := tx.Message("CASE-1000", m.Seq)
			if err != nil || !reflect.DeepEqual(one, want) {
				t.Errorf("Message(%d) = %+v, %v", m.Seq, one, err)
			}
		}
		return nil
	})
}

// TestOutgoingTextStoredAsIs: an outgoing mail's text is kept after its
// JSON record, like a message's; attachments and the rest round-trip.
func TestOutgoingTextStoredAsIs(t *testing.T) {
	db := MustOpen(t)
	texts := []string{"", "{\"text\":\"not json\"}", "a\x00b\r\n\"quoted\" \\ back", strings.Repeat("déjà vu\n", 3000)}
	var want []*intake.Outgoing
	update(t, db, func(tx intake.Tx) error {
		for i, text := range texts {
			m := &intake.Outgoing{Case: "CASE-1000", Purpose: "agent_reply", To: []string{"alice@acme.example"},
				Subject: fmt.Sprint("Re: ", i), Text: text, MessageID: fmt.Sprintf("<casemail.%d@example.com>", i),
				Date:        time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC),
				Attachments: []intake.OutAttached{{Name: "log.txt", ContentType: "text/plain", Data: []byte("line\x00")}},
				Quote:       &intake.Quote{Seq: 3, At: 10, Len: 20}, Attempts: i}
			if err := tx.Enqueue(m); err != nil {
				return err
			}
			want = append(want, m)
		}
		return nil
	})
	view(t, db, func(tx intake.Tx) error {
		got, err := tx.Outbox(0, 0)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Outbox = %+v, %v; want %+v", got, err, want)
		}
		n, oldest, err := tx.OutboxStats()
		if err != nil || n != len(texts) || !reflect.DeepEqual(oldest, want[0]) {
			t.Errorf("OutboxStats = %d, %+v, %v", n, oldest, err)
		}
		return nil
	})
}
