package mailparse

import "sync"

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
	bufs := analysisBufs.Get().(*lineBufs)
	lines := splitLinesTo(text, bufs.ends)
	all, own := readAuthorLinesTo(lines, true, true, bufs.all, bufs.own)
	a := TextAnalysis{
		NewText: joinLines(lines, own), // a string of its own or text's
		Fields:  fieldsOf(lines, all),
		Lang:    DetectLanguage(text, contentLanguage),
	}
	if cap(lines.ends) <= maxPooledLines { // nothing kept refers to them
		bufs.ends, bufs.all, bufs.own = lines.ends, all, own
		analysisBufs.Put(bufs)
	}
	return a
}

// lineBufs are the line numbers AnalyzeText works with, reused from one call
// to the next (three allocations of 8 bytes a line otherwise).
type lineBufs struct{ ends, all, own []int }

var analysisBufs = sync.Pool{New: func() any { return new(lineBufs) }}

// maxPooledLines bounds the buffers analysisBufs keeps.
const maxPooledLines = 16 << 10
