package mailparse

import (
	"bytes"
	"strings"
)

// normalizeText makes line ends \n, drops control characters other than tab
// and newline, trims trailing white space on each line, collapses 3 or more
// blank lines to 2 and trims blank lines at both ends.
func normalizeText(s string) string {
	return normalizeLines(cleanString(s))
}

// normalizeBytes is normalizeText(string(b)) for b in valid UTF-8 (the text
// parts are, see readText), without converting b to a string first.
func normalizeBytes(b []byte) string {
	if bytes.IndexByte(b, 0) >= 0 {
		return normalizeText(string(b)) // what cleanString changes
	}
	return normalizeLines(b)
}

// normalizeLines does the work of normalizeText on s, valid UTF-8 without NUL.
func normalizeLines[T string | []byte](s T) string {
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	started := false
	for len(s) > 0 {
		line, rest, ctl := normalLine(s)
		s = rest
		if ctl {
			line = T(dropControls(string(line)))
		}
		if len(line) == 0 {
			blank++
			continue
		}
		if started {
			b.WriteString("\n\n\n"[:1+min(blank, 2)])
		}
		blank = 0
		started = true
		writeText(&b, line)
	}
	return b.String()
}

// writeText writes s to b, whichever type it has.
func writeText[T string | []byte](b *strings.Builder, s T) {
	switch s := any(s).(type) {
	case string:
		b.WriteString(s)
	case []byte:
		b.Write(s)
	}
}

// normalLine cuts the first line off s, at \n, \r\n or a lone \r, and returns
// it trimmed of trailing white space; ctl says it holds control characters
// (other than tab) that dropControls must drop.
func normalLine[T string | []byte](s T) (line, rest T, ctl bool) {
	i := controlIndex(s)
	if i >= 0 && s[i] != '\n' && s[i] != '\r' {
		ctl = true // a control character inside the line: find its end
		for i < len(s) && s[i] != '\n' && s[i] != '\r' {
			i++
		}
		if i == len(s) {
			i = -1
		}
	}
	if i < 0 {
		line, rest = s, s[len(s):]
	} else {
		line, rest = s[:i], skipLineEnd(s[i:])
	}
	line = trimRightBlank(line, " \t\f\v")
	return line, rest, ctl && hasControl(line)
}

// dropControls drops the control characters of s but tab.
func dropControls(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// skipLineEnd drops the \n, \r\n or \r that s starts with.
func skipLineEnd[T string | []byte](s T) T {
	if len(s) >= 2 && s[0] == '\r' && s[1] == '\n' {
		return s[2:]
	}
	return s[1:]
}

func hasControl[T string | []byte](s T) bool {
	return controlIndex(s) >= 0
}

// controlIndex returns the index of the first control byte of s other than
// tab (below 0x20, or DEL), or -1 if there is none.
func controlIndex[T string | []byte](s T) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		// Eight bytes at a time, looked at one by one only when one of them
		// is below 0x20 or DEL.
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		if hasByteBelow(x, 0x20) || hasByteBelow(x^(0x7f*lowBytes), 1) {
			if j := controlIndexBytes(w); j >= 0 {
				return i + j
			}
		}
	}
	if j := controlIndexBytes(s[i:]); j >= 0 {
		return i + j
	}
	return -1
}

// controlIndexBytes is controlIndex a byte at a time.
func controlIndexBytes[T string | []byte](s T) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

const lowBytes = 0x0101010101010101 // 0x01 in each byte of a uint64

// hasByteBelow reports whether one of the eight bytes of x is below n, for
// n <= 0x80 (the classic "hasless" bit trick).
func hasByteBelow(x uint64, n byte) bool {
	return (x-lowBytes*uint64(n))&^x&(0x80*lowBytes) != 0
}
