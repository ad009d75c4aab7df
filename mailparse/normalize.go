package mailparse

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// normalizeText makes line ends \n, drops control characters other than tab
// and newline, trims trailing white space on each line, collapses 3 or more
// blank lines to 2 and trims blank lines at both ends.
func normalizeText(s string) string {
	s = cleanString(s)
	return string(appendNormalized(make([]byte, 0, len(s)), s))
}

// normalizeBytes is normalizeText(string(b)), normalizing b in place.
func normalizeBytes(b []byte) string {
	if !utf8.Valid(b) || bytes.IndexByte(b, 0) >= 0 {
		return normalizeText(string(b)) // what cleanString changes
	}
	// In place: what is written never goes past what was read.
	return string(appendNormalized(b[:0], b))
}

// appendNormalized appends the normalized text of s, valid UTF-8 without NUL,
// to dst. dst may be s[:0].
func appendNormalized[T string | []byte](dst []byte, s T) []byte {
	blank := 0
	started := false
	for len(s) > 0 {
		line, rest, ctl := normalLine(s)
		s = rest
		if ctl {
			clean := dropControls(string(line))
			if clean == "" {
				blank++
				continue
			}
			dst = appendLineStart(dst, started, blank)
			dst = append(dst, clean...)
		} else {
			if len(line) == 0 {
				blank++
				continue
			}
			dst = appendLineStart(dst, started, blank)
			dst = append(dst, line...)
		}
		blank = 0
		started = true
	}
	return dst
}

// appendLineStart appends the line ends before a line of text: none before
// the first, else one and up to two blank lines.
func appendLineStart(dst []byte, started bool, blank int) []byte {
	if !started {
		return dst
	}
	return append(dst, "\n\n\n"[:1+min(blank, 2)]...)
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
