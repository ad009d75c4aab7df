package reply

import "unicode/utf8"

// qpLineMax is the longest encoded line, without its CRLF (RFC 2045).
const qpLineMax = 76

// qpLiteral marks the bytes quoted-printable may write as they are: printable
// ASCII except "=", plus space and tab (which are encoded at the end of a
// line only).
var qpLiteral = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = c != '='
	}
	t[' '], t['\t'] = true, true
	return t
}()

const upperhex = "0123456789ABCDEF"

// appendQP appends s encoded as quoted-printable text to dst. Invalid UTF-8
// in s is encoded as strings.ToValidUTF8(s, "\uFFFD") would have it. The
// output is what mime/quotedprintable.Writer (text mode) writes, line for
// line, except in two points:
//
//   - a "." that would start a line is written "=2E", so that no line of the
//     body starts with a dot and the DATA transfer needs no dot-stuffing;
//   - CRLF, a lone LF and a lone CR each end a line (CRLF on output); the
//     standard writer can swallow the LF of a line after a lone CR.
//
// Lines are at most 76 octets; white space at the end of a line is encoded.
// No line break is added at the end of s.
func appendQP(dst []byte, s string) []byte {
	n := 0 // length of the current output line
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\r' || c == '\n':
			dst = qpEndLine(dst, n)
			dst = append(dst, '\r', '\n')
			n = 0
			i++
			if c == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
		case c >= utf8.RuneSelf:
			_, size := utf8.DecodeRuneInString(s[i:])
			seq := s[i : i+size]
			i += size
			if size == 1 {
				// Invalid: one replacement character for the run.
				seq = "\uFFFD"
				for i < len(s) && s[i] >= utf8.RuneSelf {
					if _, size := utf8.DecodeRuneInString(s[i:]); size > 1 {
						break
					}
					i++
				}
			}
			for k := 0; k < len(seq); k++ {
				dst, n = qpEncode(dst, n, seq[k])
			}
		case !qpLiteral[c] || (c == '.' && n == 0):
			dst, n = qpEncode(dst, n, c)
			i++
		default:
			if n == qpLineMax-1 {
				dst = append(dst, '=', '\r', '\n')
				n = 0
				if c == '.' {
					continue // encoded at the start of the new line
				}
			}
			// A run of literal bytes, up to the end of the line.
			run := s[i:min(len(s), i+qpLineMax-1-n)]
			k := 1
			for k < len(run) && qpLiteral[run[k]] {
				k++
			}
			dst = append(dst, run[:k]...)
			n += k
			i += k
		}
	}
	return qpEndLine(dst, n)
}

// qpEncode appends c as "=XX" to the current line, n octets long, after a
// soft line break when it would not fit. It returns the new length of the
// line.
func qpEncode(dst []byte, n int, c byte) ([]byte, int) {
	if n > qpLineMax-4 {
		dst = append(dst, '=', '\r', '\n')
		n = 0
	}
	return append(dst, '=', upperhex[c>>4], upperhex[c&0x0f]), n + 3
}

// qpEndLine encodes a space or tab ending the current line, n octets long,
// as the line is about to end.
func qpEndLine(dst []byte, n int) []byte {
	if n == 0 {
		return dst
	}
	c := dst[len(dst)-1]
	if c != ' ' && c != '\t' {
		return dst
	}
	dst = dst[:len(dst)-1]
	if n-1 > qpLineMax-4 {
		dst = append(dst, '=', '\r', '\n')
	}
	return append(dst, '=', upperhex[c>>4], upperhex[c&0x0f])
}
