package intake

import (
	"slices"
	"strings"

	"casemail/calendar"
)

// Account is a customer account from the contacts allowlist.
type Account struct {
	Email    string   // the account's primary email address (lower case)
	Name     string   `json:",omitempty"`
	Plan     string   // name of a [plans.NAME] table
	Engines  []string // product instances the account may open cases about
	Contacts []string `json:",omitempty"` // designated technical contacts (lower case)
}

// HasEngine reports whether e is one of the account's engines (any case).
func (a *Account) HasEngine(e string) (string, bool) {
	for _, x := range a.Engines {
		if strings.EqualFold(x, e) {
			return x, true
		}
	}
	return "", false
}

// Plan is a support plan: which severities it allows and how fast the first
// response is due for each, on which calendar.
type Plan struct {
	Name          string
	Calendar      *calendar.Calendar
	Severities    []int // allowed severities, e.g. [1 2 3]
	FirstResponse map[int]calendar.Target
}

// Allows reports whether the plan allows severity s.
func (p *Plan) Allows(s int) bool { return slices.Contains(p.Severities, s) }

// Clamp lowers a severity the plan does not allow to the plan's highest
// allowed one below it in urgency. It reports whether it changed s.
func (p *Plan) Clamp(s int) (int, bool) {
	if p.Allows(s) {
		return s, false
	}
	best := 0
	for _, a := range p.Severities {
		if a > s && (best == 0 || a < best) {
			best = a
		}
	}
	if best == 0 {
		best = slices.Max(p.Severities)
	}
	return best, true
}

// DefaultSeverity is the severity of a case whose mail names none.
const DefaultSeverity = 3

// Directory is the allowlist: accounts by primary address and by contact.
// It is immutable once built; a reload builds a new one.
type Directory struct {
	accounts  []*Account
	byEmail   map[string]*Account
	byContact map[string][]*Account
}

// NewDirectory indexes accounts. Addresses are compared in lower case.
func NewDirectory(accounts []*Account) *Directory {
	d := &Directory{
		accounts:  accounts,
		byEmail:   make(map[string]*Account, len(accounts)),
		byContact: make(map[string][]*Account),
	}
	for _, a := range accounts {
		d.byEmail[strings.ToLower(a.Email)] = a
		for _, c := range a.Contacts {
			c = strings.ToLower(c)
			d.byContact[c] = append(d.byContact[c], a)
		}
	}
	return d
}

// Account finds an account by its primary address.
func (d *Directory) Account(email string) *Account {
	return d.byEmail[strings.ToLower(email)]
}

// AccountsOf lists the accounts addr is a technical contact of.
func (d *Directory) AccountsOf(addr string) []*Account {
	return d.byContact[strings.ToLower(addr)]
}

// IsContactOf reports whether addr is a contact of the account.
func (d *Directory) IsContactOf(addr, account string) bool {
	for _, a := range d.AccountsOf(addr) {
		if strings.EqualFold(a.Email, account) {
			return true
		}
	}
	return false
}

// Counts returns the number of accounts and of distinct contacts.
func (d *Directory) Counts() (accounts, contacts int) {
	return len(d.accounts), len(d.byContact)
}
