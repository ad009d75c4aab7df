// Package store keeps casemail's state in one bbolt file: cases and their
// conversations, the Message-ID index, processed-mail records, the outbox,
// rate-limit events and the mailbox position.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"casemail/intake"
)

// SchemaVersion is the layout this code writes; older stores are migrated
// at Open (see migrate.go).
const SchemaVersion = 4

var (
	bucketMeta     = []byte("meta")
	bucketCases    = []byte("cases")
	bucketMessages = []byte("messages")
	// message_ids maps a Message-ID to its case and holds, at the
	// Message-ID followed by a 0 byte (seenKey), the dedupe record of a
	// mail casemail received: the two keys sort side by side, so taking a
	// mail in dirties one index page, not one in each of two buckets.
	bucketMsgIDs    = []byte("message_ids")
	bucketOutbox    = []byte("outbox")
	bucketHits      = []byte("hits")
	bucketMailboxes = []byte("mailboxes")
	bucketLanguages = []byte("languages")
	bucketTimers    = []byte("timers") // NextCheck (unix nanos, big-endian) + case ID

	allBuckets = [][]byte{bucketMeta, bucketCases, bucketMessages, bucketMsgIDs,
		bucketOutbox, bucketHits, bucketMailboxes, bucketLanguages, bucketTimers}

	keySchema  = []byte("schema")
	keyCaseSeq = []byte("case_seq")
	// Counters kept on every write, so that metrics need not read every
	// case: "state/open" … cases by state, "outbox" queued mails.
	keyCountPrefix = "count/"
)

// ErrLocked means another process holds the store open for writing.
var ErrLocked = errors.New("store is in use by another process (is casemail run active?)")

// DB is an open store.
type DB struct {
	bolt *bolt.DB
	path string

	released atomic.Int64 // unix nanos of the last releaseMapped
}

// releaseEvery bounds how often written pages are dropped from the
// resident set (see releaseMapped).
const releaseEvery = 50 * time.Millisecond

// initialMmapSize is the size of bbolt's first mapping of the file when it
// is opened for writing: address space only (pages count in the resident
// set when touched). Its default starts at 32 KiB and doubles; every remap
// during a write copies the transaction's pages out of the old mapping
// first, 12 ms for the first batches of a new store and again at every
// doubling after.
const initialMmapSize = 1 << 30

// Options for Open.
type Options struct {
	ReadOnly bool
	// Timeout to wait for the file lock; 0 means 1 s.
	Timeout time.Duration
	// NoSync skips fsync on commit: for benchmarks and throw-away stores only.
	NoSync bool
}

// Open opens or creates the store at path.
func Open(path string, opts *Options) (*DB, error) {
	if opts == nil {
		opts = &Options{}
	}
	timeout := opts.Timeout
	if timeout == 0 {
		timeout = time.Second
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
	}
	bopts := &bolt.Options{
		Timeout:        timeout,
		ReadOnly:       opts.ReadOnly,
		NoSync:         opts.NoSync,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	}
	if !opts.ReadOnly {
		bopts.InitialMmapSize = initialMmapSize // a reader maps the file as it is
	}
	b, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("store %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	if !opts.ReadOnly {
		if err := db.init(); err != nil {
			b.Close()
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
	}
	return db, nil
}

func (db *DB) init() error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keySchema)
		if v == nil {
			return meta.Put(keySchema, u64(SchemaVersion))
		}
		got := binary.BigEndian.Uint64(v)
		if got > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this casemail (%d): upgrade casemail", got, SchemaVersion)
		}
		for ; got < SchemaVersion; got++ {
			if err := migrations[got](tx); err != nil {
				return fmt.Errorf("migrating schema %d to %d: %w", got, got+1, err)
			}
		}
		return meta.Put(keySchema, u64(SchemaVersion))
	})
}

// Path is the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close closes the store.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in a read-write transaction, committed when fn returns nil.
func (db *DB) Update(fn func(intake.Tx) error) error {
	t := &txn{}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		t.tx = tx
		if err := fn(t); err != nil {
			return err
		}
		return t.flushCounts()
	})
	t.tx = nil
	t.release()
	if now := time.Now().UnixNano(); err == nil && now-db.released.Load() > int64(releaseEvery) {
		db.released.Store(now)
		_ = db.releaseMapped() // only memory accounting: never fails a write
	}
	return err
}

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(intake.Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&txn{tx: tx}) })
}

// Backup writes a consistent copy of the store to w while it stays in use.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Check runs bbolt's consistency check.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

type txn struct {
	tx *bolt.Tx
	// bufs hold the records this write transaction encoded: bbolt keeps
	// a reference to a value until the commit, so they go back to valuePool
	// only when the transaction is over.
	bufs []*[]byte
	// counts holds the changes to counters this transaction made, written
	// once when it commits (a batch of new cases changes each many times).
	counts map[string]int64
}

// valuePool recycles the buffers of records with a text (20 KiB and more
// for a typical mail), which are garbage once committed.
var valuePool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledValue bounds the buffers valuePool keeps.
const maxPooledValue = 256 << 10

// buf returns an empty buffer of at least n bytes that lives until the
// transaction ends.
func (t *txn) buf(n int) []byte {
	p := valuePool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, 0, n)
	}
	t.bufs = append(t.bufs, p)
	return (*p)[:0]
}

// release hands the transaction's buffers back; nothing refers to them once
// bbolt's transaction is closed.
func (t *txn) release() {
	for _, p := range t.bufs {
		if cap(*p) <= maxPooledValue {
			*p = (*p)[:0]
			valuePool.Put(p)
		}
	}
	t.bufs = nil
}

var _ intake.Tx = (*txn)(nil)
var _ intake.Store = (*DB)(nil)

func (t *txn) b(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		// Only a read-only open of a store never written can get here.
		return nil
	}
	if t.tx.Writable() && appendMostly[string(name)] {
		b.FillPercent = appendFill
	}
	return b
}

// appendMostly are the buckets whose new keys mostly come after the others
// (sequences, case IDs, due times). bbolt splits a full page in half, which
// for keys that only grow leaves every page half empty; splitting them at
// appendFill writes fewer pages per batch (measured: 10 % fewer writes, 8 %
// less write time for batches of new cases).
var appendMostly = map[string]bool{
	string(bucketCases): true, string(bucketMessages): true,
	string(bucketOutbox): true, string(bucketTimers): true,
}

const appendFill = 0.9

func (t *txn) NextCaseNumber() (uint64, error) {
	meta := t.b(bucketMeta)
	next := uint64(intake.FirstCaseNumber)
	if v := meta.Get(keyCaseSeq); v != nil {
		next = binary.BigEndian.Uint64(v) + 1
	}
	return next, meta.Put(keyCaseSeq, u64(next))
}

func (t *txn) Case(id intake.CaseID) (*intake.Case, error) {
	b := t.b(bucketCases)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	c := new(intake.Case)
	if err := json.Unmarshal(v, c); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	return c, nil
}

func (t *txn) PutCase(c *intake.Case) error {
	msgs := c.Messages
	c.Messages = nil
	v, err := json.Marshal(c)
	c.Messages = msgs
	if err != nil {
		return fmt.Errorf("case %s: %w", c.ID, err)
	}
	cases := t.b(bucketCases)
	timers := t.b(bucketTimers)
	var prev struct {
		State     intake.State `json:"state"`
		NextCheck *time.Time   `json:"next_check"`
	}
	if old := cases.Get([]byte(c.ID)); old != nil {
		if err := json.Unmarshal(old, &prev); err != nil {
			return fmt.Errorf("case %s: %w", c.ID, err)
		}
	}
	if prev.State != c.State {
		if prev.State != "" {
			t.count("state/"+string(prev.State), -1)
		}
		t.count("state/"+string(c.State), 1)
	}
	if !ptrTime(prev.NextCheck).Equal(ptrTime(c.NextCheck)) {
		if prev.NextCheck != nil {
			if err := timers.Delete(timerKey(*prev.NextCheck, c.ID)); err != nil {
				return err
			}
		}
		if c.NextCheck != nil {
			if err := timers.Put(timerKey(*c.NextCheck, c.ID), nil); err != nil {
				return err
			}
		}
	}
	return cases.Put([]byte(c.ID), v)
}

// count adds delta to a counter of the meta bucket, when the transaction
// commits.
func (t *txn) count(name string, delta int64) {
	if t.counts == nil {
		t.counts = make(map[string]int64)
	}
	t.counts[name] += delta
}

// flushCounts writes the counters count changed.
func (t *txn) flushCounts() error {
	for name, delta := range t.counts {
		if delta == 0 {
			continue
		}
		if err := t.b(bucketMeta).Put([]byte(keyCountPrefix+name), u64(uint64(t.stored(name)+delta))); err != nil {
			return err
		}
	}
	t.counts = nil
	return nil
}

// counter is a counter's value, with this transaction's changes.
func (t *txn) counter(name string) int64 {
	return t.stored(name) + t.counts[name]
}

// stored is a counter's value in the store.
func (t *txn) stored(name string) int64 {
	meta := t.b(bucketMeta)
	if meta == nil {
		return 0
	}
	if v := meta.Get([]byte(keyCountPrefix + name)); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// CaseCounts returns the number of cases in each state.
func (t *txn) CaseCounts() map[intake.State]int {
	out := make(map[intake.State]int)
	for _, st := range []intake.State{intake.StateOpen, intake.StateWaiting, intake.StateResolved, intake.StateClosed} {
		out[st] = int(t.counter("state/" + string(st)))
	}
	return out
}

// OutboxStats returns how many mails are queued and the oldest one.
func (t *txn) OutboxStats() (int, *intake.Outgoing, error) {
	n := int(t.counter("outbox"))
	b := t.b(bucketOutbox)
	if b == nil {
		return n, nil, nil
	}
	k, v := b.Cursor().First()
	if k == nil {
		return n, nil, nil
	}
	m := new(intake.Outgoing)
	if err := decodeOutgoing(v, m); err != nil {
		return n, nil, fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(k), err)
	}
	return n, m, nil
}

func ptrTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func timerKey(t time.Time, id intake.CaseID) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano()))
	return append(k, id...)
}

func (t *txn) DueCases(at time.Time, limit int) ([]intake.CaseID, error) {
	b := t.b(bucketTimers)
	if b == nil {
		return nil, nil
	}
	var ids []intake.CaseID
	end := uint64(at.UnixNano())
	c := b.Cursor()
	for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k[:8]) <= end; k, _ = c.Next() {
		ids = append(ids, intake.CaseID(k[8:]))
		if limit > 0 && len(ids) == limit {
			break
		}
	}
	return ids, nil
}

func (t *txn) NextDue() (time.Time, error) {
	b := t.b(bucketTimers)
	if b == nil {
		return time.Time{}, nil
	}
	k, _ := b.Cursor().First()
	if k == nil {
		return time.Time{}, nil
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), nil
}

func (t *txn) ForEachCase(fn func(*intake.Case) error) error {
	b := t.b(bucketCases)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		c := new(intake.Case)
		if err := json.Unmarshal(v, c); err != nil {
			return fmt.Errorf("case %s: %w", k, err)
		}
		return fn(c)
	})
}

// messageKey is the case ID, a NUL, and the message's position.
func messageKey(id intake.CaseID, seq uint64) []byte {
	k := make([]byte, 0, len(id)+9)
	k = append(k, id...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func (t *txn) AppendMessage(id intake.CaseID, m *intake.Message) error {
	b := t.b(bucketMessages)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := t.encodeMessage(m)
	if err != nil {
		return fmt.Errorf("case %s message: %w", id, err)
	}
	m.Seq = seq
	return b.Put(messageKey(id, seq), v)
}

// A message, or an outgoing mail, is stored as textFormat, the length of
// its JSON record (uvarint), the JSON record without the text, then the
// text as it is: a 20 KiB text escaped into JSON and parsed back cost more
// than the rest of the record. Stores written before hold plain JSON
// records ('{').
const textFormat = 1

// encodeText encodes rec, a copy of the record with its text emptied, and
// text, in a buffer of the transaction.
func (t *txn) encodeText(rec any, text string) ([]byte, error) {
	hdr, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	v := t.buf(1 + binary.MaxVarintLen64 + len(hdr) + len(text))
	v = append(v, textFormat)
	v = binary.AppendUvarint(v, uint64(len(hdr)))
	v = append(v, hdr...)
	return append(v, text...), nil
}

// decodeText decodes what encodeText wrote, or a plain JSON record, into
// rec and sets *text (unless the record is plain JSON, which holds it).
func decodeText(v []byte, rec any, text *string) error {
	if len(v) == 0 || v[0] != textFormat {
		return json.Unmarshal(v, rec)
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n > uint64(len(v)-1-k) {
		return errors.New("bad record header")
	}
	hdr := v[1+k : 1+k+int(n)]
	if err := json.Unmarshal(hdr, rec); err != nil {
		return err
	}
	*text = string(v[1+k+int(n):])
	return nil
}

func (t *txn) encodeMessage(m *intake.Message) ([]byte, error) {
	rest := *m
	rest.Text = ""
	return t.encodeText(&rest, m.Text)
}

func decodeMessage(v []byte, m *intake.Message) error {
	return decodeText(v, m, &m.Text)
}

func (t *txn) encodeOutgoing(m *intake.Outgoing) ([]byte, error) {
	rest := *m
	rest.Text = ""
	text := m.Text
	if m.TextSeq != 0 {
		text = "" // kept with the case message only (see Outgoing.TextSeq)
	}
	return t.encodeText(&rest, text)
}

func decodeOutgoing(v []byte, m *intake.Outgoing) error {
	return decodeText(v, m, &m.Text)
}

func (t *txn) Message(id intake.CaseID, seq uint64) (*intake.Message, error) {
	b := t.b(bucketMessages)
	if b == nil {
		return nil, nil
	}
	v := b.Get(messageKey(id, seq))
	if v == nil {
		return nil, nil
	}
	m := &intake.Message{Seq: seq}
	if err := decodeMessage(v, m); err != nil {
		return nil, fmt.Errorf("case %s message %d: %w", id, seq, err)
	}
	return m, nil
}

func (t *txn) Messages(id intake.CaseID) ([]intake.Message, error) {
	b := t.b(bucketMessages)
	if b == nil {
		return nil, nil
	}
	prefix := append([]byte(id), 0)
	var out []intake.Message
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m intake.Message
		if err := decodeMessage(v, &m); err != nil {
			return nil, fmt.Errorf("case %s message: %w", id, err)
		}
		m.Seq = binary.BigEndian.Uint64(k[len(prefix):])
		out = append(out, m)
	}
	return out, nil
}

func (t *txn) CaseOfMessage(messageID string) (intake.CaseID, error) {
	b := t.b(bucketMsgIDs)
	if b == nil || messageID == "" {
		return "", nil
	}
	return intake.CaseID(b.Get([]byte(messageID))), nil
}

func (t *txn) IndexMessage(messageID string, id intake.CaseID) error {
	if messageID == "" {
		return nil
	}
	return t.b(bucketMsgIDs).Put([]byte(messageID), []byte(id))
}

func (t *txn) Seen(key string) (*intake.SeenMail, error) {
	return getJSON[intake.SeenMail](t.b(bucketMsgIDs), seenKey(key))
}

func (t *txn) MarkSeen(key string, s *intake.SeenMail) error {
	return putJSON(t.b(bucketMsgIDs), seenKey(key), s)
}

// seenKey is where the dedupe record of key lives in message_ids: right
// after the Message-ID's own entry. No Message-ID ends in a 0 byte (it
// ends in '>'), so the two never meet.
func seenKey(key string) string { return key + "\x00" }

func (t *txn) Enqueue(m *intake.Outgoing) error {
	b := t.b(bucketOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	m.ID = seq
	t.count("outbox", 1)
	return t.UpdateOutgoing(m)
}

func (t *txn) Outbox(after uint64, limit int) ([]*intake.Outgoing, error) {
	b := t.b(bucketOutbox)
	if b == nil {
		return nil, nil
	}
	var out []*intake.Outgoing
	c := b.Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		m := new(intake.Outgoing)
		if err := decodeOutgoing(v, m); err != nil {
			return nil, fmt.Errorf("outbox entry %d: %w", binary.BigEndian.Uint64(k), err)
		}
		out = append(out, m)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

func (t *txn) UpdateOutgoing(m *intake.Outgoing) error {
	v, err := t.encodeOutgoing(m)
	if err != nil {
		return fmt.Errorf("outbox entry %d: %w", m.ID, err)
	}
	return t.b(bucketOutbox).Put(u64(m.ID), v)
}

func (t *txn) DeleteOutgoing(id uint64) error {
	b := t.b(bucketOutbox)
	if b.Get(u64(id)) == nil {
		return nil
	}
	t.count("outbox", -1)
	return b.Delete(u64(id))
}

// Hit lists are big-endian unix nanoseconds, 8 bytes each, oldest first.

func (t *txn) Hits(key string, since time.Time) (int, error) {
	b := t.b(bucketHits)
	if b == nil {
		return 0, nil
	}
	hits := decodeHits(b.Get([]byte(key)))
	kept := pruneHits(hits, since)
	if len(kept) != len(hits) && t.tx.Writable() {
		if err := b.Put([]byte(key), encodeHits(kept)); err != nil {
			return 0, err
		}
	}
	return len(kept), nil
}

func (t *txn) Hit(key string, at time.Time) error {
	b := t.b(bucketHits)
	hits := append(decodeHits(b.Get([]byte(key))), at.UnixNano())
	return b.Put([]byte(key), encodeHits(hits))
}

func pruneHits(hits []int64, since time.Time) []int64 {
	cut := since.UnixNano()
	for i, h := range hits {
		if h >= cut {
			return hits[i:]
		}
	}
	return nil
}

func decodeHits(v []byte) []int64 {
	if len(v) > 0 && v[0] == '[' {
		var old []int64 // schema 1 wrote JSON
		_ = json.Unmarshal(v, &old)
		return old
	}
	hits := make([]int64, len(v)/8)
	for i := range hits {
		hits[i] = int64(binary.BigEndian.Uint64(v[8*i:]))
	}
	return hits
}

func encodeHits(hits []int64) []byte {
	out := make([]byte, 0, 8*len(hits))
	for _, h := range hits {
		out = binary.BigEndian.AppendUint64(out, uint64(h))
	}
	return out
}

func (t *txn) Mailbox(folder string) (*intake.MailboxState, error) {
	return getJSON[intake.MailboxState](t.b(bucketMailboxes), folder)
}

func (t *txn) PutMailbox(folder string, st *intake.MailboxState) error {
	return putJSON(t.b(bucketMailboxes), folder, st)
}

func (t *txn) ContactLanguage(addr string) (string, error) {
	b := t.b(bucketLanguages)
	if b == nil {
		return "", nil
	}
	return string(b.Get([]byte(addr))), nil
}

func (t *txn) SetContactLanguage(addr, lang string) error {
	return t.b(bucketLanguages).Put([]byte(addr), []byte(lang))
}

func getJSON[T any](b *bolt.Bucket, key string) (*T, error) {
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	out := new(T)
	if err := json.Unmarshal(v, out); err != nil {
		return nil, fmt.Errorf("record %q: %w", key, err)
	}
	return out, nil
}

func putJSON(b *bolt.Bucket, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("record %q: %w", key, err)
	}
	return b.Put([]byte(key), data)
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
