package intake

import (
	"strings"

	"casemail/mailparse"
)

// Analysis is what the workflow reads from a mail's text: worked out once
// per mail, outside the store transaction (the source does it in parallel
// while it fetches the next mails).
type Analysis struct {
	// The author's text (without quoted history and signature), its
	// `Label: value` lines and language ("fr" or "en").
	mailparse.TextAnalysis
	// Short says the text is too short to tell a language for sure.
	Short bool
}

// shortText is the word count below which a mail without Content-Language
// says too little to tell its language.
const shortText = 12

// Analyze works out a mail's Analysis, once; Process calls it for mails
// that were not analyzed before.
func Analyze(in *Incoming) *Analysis {
	if in.analysis != nil || in.Msg == nil {
		return in.analysis
	}
	m := in.Msg
	a := &Analysis{TextAnalysis: mailparse.AnalyzeText(m.Text, m.ContentLanguage)}
	a.Short = m.ContentLanguage == "" && countWords(m.Text, shortText) < shortText
	in.analysis = a
	return a
}

// countWords counts the words of s, stopping at limit.
func countWords(s string, limit int) int {
	n, in := 0, false
	for _, r := range s {
		space := r == ' ' || r == '\n' || r == '\t' || r == '\r'
		if !space && !in {
			n++
			if n == limit {
				return n
			}
		}
		in = !space
	}
	return n
}

// firstParagraph is the text up to its first blank line, bounded.
func firstParagraph(text string, max int) string {
	text = strings.TrimSpace(text)
	if len(text) > 4*max {
		text = text[:4*max]
	}
	if i := strings.Index(text, "\n\n"); i >= 0 {
		text = text[:i]
	}
	return strings.Join(strings.Fields(text), " ")
}
