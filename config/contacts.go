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
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("unknown key %s (misspelt?)", strings.Join(keys, ", "))
	}
	lines := accountLines(data)
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
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "[[") && strings.Trim(strings.TrimSpace(strings.Trim(l, "[]")), " ") == "account" {
			lines = append(lines, n)
		}
	}
	return lines
}
