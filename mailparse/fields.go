package mailparse

import (
	"strings"
)

// Fields are the `Label: value` lines of a new-case mail.
type Fields struct {
	Account, Engine, Nature, Environment string // "" when absent
	Severity                             int    // 1..4, 0 when absent or unreadable
	SeverityRaw                          string // the value as written when a severity line was present but unreadable
}

const (
	fieldAccount = iota + 1
	fieldEngine
	fieldNature
	fieldSeverity
	fieldEnvironment
)

var fieldLabels = newLabelSet(map[string]int{
	"account": fieldAccount, "compte": fieldAccount,
	"engine": fieldEngine, "moteur": fieldEngine,
	"nature": fieldNature, "problem": fieldNature, "problème": fieldNature, "probleme": fieldNature, "issue": fieldNature,
	"severity": fieldSeverity, "sévérité": fieldSeverity, "severite": fieldSeverity, "gravité": fieldSeverity,
	"gravite": fieldSeverity, "priority": fieldSeverity, "priorité": fieldSeverity, "priorite": fieldSeverity,
	"environment": fieldEnvironment, "environnement": fieldEnvironment, "environement": fieldEnvironment,
})

var severityWords = map[string]int{
	"urgent": 1, "urgente": 1, "critical": 1, "critique": 1, "blocker": 1, "bloquant": 1, "bloquante": 1,
	"high": 2, "élevée": 2, "elevee": 2, "élevé": 2, "eleve": 2, "haute": 2, "haut": 2, "major": 2, "majeure": 2, "majeur": 2,
	"normal": 3, "normale": 3, "minor": 3, "mineure": 3, "mineur": 3, "medium": 3, "moyenne": 3, "moyen": 3,
	"low": 4, "faible": 4, "basse": 4, "bas": 4,
}

// ExtractFields reads the Account, Engine, Nature, Severity and Environment
// lines of a new-case mail, in English or French, outside quoted text and
// history. The first occurrence of each label wins.
func ExtractFields(text string) Fields {
	lines := splitLinesTo(text, nil)
	all, _ := readAuthorLinesTo(lines, true, false, nil, nil)
	return fieldsOf(lines, all)
}

// fieldsOf reads the fields of the lines readAuthorLinesTo kept for all.
// Joining them would trim only white space at their ends, which trimSpace
// trims anyway.
func fieldsOf(lines textLines, kept []int) Fields {
	var f Fields
	var seen [fieldEnvironment + 1]bool
	for _, i := range kept {
		line := lines.kept(i)
		if strings.IndexByte(line, ':') < 0 {
			continue // the quick answer for most lines
		}
		t := trimBullet(trimSpace(line)) // keeps the colon
		if len(t) < 3 {
			continue
		}
		label, value, ok := cutLabel(t)
		if !ok || value == "" {
			continue
		}
		kind := fieldLabels.lookup(label)
		if kind == 0 || seen[kind] {
			continue
		}
		seen[kind] = true
		value = oneLine(value)
		switch kind {
		case fieldAccount:
			f.Account = accountValue(value)
		case fieldEngine:
			f.Engine = value
		case fieldNature:
			f.Nature = value
		case fieldEnvironment:
			f.Environment = value
		case fieldSeverity:
			if n, ok := parseSeverity(value); ok {
				f.Severity = n
			} else {
				f.SeverityRaw = value
			}
		}
	}
	return f
}

var bullets = []string{"- ", "* ", "• ", "· ", "– ", "— ", "+ ", "o "}

// trimBullet drops a list bullet ("- ", "* ", "• ") in front of a line.
func trimBullet(t string) string {
	for _, b := range bullets {
		if strings.HasPrefix(t, b) {
			return trimSpace(t[len(b):])
		}
	}
	return t
}

// accountValue returns the bare lower-cased address of "Acme <admin@x>",
// "<admin@x>" or "mailto:admin@x", or the value as written when it holds none.
func accountValue(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 1 {
			if a := strings.TrimSpace(v[i+1 : i+j]); strings.Contains(a, "@") {
				return strings.ToLower(strings.TrimPrefix(a, "mailto:"))
			}
		}
	}
	for _, w := range strings.Fields(v) {
		w = strings.Trim(w, "<>()[]\"',;.")
		w = strings.TrimPrefix(strings.TrimPrefix(w, "mailto:"), "MAILTO:")
		if plausibleAddr(w) {
			return strings.ToLower(w)
		}
	}
	return v
}

// parseSeverity reads "2", "2 - high", "P2", "Sev 2", "élevée", "High (2)".
func parseSeverity(v string) (int, bool) {
	s := strings.ToLower(v)
	for _, p := range []string{"severity", "sévérité", "sev", "p", "s", "niveau", "level"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			rest := strings.TrimLeft(s[len(p):], " -:")
			if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				s = rest
				break
			}
		}
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		if len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			return 0, false
		}
		if n := int(s[0] - '0'); n >= 1 && n <= 4 {
			return n, true
		}
		return 0, false
	}
	w := s
	if i := strings.IndexAny(w, " \t,;.()-/!"); i >= 0 {
		w = w[:i]
	}
	if n, ok := severityWords[w]; ok {
		return n, true
	}
	return 0, false
}
