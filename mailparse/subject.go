package mailparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTagDigits bounds N in [PREFIX-N] so that it fits an int64.
const maxTagDigits = 18

// CaseTag finds the first "[PREFIX-N]" tag in a subject (PREFIX compared
// case-insensitively, N digits), wherever it stands. It returns "PREFIX-N"
// with the prefix as given.
func CaseTag(subject, prefix string) (string, bool) {
	if prefix == "" {
		return "", false
	}
	s := subject
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return "", false
		}
		s = s[i+1:]
		if len(s) < len(prefix)+3 || !strings.EqualFold(s[:len(prefix)], prefix) || s[len(prefix)] != '-' {
			continue
		}
		rest := s[len(prefix)+1:]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n > maxTagDigits || n >= len(rest) || rest[n] != ']' {
			continue
		}
		return prefix + "-" + rest[:n], true
	}
}

// replyPrefixes are reply and forward markers in the languages we meet,
// lower case.
var replyPrefixes = map[string]bool{
	"re": true, "aw": true, "wg": true, "tr": true, "sv": true, "vs": true, "antw": true, "antwort": true,
	"rif": true, "odp": true, "pd": true, "fwd": true, "fw": true, "回复": true, "回覆": true,
	"转发": true, "轉寄": true, "答复": true, "ynt": true, "ilt": true, "vá": true, "va": true, "doorst": true,
	"r": true, "i": true, "rép": true, "rep": true, "réf": true, "ref": true, "enc": true, "res": true,
	"rv": true, "vl": true, "ats": true, "atb": true, "fs": true, "vb": true, "πρθ": true, "σχετ": true,
	"отв": true, "пересл": true, "返信": true, "転送": true, "답장": true, "전달": true, "trans": true,
	"transf": true,
}

// StripPrefixes removes any chain of reply/forward prefixes ("Re:", "RE :",
// "AW:", "TR:", "Re[2]:", "回复：", "Re: Fwd:" …) from the front of a subject.
func StripPrefixes(subject string) string {
	s := subject
	for n := 0; n < 64; n++ {
		t := strings.TrimLeft(s, " \t\u00a0\u202f\u3000")
		// the prefix word
		j := 0
		for j < len(t) && j <= 20 {
			r, size := utf8.DecodeRuneInString(t[j:])
			if !unicode.IsLetter(r) {
				break
			}
			j += size
		}
		if j == 0 || j > 20 || !replyPrefixes[strings.ToLower(t[:j])] {
			break
		}
		k := j
		// a counter: "Re[2]:", "Re(2):", "Re^2:"
		if k < len(t) && (t[k] == '[' || t[k] == '(' || t[k] == '^') {
			m := k + 1
			for m < len(t) && t[m] >= '0' && t[m] <= '9' {
				m++
			}
			if m > k+1 && m < len(t) && (t[k] == '^' || t[m] == ']' || t[m] == ')') {
				if t[k] != '^' {
					m++
				}
				k = m
			}
		}
		for k < len(t) {
			r, size := utf8.DecodeRuneInString(t[k:])
			if r != ' ' && r != '\t' && r != '\u00a0' && r != '\u202f' {
				break
			}
			k += size
		}
		switch {
		case strings.HasPrefix(t[k:], ":"):
			k++
		case strings.HasPrefix(t[k:], "："): // full-width colon
			k += len("：")
		default:
			return strings.TrimLeft(t, " \t\u00a0\u202f\u3000")
		}
		s = t[k:]
	}
	return strings.TrimLeft(s, " \t\u00a0\u202f\u3000")
}
