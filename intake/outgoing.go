package intake

import (
	"context"
	"errors"
	"time"
)

// Outgoing is one mail casemail has decided to send. It is queued in the
// store in the same transaction as the case change, so a restart sends
// exactly what was decided. It is rendered when the decision is taken,
// except the text of agents' notifications that carry a customer's mail
// (see Later).
type Outgoing struct {
	ID      uint64 `json:"id"`      // queue position, assigned by the store
	Case    CaseID `json:"case"`    // empty for mail about no case (a refusal)
	Purpose string `json:"purpose"` // template name: ack, refusal, notify_new, …

	// FromName, when set, replaces the display name of the support address
	// ("Alice via Acme Support"); the address itself is always the support's.
	FromName   string    `json:"from_name,omitempty"`
	To         []string  `json:"to"`
	ReplyTo    string    `json:"reply_to,omitempty"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text"`
	MessageID  string    `json:"message_id"` // with angle brackets
	InReplyTo  string    `json:"in_reply_to,omitempty"`
	References []string  `json:"references,omitempty"`
	Date       time.Time `json:"date"`
	// AutoSubmitted marks mail casemail writes on its own (acknowledgements,
	// refusals, reminders) with "Auto-Submitted: auto-replied".
	AutoSubmitted bool          `json:"auto_submitted"`
	Attachments   []OutAttached `json:"attachments,omitempty"`
	// Later, when set, says Text is to be rendered at delivery, from
	// what the decision gave the template.
	Later *Later `json:"later,omitempty"`
	// TextSeq, when set, is the message of the case's conversation that
	// records this mail (one to the contact): the store keeps the text
	// there only, and delivery reads it back when Text is empty.
	TextSeq uint64 `json:"text_seq,omitempty"`
	// Quote, when set, says a case message's text was left out of Text:
	// the text is stored once, with the case, and put back at delivery.
	// Queues of earlier versions hold such mails; Later replaced it.
	Quote *Quote `json:"quote,omitempty"`

	// Delivery bookkeeping, kept by the outbox.
	Attempts  int       `json:"attempts"`
	NextTry   time.Time `json:"next_try"`
	LastError string    `json:"last_error,omitempty"`
}

// Quote locates the text of message Seq of the mail's case in its Text:
// the text, without surrounding white space (strings.TrimSpace), Len bytes
// long, goes back at byte At. Agents' notifications carry the customer's
// whole text; this keeps the outbox (written, read back and deleted for
// every mail) from holding a second copy of it.
type Quote struct {
	Seq uint64 `json:"seq"`
	At  int    `json:"at"`
	Len int    `json:"len"`
}

// Later is the template, language and data an agents' notification that
// carries a customer's mail is rendered from when it is delivered: the
// customer's text is stored once, with the case (TextSeq), and rendering
// it, the costliest step of taking in a new case, waits until delivery,
// which a backlog holds back anyway (Outbox.Hold). The subject is rendered
// at once. Templates changed in between (a restart) apply. Data keeps the
// account without its list of contacts.
type Later struct {
	Template string    `json:"template"`
	Lang     string    `json:"lang"`
	Data     *MailData `json:"data"` // without Text
	// TextSeq is the case message whose text is Data.Text.
	TextSeq uint64 `json:"text_seq"`
}

// OutAttached is a file relayed with an outgoing mail.
type OutAttached struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Sender delivers outgoing mail. Implementations keep one connection open
// between calls and reconnect when it breaks.
type Sender interface {
	// Compose turns m into the mail as it goes on the wire. It does no
	// I/O and may run on another goroutine while SendComposed runs: the
	// outbox composes the next mail while one is on the wire. An error
	// wraps ErrPermanent (the mail cannot be composed).
	Compose(m *Outgoing) ([]byte, error)
	// SendComposed hands one composed mail to the mail server. An error
	// wrapping ErrPermanent means retrying cannot help (the server
	// refused the mail for good); any other error is retried later.
	SendComposed(ctx context.Context, m *Outgoing, data []byte) error
	Close() error
}

// ErrPermanent marks a delivery failure that retrying cannot mend.
var ErrPermanent = errors.New("permanent delivery failure")

// Renderer turns a template name, a language and data into a subject and a
// text body. Every mail casemail writes comes from it.
type Renderer interface {
	Render(name, lang string, data *MailData) (subject, body string, err error)
	// RenderSubject renders only the subject (see Outgoing.Later).
	RenderSubject(name, lang string, data *MailData) (string, error)
}

// Template names, one per kind of mail casemail writes.
const (
	TmplAck         = "ack"          // new case acknowledged, to the contact
	TmplRefusal     = "refusal"      // sender may not open or join a case
	TmplNotifyNew   = "notify_new"   // new case, to [agents] notify
	TmplNotifyReply = "notify_reply" // customer reply, to [agents] notify
	TmplAgentReply  = "agent_reply"  // an agent's answer, to the contact
	TmplAgentHelp   = "agent_help"   // unknown #command, to the agent
	TmplAgentError  = "agent_error"  // a command that could not be applied
)

// Refusal reasons, for MailData.Reason.
const (
	ReasonUnknownSender  = "unknown_sender"  // not a contact of any account
	ReasonNotInAccount   = "not_in_account"  // named an account they are not a contact of
	ReasonNotParticipant = "not_participant" // wrote to a case of another account
)

// MailData is what templates see. Fields that do not apply are zero (and
// are left out of the JSON of a mail rendered at delivery, Later).
type MailData struct {
	Case    *Case    `json:",omitempty"` // the case the mail is about; nil for refusals
	Account *Account `json:",omitempty"` // the case's account
	Support string   `json:",omitempty"` // the support address, e.g. support@example.com
	Sender  string   `json:",omitempty"` // address of the mail being answered
	Subject string   `json:",omitempty"` // subject of the mail being answered
	Text    string   `json:",omitempty"` // text being relayed or forwarded
	Reason  string   `json:",omitempty"` // refusal reason (Reason* constants)

	Problems          []Problem `json:",omitempty"` // required fields missing or invalid
	Engines           []string  `json:",omitempty"` // the account's engines, when engine is a problem
	SeverityLowered   bool      `json:",omitempty"` // the requested severity was above the plan's
	RequestedSeverity int       `json:",omitempty"`
	Due               string    `json:",omitempty"` // first-response target, formatted with its zone
	Target            string    `json:",omitempty"` // first-response target as configured ("4bh")
	ReopenedFrom      CaseID    `json:",omitempty"` // set when a reply to a closed case opened this one
	AgentName         string    `json:",omitempty"` // the answering agent's display name
	Commands          []string  `json:",omitempty"`
	Error             string    `json:",omitempty"` // why an agent command could not be applied
	ReopenDays        int       `json:",omitempty"` // how long after an automatic close a reply reopens the case
	MaxAttempts       int       `json:",omitempty"` // contact attempts before an automatic close
	OldSeverity       int       `json:",omitempty"` // severity before a change
	Rating            int       `json:",omitempty"` // survey rating just given
	// Dropped names attachments of the mail that were refused (over a
	// limit), so that the sender is told.
	Dropped []string `json:",omitempty"`

	textSeq uint64 // the case message whose text Text is (see Later)
}

// Problem names a required field that is missing or invalid.
type Problem struct {
	Field  string // account, engine, nature, severity
	Reason string // missing, invalid, not_allowed
	Value  string // the value given, when invalid
}
