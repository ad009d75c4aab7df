package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"casemail/intake"
	"casemail/store"
)

// run calls Main with args and returns its exit status and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const testContacts = `[[account]]
email    = "admin@acme.example"
name     = "Acme Corp"
plan     = "premium"
engines  = ["acme-search", "acme-staging"]
contacts = ["alice@acme.example", "ops@acme.example"]

[[account]]
email    = "it@globex.example"
name     = "Globex"
plan     = "standard"
engines  = ["globex-prod"]
contacts = ["bob@globex.example", "ops@acme.example"]
`

// testConfig is a config for loopback servers; %d are the IMAP and SMTP
// ports, %s the admin listen address.
const testConfig = `
[imap]
host = "127.0.0.1"
port = %d
tls = "none"
username = "support@example.com"
password_file = "imap.pass"
processed_folder = "Processed"
quarantine_folder = "Quarantine"
poll_interval = "1s"
idle = true
start_from = "all"

[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
from = "Acme Support <support@example.com>"
timeout = "5s"

[store]
path = "data/casemail.db"

[contacts]
file = "contacts.toml"

[agents]
addresses = ["dana@example.com"]
notify = "support-team@example.com"

[admin]
listen = %q

[log]
level = "debug"

` + demoPolicy

// setup writes a config, contacts and IMAP password file in a fresh
// directory and returns the config's path.
func setup(t testing.TB, imapPort, smtpPort int, admin, imapPassword string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "contacts.toml", testContacts)
	writeFile(t, dir, "imap.pass", imapPassword+"\n")
	return writeFile(t, dir, "casemail.toml", fmt.Sprintf(testConfig, imapPort, smtpPort, admin))
}

func TestUsageErrors(t *testing.T) {
	cfg := setup(t, 1143, 1025, "", "secret")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run", "-bogus"},
		{"run", "-config"},
		{"run", "-config", cfg, "extra"},
		{"check", "-nope"},
		{"demo", "extra"},
		{"demo", "-x"},
		{"healthcheck", "-config", cfg, "now"},
		{"contacts"},
		{"contacts", "list"},
		{"contacts", "check"},
		{"contacts", "check", "a.toml", "b.toml"},
		{"cases"},
		{"cases", "delete", "CASE-1000"},
		{"cases", "list", "-bogus"},
		{"cases", "list", "CASE-1000", "-config", cfg},
		{"cases", "list", "-state", "pending", "-config", cfg},
		{"cases", "show"},
		{"cases", "show", "-json"},
		{"cases", "show", "-json", "-config", cfg},
		{"cases", "show", "CASE-1000", "CASE-1001", "-config", cfg},
		{"cases", "show", "CASE-1000", "-jsn"},
		{"backup"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := run(t, args...)
			if code != 2 {
				t.Errorf("exit status %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, "Usage:") {
				t.Errorf("stderr does not show the usage: %q", stderr)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, stdout, _ := run(t, args...)
		if code != 0 || !strings.Contains(stdout, "casemail cases show ID") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		code, stdout, _ := run(t, arg)
		if code != 0 {
			t.Fatalf("%s: exit status %d", arg, code)
		}
		for _, want := range []string{"casemail", version, "commit", runtime.Version()} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s output %q does not contain %q", arg, stdout, want)
			}
		}
	}
}

// TestMissingConfig: a runtime error, exit 1, naming the file.
func TestMissingConfig(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.toml")
	for _, args := range [][]string{
		{"run", "-config", missing},
		{"check", "-config", missing},
		{"healthcheck", "-config", missing},
		{"cases", "list", "-config", missing},
		{"cases", "show", "CASE-1000", "-config", missing},
		{"backup", filepath.Join(t.TempDir(), "b.db"), "-config", missing},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, stdout, stderr := run(t, args...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if !strings.Contains(stderr+stdout, missing) {
				t.Errorf("output does not name %s: stdout %q stderr %q", missing, stdout, stderr)
			}
		})
	}
	// $CASEMAIL_CONFIG is the default.
	t.Setenv("CASEMAIL_CONFIG", missing)
	if code, _, stderr := run(t, "cases", "list"); code != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("with CASEMAIL_CONFIG: exit %d, stderr %q", code, stderr)
	}
}

func TestInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "casemail.toml", strings.Replace(fmt.Sprintf(testConfig, 1143, 1025, ""), "username", "usrname", 1))
	code, _, stderr := run(t, "cases", "list", "-config", p)
	if code != 1 || !strings.Contains(stderr, p) || !strings.Contains(stderr, "imap.usrname") {
		t.Errorf("exit %d, stderr %q; want 1 naming %s and imap.usrname", code, stderr, p)
	}
}

func TestContactsCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "contacts.toml", testContacts)
	code, stdout, stderr := run(t, "contacts", "check", good)
	if code != 0 {
		t.Fatalf("exit status %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, good) || !strings.Contains(stdout, "2 accounts, 3 contacts") {
		t.Errorf("stdout %q; want the file and \"2 accounts, 3 contacts\"", stdout)
	}

	bad := writeFile(t, dir, "bad.toml", testContacts+`
[[account]]
email    = "x@initech.example"
plan     = "premium"
engines  = ["initech"]
contacts = ["peter@initech", "not an address"]
`)
	code, stdout, stderr = run(t, "contacts", "check", bad)
	if code != 1 {
		t.Errorf("invalid file: exit status %d, want 1", code)
	}
	for _, want := range []string{bad, "line 15", "account 3", "x@initech.example", "contacts", "not an address"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not contain %q", stderr, want)
		}
	}
	if stdout != "" {
		t.Errorf("stdout %q, want nothing on failure", stdout)
	}

	missing := filepath.Join(dir, "missing.toml")
	if code, _, stderr := run(t, "contacts", "check", missing); code != 1 || !strings.Contains(stderr, missing) {
		t.Errorf("missing file: exit %d, stderr %q", code, stderr)
	}

	// With -config, plan names are checked against the config's plans.
	cfg := setup(t, 1143, 1025, "", "secret")
	gold := writeFile(t, dir, "gold.toml", strings.Replace(testContacts, `"standard"`, `"gold"`, 1))
	if code, _, stderr := run(t, "contacts", "check", gold); code != 0 {
		t.Errorf("without -config an unknown plan passes: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{
		{"contacts", "check", gold, "-config", cfg},
		{"contacts", "check", "-config", cfg, gold},
	} {
		code, _, stderr := run(t, args...)
		if code != 1 || !strings.Contains(stderr, `"gold"`) || !strings.Contains(stderr, "plan") {
			t.Errorf("%v: exit %d, stderr %q; want 1 naming plan \"gold\"", args, code, stderr)
		}
	}
}

// productCaseKeys are the keys of `cases show -json` in PRODUCT.md.
var productCaseKeys = []string{"id", "state", "account", "engine", "severity", "nature", "environment",
	"contact", "language", "created_at", "first_response_due", "related", "survey_rating", "messages"}

var productMessageKeys = []string{"direction", "kind", "from", "to", "subject", "text", "message_id", "at", "attachments"}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// checkShowJSON checks one `cases show -json` object against PRODUCT.md.
func checkShowJSON(t *testing.T, out string, id string) map[string]any {
	t.Helper()
	var obj map[string]any
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("cases show -json: %v\n%s", err, out)
	}
	if obj["id"] != id {
		t.Errorf("id = %v, want %s", obj["id"], id)
	}
	if got, want := keysOf(obj), sorted(productCaseKeys); !slices.Equal(got, want) {
		t.Errorf("BUG: cases show -json keys = %v, want exactly PRODUCT.md's %v", got, want)
	}
	msgs, ok := obj["messages"].([]any)
	if !ok {
		t.Fatalf("messages = %T, want an array", obj["messages"])
	}
	for i, m := range msgs {
		mo, _ := m.(map[string]any)
		if got, want := keysOf(mo), sorted(productMessageKeys); !slices.Equal(got, want) {
			t.Errorf("message %d keys = %v, want %v", i, got, want)
		}
	}
	if _, ok := obj["related"].([]any); !ok {
		t.Errorf("related = %v, want an array (empty when none)", obj["related"])
	}
	if ts, ok := obj["created_at"].(string); !ok {
		t.Errorf("created_at = %v", obj["created_at"])
	} else if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("created_at %q is not RFC3339", ts)
	}
	return obj
}

// TestCasesFromStoreFile: with no daemon, `cases` reads the store file;
// flags may stand before or after the case ID.
func TestCasesFromStoreFile(t *testing.T) {
	cfg := setup(t, 1143, 1025, "", "secret")
	dbPath := filepath.Join(filepath.Dir(cfg), "data", "casemail.db")
	db, err := store.Open(dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	due := created.Add(24 * time.Hour)
	err = db.Update(func(tx intake.Tx) error {
		for i, c := range []*intake.Case{
			{State: intake.StateOpen, Account: "admin@acme.example", Engine: "acme-search", Severity: 2,
				Nature: "indexing stuck", Environment: "production", Contact: "alice@acme.example", Language: "fr",
				CreatedAt: created, FirstResponseDue: &due, Subject: "Index bloqué", MessageCount: 1},
			{State: intake.StateWaiting, Account: "it@globex.example", Engine: "globex-prod", Severity: 3,
				Nature: "empty results", Contact: "bob@globex.example", Language: "en", CreatedAt: created,
				Related: []intake.CaseID{"CASE-1000"}},
		} {
			n, err := tx.NextCaseNumber()
			if err != nil {
				return err
			}
			c.ID = intake.FormatCaseID("CASE", n)
			if err := tx.PutCase(c); err != nil {
				return err
			}
			if err := tx.AppendMessage(c.ID, &intake.Message{Direction: intake.In, Kind: intake.KindCustomer,
				From: c.Contact, To: []string{"support@example.com"}, Subject: "help", Text: fmt.Sprint("text ", i),
				MessageID: fmt.Sprintf("<m%d@example>", i), At: created}); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	var outs []string
	for _, args := range [][]string{
		{"cases", "show", "CASE-1000", "-json", "-config", cfg},
		{"cases", "show", "-json", "CASE-1000", "-config", cfg},
		{"cases", "show", "-config", cfg, "-json", "CASE-1000"},
	} {
		code, stdout, stderr := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
		}
		outs = append(outs, stdout)
	}
	if outs[0] != outs[1] || outs[1] != outs[2] {
		t.Errorf("flag order changes the output:\n%s\n%s\n%s", outs[0], outs[1], outs[2])
	}
	obj := checkShowJSON(t, outs[0], "CASE-1000")
	if obj["state"] != "open" || obj["severity"] != 2.0 || obj["language"] != "fr" || obj["survey_rating"] != nil ||
		obj["first_response_due"] != due.Format(time.RFC3339) {
		t.Errorf("case = %v", obj)
	}
	if msgs := obj["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "text 0" {
		t.Errorf("messages = %v", obj["messages"])
	}

	// Human form.
	code, stdout, _ := run(t, "cases", "show", "CASE-1001", "-config", cfg)
	if code != 0 || !strings.Contains(stdout, "CASE-1001") || !strings.Contains(stdout, "waiting") || !strings.Contains(stdout, "text 1") {
		t.Errorf("cases show CASE-1001: exit %d, %q", code, stdout)
	}

	// A case that does not exist: runtime error naming it.
	code, _, stderr := run(t, "cases", "show", "CASE-4242", "-config", cfg)
	if code != 1 || !strings.Contains(stderr, "CASE-4242") {
		t.Errorf("cases show CASE-4242: exit %d, stderr %q; want 1 naming the case", code, stderr)
	}

	// list -json: an array of the same objects without messages.
	code, stdout, stderr = run(t, "cases", "list", "-json", "-config", cfg)
	if code != 0 {
		t.Fatalf("cases list -json: exit %d, %q", code, stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("cases list -json: %v\n%s", err, stdout)
	}
	if len(list) != 2 || list[0]["id"] != "CASE-1000" || list[1]["id"] != "CASE-1001" {
		t.Fatalf("cases list -json = %v", list)
	}
	wantKeys := sorted(slices.DeleteFunc(slices.Clone(productCaseKeys), func(k string) bool { return k == "messages" }))
	for _, c := range list {
		if got := keysOf(c); !slices.Equal(got, wantKeys) {
			t.Errorf("cases list -json keys = %v, want %v", got, wantKeys)
		}
	}
	// Filters.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-state", "waiting"}, []string{"CASE-1001"}},
		{[]string{"-state", "closed"}, nil},
		{[]string{"-account", "ADMIN@acme.example"}, []string{"CASE-1000"}},
	} {
		args := append([]string{"cases", "list", "-json", "-config", cfg}, tc.args...)
		code, stdout, _ := run(t, args...)
		var got []map[string]any
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != 0 {
			t.Errorf("%v: exit %d, %v, %q", tc.args, code, err, stdout)
			continue
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c["id"].(string))
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%v: ids %v, want %v", tc.args, ids, tc.want)
		}
		if tc.want == nil && strings.TrimSpace(stdout) != "[]" {
			t.Errorf("%v: empty list printed as %q, want []", tc.args, stdout)
		}
	}
	code, stdout, _ = run(t, "cases", "list", "-config", cfg)
	if code != 0 || !strings.Contains(stdout, "CASE-1000") || !strings.Contains(stdout, "globex-prod") {
		t.Errorf("cases list: exit %d, %q", code, stdout)
	}

	// backup FILE without a daemon copies the store file.
	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, stdout, stderr := run(t, "backup", backup, "-config", cfg); code != 0 || !strings.Contains(stdout, backup) {
		t.Errorf("backup: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	b, err := store.Open(backup, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("backup does not open: %v", err)
	}
	defer b.Close()
	if err := b.Check(); err != nil {
		t.Errorf("backup Check: %v", err)
	}
}

// TestDemo runs the demo: it must finish on its own and show the case, the
// refusal and the suppressed auto-reply.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	start := time.Now()
	code := Main(ctx, []string{"demo"}, &out, &errb)
	if code != 0 {
		t.Fatalf("demo: exit %d after %s, stderr %q\n%s", code, time.Since(start), errb.String(), out.String())
	}
	t.Logf("demo took %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"CASE-1000", "refused", "suppressed", "case_created"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output does not contain %q", want)
		}
	}
}
