package intake

import "time"

// Store keeps cases, their conversations, the outbox and the mailbox
// position. Every change that one mail causes happens inside one Update, so
// it is committed whole or not at all; many mails may share one Update.
type Store interface {
	Update(fn func(Tx) error) error
	View(fn func(Tx) error) error
}

// Tx is one store transaction. Methods return (nil or "", nil) for records
// that do not exist.
type Tx interface {
	// NextCaseNumber takes the next case number (FirstCaseNumber first);
	// a number is never handed out twice, even if its case is deleted.
	NextCaseNumber() (uint64, error)
	Case(id CaseID) (*Case, error) // without Messages
	// PutCase stores a case (Messages are ignored: use AppendMessage) and
	// keeps the index of NextCheck up to date.
	PutCase(c *Case) error
	// DueCases lists cases whose NextCheck is at or before t, earliest
	// first, at most limit.
	DueCases(t time.Time, limit int) ([]CaseID, error)
	// NextDue is the earliest NextCheck of any case (zero when none).
	NextDue() (time.Time, error)
	// AppendMessage adds m to the case's conversation and sets m.Seq.
	AppendMessage(id CaseID, m *Message) error
	Messages(id CaseID) ([]Message, error)
	// Message reads one message of a case by its Seq.
	Message(id CaseID, seq uint64) (*Message, error)
	// ForEachCase calls fn for every case, without messages, in no set order.
	ForEachCase(fn func(*Case) error) error

	// CaseOfMessage finds the case a Message-ID belongs to.
	CaseOfMessage(messageID string) (CaseID, error)
	IndexMessage(messageID string, id CaseID) error

	// Seen finds the record of an already processed mail by dedupe key:
	// its Message-ID, or "sha256:" and a hash of its content when it has
	// none.
	Seen(key string) (*SeenMail, error)
	MarkSeen(key string, s *SeenMail) error

	// Enqueue queues an outgoing mail, setting its ID.
	Enqueue(m *Outgoing) error
	// Outbox lists queued mail in queue order from the first whose ID is
	// above after, at most limit (0: all).
	Outbox(after uint64, limit int) ([]*Outgoing, error)
	UpdateOutgoing(m *Outgoing) error
	DeleteOutgoing(id uint64) error
	// OutboxStats counts the queued mail and returns the oldest, cheaply.
	OutboxStats() (int, *Outgoing, error)
	// CaseCounts counts cases by state, cheaply (kept on every write).
	CaseCounts() map[State]int

	// Hits counts the events recorded under key at or after since, and
	// forgets older ones; Hit records one at t.
	Hits(key string, since time.Time) (int, error)
	Hit(key string, t time.Time) error

	Mailbox(folder string) (*MailboxState, error)
	PutMailbox(folder string, st *MailboxState) error

	// ContactLanguage remembers the language a contact writes in.
	ContactLanguage(addr string) (string, error)
	SetContactLanguage(addr, lang string) error
}

// SeenMail records what became of a processed mail, for deduplication.
type SeenMail struct {
	Outcome Outcome   `json:"outcome"`
	Case    CaseID    `json:"case,omitempty"`
	At      time.Time `json:"at"`
}

// MailboxState is where casemail stands in one IMAP folder.
type MailboxState struct {
	UIDValidity uint32 `json:"uid_validity"`
	// LastUID is the highest UID whose effect is committed; every mail
	// above it is new.
	LastUID uint32 `json:"last_uid"`
	// Backlog lists UIDs at or below LastUID still to process: the unseen
	// mail found at a first start with start_from = "unseen".
	Backlog []uint32 `json:"backlog,omitempty"`
	// Pending lists committed mails whose move (or \Seen flag) on the
	// server is not yet confirmed, with where they go.
	Pending PendingMoves `json:"pending,omitempty"`
	// Failures counts failed processing attempts per UID, to quarantine a
	// poison message after a few.
	Failures map[uint32]int `json:"failures,omitempty"`
}

// PendingMove is one committed mail still to be moved or flagged.
type PendingMove struct {
	UID uint32 `json:"uid"`
	// To is the destination folder; empty means flag \Seen and leave it.
	To string `json:"to,omitempty"`
}
