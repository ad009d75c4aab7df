package config_test

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"casemail/config"
)

// examplePath is the documented example config at the repository root.
var examplePath = filepath.Join("..", "config.example.toml")

// TestExampleLoads loads config.example.toml as a user would: it must
// decode strictly, validate, resolve its contacts file and encode the
// Swiftype policy.
func TestExampleLoads(t *testing.T) {
	t.Setenv("CASEMAIL_IMAP_PASSWORD", "imap-secret")
	t.Setenv("CASEMAIL_SMTP_PASSWORD", "smtp-secret")
	cfg, err := config.Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, err := cfg.IMAPPassword(); err != nil || got != "imap-secret" {
		t.Errorf("IMAPPassword() = %q, %v; want imap-secret", got, err)
	}
	if got, err := cfg.SMTPPassword(); err != nil || got != "smtp-secret" {
		t.Errorf("SMTPPassword() = %q, %v; want smtp-secret", got, err)
	}
	// Production values.
	if cfg.IMAP.Port != 993 || cfg.IMAP.TLS != "implicit" {
		t.Errorf("imap port/tls = %d/%s, want 993/implicit", cfg.IMAP.Port, cfg.IMAP.TLS)
	}
	if cfg.SMTP.Port != 587 || cfg.SMTP.TLS != "starttls" {
		t.Errorf("smtp port/tls = %d/%s, want 587/starttls", cfg.SMTP.Port, cfg.SMTP.TLS)
	}
	if cfg.IMAP.PasswordEnv == "" || cfg.SMTP.PasswordEnv == "" {
		t.Errorf("example should take passwords from the environment")
	}

	// The contacts file it names resolves next to it and is valid against
	// the example's plans.
	wantContacts, _ := filepath.Abs(filepath.Join("..", "contacts.example.toml"))
	gotContacts, _ := filepath.Abs(cfg.Contacts.File)
	if gotContacts != wantContacts {
		t.Errorf("contacts file = %s, want %s", gotContacts, wantContacts)
	}
	plans, err := cfg.BuildPlans()
	if err != nil {
		t.Fatalf("BuildPlans: %v", err)
	}
	dir, err := config.LoadContacts(cfg.Contacts.File, plans)
	if err != nil {
		t.Fatalf("LoadContacts(%s): %v", cfg.Contacts.File, err)
	}
	if a, c := dir.Counts(); a == 0 || c == 0 {
		t.Errorf("example contacts: %d accounts, %d contacts; want some of each", a, c)
	}

	// The Swiftype policy.
	cal, ok := cfg.RawCals["pacific"]
	if !ok {
		t.Fatalf("no [calendars.pacific]")
	}
	if cal.TimeZone != "America/Los_Angeles" || cal.Hours != "08:00-18:00" || cal.Always ||
		!slices.Equal(cal.Weekdays, []string{"mon", "tue", "wed", "thu", "fri"}) || len(cal.Holidays) == 0 {
		t.Errorf("[calendars.pacific] = %+v, want America/Los_Angeles Mon–Fri 08:00-18:00 with holidays", cal)
	}
	want := map[string]struct {
		sev []int
		fr  map[int]string
	}{
		"premium":  {[]int{1, 2, 3}, map[int]string{1: "4bh", 2: "1bd", 3: "2bd"}},
		"pro":      {[]int{3}, map[int]string{3: "3bd"}},
		"standard": {[]int{3}, map[int]string{3: "3bd"}},
	}
	if len(plans) != len(want) {
		t.Errorf("plans = %d, want %d", len(plans), len(want))
	}
	for name, w := range want {
		p := plans[name]
		if p == nil {
			t.Errorf("no [plans.%s]", name)
			continue
		}
		if !slices.Equal(p.Severities, w.sev) {
			t.Errorf("[plans.%s] severities = %v, want %v", name, p.Severities, w.sev)
		}
		if cfg.Plans[name].Calendar != "pacific" {
			t.Errorf("[plans.%s] calendar = %q, want pacific", name, cfg.Plans[name].Calendar)
		}
		if len(p.FirstResponse) != len(w.fr) {
			t.Errorf("[plans.%s] first_response = %v, want %v", name, p.FirstResponse, w.fr)
		}
		for sev, target := range w.fr {
			if got := p.FirstResponse[sev].String(); got != target {
				t.Errorf("[plans.%s] first_response %d = %q, want %q", name, sev, got, target)
			}
		}
	}

	// A severity 1 mail at Monday 10:00 Pacific is due at 14:00 the same day.
	la, _ := time.LoadLocation("America/Los_Angeles")
	arrival := time.Date(2026, 11, 23, 10, 0, 0, 0, la)
	due := plans["premium"].Calendar.Due(arrival, plans["premium"].FirstResponse[1])
	if wantDue := time.Date(2026, 11, 23, 14, 0, 0, 0, la); !due.Equal(wantDue) {
		t.Errorf("premium severity 1 at %s due %s, want %s", arrival, due, wantDue)
	}
}

// TestExampleDocumentsEveryKey walks config.Config's toml tags and checks
// that each key appears in config.example.toml in its section (set, or
// shown in a comment as "# key = …" when it is one of two alternatives), so
// that the example cannot drift from the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	documented := exampleKeys(t, examplePath)
	var want []string
	walkKeys(reflect.TypeFor[config.Config](), "", &want)
	if len(want) < 40 {
		t.Fatalf("found only %d keys in config.Config; the walk is broken: %v", len(want), want)
	}
	for _, k := range want {
		if !documented[k] {
			t.Errorf("key %s is not documented in %s", k, examplePath)
		}
	}
	// And the reverse: nothing documented that the code does not know.
	known := make(map[string]bool)
	for _, k := range want {
		known[k] = true
	}
	for k := range documented {
		if !known[k] {
			t.Errorf("%s documents %s, which config.Config does not have", examplePath, k)
		}
	}
}

// walkKeys appends "section.key" for every leaf of t; map sections of
// structs (calendars, plans) are named "section.*".
func walkKeys(t reflect.Type, prefix string, out *[]string) {
	for f := range t.Fields() {
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous {
			walkKeys(f.Type, prefix, out) // embedded: its keys are the section's
			continue
		}
		if tag == "" {
			tag = f.Name
		}
		name := tag
		if prefix != "" {
			name = prefix + "." + tag
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[config.Duration]():
			walkKeys(ft, name, out)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			walkKeys(ft.Elem(), name+".*", out)
		default:
			*out = append(*out, name)
		}
	}
}

var (
	headerRE = regexp.MustCompile(`^\[([A-Za-z0-9_.-]+)\]\s*(#.*)?$`)
	keyRE    = regexp.MustCompile(`^#?\s*([a-z_]+)\s*=`)
)

// exampleKeys reads the keys set or shown commented out in each section of
// the example file, as "section.key" ("calendars.*.key" for named tables).
func exampleKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := make(map[string]bool)
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if m := headerRE.FindStringSubmatch(line); m != nil {
			section = m[1]
			if s, _, ok := strings.Cut(section, "."); ok && (s == "calendars" || s == "plans") {
				section = s + ".*"
			}
			continue
		}
		if section == "" {
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			keys[section+"."+m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}
