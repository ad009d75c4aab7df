package config_test

import (
	"path/filepath"
	"strings"
	"testing"

	"casemail/config"
	"casemail/intake"
)

const validContacts = `# allowlist
[[account]]
email    = "Admin@Acme.example"
name     = "Acme Corp"
plan     = "premium"
engines  = ["acme-search", "acme-staging"]
contacts = ["Alice@ACME.example", "ops@acme.example"]

[[account]]
email    = "it@globex.example"
name     = "Globex"
plan     = "standard"
engines  = ["globex-prod"]
contacts = ["bob@globex.example", "OPS@acme.example"]
`

// testPlans are the plan names contacts may use.
var testPlans = map[string]*intake.Plan{"premium": {Name: "premium"}, "standard": {Name: "standard"}}

func TestContactsValid(t *testing.T) {
	dir, err := config.ParseContacts([]byte(validContacts), testPlans)
	if err != nil {
		t.Fatalf("ParseContacts: %v", err)
	}
	a, c := dir.Counts()
	if a != 2 || c != 3 {
		t.Errorf("Counts() = %d accounts, %d contacts; want 2, 3 (ops@ is in both accounts)", a, c)
	}
	acme := dir.Account("admin@acme.example")
	if acme == nil {
		t.Fatal("account admin@acme.example not found (addresses must be lower-cased)")
	}
	if acme.Email != "admin@acme.example" {
		t.Errorf("account email = %q, want lower case", acme.Email)
	}
	if got := strings.Join(acme.Contacts, ","); got != "alice@acme.example,ops@acme.example" {
		t.Errorf("contacts = %s, want lower case", got)
	}
	if acme.Name != "Acme Corp" || acme.Plan != "premium" || len(acme.Engines) != 2 {
		t.Errorf("account = %+v", acme)
	}
	// Look-ups are case-insensitive.
	if got := dir.AccountsOf("ALICE@acme.EXAMPLE"); len(got) != 1 || got[0] != acme {
		t.Errorf("AccountsOf(ALICE@…) = %v", got)
	}
	// A contact of two accounts.
	both := dir.AccountsOf("ops@acme.example")
	if len(both) != 2 {
		t.Fatalf("ops@acme.example belongs to %d accounts, want 2", len(both))
	}
	if !dir.IsContactOf("ops@acme.example", "IT@globex.example") || !dir.IsContactOf("Ops@Acme.Example", "admin@acme.example") {
		t.Error("IsContactOf(ops@…) false for one of its accounts")
	}
	if dir.IsContactOf("alice@acme.example", "it@globex.example") {
		t.Error("alice is not a contact of globex")
	}
}

// TestContactsPlansNil: without a config (contacts check FILE), plan
// names are not checked.
func TestContactsPlansNil(t *testing.T) {
	data := strings.Replace(validContacts, `"standard"`, `"gold"`, 1)
	if _, err := config.ParseContacts([]byte(data), nil); err != nil {
		t.Errorf("ParseContacts(plans nil): %v", err)
	}
}

func TestContactsErrors(t *testing.T) {
	// Each case is a second account appended after a valid first one, so
	// the error must name line 9 and account 2.
	const first = `[[account]]
email    = "admin@acme.example"
plan     = "premium"
engines  = ["acme-search"]
contacts = ["alice@acme.example"]

# second account follows

`
	for _, tc := range []struct {
		name, second string
		want         []string
	}{
		{"duplicate account email", `[[account]]
email    = "ADMIN@acme.example"
plan     = "standard"
engines  = ["x"]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "ADMIN@acme.example", "email", "duplicate"}},
		{"malformed account email", `[[account]]
email    = "globex.example"
plan     = "standard"
engines  = ["x"]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "email", `"globex.example"`}},
		{"malformed contact", `[[account]]
email    = "it@globex.example"
plan     = "standard"
engines  = ["x"]
contacts = ["bob@globex.example", "Bob <bob@globex>", "carol"]
`, []string{"line 9", "account 2", "it@globex.example", "contacts", `"carol"`}},
		{"unknown plan", `[[account]]
email    = "it@globex.example"
plan     = "gold"
engines  = ["x"]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "it@globex.example", "plan", `"gold"`}},
		{"missing plan", `[[account]]
email    = "it@globex.example"
engines  = ["x"]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "plan", "required"}},
		{"empty engines", `[[account]]
email    = "it@globex.example"
plan     = "standard"
engines  = []
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "it@globex.example", "engines"}},
		{"blank engine", `[[account]]
email    = "it@globex.example"
plan     = "standard"
engines  = ["x", " "]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "engines"}},
		{"empty contacts", `[[account]]
email    = "it@globex.example"
plan     = "standard"
engines  = ["x"]
contacts = []
`, []string{"line 9", "account 2", "it@globex.example", "contacts"}},
		{"no contacts key", `[[account]]
email    = "it@globex.example"
plan     = "standard"
engines  = ["x"]
`, []string{"line 9", "account 2", "contacts"}},
		{"missing email", `[[account]]
name     = "Globex"
plan     = "standard"
engines  = ["x"]
contacts = ["bob@globex.example"]
`, []string{"line 9", "account 2", "email", "required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.ParseContacts([]byte(first+tc.second), testPlans)
			if err == nil {
				t.Fatalf("ParseContacts accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "line 1:") || strings.Contains(err.Error(), "account 1 (") {
				t.Errorf("error %q blames the valid first account", err)
			}
		})
	}
}

func TestContactsMisspeltKey(t *testing.T) {
	data := validContacts + `
[[account]]
email    = "x@initech.example"
plan     = "premium"
engines  = ["x"]
contact  = ["peter@initech.example"]
`
	_, err := config.ParseContacts([]byte(data), testPlans)
	if err == nil {
		t.Fatal("ParseContacts accepted the misspelt key contact")
	}
	if !strings.Contains(err.Error(), "contact") {
		t.Fatalf("error %q does not name the key", err)
	}
	// The contract: every error names line, account and field.
	if !strings.Contains(err.Error(), "line 20") {
		t.Errorf("misspelt-key error %q does not name the line of the key (20)", err)
	}
	if !strings.Contains(err.Error(), "x@initech.example") && !strings.Contains(err.Error(), "account 3") {
		t.Errorf("error %q does not name the account", err)
	}
}

func TestContactsSyntaxErrorNamesLine(t *testing.T) {
	_, err := config.ParseContacts([]byte("[[account]]\nemail = \"a@b.example\"\nplan = premium\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %v does not name line 3", err)
	}
}

// TestContactsLineNumbersWithComments: a comment on the [[account]] line
// (or spaces inside the brackets) must not shift the line numbers of the
// accounts that follow.
func TestContactsLineNumbersWithComments(t *testing.T) {
	data := `[[account]]   # Acme, renewed 2026
email    = "admin@acme.example"
plan     = "premium"
engines  = ["acme-search"]
contacts = ["alice@acme.example"]

[[ account ]]
email    = "it@globex.example"
plan     = "premium"
engines  = ["globex"]
contacts = ["bob@globex.example"]

[[account]]
email    = "bad"
plan     = "premium"
engines  = ["x"]
contacts = ["c@x.example"]
`
	_, err := config.ParseContacts([]byte(data), testPlans)
	if err == nil {
		t.Fatal("ParseContacts accepted email = \"bad\"")
	}
	if !strings.Contains(err.Error(), "line 13: account 3") {
		t.Errorf("error %q; want \"line 13: account 3\": accountLines (config/contacts.go:130) misses a header followed by a comment, so later accounts get wrong line numbers", err)
	}
}

func TestLoadContactsNamesFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.toml")
	if _, err := config.LoadContacts(missing, nil); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadContacts(missing) error = %v; want it to name %s", err, missing)
	}
	bad := writeFile(t, dir, "contacts.toml", "[[account]]\nemail = \"x\"\n")
	if _, err := config.LoadContacts(bad, nil); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadContacts(bad) error = %v; want it to name %s", err, bad)
	}
	good := writeFile(t, dir, "good.toml", validContacts)
	d, err := config.LoadContacts(good, testPlans)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := d.Counts(); a != 2 {
		t.Errorf("accounts = %d, want 2", a)
	}
}

func TestContactsEmptyFile(t *testing.T) {
	d, err := config.ParseContacts([]byte("# nobody yet\n"), nil)
	if err != nil {
		t.Fatalf("ParseContacts(empty): %v", err)
	}
	if a, c := d.Counts(); a != 0 || c != 0 {
		t.Errorf("Counts() = %d, %d", a, c)
	}
}
