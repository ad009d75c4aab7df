package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"casemail/intake"
)

// contactsFile is the allowlist's TOML shape.
type contactsFile struct {
	Account []contactsAccount `toml:"account"`
}

type contactsAccount struct {
	Email    string   `toml:"email"`
	Name     string   `toml:"name"`
	Plan     string   `toml:"plan"`
	Engines  []string `toml:"engines"`
	Contacts []string `toml:"contacts"`
}

// LoadContacts reads and validates a contacts allowlist. plans are the plan
// names accounts may use; nil skips that check (contacts check without a
// config).
func LoadContacts(path string, plans map[string]*intake.Plan) (*intake.Directory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contacts %s: %w", path, err)
	}
	dir, err := ParseContacts(data, plans)
	if err != nil {
		return nil, fmt.Errorf("contacts %s: %w", path, err)
	}
	return dir, nil
}

// ParseContacts decodes and validates allowlist TOML. Every error names the
// line of the account's [[account]] header, the account and the field.
func ParseContacts(data []byte, plans map[string]*intake.Plan) (*intake.Directory, error) {
	var f contactsFile
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return nil, err
	}
	lines := accountLines(data)
	if und := md.Undecoded(); len(und) > 0 {
		errs := make([]error, len(und))
		for i, k := range und {
			errs[i] = unknownKey(data, lines, f.Account, k)
		}
		return nil, errors.Join(errs...)
	}
	var errs []error
	seen := make(map[string]int)
	accounts := make([]*intake.Account, 0, len(f.Account))
	for i, a := range f.Account {
		where := fmt.Sprintf("account %d", i+1)
		if i < len(lines) {
			where = fmt.Sprintf("line %d: account %d", lines[i], i+1)
		}
		if a.Email != "" {
			where += " (" + a.Email + ")"
		}
		fail := func(field, format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s: %s", where, field, fmt.Sprintf(format, args...)))
		}
		email := strings.ToLower(strings.TrimSpace(a.Email))
		switch {
		case email == "":
			fail("email", "required")
		case !isAddress(email):
			fail("email", "%q is not an email address", a.Email)
		case seen[email] > 0:
			fail("email", "duplicate: account %d has the same address", seen[email])
		default:
			seen[email] = i + 1
		}
		if a.Plan == "" {
			fail("plan", "required")
		} else if plans != nil && plans[a.Plan] == nil {
			fail("plan", "unknown plan %q (no [plans.%s] in the config)", a.Plan, a.Plan)
		}
		if len(a.Engines) == 0 {
			fail("engines", "empty: list at least one engine")
		}
		engines := make([]string, 0, len(a.Engines))
		for _, e := range a.Engines {
			if e = strings.TrimSpace(e); e == "" {
				fail("engines", "an engine name is empty")
				continue
			}
			engines = append(engines, e)
		}
		if len(a.Contacts) == 0 {
			fail("contacts", "empty: list at least one technical contact")
		}
		contacts := make([]string, 0, len(a.Contacts))
		for _, c := range a.Contacts {
			lc := strings.ToLower(strings.TrimSpace(c))
			if !isAddress(lc) {
				fail("contacts", "%q is not an email address", c)
				continue
			}
			contacts = append(contacts, lc)
		}
		accounts = append(accounts, &intake.Account{Email: email, Name: a.Name, Plan: a.Plan,
			Engines: engines, Contacts: contacts})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return intake.NewDirectory(accounts), nil
}

// accountLines finds the line number of each [[account]] header.
func accountLines(data []byte) []int {
	var lines []int
	forEachLine(data, func(n int, l string) {
		if l == "[[account]]" {
			lines = append(lines, n)
		}
	})
	return lines
}

// forEachLine calls fn with each line's number and its text without
// surrounding spaces and trailing comment, and with spaces inside
// brackets removed ("[[ account ]]" → "[[account]]").
func forEachLine(data []byte, fn func(n int, line string)) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 && !strings.ContainsAny(l[:i], "\"'") {
			l = l[:i]
		}
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			l = strings.ReplaceAll(l, " ", "")
		}
		fn(n, l)
	}
}

// unknownKey locates a key the decoder did not know: its line and the
// account it stands in.
func unknownKey(data []byte, headers []int, accounts []contactsAccount, k toml.Key) error {
	name := k[len(k)-1]
	found := 0
	forEachLine(data, func(n int, l string) {
		if found == 0 && strings.HasPrefix(l, name) && strings.HasPrefix(strings.TrimSpace(l[len(name):]), "=") {
			found = n
		}
	})
	if found == 0 {
		return fmt.Errorf("unknown key %s (misspelt?)", k)
	}
	idx := 0
	for i, h := range headers {
		if h < found {
			idx = i + 1
		}
	}
	where := fmt.Sprintf("line %d", found)
	if idx > 0 {
		where += fmt.Sprintf(": account %d", idx)
		if idx <= len(accounts) && accounts[idx-1].Email != "" {
			where += " (" + accounts[idx-1].Email + ")"
		}
	}
	return fmt.Errorf("%s: unknown key %q (misspelt? want email, name, plan, engines, contacts)", where, name)
}
