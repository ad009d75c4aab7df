package reply

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"casemail/intake"
)

// TestAckMatchesTemplate: the acknowledgement written out in Go says, byte
// for byte, what the embedded ack.tmpl says, in every language, over
// random combinations of everything the template reads.
func TestAckMatchesTemplate(t *testing.T) {
	fast, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	if fast.ack["en"] == nil || fast.ack["fr"] == nil {
		t.Fatal("the embedded acknowledgement is not written out in Go")
	}
	slow := *fast
	slow.ack = nil // the same templates, all through text/template
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	list := func(xs ...string) []string { return xs[:rng.IntN(len(xs)+1)] }
	for range 5000 {
		c := &intake.Case{
			ID:          intake.CaseID(pick("CASE-1000", "ACME-7")),
			Subject:     pick("", "Index stuck", "Re: [CASE-1000] Index stuck", "  ", "Fwd: RE: x", "AW: [ACME-7]"),
			Account:     pick("", " ", "admin@acme.example"),
			Engine:      pick("", "acme-search"),
			Severity:    rng.IntN(6),
			Environment: pick("", "production", "prod\nline two"),
			Nature:      pick("", "  ", "one line", "two\nlines\n", "a\r\nb\n\n", "Problème : « ça »"),
		}
		data := &intake.MailData{
			Case:              c,
			Support:           "support@example.com",
			Subject:           pick("", "Help", "Re: help"),
			ReopenedFrom:      intake.CaseID(pick("", "CASE-999")),
			Due:               pick("", "Tue 8 Dec 2026 08:00 PST (America/Los_Angeles)"),
			Target:            pick("", "4bh", "1bd", "2h", "weird", " 01 bd "),
			SeverityLowered:   rng.IntN(2) == 1,
			RequestedSeverity: rng.IntN(6),
			Dropped:           list("a.pdf", "b.zip"),
			Engines:           list("acme-search", "acme-crawl"),
		}
		switch rng.IntN(3) {
		case 1:
			data.Account = &intake.Account{Email: "admin@acme.example"}
		case 2:
			data.Account = &intake.Account{Email: "admin@acme.example", Name: "Acme"}
		}
		for range rng.IntN(4) {
			data.Problems = append(data.Problems, intake.Problem{
				Field:  pick("account", "engine", "nature", "severity", "environment", "other"),
				Reason: pick("missing", "invalid", "not_allowed", "other"),
				Value:  pick("", "x", `é"<>`),
			})
		}
		for _, lang := range []string{"en", "fr", "de", ""} {
			s1, b1, err1 := fast.Render(intake.TmplAck, lang, data)
			s2, b2, err2 := slow.Render(intake.TmplAck, lang, data)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: errors %v, %v", lang, err1, err2)
			}
			if s1 != s2 || b1 != b2 {
				t.Fatalf("%s, data %+v, case %+v:\nGo:\n%q\n%q\ntemplate:\n%q\n%q", lang, data, c, s1, b1, s2, b2)
			}
		}
	}
}

// TestAckOverrideUsesTemplate: an admin's own acknowledgement is rendered
// from their template, not the one written out in Go.
func TestAckOverrideUsesTemplate(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "fr"), 0o755); err != nil {
		t.Fatal(err)
	}
	own := `{{define "subject"}}[{{.Case.ID}}] reçu{{end}}{{define "body"}}Dossier {{.Case.ID}} reçu.{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "fr", "ack.tmpl"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := &intake.MailData{Case: &intake.Case{ID: "CASE-1000", Severity: 3}, Support: "support@example.com"}
	if s, b, err := tm.Render(intake.TmplAck, "fr", data); err != nil || s != "[CASE-1000] reçu" || b != "Dossier CASE-1000 reçu.\n" {
		t.Errorf("overridden French ack: %q %q %v", s, b, err)
	}
	if _, b, err := tm.Render(intake.TmplAck, "en", data); err != nil || !strings.Contains(b, "We have opened case CASE-1000") {
		t.Errorf("English ack (not overridden): %q %v", b, err)
	}
}
