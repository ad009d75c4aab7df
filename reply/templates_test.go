package reply_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"casemail/intake"
	"casemail/reply"
)

func mustTemplates(t *testing.T, dir string) *reply.Templates {
	t.Helper()
	tm, err := reply.LoadTemplates(dir)
	if err != nil {
		t.Fatalf("LoadTemplates(%q): %v", dir, err)
	}
	return tm
}

// mailData is a new case on a premium account, reopened from a closed
// case, with a lowered severity and an unknown engine.
func mailData() *intake.MailData {
	due := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	return &intake.MailData{
		Case: &intake.Case{
			ID: "CASE-1001", State: intake.StateOpen, Account: "admin@acme.example",
			Engine: "", Severity: 2, Nature: "Search returns no results\nsince the 9:00 deploy",
			Environment: "production", Contact: "alice@acme.example", Language: "fr",
			CreatedAt: due.Add(-3 * time.Hour), FirstResponseDue: &due,
			Related: []intake.CaseID{"CASE-998"}, Subject: "Re: [CASE-998] Search is down",
		},
		Account: &intake.Account{
			Email: "admin@acme.example", Name: "Acme Corp", Plan: "premium",
			Engines: []string{"acme-search", "acme-staging"}, Contacts: []string{"alice@acme.example"},
		},
		Support:           "support@example.com",
		Sender:            "alice@acme.example",
		Subject:           "Re: [CASE-998] Search is down",
		Text:              "Hello,\n\nsearch returns nothing — déjà vu.\n",
		Problems:          []intake.Problem{{Field: "engine", Reason: "invalid", Value: "acme-prod"}, {Field: "severity", Reason: "not_allowed", Value: "1"}},
		Engines:           []string{"acme-search", "acme-staging"},
		SeverityLowered:   true,
		RequestedSeverity: 1,
		Due:               "Tue 24 Nov 2026 12:00 PST (America/Los_Angeles)",
		Target:            "1bd",
		ReopenedFrom:      "CASE-998",
		AgentName:         "Bob",
		Commands:          []string{"#note", "#resolve", "#close", "#waiting", "#severity N"},
		Error:             "#severity 7: severity must be 1 to 4",
	}
}

func TestRenderAll(t *testing.T) {
	tm := mustTemplates(t, "")
	// What each template must say, per language. Every subject of a case
	// mail carries the tag.
	want := map[string]map[string][]string{
		"en": {
			intake.TmplAck: {"[CASE-1001] Search is down", "CASE-1001", "admin@acme.example", "Acme Corp",
				"Engine:      not set", "2 (high)", "Tue 24 Nov 2026 12:00 PST (America/Los_Angeles)", "1 business day",
				"You asked for severity 1 (urgent)", "allows severity 2 (high) at most", "set this case to severity 2",
				`"acme-prod" was not recognised`, `"1" is not available on your plan`,
				"acme-search, acme-staging", "follows case CASE-998", "keep [CASE-1001] in the", "production",
				"Search returns no results\n               since the 9:00 deploy"},
			intake.TmplNotifyNew: {"[CASE-1001] Search is down", "Reply to this mail to answer the customer",
				"#note", "#resolve", "#close", "#waiting", "#severity N", "alice@acme.example",
				"Tue 24 Nov 2026 12:00 PST", "1 business day", "lowered from 1 (urgent)", "following closed case CASE-998",
				"Engine: invalid (\"acme-prod\")", "acme-search, acme-staging", "plan premium", "déjà vu"},
			intake.TmplNotifyReply: {"Re: [CASE-1001] Search is down", "Reply to this mail", "#severity N",
				"alice@acme.example", "déjà vu", "now open"},
			intake.TmplAgentReply: {"Re: [CASE-1001] Search is down", "déjà vu", "[CASE-1001]"},
			intake.TmplAgentHelp: {"[CASE-1001]", "not applied", "nothing was sent to the customer",
				"#resolve", "#waiting", "#severity N", "#severity 7"},
			intake.TmplAgentError: {"[CASE-1001]", "#severity 7: severity must be 1 to 4", "Nothing was sent to the customer"},
		},
		"fr": {
			intake.TmplAck: {"[CASE-1001] Search is down", "Bonjour", "dossier CASE-1001", "2 (élevée)",
				"Moteur :        non renseigné", "1 jour ouvré", "Vous avez demandé la sévérité 1 (urgente)",
				"autorise au plus la sévérité 2 (élevée)", "« acme-prod » n'a pas été reconnu",
				"acme-search, acme-staging", "fait suite au dossier CASE-998", "[CASE-1001] dans l'objet",
				"Tue 24 Nov 2026 12:00 PST"},
			intake.TmplNotifyNew: {"[CASE-1001]", "Répondez à ce message", "#note", "#severity N",
				"abaissée depuis 1 (urgente)", "Moteur : invalide", "déjà vu", "suite du dossier clos CASE-998"},
			intake.TmplNotifyReply: {"Re: [CASE-1001] Search is down", "déjà vu", "état : ouvert"},
			intake.TmplAgentReply:  {"Re: [CASE-1001]", "déjà vu", "Dossier CASE-1001"},
			intake.TmplAgentHelp:   {"[CASE-1001]", "n'a pas été appliquée", "rien n'a été envoyé au client", "#waiting"},
			intake.TmplAgentError:  {"[CASE-1001]", "#severity 7", "Rien n'a été envoyé au client"},
		},
	}
	// Never shown to the customer in a relayed agent answer.
	internal := []string{"#note", "#resolve", "Tue 24 Nov", "premium", "1bd", "1 business day", "1 jour ouvré"}

	for lang, byName := range want {
		for name, wants := range byName {
			t.Run(lang+"/"+name, func(t *testing.T) {
				subject, body, err := tm.Render(name, lang, mailData())
				if err != nil {
					t.Fatal(err)
				}
				all := subject + "\n" + body
				for _, w := range wants {
					if !strings.Contains(all, w) {
						t.Errorf("missing %q in\nSubject: %s\n\n%s", w, subject, body)
					}
				}
				if strings.ContainsAny(subject, "\r\n\t") {
					t.Errorf("subject %q is not one line", subject)
				}
				if !strings.HasSuffix(body, "\n") || strings.HasSuffix(body, "\n\n") || strings.HasPrefix(body, "\n") {
					t.Errorf("body does not end with exactly one newline or starts with one: %q", body)
				}
				if strings.Contains(body, "<no value>") {
					t.Errorf("body shows <no value>:\n%s", body)
				}
				if name == intake.TmplAgentReply {
					for _, w := range internal {
						if strings.Contains(all, w) {
							t.Errorf("agent reply shows internal %q:\n%s", w, body)
						}
					}
				}
			})
		}
	}
}

func TestRenderRefusal(t *testing.T) {
	tm := mustTemplates(t, "")
	for _, lang := range []string{"en", "fr"} {
		for _, reason := range []string{intake.ReasonUnknownSender, intake.ReasonNotInAccount, intake.ReasonNotParticipant} {
			t.Run(lang+"/"+reason, func(t *testing.T) {
				d := &intake.MailData{
					Support: "support@example.com", Sender: "mallory@other.example",
					Subject: "Re: [CASE-1000] Help", Reason: reason,
				}
				subject, body, err := tm.Render(intake.TmplRefusal, lang, d)
				if err != nil {
					t.Fatal(err)
				}
				wants := map[string][]string{
					"en": {"mallory@other.example", "administrator", "added to the account's", "technical contact"},
					"fr": {"mallory@other.example", "administrateur", "faire ajouter votre adresse", "contact technique"},
				}[lang]
				for _, w := range wants {
					if !strings.Contains(body, w) {
						t.Errorf("missing %q in\n%s", w, body)
					}
				}
				if strings.Contains(subject, "CASE-1000") {
					t.Errorf("refusal subject %q keeps the case tag", subject)
				}
				if !strings.Contains(subject, "Help") {
					t.Errorf("refusal subject %q does not recall the mail", subject)
				}
			})
		}
	}
	// Account data handed to the template by mistake never shows.
	d := mailData()
	d.Reason, d.Sender = intake.ReasonNotInAccount, "mallory@other.example"
	_, body, err := tm.Render(intake.TmplRefusal, "en", d)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"admin@acme.example", "Acme Corp", "acme-search", "alice@acme.example"} {
		if strings.Contains(body, secret) {
			t.Errorf("refusal reveals %q:\n%s", secret, body)
		}
	}
}

func TestRenderLanguageAndSubject(t *testing.T) {
	tm := mustTemplates(t, "")
	d := mailData()
	d.Case.Subject = ""
	d.Subject = "Re: RE : TR: [CASE-1001] Urgent\r\nBcc: x@evil.example\x00 now"
	for lang, want := range map[string]string{"fr-CA": "Bonjour", "FR": "Bonjour", "de": "Hello", "": "Hello"} {
		subject, body, err := tm.Render(intake.TmplAck, lang, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(body, want) {
			t.Errorf("lang %q: body starts %q, want %q", lang, body[:20], want)
		}
		if subject != "[CASE-1001] Urgent Bcc: x@evil.example now" {
			t.Errorf("lang %q: subject %q", lang, subject)
		}
	}
	d.Subject = strings.Repeat("très long ", 200)
	subject, _, err := tm.Render(intake.TmplAck, "fr", d)
	if err != nil {
		t.Fatal(err)
	}
	if n := utf8.RuneCountInString(subject); n > 400 || !strings.HasSuffix(subject, "…") {
		t.Errorf("long subject cut to %d runes: %q", n, subject)
	}
	if _, _, err := tm.Render("nope", "en", d); err == nil {
		t.Error("unknown template rendered")
	}
	d.Case = nil
	if _, _, err := tm.Render(intake.TmplAck, "en", d); err == nil {
		t.Error("ack without a case rendered")
	}
}

func TestRenderMinimal(t *testing.T) {
	tm := mustTemplates(t, "")
	d := &intake.MailData{
		Case:    &intake.Case{ID: "CASE-1000", Severity: 3, Contact: "a@b.example", State: intake.StateWaiting},
		Support: "support@example.com", Sender: "a@b.example",
	}
	for _, lang := range reply.Languages {
		for _, name := range reply.Names {
			subject, body, err := tm.Render(name, lang, d)
			if err != nil {
				t.Errorf("%s/%s: %v", lang, name, err)
				continue
			}
			if name != intake.TmplRefusal && !strings.Contains(subject, "[CASE-1000]") {
				t.Errorf("%s/%s: subject %q lacks the tag", lang, name, subject)
			}
			if strings.Contains(body, "<no value>") {
				t.Errorf("%s/%s: <no value> in\n%s", lang, name, body)
			}
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOverrides(t *testing.T) {
	t.Run("defaults as overrides", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.CopyFS(dir, reply.Defaults()); err != nil {
			t.Fatal(err)
		}
		mustTemplates(t, dir)
	})
	t.Run("used", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "fr", "ack.tmpl"),
			`{{define "subject"}}[{{.Case.ID}}] Bien reçu{{end}}{{define "body"}}Dossier {{.Case.ID}}, sévérité {{severityName .Case.Severity}}.{{end}}`)
		writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ignored")
		tm := mustTemplates(t, dir)
		subject, body, err := tm.Render(intake.TmplAck, "fr", mailData())
		if err != nil {
			t.Fatal(err)
		}
		if subject != "[CASE-1001] Bien reçu" || body != "Dossier CASE-1001, sévérité élevée.\n" {
			t.Errorf("override not used: %q / %q", subject, body)
		}
		// Others stay embedded.
		if _, body, _ := tm.Render(intake.TmplAck, "en", mailData()); !strings.Contains(body, "Thank you") {
			t.Errorf("en/ack changed:\n%s", body)
		}
	})
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"parse error", "en/ack.tmpl", `{{define "subject"}}x{{end}}{{define "body"}}{{if}}{{end}}`, "ack.tmpl"},
		{"no body", "fr/refusal.tmpl", `{{define "subject"}}x{{end}}`, `refusal.tmpl: no {{define "body"}}`},
		{"no subject", "en/agent_help.tmpl", `{{define "body"}}x{{end}}`, `agent_help.tmpl: no {{define "subject"}}`},
		{"misspelt field", "en/notify_new.tmpl", `{{define "subject"}}{{.Case.Idd}}{{end}}{{define "body"}}x{{end}}`, "notify_new.tmpl"},
		{"unknown function", "en/ack.tmpl", `{{define "subject"}}{{shout .Subject}}{{end}}{{define "body"}}x{{end}}`, "ack.tmpl"},
		{"unknown file", "en/acknowledge.tmpl", `{{define "subject"}}x{{end}}{{define "body"}}x{{end}}`, "acknowledge.tmpl: unknown template file"},
		{"wrong extension", "en/ack.txt", `x`, "ack.txt: unknown template file"},
		{"unknown language", "de/ack.tmpl", `{{define "subject"}}x{{end}}{{define "body"}}x{{end}}`, "de: unknown language"},
		{"file at top level", "ack.tmpl", `x`, "ack.tmpl: unknown language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, filepath.FromSlash(tc.file))
			writeFile(t, path, tc.content)
			_, err := reply.LoadTemplates(dir)
			if err == nil {
				t.Fatal("LoadTemplates succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not give the path", err)
			}
		})
	}
	if _, err := reply.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing templates directory loaded")
	}
}
