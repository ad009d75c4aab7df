package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// tokenSource supplies OAuth2 access tokens for XOAUTH2 logins, from a file
// kept fresh by another program, or from a command that prints one (a raw
// token, or JSON with access_token and expires_in, as OAuth2 token
// endpoints and helpers such as oauth2l print). A command's token is kept
// until a minute before it expires (5 minutes when it does not say); a file
// is read again at every login. Tokens are never logged.
type tokenSource struct {
	section string
	file    string
	command []string
	now     func() time.Time

	mu     sync.Mutex
	token  string
	expiry time.Time
}

// defaultTokenLife is how long a command's token without expires_in is kept.
const defaultTokenLife = 5 * time.Minute

func newTokenSource(section, file string, command []string, now func() time.Time) *tokenSource {
	return &tokenSource{section: section, file: file, command: command, now: now}
}

// Token returns a token valid for the next login.
func (t *tokenSource) Token() (string, error) {
	if t.file != "" {
		data, err := os.ReadFile(t.file)
		if err != nil {
			return "", fmt.Errorf("[%s] token_file: %w", t.section, err)
		}
		tok, _, err := parseToken(data)
		if err != nil {
			return "", fmt.Errorf("[%s] token_file %s: %w", t.section, t.file, err)
		}
		return tok, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.expiry) {
		return t.token, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, t.command[0], t.command[1:]...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("[%s] token_command %s: %w: %s", t.section, t.command[0], err, strings.TrimSpace(stderr.String()))
	}
	tok, life, err := parseToken(out)
	if err != nil {
		return "", fmt.Errorf("[%s] token_command %s: %w", t.section, t.command[0], err)
	}
	if life == 0 {
		life = defaultTokenLife
	}
	t.token, t.expiry = tok, t.now().Add(life-time.Minute)
	return tok, nil
}

// Invalidate forgets a token the server refused, so the next login asks
// for a new one.
func (t *tokenSource) Invalidate() {
	t.mu.Lock()
	t.token = ""
	t.mu.Unlock()
}

// parseToken reads a raw token or a JSON token response.
func parseToken(data []byte) (token string, life time.Duration, err error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		var resp struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			return "", 0, fmt.Errorf("not a token response: %w", err)
		}
		data, life = []byte(resp.AccessToken), time.Duration(resp.ExpiresIn)*time.Second
	}
	token = string(data)
	if token == "" || strings.ContainsAny(token, " \t\r\n\x01") {
		return "", 0, fmt.Errorf("no usable access token")
	}
	return token, life, nil
}
