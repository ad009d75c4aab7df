package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/internal/mailtest"
)

const testToken = "ya29.test-access-token"

// xoauthConfig turns the loopback test config into one that logs in to
// IMAP and SMTP with XOAUTH2; auth is the lines replacing password_file.
func xoauthConfig(t *testing.T, imapPort, smtpPort int, imapAuth, smtpAuth string) string {
	t.Helper()
	path := setup(t, imapPort, smtpPort, "", "unused")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `password_file = "imap.pass"`, imapAuth, 1)
	s = strings.Replace(s, `from = "Acme Support <support@example.com>"`,
		"from = \"Acme Support <support@example.com>\"\nusername = \"support@example.com\"\n"+smtpAuth, 1)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestXOAuth2 runs the daemon against IMAP and SMTP servers that accept
// only XOAUTH2 with the test token: a token file for IMAP, a token command
// printing a JSON token response for SMTP.
func TestXOAuth2(t *testing.T) {
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{XOAuth2Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{XOAuth2Token: testToken, Username: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "imap.token")
	writeFile(t, dir, "imap.token", testToken+"\n")
	cfgPath := xoauthConfig(t, imapSrv.Port(), smtpSrv.Port(),
		fmt.Sprintf("auth = \"xoauth2\"\ntoken_file = %q", tokenFile),
		fmt.Sprintf("auth = \"xoauth2\"\ntoken_command = [\"printf\", %q]", `{"access_token":"`+testToken+`","expires_in":3600}`))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan intake.Result, 4)
	d, err := NewDaemon(cfg, discardLogger(), Overrides{Observe: func(r intake.Result) { done <- r }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran })

	raw := "From: Alice <alice@acme.example>\r\nTo: support@example.com\r\nSubject: OAuth works\r\n" +
		"Message-ID: <xoauth-1@acme.example>\r\n\r\nEngine: acme-search\r\nHello.\r\n"
	if _, err := imapSrv.Deliver("INBOX", []byte(raw), time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.Outcome != intake.OutcomeCaseCreated {
			t.Fatalf("outcome %s (%s), want case_created", r.Outcome, r.Reason)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no mail processed over an XOAUTH2 IMAP login within 15s")
	}
	got, err := smtpSrv.WaitFor(2, 15*time.Second)
	if err != nil {
		t.Fatalf("acknowledgement and notification not sent over XOAUTH2 SMTP: %v (got %d)", err, len(got))
	}
	if !strings.Contains(string(got[0].Data), "[CASE-1000]") {
		t.Errorf("first mail sent has no case tag:\n%s", got[0].Data)
	}
}

// TestXOAuth2WrongToken: check reports an IMAP login refused for a wrong
// token, and a token command that fails names the command.
func TestXOAuth2WrongToken(t *testing.T) {
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{XOAuth2Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imapSrv.Close() })
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{XOAuth2Token: testToken, Username: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtpSrv.Close() })
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "imap.token", "expired-token\n")
	cfgPath := xoauthConfig(t, imapSrv.Port(), smtpSrv.Port(),
		fmt.Sprintf("auth = \"xoauth2\"\ntoken_file = %q", tokenFile),
		"auth = \"xoauth2\"\ntoken_command = [\"false\"]")
	code, stdout, _ := run(t, "check", "-config", cfgPath)
	if code != 1 {
		t.Errorf("check exit %d, want 1\n%s", code, stdout)
	}
	if !strings.Contains(stdout, "FAIL  imap") {
		t.Errorf("check output has no FAIL imap line:\n%s", stdout)
	}
	if !strings.Contains(stdout, "FAIL  smtp") || !strings.Contains(stdout, "token_command false") {
		t.Errorf("check output does not blame the SMTP token command:\n%s", stdout)
	}
}

func TestParseToken(t *testing.T) {
	for _, tc := range []struct {
		in   string
		tok  string
		life time.Duration
		bad  bool
	}{
		{"abc\n", "abc", 0, false},
		{`{"access_token":"xyz","expires_in":3599,"token_type":"Bearer"}`, "xyz", 3599 * time.Second, false},
		{`{"error":"invalid_grant"}`, "", 0, true},
		{"", "", 0, true},
		{"two words", "", 0, true},
	} {
		tok, life, err := parseToken([]byte(tc.in))
		if (err != nil) != tc.bad || tok != tc.tok || life != tc.life {
			t.Errorf("parseToken(%q) = %q, %v, %v; want %q, %v, bad=%v", tc.in, tok, life, err, tc.tok, tc.life, tc.bad)
		}
	}
}

// TestTokenCommandCached: a command's token is reused until shortly before
// it expires, and asked again after the server refused it.
func TestTokenCommandCached(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "n")
	script := writeFile(t, dir, "tok.sh", "#!/bin/sh\necho x >> "+counter+"\necho '{\"access_token\":\"t\",\"expires_in\":120}'\n")
	os.Chmod(script, 0o755)
	now := time.Now()
	ts := newTokenSource("imap", "", []string{script}, func() time.Time { return now })
	calls := func() int {
		data, _ := os.ReadFile(counter)
		return strings.Count(string(data), "x")
	}
	for range 3 {
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
	}
	if calls() != 1 {
		t.Errorf("command ran %d times for 3 logins within the token's life, want 1", calls())
	}
	now = now.Add(61 * time.Second) // within a minute of expiry
	ts.Token()
	if calls() != 2 {
		t.Errorf("command ran %d times, want 2 after the token neared expiry", calls())
	}
	ts.Invalidate()
	ts.Token()
	if calls() != 3 {
		t.Errorf("command ran %d times, want 3 after the token was refused", calls())
	}
}
