package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"casemail/config"
	"casemail/intake"
)

// Set at build time: -ldflags "-X main.version=1.2.3 -X main.commit=abc".
var (
	version = "dev"
	commit  = ""
)

const usage = `casemail turns a support@ mailbox into a case desk.

Usage:
  casemail run   -config FILE        the daemon; stops cleanly on SIGINT/SIGTERM
  casemail demo                      the whole flow on embedded IMAP and SMTP servers
  casemail check -config FILE        validate config and contacts, try IMAP and SMTP logins
  casemail contacts check FILE       validate an allowlist file
  casemail healthcheck -config FILE  exit 0 if the running daemon answers /readyz
  casemail cases list [-state S] [-account A] [-breached] [-due-before T] [-json] [-config FILE]
  casemail cases show ID [-json] [-config FILE]
  casemail cases export [-config FILE]   every case with its messages, JSON Lines
  casemail backup FILE [-config FILE]
  casemail version

-config defaults to $CASEMAIL_CONFIG, then ./casemail.toml.
`

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // runtime error
	exitUsage   = 2 // bad usage
)

// usageError is bad usage: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Main runs one command and returns its exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "casemail: %s\n\n%s", ue.msg, usage)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "casemail: %v\n", err)
		return exitFailure
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, stderr)
	case "demo":
		if _, err := parseFlags("demo", rest, nil, 0); err != nil {
			return err
		}
		return runDemo(ctx, stdout)
	case "check":
		return cmdCheck(ctx, rest, stdout)
	case "contacts":
		if len(rest) == 0 || rest[0] != "check" {
			return usagef("usage: casemail contacts check FILE")
		}
		return cmdContactsCheck(rest[1:], stdout)
	case "healthcheck":
		return cmdHealthcheck(rest, stdout)
	case "cases":
		if len(rest) == 0 {
			return usagef("usage: casemail cases list|show …")
		}
		switch rest[0] {
		case "list":
			return cmdCasesList(rest[1:], stdout)
		case "show":
			return cmdCasesShow(rest[1:], stdout)
		case "export":
			return cmdCasesExport(rest[1:], stdout)
		}
		return usagef("unknown cases command %q (want list, show or export)", rest[0])
	case "backup":
		return cmdBackup(rest, stdout)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "help", "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usagef("unknown command %q", cmd)
}

func versionString() string {
	c := commit
	if c == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("casemail %s (commit %s, %s %s/%s)", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// parseFlags parses flags that may stand before or after positional
// arguments, and checks that exactly npos positional arguments were given.
func parseFlags(name string, args []string, setup func(*flag.FlagSet), npos int) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if setup != nil {
		setup(fs)
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%s: %v", name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != npos {
		return nil, usagef("%s: want %d argument(s), got %d (%s)", name, npos, len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

func configFlag(fs *flag.FlagSet, p *string) {
	def := os.Getenv("CASEMAIL_CONFIG")
	if def == "" {
		def = "casemail.toml"
	}
	fs.StringVar(p, "config", def, "configuration file")
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdRun(ctx context.Context, args []string, stderr io.Writer) error {
	var path string
	if _, err := parseFlags("run", args, func(fs *flag.FlagSet) { configFlag(fs, &path) }, 0); err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	lw := newLogWriter(stderr)
	defer lw.Close()
	d, err := NewDaemon(cfg, newLogger(cfg, lw), Overrides{})
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

func cmdContactsCheck(args []string, stdout io.Writer) error {
	var cfgPath string
	pos, err := parseFlags("contacts check", args, func(fs *flag.FlagSet) {
		fs.StringVar(&cfgPath, "config", "", "also check plan names against this config")
	}, 1)
	if err != nil {
		return err
	}
	var plans map[string]*intake.Plan
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return err
		}
		if plans, err = cfg.BuildPlans(); err != nil {
			return err
		}
	}
	dir, err := config.LoadContacts(pos[0], plans)
	if err != nil {
		return err
	}
	a, c := dir.Counts()
	fmt.Fprintf(stdout, "%s: ok: %d accounts, %d contacts\n", pos[0], a, c)
	return nil
}

func cmdHealthcheck(args []string, stdout io.Writer) error {
	var path string
	if _, err := parseFlags("healthcheck", args, func(fs *flag.FlagSet) { configFlag(fs, &path) }, 0); err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if cfg.Admin.Listen == "" {
		return errors.New("[admin] listen is empty: no endpoint to ask")
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + cfg.Admin.Listen + "/readyz")
	if err != nil {
		return fmt.Errorf("readyz: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprint(stdout, string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("readyz: %s", resp.Status)
	}
	return nil
}

func cmdCasesList(args []string, stdout io.Writer) error {
	var path, state, account, dueBefore string
	var asJSON, breached bool
	_, err := parseFlags("cases list", args, func(fs *flag.FlagSet) {
		configFlag(fs, &path)
		fs.StringVar(&state, "state", "", "only cases in this state")
		fs.StringVar(&account, "account", "", "only cases of this account")
		fs.BoolVar(&breached, "breached", false, "only cases whose first response is late")
		fs.StringVar(&dueBefore, "due-before", "", "only cases awaiting a first response due before this time (RFC 3339) or within this duration (\"4h\")")
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	filter := caseFilter{State: state, Account: account, Breached: breached, Now: now}
	if dueBefore != "" {
		if d, err := time.ParseDuration(dueBefore); err == nil {
			filter.DueBefore = now.Add(d)
		} else if t, err := time.Parse(time.RFC3339, dueBefore); err == nil {
			filter.DueBefore = t
		} else {
			return usagef("cases list: -due-before %q: want a time like 2026-11-24T17:00:00Z or a duration like 4h", dueBefore)
		}
	}
	if _, ok := intake.ParseState(state); state != "" && !ok {
		return usagef("cases list: -state %q: want open, waiting, resolved or closed", state)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	list, err := caseSource{cfg}.list(filter)
	if err != nil {
		return err
	}
	if asJSON {
		out := make([]caseJSON, len(list))
		for i, c := range list {
			out[i] = toJSON(c, false)
		}
		return newJSONEncoder(stdout).Encode(out)
	}
	printCases(stdout, list)
	return nil
}

func cmdCasesShow(args []string, stdout io.Writer) error {
	var path string
	var asJSON bool
	pos, err := parseFlags("cases show", args, func(fs *flag.FlagSet) {
		configFlag(fs, &path)
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	}, 1)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	c, err := caseSource{cfg}.show(intake.CaseID(pos[0]))
	if err != nil {
		return err
	}
	if asJSON {
		return newJSONEncoder(stdout).Encode(toJSON(c, true))
	}
	printCase(stdout, c)
	return nil
}

func cmdCasesExport(args []string, stdout io.Writer) error {
	var path string
	if _, err := parseFlags("cases export", args, func(fs *flag.FlagSet) { configFlag(fs, &path) }, 0); err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	return caseSource{cfg}.export(stdout)
}

// newJSONEncoder writes JSON as people and scripts read it: Message-IDs
// keep their angle brackets ("<a@b>", not "\u003ca@b\u003e").
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
