package store_test

import (
	"encoding/binary"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"casemail/intake"
	"casemail/store"
)

var updateFixture = flag.Bool("update-fixture", false, "rewrite testdata/schema1.db")

const schema1Fixture = "testdata/schema1.db"

// schema1Due is the next_check of the open case in the fixture.
var schema1Due = time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)

// writeSchema1 writes a store as the first schema laid it out: no timers
// bucket; the scheduler then scanned every case.
func writeSchema1(t *testing.T, path string) {
	os.Remove(path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(tx *bolt.Tx, bucket, key, value string) {
		b, err := tx.CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Put([]byte(key), []byte(value)); err != nil {
			t.Fatal(err)
		}
	}
	u64 := func(n uint64) string { return string(binary.BigEndian.AppendUint64(nil, n)) }
	err = db.Update(func(tx *bolt.Tx) error {
		put(tx, "meta", "schema", u64(1))
		put(tx, "meta", "case_seq", u64(1001))
		put(tx, "cases", "CASE-1000", `{"id":"CASE-1000","state":"open","account":"admin@acme.example","engine":"acme-search",`+
			`"severity":1,"nature":"Index stuck","environment":"production","contact":"alice@acme.example","language":"en",`+
			`"created_at":"2026-11-24T17:00:00Z","first_response_due":"2026-11-24T21:00:00Z","related":[],"survey_rating":null,`+
			`"first_response_target":"4bh","next_check":"2026-11-24T20:00:00Z","message_count":1}`)
		put(tx, "cases", "CASE-1001", `{"id":"CASE-1001","state":"closed","account":"admin@acme.example","engine":"acme-search",`+
			`"severity":3,"nature":"Old","contact":"alice@acme.example","language":"en","created_at":"2026-11-20T17:00:00Z",`+
			`"first_response_due":null,"related":[],"survey_rating":4,"message_count":1}`)
		put(tx, "messages", "CASE-1000\x00"+u64(1), `{"direction":"in","kind":"customer","from":"alice@acme.example",`+
			`"to":["support@example.com"],"subject":"Index stuck","text":"Help.","message_id":"<a@acme.example>",`+
			`"at":"2026-11-24T17:00:00Z","attachments":[]}`)
		put(tx, "messages", "CASE-1001\x00"+u64(2), `{"direction":"in","kind":"customer","from":"alice@acme.example",`+
			`"to":["support@example.com"],"subject":"Old","text":"Old.","message_id":"<b@acme.example>",`+
			`"at":"2026-11-20T17:00:00Z","attachments":[]}`)
		put(tx, "message_ids", "<a@acme.example>", "CASE-1000")
		put(tx, "outbox", u64(1), `{"id":1,"case":"CASE-1000","purpose":"ack","to":["alice@acme.example"],`+
			`"subject":"[CASE-1000] Index stuck","text":"Hello","message_id":"<casemail.1.x@example.com>",`+
			`"date":"2026-11-24T17:00:01Z","auto_submitted":true,"attempts":0,"next_try":"0001-01-01T00:00:00Z"}`)
		put(tx, "mailboxes", "INBOX", `{"uid_validity":7,"last_uid":42}`)
		put(tx, "seen", "id:<a@acme.example>", `{"outcome":"case_created","case":"CASE-1000","at":"2026-11-24T17:00:00Z"}`)
		put(tx, "seen", "sha256:0d5f", `{"outcome":"refused","at":"2026-11-24T18:00:00Z"}`)
		for _, b := range []string{"hits", "languages"} {
			if _, err := tx.CreateBucketIfNotExists([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrateSchema1 opens a store of the first schema, kept in testdata:
// it is migrated at open and keeps every record.
func TestMigrateSchema1(t *testing.T) {
	if *updateFixture {
		writeSchema1(t, schema1Fixture)
	}
	path := filepath.Join(t.TempDir(), "casemail.db")
	copyFile(t, schema1Fixture, path)
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatalf("opening a schema 1 store: %v", err)
	}
	defer db.Close()
	if v, err := db.Schema(); err != nil || v != store.SchemaVersion {
		t.Fatalf("schema after open = %d, %v; want %d", v, err, store.SchemaVersion)
	}
	err = db.View(func(tx intake.Tx) error {
		due, err := tx.DueCases(schema1Due, 0)
		if err != nil {
			return err
		}
		if len(due) != 1 || due[0] != "CASE-1000" {
			t.Errorf("DueCases at the fixture's next_check = %v, want [CASE-1000] (timer index built by the migration)", due)
		}
		if early, _ := tx.DueCases(schema1Due.Add(-time.Second), 0); len(early) != 0 {
			t.Errorf("DueCases before the next_check = %v, want none", early)
		}
		c, err := tx.Case("CASE-1001")
		if err != nil || c == nil || c.SurveyRating == nil || *c.SurveyRating != 4 {
			t.Errorf("CASE-1001 after migration = %+v, %v; want survey rating 4", c, err)
		}
		msgs, err := tx.Messages("CASE-1000")
		if err != nil || len(msgs) != 1 || msgs[0].Text != "Help." {
			t.Errorf("CASE-1000 messages = %+v, %v", msgs, err)
		}
		if id, _ := tx.CaseOfMessage("<a@acme.example>"); id != "CASE-1000" {
			t.Errorf("Message-ID index lost: %q", id)
		}
		out, err := tx.Outbox(0, 0)
		if err != nil || len(out) != 1 || out[0].Purpose != "ack" || out[0].Text != "Hello" {
			t.Errorf("outbox = %+v, %v", out, err)
		}
		if got := tx.CaseCounts(); got[intake.StateOpen] != 1 || got[intake.StateClosed] != 1 {
			t.Errorf("case counts after migration = %v, want 1 open, 1 closed", got)
		}
		if n, first, err := tx.OutboxStats(); err != nil || n != 1 || first == nil || first.ID != 1 {
			t.Errorf("outbox stats after migration = %d, %+v, %v; want 1 and entry 1", n, first, err)
		}
		if s, err := tx.Seen("<a@acme.example>"); err != nil || s == nil || s.Case != "CASE-1000" {
			t.Errorf("dedupe record of <a@acme.example> after migration = %+v, %v", s, err)
		}
		if s, err := tx.Seen("sha256:0d5f"); err != nil || s == nil || s.Outcome != "refused" {
			t.Errorf("dedupe record by content after migration = %+v, %v", s, err)
		}
		st, err := tx.Mailbox("INBOX")
		if err != nil || st == nil || st.UIDValidity != 7 || st.LastUID != 42 {
			t.Errorf("mailbox state = %+v, %v", st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx intake.Tx) error {
		n, err := tx.NextCaseNumber()
		if n != 1002 {
			t.Errorf("next case number %d, want 1002", n)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("bbolt check after migration: %v", err)
	}
	db.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_ = b.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("seen")) != nil {
			t.Error(`bucket "seen" left after migration (its records belong in message_ids now)`)
		}
		return nil
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
