// Package intake owns casemail's case workflow: the domain types (cases,
// accounts, plans, outgoing mail), the decisions taken for each incoming mail,
// and the small interfaces it needs from the outside world (a store, a mail
// sender, a template renderer, a mailbox source).
package intake

import (
	"strconv"
	"strings"
	"time"
)

// CaseID names a case: PREFIX-N, N counting up from 1000.
type CaseID string

// FirstCaseNumber is the number of the first case of a store.
const FirstCaseNumber = 1000

// FormatCaseID builds the ID of case number n.
func FormatCaseID(prefix string, n uint64) CaseID {
	return CaseID(prefix + "-" + strconv.FormatUint(n, 10))
}

// Prefix returns the part of the ID before the last dash.
func (id CaseID) Prefix() string {
	i := strings.LastIndexByte(string(id), '-')
	if i < 0 {
		return ""
	}
	return string(id[:i])
}

// State is where a case stands.
type State string

const (
	StateOpen     State = "open"     // waiting on support
	StateWaiting  State = "waiting"  // waiting on the customer
	StateResolved State = "resolved" // resolved, survey sent
	StateClosed   State = "closed"   // closed; a reply opens a new, related case
)

// ParseState checks a state name given by a user.
func ParseState(s string) (State, bool) {
	switch st := State(s); st {
	case StateOpen, StateWaiting, StateResolved, StateClosed:
		return st, true
	}
	return "", false
}

// Case is one support case. Its JSON form is the one `cases show -json`
// prints (PRODUCT.md); Messages is omitted by `cases list`.
type Case struct {
	ID               CaseID     `json:"id"`
	State            State      `json:"state"`
	Account          string     `json:"account"`
	Engine           string     `json:"engine"`
	Severity         int        `json:"severity"`
	Nature           string     `json:"nature"`
	Environment      string     `json:"environment"`
	Contact          string     `json:"contact"`
	Language         string     `json:"language"`
	CreatedAt        time.Time  `json:"created_at"`
	FirstResponseDue *time.Time `json:"first_response_due"`
	Related          []CaseID   `json:"related"`
	SurveyRating     *int       `json:"survey_rating"`
	Messages         []Message  `json:"messages,omitempty"`

	// Workflow state that the JSON contract does not name.
	Subject         string     `json:"subject,omitempty"`           // the subject of the opening mail
	UpdatedAt       time.Time  `json:"updated_at"`                  // last change of any kind
	FirstResponseAt *time.Time `json:"first_response_at,omitempty"` // first agent answer
	MessageCount    int        `json:"message_count"`
	// LastMessageID is the Message-ID of the last mail of the case, used to
	// thread the next mail casemail sends about it.
	LastMessageID string `json:"last_message_id,omitempty"`
	// References are the Message-IDs of the case's conversation, oldest
	// first, bounded, used for the References header of outgoing mail.
	References []string `json:"references,omitempty"`

	// Support policy state (PRODUCT.md "Follow-ups", issue "Support policy").
	FirstResponseTarget string     `json:"first_response_target,omitempty"` // "4bh", as configured
	FirstResponseMet    *bool      `json:"first_response_met,omitempty"`    // set by the first agent answer
	SLAWarned           bool       `json:"sla_warned,omitempty"`            // 75 % warning sent
	SLABreached         bool       `json:"sla_breached,omitempty"`          // breach notice sent
	WaitingSince        *time.Time `json:"waiting_since,omitempty"`         // last contact attempt while waiting
	ContactAttempts     int        `json:"contact_attempts,omitempty"`      // agent answer + reminders since the customer last wrote
	ResolvedAt          *time.Time `json:"resolved_at,omitempty"`
	ClosedAt            *time.Time `json:"closed_at,omitempty"`
	AutoClosed          bool       `json:"auto_closed,omitempty"` // closed for want of an answer: a reply soon reopens it
	// ContactOffset is the UTC offset (seconds east) of the Date header of
	// the opening mail: the customer's time zone, as far as mail tells.
	ContactOffset *int `json:"contact_offset,omitempty"`
	// NextCheck is when the scheduler must look at the case again; the
	// store keeps an index of it.
	NextCheck *time.Time `json:"next_check,omitempty"`
}

// Message is one entry of a case's conversation.
type Message struct {
	Direction   Direction    `json:"direction"`
	Kind        Kind         `json:"kind"`
	From        string       `json:"from"`
	To          []string     `json:"to"`
	Subject     string       `json:"subject"`
	Text        string       `json:"text"`
	MessageID   string       `json:"message_id"`
	At          time.Time    `json:"at"`
	Attachments []Attachment `json:"attachments"`
	// Seq is the message's position in the store, set by AppendMessage
	// and when read back.
	Seq uint64 `json:"-"`
}

// Direction says whether a message came into casemail or went out of it.
type Direction string

const (
	In  Direction = "in"
	Out Direction = "out"
)

// Kind says who wrote a message.
type Kind string

const (
	KindCustomer Kind = "customer"
	KindAgent    Kind = "agent"
	KindNote     Kind = "note"
	KindSystem   Kind = "system"
)

// Attachment describes a file that came with a message. Its content is not
// kept in the case; the raw mail stays in the mailbox's processed folder.
type Attachment struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}
