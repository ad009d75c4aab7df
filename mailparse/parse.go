// Package mailparse turns raw RFC 5322 mail into a Message: headers, thread
// references, readable text, attachment digests and delivery reports, plus the
// text helpers casemail needs (field extraction, case tags, reply trimming,
// language detection, agent commands, survey ratings).
//
// Parse reads a message in one streaming pass and never fails on bad input:
// what it cannot decode becomes a soft problem in Message.Problems.
package mailparse

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/textproto"
)

// Options bound what Parse reads and keeps. A nil *Options or zero fields mean
// the defaults.
type Options struct {
	MaxMessageBytes int64 // default 25 MiB: bytes beyond it are not read (noted in Problems)
	MaxDepth        int   // MIME nesting, default 20
	MaxParts        int   // default 500
	MaxHeaderBytes  int   // default 256 KiB per header block
	MaxTextBytes    int   // default 1 MiB of decoded text kept in Message.Text
	MaxAttachments  int   // default 100
	// KeepAttachments is called once the top-level header is read; when it
	// returns true attachment bytes are kept in Attachment.Data (up to
	// MaxKeptBytes in all, default 10 MiB), otherwise they are only hashed
	// while streaming.
	KeepAttachments func(h *Header) bool
	MaxKeptBytes    int64
}

// Defaults of Options.
const (
	DefaultMaxMessageBytes = 25 << 20
	DefaultMaxDepth        = 20
	DefaultMaxParts        = 500
	DefaultMaxHeaderBytes  = 256 << 10
	DefaultMaxTextBytes    = 1 << 20
	DefaultMaxAttachments  = 100
	DefaultMaxKeptBytes    = 10 << 20

	maxProblems = 50  // further problems are counted in one last line
	maxIDs      = 100 // message IDs kept per In-Reply-To/References
)

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.MaxMessageBytes <= 0 {
		out.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if out.MaxDepth <= 0 {
		out.MaxDepth = DefaultMaxDepth
	}
	if out.MaxParts <= 0 {
		out.MaxParts = DefaultMaxParts
	}
	if out.MaxHeaderBytes <= 0 {
		out.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if out.MaxTextBytes <= 0 {
		out.MaxTextBytes = DefaultMaxTextBytes
	}
	if out.MaxAttachments <= 0 {
		out.MaxAttachments = DefaultMaxAttachments
	}
	if out.MaxKeptBytes <= 0 {
		out.MaxKeptBytes = DefaultMaxKeptBytes
	}
	return out
}

// Message is what Parse read of one mail. Every string is valid UTF-8 without NUL.
type Message struct {
	Header          Header
	MessageID       string   // "<id@host>"; "" if none or unparsable
	InReplyTo       []string // message IDs with angle brackets
	References      []string
	From            Address // the first From mailbox ("" Addr if none; group syntax gives no address)
	FromCount       int     // number of From mailboxes found
	To, Cc, ReplyTo []Address
	Sender          Address
	ReturnPath      string // "" when absent, "<>" for the null sender, else the address lower-cased
	Subject         string // decoded, on one line, trimmed
	Date            time.Time
	ContentLanguage string // primary tag of the top-level Content-Language, lower case
	ContentType     string // top-level media type, lower case
	Text            string // text/plain preferred; HTML-only mail turned into text
	HTMLOnly        bool   // Text came from HTML
	Attachments     []Attachment
	Report          *DeliveryReport // non-nil for multipart/report
	RawSize         int64           // bytes read
	// ContentHash is the hex sha256 of the raw bytes read, for a mail
	// without a Message-ID (it tells mails without one apart); empty
	// otherwise, since hashing every byte costs a quarter of Parse.
	ContentHash string
	Problems    []string // soft errors, one short sentence each
	Dropped     []string // names of attachments dropped because of a limit
}

// Attachment is a non-text part, digested while streaming.
type Attachment struct {
	Name        string // decoded and sanitised, never empty
	ContentType string
	Size        int64  // decoded size
	SHA256      string // hex of the decoded content
	Data        []byte // only when Options.KeepAttachments said so
}

// DeliveryReport is what a multipart/report delivery status notification says.
type DeliveryReport struct {
	OriginalMessageID string   // from the returned headers or Original-Envelope-Id, with <>
	Recipients        []string // Final-Recipient addresses
	Action            string   // failed, delayed, delivered…
	Status            string   // 5.1.1…
	Diagnostic        string
}

// ErrEmpty is returned by Parse when the input holds nothing usable.
var ErrEmpty = errors.New("mailparse: empty message")

// Parse reads one RFC 5322 message in one streaming pass. It returns an error
// only when nothing usable could be read; otherwise the Message holds what
// could be decoded and the soft problems. It never panics.
func Parse(r io.Reader, opts *Options) (*Message, error) {
	o := opts.withDefaults()
	raw := &rawReader{r: r, held: heldBufs.Get().(*[]byte), max: o.MaxMessageBytes}
	br := rawReaders.Get().(*bufio.Reader)
	br.Reset(raw)
	p := &parser{opts: o, msg: &Message{}}
	m := p.msg

	hdr, hres := readHeader(br, o.MaxHeaderBytes)
	m.Header = hdr
	if hres.truncated {
		p.problem("header larger than %s: the rest of it was ignored", size(int64(o.MaxHeaderBytes)))
	}
	if hres.skipped > 0 {
		p.problem("%d malformed header line(s) ignored", hres.skipped)
	}
	p.safely(func() { p.topHeader() })
	raw.decide(m.MessageID == "")
	if o.KeepAttachments != nil {
		p.safely(func() { p.keep = o.KeepAttachments(&m.Header) })
	}

	var body io.Reader = br
	if hres.bodyStart != nil {
		p.problem("message does not start with a header")
		body = io.MultiReader(bytes.NewReader(hres.bodyStart), br)
	}
	top := m.Header
	if hres.bodyStart != nil {
		top = Header{} // the fields read so far (none) say nothing about the body
	}
	p.safely(func() { p.entity(&top, body, 0, "") })
	// Read what the parts left so that RawSize and ContentHash cover the whole message.
	io.Copy(io.Discard, br)
	br.Reset(nil)
	rawReaders.Put(br)

	p.safely(p.finishText)
	m.RawSize = raw.n
	if raw.h != nil {
		m.ContentHash = hex.EncodeToString(raw.h.Sum(nil))
	}
	if raw.truncated {
		p.problem("message truncated at %s", size(o.MaxMessageBytes))
	}
	if raw.err != nil {
		p.problem("reading the message failed after %d bytes: %s", raw.n, oneLine(raw.err.Error()))
	}
	if p.extra > 0 {
		m.Problems = append(m.Problems, fmt.Sprintf("%d more problems", p.extra))
	}
	if raw.n == 0 {
		if raw.err != nil {
			return nil, fmt.Errorf("mailparse: %w", raw.err)
		}
		return nil, ErrEmpty
	}
	if len(m.Header.Fields) == 0 && strings.TrimSpace(m.Text) == "" && len(m.Attachments) == 0 {
		return nil, ErrEmpty
	}
	return m, nil
}

// rawReaders holds the buffered readers Parse reads messages through: nothing
// read through one is kept without a copy.
var rawReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 8<<10) }}

// rawReader counts and hashes the raw bytes, and stops at max. Only mail
// without a Message-ID is hashed (ContentHash), which the header tells: the
// bytes read before it is parsed are held until then (decide).
type rawReader struct {
	r         io.Reader
	held      *[]byte   // read before decide, nil after
	h         hash.Hash // after decide, when the bytes are hashed
	n, max    int64
	truncated bool
	done      bool
	err       error // a read error other than EOF
}

func (c *rawReader) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	if c.n >= c.max {
		c.done = true
		// Probe for one more byte to tell a message of exactly max bytes from a longer one.
		var one [1]byte
		for i := 0; i < 100; i++ {
			k, err := c.r.Read(one[:])
			if k > 0 {
				c.truncated = true
				break
			}
			if err != nil {
				break
			}
		}
		return 0, io.EOF
	}
	if rest := c.max - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	if n < 0 || n > len(p) {
		n = 0
	}
	switch {
	case c.held != nil:
		*c.held = append(*c.held, p[:n]...)
	case c.h != nil:
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	if err != nil {
		c.done = true
		if err != io.EOF {
			c.err = err
		}
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	return n, nil
}

// decide says whether the raw bytes are hashed, those held included.
func (c *rawReader) decide(hashed bool) {
	if c.held == nil {
		return
	}
	if hashed {
		c.h = sha256.New()
		c.h.Write(*c.held)
	}
	if cap(*c.held) <= maxHeld {
		*c.held = (*c.held)[:0]
		heldBufs.Put(c.held)
	}
	c.held = nil
}

// heldBufs are rawReader's buffers; one larger than maxHeld (a mail with a
// huge header) is not kept.
var heldBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxHeld = 64 << 10

type parser struct {
	opts     Options
	msg      *Message
	keep     bool
	kept     int64
	parts    int
	attachN  int
	plain    [][]byte // text/plain parts in UTF-8, in textBufs buffers
	html     [][]byte // text/html parts, likewise
	textCut  bool
	depthHit bool
	partsHit bool
	inReport bool
	extra    int // problems not recorded beyond maxProblems
}

func (p *parser) problem(format string, args ...any) {
	s := oneLine(fmt.Sprintf(format, args...))
	for _, q := range p.msg.Problems {
		if q == s {
			return
		}
	}
	if len(p.msg.Problems) >= maxProblems {
		p.extra++
		return
	}
	p.msg.Problems = append(p.msg.Problems, s)
}

// safely runs f, turning a panic into a problem: one bad part must not cost
// the whole message.
func (p *parser) safely(f func()) {
	defer func() {
		if e := recover(); e != nil {
			p.problem("internal error while decoding: %v", e)
		}
	}()
	f()
}

func (p *parser) topHeader() {
	m := p.msg
	h := &m.Header
	if ids := msgIDs(h.Get("Message-Id"), 1); len(ids) > 0 {
		m.MessageID = ids[0]
	}
	for _, v := range h.Values("In-Reply-To") {
		m.InReplyTo = append(m.InReplyTo, msgIDs(v, maxIDs)...)
	}
	for _, v := range h.Values("References") {
		m.References = append(m.References, msgIDs(v, maxIDs)...)
	}
	if len(m.References) > maxIDs { // keep the newest
		m.References = m.References[len(m.References)-maxIDs:]
	}
	for _, v := range h.Values("From") {
		as, group := parseAddresses(v)
		if group {
			p.problem("From uses group syntax: no sender address")
		}
		if len(as) > 0 && m.FromCount == 0 {
			m.From = as[0]
		}
		m.FromCount += len(as)
	}
	m.To = addressList(h, "To")
	m.Cc = addressList(h, "Cc")
	m.ReplyTo = addressList(h, "Reply-To")
	if v := h.Get("Sender"); v != "" {
		if as, _ := parseAddresses(v); len(as) > 0 {
			m.Sender = as[0]
		}
	}
	if h.Has("Return-Path") {
		m.ReturnPath = returnPath(h.Get("Return-Path"))
	}
	if v := h.Get("Subject"); v != "" {
		d, ok := decodeWords(v)
		if !ok {
			p.problem("subject could not be fully decoded")
		}
		m.Subject = oneLine(d)
	}
	if v := h.Get("Date"); v != "" {
		if t, ok := parseDate(v); ok {
			m.Date = t
		} else {
			p.problem("unreadable Date %q", truncate(v, 64))
		}
	}
	if v := h.Get("Content-Language"); v != "" {
		v, _, _ = strings.Cut(v, ",")
		v, _, _ = strings.Cut(strings.TrimSpace(v), "-")
		v, _, _ = strings.Cut(v, "_")
		m.ContentLanguage = strings.ToLower(oneLine(truncate(v, 16)))
	}
}

func addressList(h *Header, key string) []Address {
	var out []Address
	for _, v := range h.Values(key) {
		as, _ := parseAddresses(v)
		out = append(out, as...)
	}
	return out
}

func returnPath(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		v = v[i+1:]
		if j := strings.IndexByte(v, '>'); j >= 0 {
			v = v[:j]
		}
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "<>"
	}
	return strings.ToLower(oneLine(v))
}

// getter is the common ground of our Header and go-message's textproto.Header.
type getter interface{ Get(string) string }

func where(path string) string {
	if path == "" {
		return "the body"
	}
	return "part " + path
}

// entity reads one MIME entity: a multipart it descends into, a leaf it decodes.
func (p *parser) entity(h getter, body io.Reader, depth int, path string) {
	p.parts++
	mt, params, err := mediaParams(h.Get("Content-Type"))
	if err != nil {
		p.problem("unreadable Content-Type in %s", where(path))
	}
	mt = oneLine(mt)
	if mt == "" || strings.IndexByte(mt, '/') <= 0 {
		mt = "text/plain" // RFC 2045 5.2 default
	}
	if depth == 0 {
		p.msg.ContentType = mt
	}
	if strings.HasPrefix(mt, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			// QUIRK: multipart without boundary: read it as plain text.
			p.problem("multipart without boundary in %s: read as text", where(path))
			mt = "text/plain"
		} else {
			if depth >= p.opts.MaxDepth {
				if !p.depthHit {
					p.depthHit = true
					p.problem("MIME nesting deeper than %d levels: inner parts ignored", p.opts.MaxDepth)
				}
				io.Copy(io.Discard, body)
				return
			}
			p.multipart(mt, params, boundary, body, depth, path)
			return
		}
	}
	p.leaf(h, mt, params, body, path)
}

func (p *parser) multipart(mt string, params map[string]string, boundary string, body io.Reader, depth int, path string) {
	if mt == "multipart/report" && p.msg.Report == nil {
		p.msg.Report = &DeliveryReport{}
	}
	wasReport := p.inReport
	if mt == "multipart/report" {
		p.inReport = true
		defer func() { p.inReport = wasReport }()
	}
	mr := textproto.NewMultipartReader(body, boundary)
	for i := 1; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "EOF") {
				p.problem("missing end boundary")
			} else {
				p.problem("broken multipart in %s: %s", where(path), truncate(err.Error(), 80))
			}
			return
		}
		if p.parts >= p.opts.MaxParts {
			if !p.partsHit {
				p.partsHit = true
				p.problem("more than %d MIME parts: the rest were ignored", p.opts.MaxParts)
			}
			return
		}
		child := strconv.Itoa(i)
		if path != "" {
			child = path + "." + child
		}
		ph := partHeader(&part.Header)
		if n := headerSize(&ph); n > p.opts.MaxHeaderBytes {
			p.problem("header of part %s larger than %s", child, size(int64(p.opts.MaxHeaderBytes)))
		}
		p.entity(&ph, part, depth+1, child)
	}
}

// partHeader copies a part's header into ours, as valid UTF-8.
func partHeader(th *textproto.Header) Header {
	var h Header
	fs := th.Fields()
	h.Fields = make([]HeaderField, 0, fs.Len())
	for fs.Next() {
		h.Fields = append(h.Fields, HeaderField{Key: headerText([]byte(fs.Key())), Value: headerText([]byte(fs.Value()))})
	}
	return h
}

func headerSize(h *Header) int {
	n := 0
	for _, f := range h.Fields {
		n += len(f.Key) + len(f.Value) + 2
	}
	return n
}

func (p *parser) leaf(h getter, mt string, params map[string]string, body io.Reader, path string) {
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	dec := &decodeState{}
	r := decoder(cte, body, dec)
	defer releaseDecoder(r)
	if dec.unknown {
		p.problem("unknown transfer encoding %q in %s", truncate(cte, 40), where(path))
	}
	defer func() {
		if dec.invalid {
			p.problem("invalid %s data in %s: kept what decoded", cte, where(path))
		}
	}()

	disp, dparams, _ := mediaParams(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	attached := disp == "attachment" || (name != "" && disp != "inline")

	switch {
	case p.inReport && (mt == "message/delivery-status" || mt == "message/global-delivery-status"):
		p.deliveryStatus(r, path)
	case p.inReport && (mt == "text/rfc822-headers" || mt == "message/rfc822" || mt == "message/global-headers" || mt == "message/global"):
		p.returnedHeaders(r, path)
	case mt == "text/plain" && !attached:
		p.plain = append(p.plain, p.readText(r, params["charset"], p.opts.MaxTextBytes, path))
	case mt == "text/html" && !attached:
		// Read as text parts are (Parse does not turn it into text unless
		// the mail has no text part to show): up to 4 times as much.
		p.html = append(p.html, p.readText(r, params["charset"], 4*p.opts.MaxTextBytes, path))
	default:
		p.attachment(r, mt, name, path)
	}
}

func (p *parser) readProblem(err error, path string) {
	if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "EOF") {
		p.problem("missing end boundary")
		return
	}
	p.problem("reading %s failed: %s", where(path), truncate(err.Error(), 80))
}

// readText reads a text part, at most max bytes, as UTF-8 in a textBufs
// buffer.
func (p *parser) readText(r io.Reader, cs string, max int, path string) []byte {
	b, cut, err := readAllLimit(r, max)
	if err != nil {
		p.readProblem(err, path)
	}
	if cut {
		p.textCut = true
	}
	return p.toUTF8(b, cs, path)
}

func charsetName(cs string) string {
	return strings.ToLower(strings.Trim(strings.TrimSpace(cs), "\"'"))
}

// toUTF8 converts b from charset cs, in b's buffer: b itself when it is
// UTF-8 already.
func (p *parser) toUTF8(b []byte, cs, path string) []byte {
	cs = charsetName(cs)
	var s string
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		switch {
		case utf8.Valid(b):
			return b
		case cs == "utf-8" || cs == "utf8":
			p.problem("invalid UTF-8 in %s", where(path))
			s = strings.ToValidUTF8(string(b), "\uFFFD")
		default:
			// QUIRK: 8-bit text without a charset is most often windows-1252.
			s = latin1(b)
		}
		return append(b[:0], s...)
	}
	rd, err := charset.Reader(cs, bytes.NewReader(b))
	switch {
	case err == nil:
		out, err := io.ReadAll(rd)
		if err != nil {
			p.problem("charset %q: bad bytes in %s", truncate(cs, 40), where(path))
		}
		s = strings.ToValidUTF8(string(out), "\uFFFD")
	case utf8.Valid(b):
		p.problem("unknown charset %q in %s", truncate(cs, 40), where(path))
		return b
	default:
		p.problem("unknown charset %q in %s", truncate(cs, 40), where(path))
		s = latin1(b)
	}
	return append(b[:0], s...)
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (p *parser) attachment(r io.Reader, mt, name, path string) {
	p.attachN++
	name = sanitizeName(name, p.attachN)
	if len(p.msg.Attachments) >= p.opts.MaxAttachments {
		io.Copy(io.Discard, r)
		p.msg.Dropped = append(p.msg.Dropped, name)
		p.problem("attachment %q dropped: more than %d attachments", name, p.opts.MaxAttachments)
		return
	}
	a := Attachment{Name: name, ContentType: mt}
	sum := sha256.New()
	keep := p.keep
	var data []byte
	bp := copyBufs.Get().(*[]byte)
	buf := *bp
	var rerr error
	for {
		n, err := r.Read(buf)
		if n > 0 {
			sum.Write(buf[:n])
			a.Size += int64(n)
			if keep {
				if p.kept+int64(n) > p.opts.MaxKeptBytes {
					keep = false
					p.kept -= int64(len(data))
					data = nil
					p.msg.Dropped = append(p.msg.Dropped, name)
					p.problem("attachment %q not kept: more than %s of attachments", name, size(p.opts.MaxKeptBytes))
				} else {
					data = append(data, buf[:n]...)
					p.kept += int64(n)
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	copyBufs.Put(bp)
	if rerr != nil {
		p.readProblem(rerr, path)
	}
	a.SHA256 = hex.EncodeToString(sum.Sum(nil))
	if keep {
		a.Data = data
		if a.Data == nil {
			a.Data = []byte{}
		}
	}
	p.msg.Attachments = append(p.msg.Attachments, a)
}

// sanitizeName makes an attachment name safe to show and store: decoded, no
// path, no control characters, at most 255 bytes, never empty.
func sanitizeName(name string, n int) string {
	if d, ok := decodeWords(name); ok {
		name = d
	}
	name = cleanString(name)
	name = strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	name = strings.TrimLeft(name, ".") // no hidden files, no ".."
	name = strings.TrimSpace(name)
	if len(name) > 255 {
		ext := ""
		if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 16 {
			ext = name[i:]
		}
		name = truncate(name[:len(name)-len(ext)], 255-len(ext)) + ext
	}
	if name == "" {
		name = "attachment-" + strconv.Itoa(n)
	}
	return name
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// deliveryStatus reads a message/delivery-status body: a per-message block then
// one block per recipient.
func (p *parser) deliveryStatus(r io.Reader, path string) {
	rep := p.msg.Report
	if rep == nil {
		rep = &DeliveryReport{}
		p.msg.Report = rep
	}
	br := bufio.NewReader(io.LimitReader(r, 1<<20))
	for block := 0; block < 1000; block++ {
		h, res := readHeader(br, p.opts.MaxHeaderBytes)
		if v := h.Get("Original-Envelope-Id"); v != "" && rep.OriginalMessageID == "" {
			if ids := msgIDs(v, 1); len(ids) > 0 {
				rep.OriginalMessageID = ids[0]
			} else if v = oneLine(v); v != "" && !strings.ContainsAny(v, " <>") {
				rep.OriginalMessageID = "<" + v + ">"
			}
		}
		if v := h.Get("Final-Recipient"); v != "" {
			rep.Recipients = append(rep.Recipients, dsnAddr(v))
		} else if v := h.Get("Original-Recipient"); v != "" {
			rep.Recipients = append(rep.Recipients, dsnAddr(v))
		}
		if h.Has("Action") && rep.Action == "" {
			rep.Action = strings.ToLower(oneLine(h.Get("Action")))
			rep.Status = oneLine(h.Get("Status"))
			if i := strings.IndexByte(rep.Status, ' '); i > 0 {
				rep.Status = rep.Status[:i]
			}
			rep.Diagnostic = dsnValue(h.Get("Diagnostic-Code"))
		}
		if res.eof {
			break
		}
	}
	io.Copy(io.Discard, r)
}

// dsnAddr reads "rfc822; user@example.com".
func dsnAddr(v string) string {
	return strings.ToLower(strings.Trim(dsnValue(v), "<>"))
}

// dsnValue drops the "type;" in front of a DSN field value.
func dsnValue(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && i < 16 {
		v = v[i+1:]
	}
	return strings.Join(strings.Fields(oneLine(v)), " ")
}

// returnedHeaders reads the header of the returned message in a report.
func (p *parser) returnedHeaders(r io.Reader, path string) {
	br := bufio.NewReader(r)
	h, _ := readHeader(br, p.opts.MaxHeaderBytes)
	if ids := msgIDs(h.Get("Message-Id"), 1); len(ids) > 0 && p.msg.Report != nil {
		p.msg.Report.OriginalMessageID = ids[0]
	}
	io.Copy(io.Discard, br)
}

// finishText builds Message.Text from the text parts read.
func (p *parser) finishText() {
	m := p.msg
	var text string
	plainParts := make([][]byte, len(p.plain))
	for i, b := range p.plain {
		plainParts[i] = bytes.Trim(b, "\r\n")
	}
	var plain []byte
	if len(plainParts) == 1 {
		plain = plainParts[0] // one part: no join, no copy
	} else {
		plain = bytes.Join(plainParts, []byte("\n\n"))
	}
	if len(bytes.TrimSpace(plain)) != 0 || len(p.html) == 0 {
		text = normalizeBytes(plain)
	} else {
		parts := make([]string, 0, len(p.html))
		for _, h := range p.html {
			parts = append(parts, htmlText(h))
		}
		text = strings.Join(parts, "\n\n")
		m.HTMLOnly = strings.TrimSpace(text) != ""
		text = normalizeText(text)
	}
	for _, b := range p.plain {
		putTextBuf(b)
	}
	for _, b := range p.html {
		putTextBuf(b)
	}
	p.plain, p.html = nil, nil
	if len(text) > p.opts.MaxTextBytes {
		text = truncate(text, p.opts.MaxTextBytes)
		p.textCut = true
	}
	if p.textCut {
		p.problem("text truncated at %s", size(int64(p.opts.MaxTextBytes)))
	}
	m.Text = text
}
