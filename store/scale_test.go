package store_test

import (
	"path/filepath"
	"testing"
	"time"

	"casemail/intake"
	"casemail/store"
)

// writeBatch stores n cases with one message and one outgoing mail each,
// in one transaction, numbering them from the store's sequence.
func writeBatch(tb testing.TB, db *store.DB, n int) {
	tb.Helper()
	err := db.Update(func(tx intake.Tx) error {
		for range n {
			num, err := tx.NextCaseNumber()
			if err != nil {
				return err
			}
			id := intake.FormatCaseID("CASE", num)
			c := sampleCase(id)
			if err := tx.PutCase(c); err != nil {
				return err
			}
			m := sampleMessage(string(id))
			if err := tx.AppendMessage(id, m); err != nil {
				return err
			}
			if err := tx.IndexMessage(m.MessageID, id); err != nil {
				return err
			}
			if err := tx.Enqueue(&intake.Outgoing{Case: id, Purpose: "ack", To: []string{c.Contact},
				Subject: "[" + string(id) + "] help", Text: "Received.", Date: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("Update: %v", err)
	}
}

// BenchmarkCommitBatch: one fsync'd transaction of 100 new cases, each with
// a message, a Message-ID index entry and an outgoing mail — a busy poll.
func BenchmarkCommitBatch(b *testing.B) {
	db := MustOpen(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		writeBatch(b, db, 100)
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "cases/s")
}

// TestScale writes 100,000 cases in batches, then reopens the store and
// lists every case, logging how long each step takes.
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test: 100,000 cases; skipped with -short")
	}
	const total, batch = 100_000, 1000
	path := filepath.Join(t.TempDir(), "casemail.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range total / batch {
		writeBatch(t, db, batch)
	}
	write := time.Since(start)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	db = MustOpenPath(t, path, nil)
	reopen := time.Since(start)

	start = time.Now()
	n := 0
	view(t, db, func(tx intake.Tx) error {
		return tx.ForEachCase(func(c *intake.Case) error { n++; return nil })
	})
	list := time.Since(start)
	if n != total {
		t.Errorf("listed %d cases, want %d", n, total)
	}
	last := nextNumber(t, db)
	if want := uint64(intake.FirstCaseNumber + total); last != want {
		t.Errorf("next case number %d, want %d", last, want)
	}
	view(t, db, func(tx intake.Tx) error {
		id := intake.FormatCaseID("CASE", intake.FirstCaseNumber+total/2)
		msgs, err := tx.Messages(id)
		if err != nil || len(msgs) != 1 {
			t.Errorf("Messages(%s) = %d, %v", id, len(msgs), err)
		}
		if got, _ := tx.CaseOfMessage(msgs[0].MessageID); got != id {
			t.Errorf("CaseOfMessage = %s, want %s", got, id)
		}
		return nil
	})
	start = time.Now()
	if err := db.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	check := time.Since(start)
	t.Logf("%d cases (+ messages, index, outbox) in batches of %d: write %s (%.0f cases/s); reopen %s (target < 1s); list all %s; check %s",
		total, batch, write.Round(time.Millisecond), float64(total)/write.Seconds(), reopen.Round(time.Microsecond),
		list.Round(time.Millisecond), check.Round(time.Millisecond))
	if reopen > time.Second {
		t.Logf("NOTE: reopen took %s, over the 1 s target", reopen)
	}
}
