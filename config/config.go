// Package config reads casemail's TOML configuration and contacts
// allowlist, strictly: a misspelt key is an error naming it, and every
// validation error names the section and key at fault.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"casemail/calendar"
	"casemail/intake"
)

// Config is the whole configuration file.
type Config struct {
	IMAP      IMAP                `toml:"imap"`
	SMTP      SMTP                `toml:"smtp"`
	Store     Store               `toml:"store"`
	Contacts  Contacts            `toml:"contacts"`
	Cases     Cases               `toml:"cases"`
	Agents    Agents              `toml:"agents"`
	RawCals   map[string]Calendar `toml:"calendars"`
	Plans     map[string]Plan     `toml:"plans"`
	Admin     Admin               `toml:"admin"`
	Security  Security            `toml:"security"`
	Log       Log                 `toml:"log"`
	Templates Templates           `toml:"templates"`
	Limits    Limits              `toml:"limits"`

	// Path is the file the config was read from; relative paths in it are
	// resolved against its directory.
	Path string `toml:"-"`
}

// Server holds what [imap] and [smtp] share: where the server is and how
// to log in to it.
type Server struct {
	Host         string   `toml:"host"`
	Port         int      `toml:"port"`
	TLS          string   `toml:"tls"`
	Username     string   `toml:"username"`
	Auth         string   `toml:"auth"` // "password" or "xoauth2"
	PasswordEnv  string   `toml:"password_env"`
	PasswordFile string   `toml:"password_file"`
	TokenFile    string   `toml:"token_file"`
	TokenCommand []string `toml:"token_command"`
}

// IMAP is the [imap] section.
type IMAP struct {
	Server
	Folder           string   `toml:"folder"`
	ProcessedFolder  string   `toml:"processed_folder"`
	QuarantineFolder string   `toml:"quarantine_folder"`
	PollInterval     Duration `toml:"poll_interval"`
	Idle             bool     `toml:"idle"`
	StartFrom        string   `toml:"start_from"`
	BatchSize        int      `toml:"batch_size"`
	Timeout          Duration `toml:"timeout"`
}

// SMTP is the [smtp] section.
type SMTP struct {
	Server
	From    string   `toml:"from"`
	Timeout Duration `toml:"timeout"`
}

// Store is the [store] section.
type Store struct {
	Path string `toml:"path"`
}

// Contacts is the [contacts] section.
type Contacts struct {
	File string `toml:"file"`
}

// Cases is the [cases] section.
type Cases struct {
	IDPrefix           string   `toml:"id_prefix"`
	ReminderAfter      string   `toml:"reminder_after"`       // e.g. "2bd"
	MaxContactAttempts int      `toml:"max_contact_attempts"` // agent answer + reminders
	ResolvedCloseAfter Duration `toml:"resolved_close_after"`
	ReopenWithin       Duration `toml:"reopen_within"`
}

// Agents is the [agents] section.
type Agents struct {
	Addresses []string `toml:"addresses"`
	Notify    string   `toml:"notify"`
}

// Calendar is one [calendars.NAME] table.
type Calendar struct {
	TimeZone string   `toml:"time_zone"`
	Weekdays []string `toml:"weekdays"`
	Hours    string   `toml:"hours"`
	Holidays []string `toml:"holidays"`
	Always   bool     `toml:"always"`
}

// Plan is one [plans.NAME] table.
type Plan struct {
	Calendar      string            `toml:"calendar"`
	Severities    []int             `toml:"severities"`
	FirstResponse map[string]string `toml:"first_response"`
}

// Admin is the [admin] section.
type Admin struct {
	Listen string `toml:"listen"`
}

// Security is the [security] section.
type Security struct {
	TrustedAuthservIDs []string `toml:"trusted_authserv_ids"`
	RequireAuth        string   `toml:"require_auth"`
	VerifyDKIM         bool     `toml:"verify_dkim"`
}

// Log is the [log] section.
type Log struct {
	Format string `toml:"format"`
	Level  string `toml:"level"`
}

// Templates is the [templates] section.
type Templates struct {
	Dir string `toml:"dir"`
}

// Limits is the [limits] section.
type Limits struct {
	MaxMessageBytes int64 `toml:"max_message_bytes"`
	// AutoRepliesPerHour caps automatic answers to one sender.
	AutoRepliesPerHour int `toml:"auto_replies_per_hour"`
}

// Duration is a Go duration string in TOML ("30s", "5m").
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. \"30s\", \"5m\")", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the configuration every file is decoded over.
func Default() *Config {
	return &Config{
		IMAP: IMAP{
			Server: Server{Port: 993, TLS: "implicit", Auth: "password"}, Folder: "INBOX",
			PollInterval: Duration{time.Minute}, Idle: true, StartFrom: "unseen",
			BatchSize: 50, Timeout: Duration{time.Minute},
		},
		SMTP:  SMTP{Server: Server{Port: 587, TLS: "starttls", Auth: "password"}, Timeout: Duration{30 * time.Second}},
		Store: Store{Path: "casemail.db"},
		Cases: Cases{IDPrefix: "CASE", ReminderAfter: "2bd", MaxContactAttempts: 3,
			ResolvedCloseAfter: Duration{7 * 24 * time.Hour}, ReopenWithin: Duration{7 * 24 * time.Hour}},
		Admin:  Admin{Listen: "127.0.0.1:8025"},
		Log:    Log{Format: "text", Level: "info"},
		Limits: Limits{MaxMessageBytes: 25 << 20, AutoRepliesPerHour: 3},
		Security: Security{
			RequireAuth: "none",
		},
	}
}

// Load reads, decodes and validates a config file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.Path = path
	cfg.resolvePaths(filepath.Dir(path))
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes TOML over Default, refusing keys it does not know. It does
// not validate.
func Parse(data []byte) (*Config, error) {
	cfg := Default()
	md, err := toml.Decode(string(data), cfg)
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
	return cfg, nil
}

func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.Store.Path, &c.Contacts.File, &c.IMAP.PasswordFile,
		&c.SMTP.PasswordFile, &c.Templates.Dir, &c.IMAP.TokenFile, &c.SMTP.TokenFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// FieldError names the key at fault.
type FieldError struct {
	Section, Key, Msg string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("[%s] %s: %s", e.Section, e.Key, e.Msg)
}

func fieldErr(section, key, format string, args ...any) error {
	return &FieldError{Section: section, Key: key, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks every key; the error lists every problem found.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(c.IMAP.Server.check("imap"))
	add(c.SMTP.Server.check("smtp"))
	if c.IMAP.Username == "" {
		add(fieldErr("imap", "username", "required"))
	}
	add(c.IMAP.Server.checkAuth("imap", true))
	add(c.SMTP.Server.checkAuth("smtp", c.SMTP.Username != ""))
	if c.IMAP.Folder == "" {
		add(fieldErr("imap", "folder", "must not be empty"))
	}
	if c.IMAP.ProcessedFolder != "" && c.IMAP.ProcessedFolder == c.IMAP.Folder {
		add(fieldErr("imap", "processed_folder", "must differ from folder %q", c.IMAP.Folder))
	}
	if c.IMAP.QuarantineFolder != "" && c.IMAP.QuarantineFolder == c.IMAP.Folder {
		add(fieldErr("imap", "quarantine_folder", "must differ from folder %q", c.IMAP.Folder))
	}
	if c.IMAP.PollInterval.Duration < time.Second {
		add(fieldErr("imap", "poll_interval", "%s is too short (at least 1s)", c.IMAP.PollInterval))
	}
	switch c.IMAP.StartFrom {
	case "unseen", "all", "now":
	default:
		add(fieldErr("imap", "start_from", "%q: want \"unseen\", \"all\" or \"now\"", c.IMAP.StartFrom))
	}
	if c.IMAP.BatchSize < 1 || c.IMAP.BatchSize > 5000 {
		add(fieldErr("imap", "batch_size", "%d: want 1 to 5000", c.IMAP.BatchSize))
	}
	if a, err := mail.ParseAddress(c.SMTP.From); err != nil || c.SMTP.From == "" {
		add(fieldErr("smtp", "from", "%q is not an address like \"Acme Support <support@example.com>\"", c.SMTP.From))
	} else if strings.ContainsAny(a.Name, "\r\n") {
		add(fieldErr("smtp", "from", "display name has a line break"))
	}
	if c.Store.Path == "" {
		add(fieldErr("store", "path", "required"))
	}
	if c.Contacts.File == "" {
		add(fieldErr("contacts", "file", "required"))
	}
	if !validPrefix(c.Cases.IDPrefix) {
		add(fieldErr("cases", "id_prefix", "%q: want letters, digits and dashes, starting with a letter", c.Cases.IDPrefix))
	}
	if _, err := calendar.ParseTarget(c.Cases.ReminderAfter); err != nil {
		add(fieldErr("cases", "reminder_after", "%v", err))
	}
	if c.Cases.MaxContactAttempts < 1 {
		add(fieldErr("cases", "max_contact_attempts", "%d: want at least 1", c.Cases.MaxContactAttempts))
	}
	if c.Cases.ResolvedCloseAfter.Duration <= 0 {
		add(fieldErr("cases", "resolved_close_after", "must be positive"))
	}
	if c.Cases.ReopenWithin.Duration <= 0 {
		add(fieldErr("cases", "reopen_within", "must be positive"))
	}
	for i, a := range c.Agents.Addresses {
		if !isAddress(a) {
			add(fieldErr("agents", "addresses", "entry %d: %q is not an email address", i+1, a))
		}
	}
	if c.Agents.Notify != "" && !isAddress(c.Agents.Notify) {
		add(fieldErr("agents", "notify", "%q is not an email address", c.Agents.Notify))
	}
	if _, _, err := net.SplitHostPort(c.Admin.Listen); c.Admin.Listen != "" && err != nil {
		add(fieldErr("admin", "listen", "%q is not host:port", c.Admin.Listen))
	}
	switch c.Security.RequireAuth {
	case "none", "agents", "all":
	default:
		add(fieldErr("security", "require_auth", "%q: want \"none\", \"agents\" or \"all\"", c.Security.RequireAuth))
	}
	if c.Security.RequireAuth != "none" && len(c.Security.TrustedAuthservIDs) == 0 && !c.Security.VerifyDKIM {
		add(fieldErr("security", "trusted_authserv_ids", "require_auth = %q needs trusted_authserv_ids or verify_dkim = true", c.Security.RequireAuth))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		add(fieldErr("log", "format", "%q: want \"text\" or \"json\"", c.Log.Format))
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		add(fieldErr("log", "level", "%q: want debug, info, warn or error", c.Log.Level))
	}
	if c.Limits.MaxMessageBytes < 1<<10 {
		add(fieldErr("limits", "max_message_bytes", "%d is too small (at least 1024)", c.Limits.MaxMessageBytes))
	}
	if c.Limits.AutoRepliesPerHour < 1 {
		add(fieldErr("limits", "auto_replies_per_hour", "%d: want at least 1", c.Limits.AutoRepliesPerHour))
	}
	_, err := c.BuildPlans()
	add(err)
	return errors.Join(errs...)
}

// check checks where the server is.
func (s *Server) check(section string) error {
	var errs []error
	if s.Host == "" {
		errs = append(errs, fieldErr(section, "host", "required"))
	}
	if s.Port < 1 || s.Port > 65535 {
		errs = append(errs, fieldErr(section, "port", "%d is not a port", s.Port))
	}
	switch s.TLS {
	case "implicit", "starttls":
	case "none":
		if s.Host != "" && !IsLoopback(s.Host) {
			errs = append(errs, fieldErr(section, "tls", "\"none\" is allowed for loopback hosts only, not %q", s.Host))
		}
	default:
		errs = append(errs, fieldErr(section, "tls", "%q: want \"implicit\", \"starttls\" or \"none\"", s.TLS))
	}
	return errors.Join(errs...)
}

// checkAuth checks how to log in; required says a password is needed.
func (s *Server) checkAuth(section string, required bool) error {
	switch s.Auth {
	case "password", "":
		switch {
		case s.TokenFile != "" || len(s.TokenCommand) > 0:
			return fieldErr(section, "token_file", "token_file and token_command go with auth = \"xoauth2\"")
		case s.PasswordEnv != "" && s.PasswordFile != "":
			return fieldErr(section, "password_env", "set password_env or password_file, not both")
		case required && s.PasswordEnv == "" && s.PasswordFile == "":
			return fieldErr(section, "password_env", "required: set password_env or password_file")
		}
		return nil
	case "xoauth2":
		switch {
		case s.Username == "":
			return fieldErr(section, "username", "required with auth = \"xoauth2\"")
		case s.PasswordEnv != "" || s.PasswordFile != "":
			return fieldErr(section, "password_env", "auth = \"xoauth2\" takes token_file or token_command, not a password")
		case (s.TokenFile == "") == (len(s.TokenCommand) == 0):
			return fieldErr(section, "token_file", "auth = \"xoauth2\" needs exactly one of token_file and token_command")
		}
		return nil
	}
	return fieldErr(section, "auth", "%q: want \"password\" or \"xoauth2\"", s.Auth)
}

// IsLoopback reports whether host is a loopback name or address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validPrefix(p string) bool {
	if p == "" || !(p[0] >= 'A' && p[0] <= 'Z' || p[0] >= 'a' && p[0] <= 'z') {
		return false
	}
	for _, r := range p {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func isAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// IMAPPassword reads the IMAP password from its env variable or file; ""
// with auth = "xoauth2".
func (c *Config) IMAPPassword() (string, error) { return c.IMAP.password("imap") }

// SMTPPassword reads the SMTP password; "" when no username is set or with
// auth = "xoauth2".
func (c *Config) SMTPPassword() (string, error) {
	if c.SMTP.Username == "" {
		return "", nil
	}
	return c.SMTP.password("smtp")
}

func (s *Server) password(section string) (string, error) {
	switch {
	case s.Auth == "xoauth2":
		return "", nil
	case s.PasswordEnv != "":
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return "", fieldErr(section, "password_env", "environment variable %s is not set", s.PasswordEnv)
		}
		return v, nil
	}
	data, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", fieldErr(section, "password_file", "%v", err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// BuildPlans turns [calendars] and [plans] into intake plans.
func (c *Config) BuildPlans() (map[string]*intake.Plan, error) {
	var errs []error
	cals := make(map[string]*calendar.Calendar, len(c.RawCals))
	for _, name := range sortedKeys(c.RawCals) {
		rc := c.RawCals[name]
		cal, err := calendar.New(calendar.Spec{TimeZone: rc.TimeZone, Weekdays: rc.Weekdays,
			Hours: rc.Hours, Holidays: rc.Holidays, Always: rc.Always})
		if err != nil {
			errs = append(errs, fmt.Errorf("[calendars.%s] %w", name, err))
			continue
		}
		cals[name] = cal
	}
	plans := make(map[string]*intake.Plan, len(c.Plans))
	for _, name := range sortedKeys(c.Plans) {
		p := c.Plans[name]
		section := "plans." + name
		cal, ok := cals[p.Calendar]
		if !ok {
			if _, bad := c.RawCals[p.Calendar]; !bad {
				errs = append(errs, fieldErr(section, "calendar", "no [calendars.%s]", p.Calendar))
			}
			continue
		}
		if len(p.Severities) == 0 {
			errs = append(errs, fieldErr(section, "severities", "required (e.g. [1, 2, 3])"))
		}
		for _, s := range p.Severities {
			if s < 1 || s > 4 {
				errs = append(errs, fieldErr(section, "severities", "%d: severities are 1 to 4", s))
			}
		}
		plan := &intake.Plan{Name: name, Calendar: cal, Severities: slices.Clone(p.Severities),
			FirstResponse: make(map[int]calendar.Target)}
		for k, v := range p.FirstResponse {
			var sev int
			if _, err := fmt.Sscanf(k, "%d", &sev); err != nil || !slices.Contains(p.Severities, sev) {
				errs = append(errs, fieldErr(section, "first_response", "key %q is not one of the plan's severities %v", k, p.Severities))
				continue
			}
			t, err := calendar.ParseTarget(v)
			if err != nil {
				errs = append(errs, fieldErr(section, "first_response", "severity %d: %v", sev, err))
				continue
			}
			plan.FirstResponse[sev] = t
		}
		plans[name] = plan
	}
	return plans, errors.Join(errs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
