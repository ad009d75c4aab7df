package config_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casemail/config"
)

// validTOML is a minimal valid config; cases below edit it.
const validTOML = `
[imap]
host = "imap.example.com"
username = "support@example.com"
password_env = "TEST_IMAP_PASSWORD"

[smtp]
host = "smtp.example.com"
from = "Acme Support <support@example.com>"

[contacts]
file = "contacts.toml"

[agents]
addresses = ["dana@example.com"]
notify = "team@example.com"

[calendars.pacific]
time_zone = "America/Los_Angeles"
weekdays = ["mon", "tue", "wed", "thu", "fri"]
hours = "08:00-18:00"
holidays = ["2026-12-25"]

[plans.premium]
calendar = "pacific"
severities = [1, 2, 3]
first_response = { 1 = "4bh", 2 = "1bd", 3 = "2bd" }
`

// MustParse parses TOML or fails the test.
func MustParse(tb testing.TB, data string) *config.Config {
	tb.Helper()
	cfg, err := config.Parse([]byte(data))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, data)
	}
	return cfg
}

// writeFile writes content to dir/name and returns the path.
func writeFile(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestValidConfig(t *testing.T) {
	cfg := MustParse(t, validTOML)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// Defaults survive a file that does not set them.
	if cfg.IMAP.Port != 993 || cfg.IMAP.TLS != "implicit" || cfg.IMAP.Folder != "INBOX" ||
		cfg.IMAP.StartFrom != "unseen" || cfg.IMAP.PollInterval.Duration != time.Minute || !cfg.IMAP.Idle {
		t.Errorf("imap defaults = %+v", cfg.IMAP)
	}
	if cfg.SMTP.Port != 587 || cfg.SMTP.TLS != "starttls" {
		t.Errorf("smtp defaults = %+v", cfg.SMTP)
	}
	if cfg.Cases.IDPrefix != "CASE" || cfg.Security.RequireAuth != "none" || cfg.Security.VerifyDKIM {
		t.Errorf("defaults: id_prefix %q, require_auth %q, verify_dkim %v", cfg.Cases.IDPrefix, cfg.Security.RequireAuth, cfg.Security.VerifyDKIM)
	}
	if !strings.HasPrefix(cfg.Admin.Listen, "127.0.0.1:") {
		t.Errorf("admin listen default %q is not loopback", cfg.Admin.Listen)
	}
}

func TestParseUnknownKey(t *testing.T) {
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"top level", "hots = 1\n", "hots"},
		{"imap", strings.Replace(validTOML, `host = "imap.example.com"`, `hots = "imap.example.com"`, 1), "imap.hots"},
		{"smtp", strings.Replace(validTOML, `from = `, `form = `, 1), "smtp.form"},
		{"calendar", strings.Replace(validTOML, `time_zone = `, `timezone = `, 1), "calendars.pacific.timezone"},
		{"plan", strings.Replace(validTOML, `severities = `, `severity = `, 1), "plans.premium.severity"},
		{"section", validTOML + "\n[imapp]\nhost = \"x\"\n", "imapp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.edit
			if tc.name == "top level" {
				data = tc.edit + validTOML
			}
			_, err := config.Parse([]byte(data))
			if err == nil {
				t.Fatalf("Parse accepted a misspelt key %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestParseBadDuration: a duration that does not parse names its line.
func TestParseBadDuration(t *testing.T) {
	data := strings.Replace(validTOML, `password_env = "TEST_IMAP_PASSWORD"`,
		"password_env = \"TEST_IMAP_PASSWORD\"\npoll_interval = \"5 minutes\"", 1)
	line := 1 + strings.Count(data[:strings.Index(data, "poll_interval")], "\n")
	_, err := config.Parse([]byte(data))
	if err == nil {
		t.Fatal("Parse accepted poll_interval = \"5 minutes\"")
	}
	for _, want := range []string{"line " + itoa(line), "5 minutes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestParseSyntaxErrorNamesLine(t *testing.T) {
	_, err := config.Parse([]byte("[imap]\nhost = \"x\"\nport = = 3\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("error %v does not name line 3", err)
	}
}

// TestValidate: every rule gives an error naming section and key.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *config.Config)
		want []string // all must appear in the error
	}{
		{"imap host missing", func(c *config.Config) { c.IMAP.Host = "" }, []string{"[imap] host", "required"}},
		{"smtp host missing", func(c *config.Config) { c.SMTP.Host = "" }, []string{"[smtp] host", "required"}},
		{"imap port 0", func(c *config.Config) { c.IMAP.Port = 0 }, []string{"[imap] port", "0"}},
		{"imap port too big", func(c *config.Config) { c.IMAP.Port = 65536 }, []string{"[imap] port", "65536"}},
		{"smtp port negative", func(c *config.Config) { c.SMTP.Port = -1 }, []string{"[smtp] port", "-1"}},
		{"imap tls none remote", func(c *config.Config) { c.IMAP.TLS = "none" }, []string{"[imap] tls", "loopback", "imap.example.com"}},
		{"smtp tls none remote", func(c *config.Config) { c.SMTP.TLS = "none" }, []string{"[smtp] tls", "loopback", "smtp.example.com"}},
		{"imap tls unknown", func(c *config.Config) { c.IMAP.TLS = "ssl" }, []string{"[imap] tls", `"ssl"`}},
		{"smtp tls unknown", func(c *config.Config) { c.SMTP.TLS = "tls" }, []string{"[smtp] tls", `"tls"`}},
		{"imap username missing", func(c *config.Config) { c.IMAP.Username = "" }, []string{"[imap] username", "required"}},
		{"imap both password sources", func(c *config.Config) { c.IMAP.PasswordFile = "/run/secret" }, []string{"[imap] password_", "not both"}},
		{"smtp both password sources", func(c *config.Config) {
			c.SMTP.Username = "u"
			c.SMTP.PasswordEnv = "E"
			c.SMTP.PasswordFile = "/f"
		}, []string{"[smtp] password_", "not both"}},
		{"imap no password source", func(c *config.Config) { c.IMAP.PasswordEnv = "" }, []string{"[imap] password_env", "password_file"}},
		{"smtp username without password", func(c *config.Config) { c.SMTP.Username = "support@example.com" }, []string{"[smtp] password_env", "password_file"}},
		{"folder empty", func(c *config.Config) { c.IMAP.Folder = "" }, []string{"[imap] folder"}},
		{"processed folder is folder", func(c *config.Config) { c.IMAP.ProcessedFolder = "INBOX" }, []string{"[imap] processed_folder", "INBOX"}},
		{"quarantine folder is folder", func(c *config.Config) { c.IMAP.QuarantineFolder = "INBOX" }, []string{"[imap] quarantine_folder", "INBOX"}},
		{"bad start_from", func(c *config.Config) { c.IMAP.StartFrom = "new" }, []string{"[imap] start_from", `"new"`}},
		{"poll_interval too short", func(c *config.Config) { c.IMAP.PollInterval.Duration = 100 * time.Millisecond }, []string{"[imap] poll_interval", "100ms"}},
		{"poll_interval zero", func(c *config.Config) { c.IMAP.PollInterval.Duration = 0 }, []string{"[imap] poll_interval"}},
		{"batch_size 0", func(c *config.Config) { c.IMAP.BatchSize = 0 }, []string{"[imap] batch_size"}},
		{"from missing", func(c *config.Config) { c.SMTP.From = "" }, []string{"[smtp] from"}},
		{"from not an address", func(c *config.Config) { c.SMTP.From = "Acme Support" }, []string{"[smtp] from", "Acme Support"}},
		{"store path empty", func(c *config.Config) { c.Store.Path = "" }, []string{"[store] path"}},
		{"contacts file empty", func(c *config.Config) { c.Contacts.File = "" }, []string{"[contacts] file"}},
		{"id_prefix empty", func(c *config.Config) { c.Cases.IDPrefix = "" }, []string{"[cases] id_prefix"}},
		{"id_prefix digit first", func(c *config.Config) { c.Cases.IDPrefix = "1CASE" }, []string{"[cases] id_prefix", "1CASE"}},
		{"id_prefix with space", func(c *config.Config) { c.Cases.IDPrefix = "MY CASE" }, []string{"[cases] id_prefix", "MY CASE"}},
		{"id_prefix with bracket", func(c *config.Config) { c.Cases.IDPrefix = "CASE]" }, []string{"[cases] id_prefix"}},
		{"reminder_after not a target", func(c *config.Config) { c.Cases.ReminderAfter = "2 days" }, []string{"[cases] reminder_after", "2 days"}},
		{"max_contact_attempts 0", func(c *config.Config) { c.Cases.MaxContactAttempts = 0 }, []string{"[cases] max_contact_attempts"}},
		{"resolved_close_after 0", func(c *config.Config) { c.Cases.ResolvedCloseAfter.Duration = 0 }, []string{"[cases] resolved_close_after"}},
		{"reopen_within negative", func(c *config.Config) { c.Cases.ReopenWithin.Duration = -time.Hour }, []string{"[cases] reopen_within"}},
		{"agent address bad", func(c *config.Config) { c.Agents.Addresses = []string{"dana@example.com", "not-an-address"} }, []string{"[agents] addresses", "entry 2", "not-an-address"}},
		{"agent address with name", func(c *config.Config) { c.Agents.Addresses = []string{"Dana <dana@example.com>"} }, []string{"[agents] addresses", "Dana"}},
		{"notify bad", func(c *config.Config) { c.Agents.Notify = "team" }, []string{"[agents] notify", `"team"`}},
		{"notify two addresses", func(c *config.Config) { c.Agents.Notify = "a@example.com, b@example.com" }, []string{"[agents] notify"}},
		{"admin listen no port", func(c *config.Config) { c.Admin.Listen = "127.0.0.1" }, []string{"[admin] listen", "127.0.0.1"}},
		{"require_auth unknown", func(c *config.Config) { c.Security.RequireAuth = "some" }, []string{"[security] require_auth", `"some"`}},
		{"require_auth without trusted ids", func(c *config.Config) { c.Security.RequireAuth = "all" }, []string{"[security] trusted_authserv_ids", "all"}},
		{"log format", func(c *config.Config) { c.Log.Format = "logfmt" }, []string{"[log] format", "logfmt"}},
		{"log level", func(c *config.Config) { c.Log.Level = "verbose" }, []string{"[log] level", "verbose"}},
		{"max_message_bytes", func(c *config.Config) { c.Limits.MaxMessageBytes = 10 }, []string{"[limits] max_message_bytes"}},
		{"auto_replies_per_hour", func(c *config.Config) { c.Limits.AutoRepliesPerHour = 0 }, []string{"[limits] auto_replies_per_hour"}},

		{"calendar bad time zone", func(c *config.Config) {
			editCal(c, "pacific", func(x *config.Calendar) { x.TimeZone = "Pacific/Nowhere" })
		}, []string{"calendars.pacific", "time_zone", "Pacific/Nowhere"}},
		{"calendar bad weekday", func(c *config.Config) {
			editCal(c, "pacific", func(x *config.Calendar) { x.Weekdays = []string{"mon", "funday"} })
		}, []string{"calendars.pacific", "weekdays", "funday"}},
		{"calendar bad hours", func(c *config.Config) { editCal(c, "pacific", func(x *config.Calendar) { x.Hours = "8-18" }) }, []string{"calendars.pacific", "hours", "8-18"}},
		{"calendar hours backwards", func(c *config.Config) { editCal(c, "pacific", func(x *config.Calendar) { x.Hours = "18:00-08:00" }) }, []string{"calendars.pacific", "hours"}},
		{"calendar hours missing", func(c *config.Config) { editCal(c, "pacific", func(x *config.Calendar) { x.Hours = "" }) }, []string{"calendars.pacific", "hours"}},
		{"calendar bad holiday", func(c *config.Config) {
			editCal(c, "pacific", func(x *config.Calendar) { x.Holidays = []string{"25/12/2026"} })
		}, []string{"calendars.pacific", "holidays", "25/12/2026"}},
		{"plan unknown calendar", func(c *config.Config) { editPlan(c, "premium", func(x *config.Plan) { x.Calendar = "atlantic" }) }, []string{"[plans.premium] calendar", "atlantic"}},
		{"plan severity 0", func(c *config.Config) {
			editPlan(c, "premium", func(x *config.Plan) { x.Severities = []int{0, 1, 2, 3} })
		}, []string{"[plans.premium] severities", "0"}},
		{"plan severity 5", func(c *config.Config) {
			editPlan(c, "premium", func(x *config.Plan) { x.Severities = []int{1, 2, 3, 5} })
		}, []string{"[plans.premium] severities", "5"}},
		{"plan no severities", func(c *config.Config) {
			editPlan(c, "premium", func(x *config.Plan) { x.Severities, x.FirstResponse = nil, nil })
		}, []string{"[plans.premium] severities"}},
		{"first_response key not a severity of the plan", func(c *config.Config) { editPlan(c, "premium", func(x *config.Plan) { x.FirstResponse["4"] = "5bd" }) }, []string{"[plans.premium] first_response", `"4"`}},
		{"first_response key not a number", func(c *config.Config) {
			editPlan(c, "premium", func(x *config.Plan) { x.FirstResponse["high"] = "1bd" })
		}, []string{"[plans.premium] first_response", `"high"`}},
		{"first_response bad target", func(c *config.Config) {
			editPlan(c, "premium", func(x *config.Plan) { x.FirstResponse["2"] = "1 day" })
		}, []string{"[plans.premium] first_response", "severity 2", "1 day"}},
		{"first_response zero target", func(c *config.Config) { editPlan(c, "premium", func(x *config.Plan) { x.FirstResponse["1"] = "0bh" }) }, []string{"[plans.premium] first_response", "0bh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := MustParse(t, validTOML)
			tc.edit(cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatalf("Validate accepted it; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// editCal edits one [calendars.NAME] table in place.
func editCal(c *config.Config, name string, fn func(*config.Calendar)) {
	v := c.RawCals[name]
	fn(&v)
	c.RawCals[name] = v
}

// editPlan edits one [plans.NAME] table in place.
func editPlan(c *config.Config, name string, fn func(*config.Plan)) {
	v := c.Plans[name]
	fn(&v)
	c.Plans[name] = v
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestValidateListsEveryProblem: one Validate call reports all problems,
// not only the first.
func TestValidateListsEveryProblem(t *testing.T) {
	cfg := MustParse(t, validTOML)
	cfg.IMAP.Host = ""
	cfg.SMTP.From = "nobody"
	cfg.Log.Level = "loud"
	err := cfg.Validate()
	for _, want := range []string{"[imap] host", "[smtp] from", "[log] level"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *config.Config)
	}{
		{"imap tls none on 127.0.0.1", func(c *config.Config) { c.IMAP.Host, c.IMAP.TLS = "127.0.0.1", "none" }},
		{"imap tls none on localhost", func(c *config.Config) { c.IMAP.Host, c.IMAP.TLS = "localhost", "none" }},
		{"smtp tls none on ::1", func(c *config.Config) { c.SMTP.Host, c.SMTP.TLS = "::1", "none" }},
		{"smtp tls implicit", func(c *config.Config) { c.SMTP.TLS, c.SMTP.Port = "implicit", 465 }},
		{"smtp without auth", func(c *config.Config) { c.SMTP.Username = "" }},
		{"smtp auth with password file", func(c *config.Config) { c.SMTP.Username, c.SMTP.PasswordFile = "u", "/run/secrets/smtp" }},
		{"imap password file", func(c *config.Config) { c.IMAP.PasswordEnv, c.IMAP.PasswordFile = "", "/run/secrets/imap" }},
		{"from bare address", func(c *config.Config) { c.SMTP.From = "support@example.com" }},
		{"id_prefix with dash and digits", func(c *config.Config) { c.Cases.IDPrefix = "ACME-2" }},
		{"admin listen empty", func(c *config.Config) { c.Admin.Listen = "" }},
		{"start_from now", func(c *config.Config) { c.IMAP.StartFrom = "now" }},
		{"start_from all", func(c *config.Config) { c.IMAP.StartFrom = "all" }},
		{"require_auth agents with trusted ids", func(c *config.Config) {
			c.Security.RequireAuth, c.Security.TrustedAuthservIDs = "agents", []string{"mx.example.com"}
		}},
		{"require_auth all with verify_dkim", func(c *config.Config) { c.Security.RequireAuth, c.Security.VerifyDKIM = "all", true }},
		{"log level upper case", func(c *config.Config) { c.Log.Level = "DEBUG" }},
		{"24x7 calendar", func(c *config.Config) {
			c.RawCals["always"] = config.Calendar{TimeZone: "UTC", Always: true}
			editPlan(c, "premium", func(p *config.Plan) { p.Calendar = "always" })
		}},
		{"clock-hour targets", func(c *config.Config) {
			editPlan(c, "premium", func(p *config.Plan) { p.FirstResponse = map[string]string{"1": "1h", "2": "8h"} })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := MustParse(t, validTOML)
			tc.edit(cfg)
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// TestBadCalendarIsReportedOnce: a plan on a broken calendar does not add a
// second, misleading "no [calendars.x]" error.
func TestBadCalendarIsReportedOnce(t *testing.T) {
	cfg := MustParse(t, validTOML)
	editCal(cfg, "pacific", func(c *config.Calendar) { c.TimeZone = "Mars/Olympus" })
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted time_zone Mars/Olympus")
	}
	if strings.Contains(err.Error(), "no [calendars.pacific]") {
		t.Errorf("error %q also claims the calendar is missing", err)
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	t.Run("env", func(t *testing.T) {
		t.Setenv("TEST_IMAP_PASSWORD", "s3cret")
		cfg := MustParse(t, validTOML)
		got, err := cfg.IMAPPassword()
		if err != nil || got != "s3cret" {
			t.Errorf("IMAPPassword() = %q, %v; want s3cret", got, err)
		}
	})
	t.Run("env missing", func(t *testing.T) {
		t.Setenv("TEST_IMAP_PASSWORD", "")
		os.Unsetenv("TEST_IMAP_PASSWORD")
		cfg := MustParse(t, validTOML)
		_, err := cfg.IMAPPassword()
		if err == nil || !strings.Contains(err.Error(), "TEST_IMAP_PASSWORD") || !strings.Contains(err.Error(), "[imap] password_env") {
			t.Errorf("IMAPPassword() error = %v; want it to name [imap] password_env and TEST_IMAP_PASSWORD", err)
		}
	})
	t.Run("env empty", func(t *testing.T) {
		t.Setenv("TEST_IMAP_PASSWORD", "")
		cfg := MustParse(t, validTOML)
		if _, err := cfg.IMAPPassword(); err == nil {
			t.Error("IMAPPassword() accepted an empty variable")
		}
	})
	t.Run("file trailing newline trimmed", func(t *testing.T) {
		for _, content := range []string{"pa ss\n", "pa ss\r\n", "pa ss"} {
			p := writeFile(t, dir, "imap.pass", content)
			cfg := MustParse(t, validTOML)
			cfg.IMAP.PasswordEnv, cfg.IMAP.PasswordFile = "", p
			got, err := cfg.IMAPPassword()
			if err != nil || got != "pa ss" {
				t.Errorf("file %q: IMAPPassword() = %q, %v; want %q", content, got, err, "pa ss")
			}
		}
	})
	t.Run("file missing", func(t *testing.T) {
		cfg := MustParse(t, validTOML)
		p := filepath.Join(dir, "nope.pass")
		cfg.IMAP.PasswordEnv, cfg.IMAP.PasswordFile = "", p
		_, err := cfg.IMAPPassword()
		if err == nil || !strings.Contains(err.Error(), "[imap] password_file") || !strings.Contains(err.Error(), p) {
			t.Errorf("IMAPPassword() error = %v; want it to name [imap] password_file and %s", err, p)
		}
	})
	t.Run("smtp without username needs none", func(t *testing.T) {
		cfg := MustParse(t, validTOML)
		got, err := cfg.SMTPPassword()
		if err != nil || got != "" {
			t.Errorf("SMTPPassword() = %q, %v; want \"\", nil", got, err)
		}
	})
	t.Run("smtp file", func(t *testing.T) {
		p := writeFile(t, dir, "smtp.pass", "smtp-pw\n")
		cfg := MustParse(t, validTOML)
		cfg.SMTP.Username, cfg.SMTP.PasswordFile = "support@example.com", p
		got, err := cfg.SMTPPassword()
		if err != nil || got != "smtp-pw" {
			t.Errorf("SMTPPassword() = %q, %v; want smtp-pw", got, err)
		}
	})
}

// TestLoadResolvesRelativePaths: relative paths are taken from the
// config's directory, not the working directory; absolute ones are kept.
func TestLoadResolvesRelativePaths(t *testing.T) {
	dir := t.TempDir()
	data := validTOML + `
[store]
path = "data/casemail.db"
[templates]
dir = "tmpl"
`
	data = strings.Replace(data, `password_env = "TEST_IMAP_PASSWORD"`, `password_file = "secrets/imap.pass"`, 1)
	data = strings.Replace(data, `from = `, "username = \"u\"\npassword_file = \"/abs/smtp.pass\"\nfrom = ", 1)
	p := writeFile(t, dir, "etc/casemail.toml", data)
	writeFile(t, dir, "etc/secrets/imap.pass", "imap-pw\n")
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	etc := filepath.Join(dir, "etc")
	for _, tc := range []struct{ key, got, want string }{
		{"store.path", cfg.Store.Path, filepath.Join(etc, "data/casemail.db")},
		{"contacts.file", cfg.Contacts.File, filepath.Join(etc, "contacts.toml")},
		{"templates.dir", cfg.Templates.Dir, filepath.Join(etc, "tmpl")},
		{"imap.password_file", cfg.IMAP.PasswordFile, filepath.Join(etc, "secrets/imap.pass")},
		{"smtp.password_file", cfg.SMTP.PasswordFile, "/abs/smtp.pass"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.key, tc.got, tc.want)
		}
	}
	if cfg.Path != p {
		t.Errorf("Path = %q, want %q", cfg.Path, p)
	}
	if got, err := cfg.IMAPPassword(); err != nil || got != "imap-pw" {
		t.Errorf("IMAPPassword() = %q, %v", got, err)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.toml")
	if _, err := config.Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error = %v; want it to name %s", err, missing)
	}
	bad := writeFile(t, dir, "bad.toml", strings.Replace(validTOML, "username", "usrname", 1))
	if _, err := config.Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "imap.usrname") {
		t.Errorf("Load(bad) error = %v; want it to name %s and imap.usrname", err, bad)
	}
	invalid := writeFile(t, dir, "invalid.toml", strings.Replace(validTOML, `host = "imap.example.com"`, `host = ""`, 1))
	if _, err := config.Load(invalid); err == nil || !strings.Contains(err.Error(), invalid) || !strings.Contains(err.Error(), "[imap] host") {
		t.Errorf("Load(invalid) error = %v; want it to name %s and [imap] host", err, invalid)
	}
}

func TestDurationRoundTrip(t *testing.T) {
	cfg := MustParse(t, strings.Replace(validTOML, "[smtp]", "poll_interval = \"1m30s\"\ntimeout = \"45s\"\n[smtp]", 1))
	if cfg.IMAP.PollInterval.Duration != 90*time.Second || cfg.IMAP.Timeout.Duration != 45*time.Second {
		t.Errorf("durations = %v, %v", cfg.IMAP.PollInterval, cfg.IMAP.Timeout)
	}
	b, err := cfg.IMAP.PollInterval.MarshalText()
	if err != nil || string(b) != "1m30s" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST": true,
		"10.0.0.1": false, "imap.example.com": false, "": false, "localhost.example.com": false, "0.0.0.0": false,
	} {
		if got := config.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
