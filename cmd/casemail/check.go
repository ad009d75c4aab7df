package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"casemail/config"
	"casemail/intake/imapsrc"
	"casemail/reply"
	"casemail/store"
)

// cmdCheck validates the config and everything it names, and really
// connects to the IMAP and SMTP servers (no mail is sent). One line per
// check; it fails if any check fails.
func cmdCheck(ctx context.Context, args []string, stdout io.Writer) error {
	var path string
	if _, err := parseFlags("check", args, func(fs *flag.FlagSet) { configFlag(fs, &path) }, 0); err != nil {
		return err
	}
	failed := 0
	report := func(name string, err error, ok string) {
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "FAIL  %-9s %v\n", name, err)
			return
		}
		fmt.Fprintf(stdout, "ok    %-9s %s\n", name, ok)
	}
	cfg, err := config.Load(path)
	report("config", err, path)
	if err != nil {
		return errors.New("check failed")
	}
	plans, _ := cfg.BuildPlans() // Load validated them
	var described []string
	for _, name := range slices.Sorted(maps.Keys(plans)) {
		p := plans[name]
		var targets []string
		for _, sev := range p.Severities {
			if t, ok := p.FirstResponse[sev]; ok {
				targets = append(targets, fmt.Sprintf("%d→%s", sev, t))
			}
		}
		described = append(described, fmt.Sprintf("%s %s (%s)", name, strings.Join(targets, " "), p.Calendar.Describe()))
	}
	report("plans", nil, strings.Join(described, "; "))
	dir, err := config.LoadContacts(cfg.Contacts.File, plans)
	if err == nil {
		a, c := dir.Counts()
		report("contacts", nil, fmt.Sprintf("%s: %d accounts, %d contacts", cfg.Contacts.File, a, c))
	} else {
		report("contacts", err, "")
	}
	_, err = reply.LoadTemplates(cfg.Templates.Dir)
	report("templates", err, "embedded"+map[bool]string{true: " + overrides in " + cfg.Templates.Dir}[cfg.Templates.Dir != ""])
	report("store", checkStore(cfg.Store.Path), cfg.Store.Path)

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	imapPass, err := cfg.IMAPPassword()
	if err == nil {
		password, _ := imapSecret(cfg, imapPass, Overrides{})
		src := imapsrc.New(nil, imapsrc.Options{
			Addr: net.JoinHostPort(cfg.IMAP.Host, strconv.Itoa(cfg.IMAP.Port)), TLS: cfg.IMAP.TLS,
			Username: cfg.IMAP.Username, Password: password,
			XOAuth2: cfg.IMAP.Auth == "xoauth2",
			Folder:  cfg.IMAP.Folder, Timeout: 20 * time.Second,
		})
		sel, serr := src.Check(cctx)
		if serr == nil {
			report("imap", nil, fmt.Sprintf("logged in as %s on %s:%d, %s has %d messages (UIDVALIDITY %d)",
				cfg.IMAP.Username, cfg.IMAP.Host, cfg.IMAP.Port, cfg.IMAP.Folder, sel.NumMessages, sel.UIDValidity))
		} else {
			report("imap", serr, "")
		}
	} else {
		report("imap", err, "")
	}
	smtpPass, err := cfg.SMTPPassword()
	if err == nil {
		var s *reply.SMTP
		opts := smtpOptions(cfg, smtpPass, Overrides{})
		opts.Timeout = 20 * time.Second
		s, err = reply.NewSMTP(opts, discardLogger())
		if err == nil {
			err = s.Check(cctx)
			s.Close()
		}
	}
	auth := "no authentication"
	if cfg.SMTP.Username != "" {
		auth = "authenticated as " + cfg.SMTP.Username
	}
	report("smtp", err, fmt.Sprintf("%s:%d, %s, no mail sent", cfg.SMTP.Host, cfg.SMTP.Port, auth))
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkStore opens the store read-only; a store held by the running daemon
// counts as fine.
func checkStore(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		// Created at the first run, with its directories: the nearest
		// existing ancestor must be a writable directory.
		dir := filepath.Dir(path)
		for {
			fi, err := os.Stat(dir)
			if err == nil {
				if !fi.IsDir() {
					return fmt.Errorf("store: %s is not a directory", dir)
				}
				if unix.Access(dir, unix.W_OK) != nil {
					return fmt.Errorf("store: directory %s is not writable", dir)
				}
				return nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return fmt.Errorf("store directory: %w", err)
			}
			dir = parent
		}
	}
	db, err := store.Open(path, &store.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Check()
}
