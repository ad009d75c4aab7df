package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"casemail/intake"
	"casemail/store"
)

// TestCounters: cases by state and queued mail are counted on every write,
// for metrics that must not read every record.
func TestCounters(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	update := func(fn func(intake.Tx) error) {
		t.Helper()
		if err := db.Update(fn); err != nil {
			t.Fatal(err)
		}
	}
	want := func(counts map[intake.State]int, depth int) {
		t.Helper()
		db.View(func(tx intake.Tx) error {
			got := tx.CaseCounts()
			for _, st := range []intake.State{intake.StateOpen, intake.StateWaiting, intake.StateResolved, intake.StateClosed} {
				if got[st] != counts[st] {
					t.Errorf("%s cases = %d, want %d", st, got[st], counts[st])
				}
			}
			n, first, err := tx.OutboxStats()
			if err != nil || n != depth || (depth > 0) != (first != nil) {
				t.Errorf("outbox stats = %d, %v, %v; want %d", n, first, err, depth)
			}
			return nil
		})
	}
	c1 := &intake.Case{ID: "CASE-1000", State: intake.StateOpen, CreatedAt: time.Now()}
	c2 := &intake.Case{ID: "CASE-1001", State: intake.StateOpen, CreatedAt: time.Now()}
	update(func(tx intake.Tx) error {
		tx.PutCase(c1)
		tx.PutCase(c2)
		tx.Enqueue(&intake.Outgoing{Case: c1.ID, To: []string{"a@x"}})
		return tx.Enqueue(&intake.Outgoing{Case: c2.ID, To: []string{"b@x"}})
	})
	want(map[intake.State]int{intake.StateOpen: 2}, 2)
	update(func(tx intake.Tx) error {
		c1.State = intake.StateWaiting
		tx.PutCase(c1)
		tx.PutCase(c1) // unchanged: counted once
		c2.State = intake.StateClosed
		tx.PutCase(c2)
		tx.DeleteOutgoing(1)
		return tx.DeleteOutgoing(1) // already gone: not counted twice
	})
	want(map[intake.State]int{intake.StateWaiting: 1, intake.StateClosed: 1}, 1)

	// Counters are written when the transaction commits: a read inside it
	// sees its own changes, and a rolled-back one leaves none.
	update(func(tx intake.Tx) error {
		tx.Enqueue(&intake.Outgoing{Case: c1.ID, To: []string{"c@x"}})
		if n, _, _ := tx.OutboxStats(); n != 2 {
			t.Errorf("outbox stats inside the transaction = %d, want 2", n)
		}
		return nil
	})
	want(map[intake.State]int{intake.StateWaiting: 1, intake.StateClosed: 1}, 2)
	if err := db.Update(func(tx intake.Tx) error {
		tx.Enqueue(&intake.Outgoing{Case: c1.ID, To: []string{"d@x"}})
		tx.PutCase(&intake.Case{ID: "CASE-1002", State: intake.StateOpen, CreatedAt: time.Now()})
		return errRollback
	}); err != errRollback {
		t.Fatalf("update = %v, want the rollback", err)
	}
	want(map[intake.State]int{intake.StateWaiting: 1, intake.StateClosed: 1}, 2)
}

var errRollback = errors.New("rolled back")
