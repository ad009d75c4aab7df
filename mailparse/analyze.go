package mailparse

// TextAnalysis is what NewText, ExtractFields and DetectLanguage say of one
// text.
type TextAnalysis struct {
	NewText string // NewText(text)
	Fields  Fields // ExtractFields(text)
	Lang    string // DetectLanguage(text, contentLanguage)
}

// AnalyzeText returns what NewText(text), ExtractFields(text) and
// DetectLanguage(text, contentLanguage) return, with less work than the three
// calls: the text is split into lines once, and each line is looked at once
// for both the author's text and the fields.
func AnalyzeText(text, contentLanguage string) TextAnalysis {
	lines := splitLines(text)
	all, own := readAuthorLines(lines, true, true)
	return TextAnalysis{
		NewText: joinLines(lines, own),
		Fields:  fieldsOf(lines, all),
		Lang:    DetectLanguage(text, contentLanguage),
	}
}
