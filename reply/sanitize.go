package reply

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits for header values built from user data.
const (
	maxSubjectRunes  = 400 // longer subjects are cut and end with "…"
	maxNameRunes     = 200 // display names
	maxFilenameBytes = 255
)

// HeaderText makes s safe to use as one header value: invalid UTF-8 is
// replaced, every kind of line break and white space becomes a space, other
// control and invisible formatting characters (bidi overrides, zero-width
// joiners) are dropped, runs of spaces collapse to one and the ends are
// trimmed. The result never contains CR or LF, so it cannot start a new
// header line.
func HeaderText(s string) string {
	if headerClean(s) {
		return s // most subjects and names: nothing to change
	}
	return headerText(s)
}

// headerClean reports whether HeaderText would leave s as it is: printable
// ASCII, single spaces between words and none at the ends.
func headerClean(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		case c < 0x21 || c > 0x7e:
			return false
		}
	}
	return true
}

func headerText(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || r == '\u2028' || r == '\u2029':
			space = b.Len() > 0
			continue
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// truncateRunes cuts s to at most n runes, ending it with "…" when cut.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return strings.TrimRight(s[:i], " ") + "…"
}

// subjectText is HeaderText for a subject, bounded in length.
func subjectText(s string) string { return truncateRunes(HeaderText(s), maxSubjectRunes) }

// nameText is HeaderText for a display name, bounded in length.
func nameText(s string) string { return truncateRunes(HeaderText(s), maxNameRunes) }

// AttachmentName makes a file name safe for Content-Disposition and
// Content-Type: header-safe (see HeaderText), no path separators (they
// become "_"), never "", "." or "..", at most 255 bytes (the extension is
// kept when the name is cut).
func AttachmentName(name string) string {
	name = HeaderText(name)
	name = strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\':
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	switch strings.Trim(name, ". ") {
	case "":
		return "attachment"
	}
	if len(name) <= maxFilenameBytes {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	return cutBytes(name[:len(name)-len(ext)], maxFilenameBytes-len(ext)) + ext
}

// cutBytes cuts s to at most n bytes without splitting a rune.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// messageID returns id without its angle brackets, or "" when it is not
// usable in a header: empty, or holding white space, control characters,
// angle brackets or non-ASCII.
func messageID(id string) string {
	id = strings.TrimSpace(id)
	id = strings.TrimPrefix(id, "<")
	id = strings.TrimSuffix(id, ">")
	if id == "" || len(id) > 900 {
		return ""
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '<' || c == '>' {
			return ""
		}
	}
	return id
}
