package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/store"
)

// TestExportAndBackupWhileRunning: `cases export` and `backup` answer
// through the admin endpoint while the daemon holds the store, and from the
// file once it stopped; both hold every case.
func TestExportAndBackupWhileRunning(t *testing.T) {
	imapSrv, smtpSrv := startServers(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := setup(t, imapSrv.Port(), smtpSrv.Port(), ln.Addr().String(), imapSrv.Password())
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan intake.Result, 4)
	d, err := NewDaemon(cfg, discardLogger(), Overrides{AdminListener: ln, Observe: func(r intake.Result) { done <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-ran; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	for i, from := range []string{"alice@acme.example", "bob@globex.example"} {
		raw := fmt.Sprintf("From: %s\r\nTo: support@example.com\r\nSubject: Export %d\r\nMessage-ID: <export-%d@test>\r\n\r\nHello %d.\r\n", from, i, i, i)
		if _, err := imapSrv.Deliver("INBOX", []byte(raw), time.Now()); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			if r.Outcome != intake.OutcomeCaseCreated {
				t.Fatalf("mail %d: %s (%s)", i, r.Outcome, r.Reason)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("mail not processed within 15s")
		}
	}

	checkExport := func(when string) {
		code, stdout, stderr := run(t, "cases", "export", "-config", cfgPath)
		if code != 0 {
			t.Fatalf("%s: cases export exit %d: %s", when, code, stderr)
		}
		var ids []string
		sc := bufio.NewScanner(strings.NewReader(stdout))
		for sc.Scan() {
			var c map[string]any
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s: export line %q: %v", when, sc.Text(), err)
			}
			msgs, _ := c["messages"].([]any)
			if len(msgs) < 2 { // the customer's mail and the acknowledgement
				t.Errorf("%s: %v has %d messages, want at least 2", when, c["id"], len(msgs))
			}
			ids = append(ids, c["id"].(string))
		}
		if strings.Join(ids, ",") != "CASE-1000,CASE-1001" {
			t.Errorf("%s: exported %v, want CASE-1000 and CASE-1001 in order", when, ids)
		}
	}
	checkExport("while running")

	backup := filepath.Join(t.TempDir(), "backup.db")
	if code, _, stderr := run(t, "backup", backup, "-config", cfgPath); code != 0 {
		t.Fatalf("backup while running: exit %d: %s", code, stderr)
	}
	db, err := store.Open(backup, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	list, err := listCases(db, caseFilter{})
	if err != nil || len(list) != 2 {
		t.Errorf("backup holds %d cases (%v), want 2", len(list), err)
	}
	if err := db.Check(); err != nil {
		t.Errorf("backup fails bbolt's check: %v", err)
	}
	db.Close()

	stop()
	checkExport("after stop")
	if _, err := os.Stat(backup + ".partial"); !os.IsNotExist(err) {
		t.Errorf("backup left its partial file behind")
	}
}
