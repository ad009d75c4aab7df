package mailparse

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// decodeState collects what went wrong while decoding a transfer encoding.
type decodeState struct {
	unknown bool // unknown Content-Transfer-Encoding: read as is
	invalid bool // bad bytes were skipped or kept literally
}

// decoder returns a lenient reader for a Content-Transfer-Encoding: what
// decodes is kept, bad input is noted in st instead of stopping the part.
// Give it to releaseDecoder once done with it.
func decoder(cte string, r io.Reader, st *decodeState) io.Reader {
	switch cte {
	case "", "7bit", "8bit", "binary", "7-bit", "8-bit":
		return r
	case "base64":
		b := b64Readers.Get().(*b64Reader)
		b.r, b.st = r, st
		return b
	case "quoted-printable":
		q := qpReaders.Get().(*qpReader)
		q.br.Reset(r)
		q.st = st
		return q
	}
	st.unknown = true
	return r
}

// The decoders of transfer encodings are reused: a quoted-printable one holds
// a 4 KiB bufio.Reader, a base64 one 7 KiB of buffers.
var (
	qpReaders  = sync.Pool{New: func() any { return &qpReader{br: bufio.NewReaderSize(nil, 4096)} }}
	b64Readers = sync.Pool{New: func() any { return new(b64Reader) }}
)

// releaseDecoder gives back a reader decoder returned; it must not be used
// any more.
func releaseDecoder(r io.Reader) {
	switch d := r.(type) {
	case *qpReader:
		d.br.Reset(nil)
		*d = qpReader{br: d.br, buf: d.buf[:0], carry: d.carry[:0], tmp: d.tmp[:0]}
		qpReaders.Put(d)
	case *b64Reader:
		d.r, d.st = nil, nil
		d.nq, d.out, d.eof, d.pad = 0, nil, false, false
		b64Readers.Put(d)
	}
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
		in := b.in[:n]
		for i := 0; i < len(in); i++ {
			if b.nq == 0 && !b.pad && i+4 <= len(in) {
				// A whole quantum of valid characters, the common case:
				// decoded at once as the loop below would.
				q := in[i : i+4]
				v0, v1, v2, v3 := b64val[q[0]], b64val[q[1]], b64val[q[2]], b64val[q[3]]
				if v0|v1|v2|v3 < 64 { // none is 0xff (not base64)
					x := quantum(v0, v1, v2, v3)
					out = append(out, byte(x>>16), byte(x>>8), byte(x))
					i += 3
					continue
				}
			}
			c := in[i]
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
				x := quantum(b64val[b.q[0]], b64val[b.q[1]], b64val[b.q[2]], b64val[b.q[3]])
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
		x := quantum(b64val[b.q[0]], b64val[b.q[1]], 0, 0)
		out = append(out, byte(x>>16))
	case 3:
		x := quantum(b64val[b.q[0]], b64val[b.q[1]], b64val[b.q[2]], 0)
		out = append(out, byte(x>>16), byte(x>>8))
	}
	b.nq = 0
	return out
}

// quantum joins four base64 values, 6 bits each, into 24 bits.
func quantum(v0, v1, v2, v3 byte) uint32 {
	return uint32(v0)<<18 | uint32(v1)<<12 | uint32(v2)<<6 | uint32(v3)
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

// qpReader decodes quoted-printable leniently, a line at a time: an '=' not
// followed by two hex digits or a line end is kept as written (QUIRK: unencoded
// '=' from broken senders), trailing white space on a line is dropped, soft
// line breaks ("=" then CRLF, or "=" then spaces then CRLF) are joined.
type qpReader struct {
	br    *bufio.Reader
	st    *decodeState
	out   []byte // decoded, not yet returned
	buf   []byte
	carry []byte // the end of a partial line that may continue in the next chunk
	tmp   []byte
	err   error
}

// Read decodes as many lines as fit in p: a reader that reads the whole part
// (most do) needs few calls.
func (q *qpReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(q.out) > 0 {
			k := copy(p[n:], q.out)
			q.out = q.out[k:]
			n += k
			continue
		}
		if q.err != nil {
			break
		}
		if len(p)-n >= q.br.Size()+len(q.carry) {
			// Room for the longest chunk fill reads (decoding never makes
			// it longer): decode straight into p.
			n += len(q.fill(p[n:n]))
		} else {
			q.buf = q.fill(q.buf[:0])
			q.out = q.buf
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, q.err
	}
	return n, nil
}

// fill decodes the next line, or the next chunk of a long one, appending it
// to out.
func (q *qpReader) fill(out []byte) []byte {
	chunk, err := q.br.ReadSlice('\n')
	partial := err == bufio.ErrBufferFull
	if err != nil && !partial {
		q.err = err
	}
	if len(q.carry) > 0 {
		q.tmp = append(append(q.tmp[:0], q.carry...), chunk...)
		chunk = q.tmp
		q.carry = q.carry[:0]
	}
	if partial {
		// Hold back trailing white space and a cut "=X" for the next chunk.
		end := len(chunk)
		for end > 0 && (chunk[end-1] == ' ' || chunk[end-1] == '\t') && len(chunk)-end < 256 {
			end--
		}
		if end > 0 && chunk[end-1] == '=' {
			end--
		} else if end > 1 && chunk[end-2] == '=' && isHex(chunk[end-1]) {
			end -= 2
		}
		q.carry = append(q.carry, chunk[end:]...)
		return q.decode(out, chunk[:end])
	}
	body, eol := chunk, []byte(nil)
	if n := len(body); n > 0 && body[n-1] == '\n' {
		if n > 1 && body[n-2] == '\r' {
			body, eol = body[:n-2], body[n-2:]
		} else {
			body, eol = body[:n-1], body[n-1:]
		}
	}
	for len(body) > 0 && (body[len(body)-1] == ' ' || body[len(body)-1] == '\t') {
		body = body[:len(body)-1]
	}
	soft := len(body) > 0 && body[len(body)-1] == '='
	if soft {
		body = body[:len(body)-1]
	}
	out = q.decode(out, body)
	if !soft {
		out = append(out, eol...)
	}
	return out
}

func (q *qpReader) decode(out, d []byte) []byte {
	for len(d) > 0 {
		i := bytes.IndexByte(d, '=')
		if i < 0 {
			return append(out, d...)
		}
		out = append(out, d[:i]...)
		d = d[i:]
		if len(d) >= 3 && isHex(d[1]) && isHex(d[2]) {
			out = append(out, unhex(d[1])<<4|unhex(d[2]))
			d = d[3:]
			continue
		}
		q.st.invalid = true
		out = append(out, '=')
		d = d[1:]
	}
	return out
}
