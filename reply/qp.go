package reply

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

// appendQP appends s encoded as quoted-printable text to dst. The output is
// what mime/quotedprintable.Writer (text mode) writes, line for line,
// except in two points:
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
		case !qpLiteral[c] || (c == '.' && n == 0):
			if n > qpLineMax-4 {
				dst = append(dst, '=', '\r', '\n')
				n = 0
			}
			dst = append(dst, '=', upperhex[c>>4], upperhex[c&0x0f])
			n += 3
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
			j, end := i+1, min(len(s), i+qpLineMax-1-n)
			for j < end && qpLiteral[s[j]] {
				j++
			}
			dst = append(dst, s[i:j]...)
			n += j - i
			i = j
		}
	}
	return qpEndLine(dst, n)
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
