package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migrations[n] turns a store of schema n into schema n+1, inside the
// transaction that opens it; every bucket of the current schema exists
// already when it runs.
var migrations = map[uint64]func(*bolt.Tx) error{
	1: indexTimers,
	2: countRecords,
	3: seenNextToIDs,
}

// seenNextToIDs (schema 3 → 4): schema 3 kept the dedupe records in a
// bucket of their own, "seen", keyed "id:<Message-ID>" (or "sha256:…" for
// mail without one); schema 4 keeps each next to its Message-ID's entry
// in message_ids (seenKey), keyed by the Message-ID itself.
func seenNextToIDs(tx *bolt.Tx) error {
	seen := tx.Bucket([]byte("seen"))
	if seen == nil {
		return nil
	}
	ids := tx.Bucket(bucketMsgIDs)
	err := seen.ForEach(func(k, v []byte) error {
		key := strings.TrimPrefix(string(k), "id:")
		return ids.Put([]byte(seenKey(key)), v)
	})
	if err != nil {
		return err
	}
	return tx.DeleteBucket([]byte("seen"))
}

// countRecords (schema 2 → 3): schema 3 keeps counters of cases by state
// and of queued mail, so that metrics need not read every record.
func countRecords(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	counts := make(map[string]uint64)
	err := tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		var c struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("case %s: %w", k, err)
		}
		counts["state/"+c.State]++
		return nil
	})
	if err != nil {
		return err
	}
	counts["outbox"] = uint64(tx.Bucket(bucketOutbox).Stats().KeyN)
	for name, n := range counts {
		if err := meta.Put([]byte(keyCountPrefix+name), u64(n)); err != nil {
			return err
		}
	}
	return nil
}

// indexTimers (schema 1 → 2): schema 1 kept each case's next_check in the
// case record only, and the scheduler read every case to find the due
// ones; schema 2 indexes them in the timers bucket.
func indexTimers(tx *bolt.Tx) error {
	timers := tx.Bucket(bucketTimers)
	return tx.Bucket(bucketCases).ForEach(func(k, v []byte) error {
		var c struct {
			NextCheck *time.Time `json:"next_check"`
		}
		if err := json.Unmarshal(v, &c); err != nil || c.NextCheck == nil {
			return err
		}
		key := timerKey(*c.NextCheck, "")
		return timers.Put(append(key, k...), nil)
	})
}

// Schema reports the store's schema version.
func (db *DB) Schema() (uint64, error) {
	var v uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			if raw := b.Get(keySchema); raw != nil {
				v = binary.BigEndian.Uint64(raw)
			}
		}
		return nil
	})
	return v, err
}
