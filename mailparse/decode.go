package mailparse

import (
	"bufio"
	"io"
)

// decodeState collects what went wrong while decoding a transfer encoding.
type decodeState struct {
	unknown bool // unknown Content-Transfer-Encoding: read as is
	invalid bool // bad bytes were skipped or kept literally
}

// decoder returns a lenient reader for a Content-Transfer-Encoding: what
// decodes is kept, bad input is noted in st instead of stopping the part.
func decoder(cte string, r io.Reader, st *decodeState) io.Reader {
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return r
	case "base64":
		return &b64Reader{r: r, st: st}
	case "quoted-printable":
		return &qpReader{br: bufio.NewReaderSize(r, 4096), st: st}
	}
	st.unknown = true
	return r
}

// b64Reader decodes base64, skipping white space and (noting) other bad bytes.
// QUIRK: mail in the wild carries base64 with stray characters, missing
// padding and text after the padding.
type b64Reader struct {
	r    io.Reader
	st   *decodeState
	in   [4096]byte
	q    [4]byte // a quantum being filled
	nq   int
	out  []byte // decoded, not yet returned
	obuf [3*1024 + 16]byte
	eof  bool
	pad  bool // saw '=': the data is over
}

func (b *b64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.eof {
			return 0, io.EOF
		}
		n, err := b.r.Read(b.in[:])
		out := b.obuf[:0]
		for _, c := range b.in[:n] {
			v := b64val[c]
			if v == 0xff {
				switch c {
				case ' ', '\t', '\r', '\n':
				case '=':
					b.pad = true
				default:
					b.st.invalid = true
				}
				continue
			}
			if b.pad {
				// Data after the padding: a second base64 stream glued on.
				b.pad = false
				out = b.flushQuantum(out)
			}
			b.q[b.nq] = c
			b.nq++
			if b.nq == 4 {
				x := uint32(b64val[b.q[0]])<<18 | uint32(b64val[b.q[1]])<<12 | uint32(b64val[b.q[2]])<<6 | uint32(b64val[b.q[3]])
				out = append(out, byte(x>>16), byte(x>>8), byte(x))
				b.nq = 0
			}
		}
		if err != nil {
			if err != io.EOF {
				b.out = out
				b.eof = true
				if len(out) > 0 {
					return b.copyOut(p), nil
				}
				return 0, err
			}
			out = b.flushQuantum(out)
			b.eof = true
		}
		b.out = out
	}
	return b.copyOut(p), nil
}

func (b *b64Reader) copyOut(p []byte) int {
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n
}

// flushQuantum decodes an incomplete last quantum.
func (b *b64Reader) flushQuantum(out []byte) []byte {
	switch b.nq {
	case 1:
		b.st.invalid = true
	case 2:
		x := uint32(b64val[b.q[0]])<<18 | uint32(b64val[b.q[1]])<<12
		out = append(out, byte(x>>16))
	case 3:
		x := uint32(b64val[b.q[0]])<<18 | uint32(b64val[b.q[1]])<<12 | uint32(b64val[b.q[2]])<<6
		out = append(out, byte(x>>16), byte(x>>8))
	}
	b.nq = 0
	return out
}

var b64val = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	// QUIRK: URL-safe alphabet seen from some web mailers.
	t['-'] = 62
	t['_'] = 63
	return t
}()

// qpReader decodes quoted-printable leniently: an '=' not followed by two hex
// digits or a line end is kept as written (QUIRK: unencoded '=' from broken
// senders), trailing white space on a line is dropped, soft line breaks
// ("=" then CRLF, or "=" then spaces then CRLF) are joined.
type qpReader struct {
	br   *bufio.Reader
	st   *decodeState
	ws   []byte // white space held until we know it is not at a line end
	hold []byte // decoded bytes not yet returned
	err  error
}

func (q *qpReader) Read(p []byte) (int, error) {
	n := 0
	if len(q.hold) > 0 {
		n = copy(p, q.hold)
		q.hold = q.hold[n:]
		return n, nil
	}
	if q.err != nil {
		return 0, q.err
	}
	emit := func(c byte) {
		if n < len(p) {
			p[n] = c
			n++
		} else {
			q.hold = append(q.hold, c)
		}
	}
	for n < len(p) && len(q.hold) == 0 {
		c, err := q.br.ReadByte()
		if err != nil {
			// white space at the very end is trailing: drop it
			q.ws = q.ws[:0]
			q.err = err
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		switch c {
		case ' ', '\t':
			q.ws = append(q.ws, c)
			continue
		case '\r', '\n':
			q.ws = q.ws[:0]
			emit(c)
			continue
		}
		for _, w := range q.ws {
			emit(w)
		}
		q.ws = q.ws[:0]
		if c != '=' {
			emit(c)
			continue
		}
		// '=' sequences
		b, err := q.br.Peek(2)
		if len(b) >= 2 && isHex(b[0]) && isHex(b[1]) {
			q.br.Discard(2)
			emit(unhex(b[0])<<4 | unhex(b[1]))
			continue
		}
		if len(b) >= 1 && (b[0] == '\n' || (b[0] == '\r' && len(b) == 2 && b[1] == '\n')) {
			q.br.Discard(len(b[:1]) + boolInt(b[0] == '\r'))
			continue
		}
		if len(b) >= 1 && b[0] == '\r' && len(b) == 1 {
			q.br.Discard(1)
			continue
		}
		if len(b) >= 1 && (b[0] == ' ' || b[0] == '\t') {
			// "=   \r\n": a soft break with trailing white space
			if soft := q.softBreakAhead(); soft {
				continue
			}
		}
		if err != nil && len(b) == 0 {
			continue // "=" at the very end
		}
		q.st.invalid = true
		emit('=')
	}
	return n, nil
}

// softBreakAhead consumes "  \r\n" after an '=' and reports whether it was one.
func (q *qpReader) softBreakAhead() bool {
	for i := 1; i <= 64; i++ {
		b, _ := q.br.Peek(i)
		if len(b) < i {
			return false
		}
		switch b[i-1] {
		case ' ', '\t':
			continue
		case '\n':
			q.br.Discard(i)
			return true
		case '\r':
			q.br.Discard(i)
			if nb, _ := q.br.Peek(1); len(nb) == 1 && nb[0] == '\n' {
				q.br.Discard(1)
			}
			return true
		}
		return false
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
