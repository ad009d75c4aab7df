package mailtest

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
)

// go-imap's server always advertises IDLE to IMAP4rev1 clients and always
// accepts the command, so NoIdle is done on the wire: noIdleConn removes
// IDLE from every capability list the server writes, and turns a client's
// IDLE command into an unknown one, which the server answers with BAD.
//
// Both directions track literals ({N} at the end of a line announces N raw
// bytes), so message bodies pass through untouched.

// maxPendingLine bounds how much of a line without CRLF is held back.
const maxPendingLine = 64 * 1024

type noIdleConn struct {
	net.Conn

	wmu sync.Mutex
	w   lineFilter

	rmu  sync.Mutex
	r    lineFilter
	rout []byte
	rerr error
}

func newNoIdleConn(c net.Conn) *noIdleConn {
	return &noIdleConn{
		Conn: c,
		w:    lineFilter{rewrite: stripIdleCap},
		r:    lineFilter{rewrite: refuseIdleCmd},
	}
}

func (c *noIdleConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	out := c.w.feed(p, false)
	if len(out) > 0 {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *noIdleConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	buf := make([]byte, 4096)
	for len(c.rout) == 0 {
		if c.rerr != nil {
			return 0, c.rerr
		}
		n, err := c.Conn.Read(buf)
		c.rout = append(c.rout, c.r.feed(buf[:n], err != nil)...)
		c.rerr = err
	}
	n := copy(p, c.rout)
	c.rout = c.rout[n:]
	return n, nil
}

// lineFilter passes a byte stream through, handing each complete protocol
// line (outside literals) to rewrite.
type lineFilter struct {
	rewrite  func(line []byte) []byte
	pending  []byte
	literal  int64 // raw bytes still to pass through
	longLine bool  // inside a line that was too long to hold back
}

// feed consumes p and returns what may be sent on. With flush, a partial
// line is released as it is.
func (f *lineFilter) feed(p []byte, flush bool) []byte {
	f.pending = append(f.pending, p...)
	var out []byte
	for len(f.pending) > 0 {
		if f.literal > 0 {
			n := min(f.literal, int64(len(f.pending)))
			out = append(out, f.pending[:n]...)
			f.pending = f.pending[n:]
			f.literal -= n
			continue
		}
		i := bytes.Index(f.pending, []byte("\r\n"))
		if i < 0 {
			if flush || len(f.pending) > maxPendingLine {
				out = append(out, f.pending...)
				f.pending = f.pending[:0]
				f.longLine = !flush
			}
			break
		}
		line := f.pending[:i]
		if f.longLine {
			// The start of this line has gone out already: leave it be.
			out = append(out, line...)
			f.longLine = false
		} else {
			out = append(out, f.rewrite(line)...)
		}
		out = append(out, '\r', '\n')
		f.literal = literalSize(line)
		f.pending = f.pending[i+2:]
	}
	if len(f.pending) == 0 {
		f.pending = nil
	}
	return out
}

// literalSize returns N when line ends with a literal announcement
// "{N}", "{N+}" or "{N-}" (also "~{N}"), else 0.
func literalSize(line []byte) int64 {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0
	}
	num := strings.TrimRight(string(line[open+1:len(line)-1]), "+-")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// stripIdleCap removes IDLE from "* CAPABILITY …" and from
// "[CAPABILITY …]" response codes.
func stripIdleCap(line []byte) []byte {
	s := string(line)
	var start, end int
	switch {
	case strings.HasPrefix(strings.ToUpper(s), "* CAPABILITY "):
		start, end = len("* CAPABILITY "), len(s)
	default:
		i := strings.Index(strings.ToUpper(s), "[CAPABILITY ")
		if i < 0 {
			return line
		}
		start = i + len("[CAPABILITY ")
		j := strings.IndexByte(s[start:], ']')
		if j < 0 {
			return line
		}
		end = start + j
	}
	var kept []string
	for _, c := range strings.Fields(s[start:end]) {
		if !strings.EqualFold(c, "IDLE") {
			kept = append(kept, c)
		}
	}
	return []byte(s[:start] + strings.Join(kept, " ") + s[end:])
}

// refuseIdleCmd renames a client's "TAG IDLE" command so that the server
// answers "TAG BAD Unknown command" instead of entering IDLE.
func refuseIdleCmd(line []byte) []byte {
	f := strings.Fields(string(line))
	if len(f) == 2 && strings.EqualFold(f[1], "IDLE") {
		return []byte(f[0] + " IDLE-DISABLED")
	}
	return line
}

// noIdleListener wraps each accepted connection in a noIdleConn.
type noIdleListener struct{ net.Listener }

func (l noIdleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newNoIdleConn(c), nil
}
