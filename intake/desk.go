package intake

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"casemail/mailparse"
)

// Outcome is what became of one incoming mail. Every processed mail has
// exactly one; metrics count them (casemail_messages_total{outcome}).
type Outcome string

const (
	OutcomeCaseCreated Outcome = "case_created"
	OutcomeFollowUp    Outcome = "follow_up"
	OutcomeRefused     Outcome = "refused"     // unknown or unauthorised sender
	OutcomeSuppressed  Outcome = "suppressed"  // robot, list, bounce, duplicate: never answered
	OutcomeQuarantined Outcome = "quarantined" // failed authentication or processing
	OutcomeRejected    Outcome = "rejected"    // could not be read at all
)

// Outcomes lists every outcome, for metrics.
var Outcomes = []Outcome{OutcomeCaseCreated, OutcomeFollowUp, OutcomeRefused,
	OutcomeSuppressed, OutcomeQuarantined, OutcomeRejected}

// Options configure a Desk. Packages below cmd never see the config file.
type Options struct {
	Store    Store
	Renderer Renderer
	// Directory returns the allowlist in force; it may change between calls
	// (the contacts file is reloaded while running).
	Directory func() *Directory
	Plans     map[string]*Plan

	Support  string   // the support address, e.g. "Acme Support <support@example.com>"
	Agents   []string // addresses that may answer cases
	Notify   string   // where new cases and customer replies go
	IDPrefix string   // case ID prefix, default "CASE"
	// ProcessedFolder and QuarantineFolder are where handled mail goes; an
	// empty ProcessedFolder means flag \Seen and leave it.
	ProcessedFolder  string
	QuarantineFolder string

	// AutoReplyLimit caps automatic answers (acknowledgements, refusals) to
	// one sender per AutoReplyWindow; default 3 per hour. Refusals are
	// further capped at one per sender per RefusalWindow (default 24 h).
	AutoReplyLimit  int
	AutoReplyWindow time.Duration
	RefusalWindow   time.Duration
	// Policy holds the support policy's timers.
	Policy PolicyOptions
	// Auth is the sender authentication policy ([security]).
	Auth AuthOptions
	// MaxAttempts is how often a mail may fail to process before it is
	// quarantined; default 3.
	MaxAttempts int

	Now    func() time.Time // default time.Now
	Logger *slog.Logger
	// Queued is handed the outgoing mail of a commit, once it is
	// committed (the outbox's Queue).
	Queued func([]*Outgoing)
	// Observe is told the outcome of every mail, after its commit.
	Observe func(Result)
	// Timer is told what each case timer did, after its commit.
	Timer func(Result)
}

// Desk applies the case workflow to incoming mail.
type Desk struct {
	opts        Options
	log         *slog.Logger
	supportAddr string // lower case
	supportName string
	domain      string
	agents      map[string]bool
	seq         atomic.Uint64 // Message-ID uniqueness within the process
	// queueMu keeps the hand-over of queued mail (Queued) in the order of
	// the commits that queued it: see update.
	queueMu sync.Mutex
}

// NewDesk checks opts and builds a Desk.
func NewDesk(opts Options) (*Desk, error) {
	if opts.Store == nil || opts.Renderer == nil || opts.Directory == nil {
		return nil, errors.New("intake: Store, Renderer and Directory are required")
	}
	from, err := mail.ParseAddress(opts.Support)
	if err != nil {
		return nil, fmt.Errorf("intake: support address %q: %w", opts.Support, err)
	}
	if opts.IDPrefix == "" {
		opts.IDPrefix = "CASE"
	}
	if opts.AutoReplyLimit == 0 {
		opts.AutoReplyLimit = 3
	}
	if opts.AutoReplyWindow == 0 {
		opts.AutoReplyWindow = time.Hour
	}
	if opts.RefusalWindow == 0 {
		opts.RefusalWindow = 24 * time.Hour
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Policy.defaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Desk{
		opts:        opts,
		log:         opts.Logger,
		supportAddr: strings.ToLower(from.Address),
		supportName: from.Name,
		agents:      make(map[string]bool),
	}
	d.domain = d.supportAddr[strings.LastIndexByte(d.supportAddr, '@')+1:]
	for _, a := range opts.Agents {
		d.agents[strings.ToLower(a)] = true
	}
	return d, nil
}

// Incoming is one mail fetched from the mailbox, parsed once.
type Incoming struct {
	UID     uint32
	Arrived time.Time // IMAP INTERNALDATE
	Msg     *mailparse.Message
	// ParseErr is set when nothing usable could be read; the mail is
	// rejected and kept in the quarantine folder.
	ParseErr error
	// DKIMChecked says casemail verified the mail's DKIM signatures itself
	// ([security] verify_dkim); DKIMPass lists the d= domains of the valid ones.
	DKIMChecked bool
	DKIMPass    []string

	analysis *Analysis // see Analyze
}

// Result is the decision taken for one mail.
type Result struct {
	UID     uint32
	Outcome Outcome
	Case    CaseID
	Reason  string // a short explanation for logs and the demo
	// MessageID of the mail, for logs.
	MessageID string
	From      string
	Subject   string
	// Sent lists the mail queued because of it.
	Sent []*Outgoing
}

// Batch is a run of mails from one folder, committed together.
type Batch struct {
	Folder      string
	UIDValidity uint32
	Mails       []*Incoming
	// Settled lists UIDs of earlier batches whose move the source has
	// done since: the batch's transaction records it, saving a commit of
	// its own (see Desk.Settled).
	Settled []uint32
}

func (d *Desk) now() time.Time { return d.opts.Now().UTC() }

// newMessageID makes a Message-ID for a mail casemail sends.
func (d *Desk) newMessageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("<casemail.%d.%s@%s>", d.seq.Add(1), hex.EncodeToString(b[:]), d.domain)
}

func (d *Desk) isAgent(addr string) bool { return d.agents[strings.ToLower(addr)] }
