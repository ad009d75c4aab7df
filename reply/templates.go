// Package reply writes and sends casemail's mail: the templates every
// message is rendered from (English and French, embedded, overridable by an
// admin), the composition of a MIME message from an intake.Outgoing, and an
// SMTP sender that keeps one connection open between sends.
package reply

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"casemail/intake"
)

//go:embed templates
var embedded embed.FS

// DefaultLanguage is used for a language that has no templates.
const DefaultLanguage = "en"

// Languages lists the languages templates exist for.
var Languages = []string{"en", "fr"}

// Names lists the template names, one per kind of mail casemail writes.
var Names = []string{
	intake.TmplAck, intake.TmplRefusal, intake.TmplNotifyNew, intake.TmplNotifyReply,
	intake.TmplAgentReply, intake.TmplAgentHelp, intake.TmplAgentError,
	intake.TmplSLAWarning, intake.TmplSLABreach, intake.TmplReminder, intake.TmplAutoClosed,
	intake.TmplAutoClosedAgent,
	intake.TmplResolved, intake.TmplSeverityChanged,
}

const tmplExt = ".tmpl"

// Defaults returns the embedded templates, laid out as LoadTemplates wants
// an override directory (en/ack.tmpl, …): a starting point for an admin.
func Defaults() fs.FS {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Templates renders casemail's mail. It is immutable once loaded and safe
// for concurrent use.
type Templates struct {
	sets map[string]map[string]*template.Template // lang → name → template
	// from names where each template came from, for error messages.
	from map[string]map[string]string
	// ack holds, for each language whose acknowledgement is the embedded
	// one, its wording written out in Go (see ack.go).
	ack map[string]*ackText
}

var _ intake.Renderer = (*Templates)(nil)

// LoadTemplates loads the embedded templates and, when dir is not empty, the
// admin's overrides from dir, laid out like the embedded ones:
// dir/en/ack.tmpl, dir/fr/notify_new.tmpl, … An override replaces the
// embedded template of the same language and name. Every file must define
// the templates "subject" and "body". A file that does not parse, lacks one
// of them, fails on sample data (a misspelt field), or is not named after a
// known language and template name, is an error naming the file. Files and
// directories whose name starts with "." are ignored.
func LoadTemplates(dir string) (*Templates, error) {
	t := &Templates{
		sets: make(map[string]map[string]*template.Template),
		from: make(map[string]map[string]string),
	}
	for _, lang := range Languages {
		t.sets[lang] = make(map[string]*template.Template)
		t.from[lang] = make(map[string]string)
		for _, name := range Names {
			file := "templates/" + lang + "/" + name + tmplExt
			src, err := embedded.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("reply: embedded template %s: %w", file, err)
			}
			tmpl, err := parse(lang, file, string(src))
			if err != nil {
				return nil, err
			}
			t.sets[lang][name] = tmpl
			t.from[lang][name] = "embedded " + file
		}
	}
	t.ack = maps.Clone(ackTexts) // until an override replaces the embedded ack
	if dir != "" {
		if err := t.loadOverrides(dir); err != nil {
			return nil, err
		}
	}
	// Try every template on sample data, so a misspelt field or a wrong
	// function call shows at start-up rather than when a mail is due.
	for _, lang := range Languages {
		for _, name := range Names {
			if _, _, err := t.Render(name, lang, sampleData()); err != nil {
				return nil, fmt.Errorf("reply: template %s: %w", t.from[lang][name], err)
			}
		}
	}
	return t, nil
}

func (t *Templates) loadOverrides(dir string) error {
	langs, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("reply: templates directory: %w", err)
	}
	for _, l := range langs {
		lang := l.Name()
		if strings.HasPrefix(lang, ".") {
			continue
		}
		ldir := filepath.Join(dir, lang)
		if !l.IsDir() || !slices.Contains(Languages, lang) {
			return fmt.Errorf("reply: templates directory: %s: unknown language directory (want one of %s, each holding NAME%s files)",
				ldir, strings.Join(Languages, ", "), tmplExt)
		}
		files, err := os.ReadDir(ldir)
		if err != nil {
			return fmt.Errorf("reply: templates directory: %w", err)
		}
		for _, f := range files {
			fname := f.Name()
			if strings.HasPrefix(fname, ".") {
				continue
			}
			file := filepath.Join(ldir, fname)
			name, ok := strings.CutSuffix(fname, tmplExt)
			if f.IsDir() || !ok || !slices.Contains(Names, name) {
				return fmt.Errorf("reply: template %s: unknown template file (want one of %s, with extension %s)",
					file, strings.Join(Names, ", "), tmplExt)
			}
			src, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("reply: template %w", err)
			}
			tmpl, err := parse(lang, file, string(src))
			if err != nil {
				return err
			}
			t.sets[lang][name] = tmpl
			t.from[lang][name] = file
			if name == intake.TmplAck {
				delete(t.ack, lang)
			}
		}
	}
	return nil
}

// parse parses one template file and checks that it defines "subject" and
// "body".
func parse(lang, file, src string) (*template.Template, error) {
	tmpl, err := template.New(filepath.Base(file)).
		Option("missingkey=error").
		Funcs(funcs(lang)).
		Parse(src)
	if err != nil {
		return nil, fmt.Errorf("reply: template %s: %w", file, err)
	}
	for _, part := range []string{"subject", "body"} {
		if tmpl.Lookup(part) == nil {
			return nil, fmt.Errorf(`reply: template %s: no {{define %q}}`, file, part)
		}
	}
	return tmpl, nil
}

// Render renders template name in lang ("fr", "fr-CA", "EN"…; a language
// without templates falls back to English). The subject comes out as one
// header-safe line (see HeaderText); the body ends with one newline.
func (t *Templates) Render(name, lang string, data *intake.MailData) (subject, body string, err error) {
	tmpl, data, err := t.lookup(name, lang, data)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	b.Grow(len(data.Text) + 2<<10) // most bodies in one allocation
	if a := t.goAck(name, lang, data); a != nil {
		subject = subjectText(a.subject(data))
		a.writeBody(&b, data)
	} else {
		if subject, err = renderSubject(tmpl, name, data); err != nil {
			return "", "", err
		}
		if err := tmpl.ExecuteTemplate(&b, "body", data); err != nil {
			return "", "", fmt.Errorf("reply: rendering %s body: %w", name, err)
		}
	}
	body = strings.TrimLeft(b.String(), "\r\n")
	trimmed := strings.TrimRight(body, " \t\r\n")
	if end := len(trimmed) + 1; end <= len(body) && body[len(trimmed)] == '\n' && b.Cap()-end <= end/4 {
		// Ends with a newline already, and the builder's spare room is
		// small: no copy of a body that may hold a 20 KiB relayed text.
		return subject, body[:end], nil
	}
	return subject, trimmed + "\n", nil
}

// goAck is the acknowledgement written out in Go, when name is the
// acknowledgement and lang's is the embedded one (see ack.go).
func (t *Templates) goAck(name, lang string, data *intake.MailData) *ackText {
	if name != intake.TmplAck || data.Case == nil {
		return nil
	}
	return t.ack[normLang(lang)]
}

// RenderSubject renders only the subject of what Render renders.
func (t *Templates) RenderSubject(name, lang string, data *intake.MailData) (string, error) {
	tmpl, data, err := t.lookup(name, lang, data)
	if err != nil {
		return "", err
	}
	return renderSubject(tmpl, name, data)
}

func (t *Templates) lookup(name, lang string, data *intake.MailData) (*template.Template, *intake.MailData, error) {
	tmpl := t.sets[normLang(lang)][name]
	if tmpl == nil {
		return nil, nil, fmt.Errorf("reply: unknown template %q", name)
	}
	if data == nil {
		data = &intake.MailData{}
	}
	return tmpl, data, nil
}

func renderSubject(tmpl *template.Template, name string, data *intake.MailData) (string, error) {
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, "subject", data); err != nil {
		return "", fmt.Errorf("reply: rendering %s subject: %w", name, err)
	}
	return subjectText(b.String()), nil
}

func normLang(lang string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if i := strings.IndexAny(lang, "-_"); i >= 0 {
		lang = lang[:i]
	}
	if slices.Contains(Languages, lang) {
		return lang
	}
	return DefaultLanguage
}

// words holds what the template functions say in each language.
type words struct {
	severity          map[int]string
	field             map[string]string
	reason            map[string]string
	state             map[string]string
	bh, bd, h         [2]string // singular, plural
	notSet, noSubject string
}

var vocab = map[string]*words{
	"en": {
		severity: map[int]string{1: "urgent", 2: "high", 3: "normal", 4: "low"},
		field: map[string]string{
			"account": "Account", "engine": "Engine", "nature": "Nature",
			"severity": "Severity", "environment": "Environment",
		},
		reason: map[string]string{"missing": "missing", "invalid": "invalid", "not_allowed": "not allowed by the plan"},
		state: map[string]string{
			"open": "open", "waiting": "waiting on the customer", "resolved": "resolved", "closed": "closed",
		},
		bh:        [2]string{"business hour", "business hours"},
		bd:        [2]string{"business day", "business days"},
		h:         [2]string{"hour", "hours"},
		notSet:    "not set",
		noSubject: "(no subject)",
	},
	"fr": {
		severity: map[int]string{1: "urgente", 2: "élevée", 3: "normale", 4: "faible"},
		field: map[string]string{
			"account": "Compte", "engine": "Moteur", "nature": "Nature",
			"severity": "Sévérité", "environment": "Environnement",
		},
		reason: map[string]string{"missing": "manquant", "invalid": "invalide", "not_allowed": "non autorisé par le contrat"},
		state: map[string]string{
			"open": "ouvert", "waiting": "en attente du client", "resolved": "résolu", "closed": "clos",
		},
		bh:        [2]string{"heure ouvrée", "heures ouvrées"},
		bd:        [2]string{"jour ouvré", "jours ouvrés"},
		h:         [2]string{"heure", "heures"},
		notSet:    "non renseigné",
		noSubject: "(sans objet)",
	},
}

// lookup returns m[k], or k itself when m has no entry for it.
func lookup(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// splitTarget splits a response target as configured ("4bh", " 2 bd ")
// into its number and unit (bh, bd or h).
func splitTarget(t string) (num, unit string, ok bool) {
	const space = " \t\n\f\r"
	s := strings.Trim(t, space)
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	num, unit = s[:i], strings.TrimLeft(s[i:], space)
	switch unit {
	case "bh", "bd", "h":
		return num, unit, num != ""
	}
	return "", "", false
}

// funcs are the functions templates may call, in the words of lang.
//
//	severityName N   "high" / "élevée"; "" for an unknown level
//	fieldName F      "Engine" / "Moteur" for "engine"
//	reasonName R     "missing" / "manquant" (Problem.Reason)
//	stateName S      "waiting on the customer" / "en attente du client"
//	trim S           S without surrounding blank lines and spaces
//	target T         "4bh" → "4 business hours" / "4 heures ouvrées"
//	bare S           S without case tags and reply prefixes, "(no subject)" when empty
//	orNotSet S       S, or "not set" / "non renseigné" when empty
//	join LIST SEP    strings.Join
//	indent N S       S with every line after the first indented by N spaces
//	date T           a time as "Mon 2 Jan 2006 15:04 MST"
func funcs(lang string) template.FuncMap {
	w := wordsOf(lang)
	return template.FuncMap{
		"severityName": w.severityName,
		"fieldName":    w.fieldName,
		"reasonName":   func(r string) string { return lookup(w.reason, r) },
		"stateName":    func(s intake.State) string { return lookup(w.state, string(s)) },
		"trim":         func(s string) string { return strings.TrimRight(strings.TrimLeft(s, "\r\n"), " \t\r\n") },
		"target":       w.target,
		"bare":         w.bare,
		"orNotSet":     w.orNotSet,
		"join":         func(list []string, sep string) string { return strings.Join(list, sep) },
		"indent":       indent,
		"date":         func(t time.Time) string { return t.Format("Mon 2 Jan 2006 15:04 MST") },
	}
}

// wordsOf is the vocabulary of lang, or of the default language.
func wordsOf(lang string) *words {
	if w := vocab[lang]; w != nil {
		return w
	}
	return vocab[DefaultLanguage]
}

func (w *words) severityName(n int) string { return w.severity[n] }
func (w *words) fieldName(f string) string { return lookup(w.field, f) }

func (w *words) target(t string) string {
	num, u, ok := splitTarget(t)
	if !ok {
		return t
	}
	unit := w.h
	switch u {
	case "bh":
		unit = w.bh
	case "bd":
		unit = w.bd
	}
	if n, _ := strconv.Atoi(num); n == 1 {
		return num + " " + unit[0]
	}
	return num + " " + unit[1]
}

func (w *words) bare(s string) string {
	if s = bareSubject(s); s == "" {
		return w.noSubject
	}
	return s
}

func (w *words) orNotSet(s string) string {
	if strings.TrimSpace(s) == "" {
		return w.notSet
	}
	return s
}

func indent(n int, s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\r\n"), "\n", "\n"+strings.Repeat(" ", n))
}

var (
	tagRE    = regexp.MustCompile(`\[[\p{L}\p{N}_.]+-\d+\]`)
	prefixRE = regexp.MustCompile(`(?i)^\s*(re|fwd?|aw|wg|tr|sv|vs|antw|rif|r|i|ref|réf|回复|回覆|答复|转发|轉寄)\s*(\[\d+\])?\s*[:：]\s*`)
)

// bareSubject removes case tags and leading reply or forward prefixes, so a
// subject casemail writes does not pile up "Re: [CASE-1] Re: …".
func bareSubject(s string) string {
	if !strings.ContainsAny(s, "[:：") {
		return HeaderText(s) // neither a tag nor a prefix: no regexp to run
	}
	s = HeaderText(tagRE.ReplaceAllString(s, " "))
	for {
		t := prefixRE.ReplaceAllString(s, "")
		if t == s {
			break
		}
		s = HeaderText(t)
	}
	return s
}

// sampleData fills every field, for the check LoadTemplates runs.
func sampleData() *intake.MailData {
	due := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	return &intake.MailData{
		Case: &intake.Case{
			ID: "CASE-1000", State: intake.StateOpen, Account: "admin@acme.example",
			Engine: "acme-search", Severity: 2, Nature: "Search returns no results",
			Environment: "production", Contact: "alice@acme.example", Language: "en",
			CreatedAt: due.Add(-4 * time.Hour), FirstResponseDue: &due,
			Related: []intake.CaseID{"CASE-998"}, Subject: "Search is down",
			UpdatedAt: due.Add(-4 * time.Hour), LastMessageID: "<a@acme.example>",
		},
		Account: &intake.Account{
			Email: "admin@acme.example", Name: "Acme Corp", Plan: "premium",
			Engines:  []string{"acme-search", "acme-staging"},
			Contacts: []string{"alice@acme.example"},
		},
		Support: "support@example.com", Sender: "alice@acme.example",
		Subject: "Search is down", Text: "Hello,\nit is down.\n", Reason: intake.ReasonUnknownSender,
		Problems: []intake.Problem{{Field: "engine", Reason: "invalid", Value: "acme"}},
		Engines:  []string{"acme-search", "acme-staging"}, SeverityLowered: true,
		RequestedSeverity: 1, Due: "Tue 24 Nov 2026 12:00 PST (America/Los_Angeles)",
		Target: "1bd", ReopenedFrom: "CASE-998", AgentName: "Bob",
		Commands: []string{"#note", "#resolve"}, Error: "sample",
		ReopenDays: 7, MaxAttempts: 3, OldSeverity: 3, Rating: 5,
		Dropped: []string{"huge.zip"},
	}
}
