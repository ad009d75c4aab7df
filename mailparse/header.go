package mailparse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"net/mail"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding/charmap"
)

// HeaderField is one header line: its key as written and its unfolded raw value
// (RFC 2047 encoded words are left as they are).
type HeaderField struct{ Key, Value string }

// Header is a header block, fields in top-down order as in the message.
type Header struct{ Fields []HeaderField }

// Get returns the first value of key (case-insensitive), or "".
func (h *Header) Get(key string) string {
	if h == nil {
		return ""
	}
	for i := range h.Fields {
		if strings.EqualFold(h.Fields[i].Key, key) {
			return h.Fields[i].Value
		}
	}
	return ""
}

// Values returns every value of key, top-down.
func (h *Header) Values(key string) []string {
	if h == nil {
		return nil
	}
	var vs []string
	for i := range h.Fields {
		if strings.EqualFold(h.Fields[i].Key, key) {
			vs = append(vs, h.Fields[i].Value)
		}
	}
	return vs
}

// Has reports whether the header holds key.
func (h *Header) Has(key string) bool {
	if h == nil {
		return false
	}
	for i := range h.Fields {
		if strings.EqualFold(h.Fields[i].Key, key) {
			return true
		}
	}
	return false
}

// headerResult is what readHeader found besides the fields.
type headerResult struct {
	truncated bool // more than the limit: the rest of the block was skipped
	skipped   int  // lines that were not "Key: value" and were skipped
	eof       bool // the input ended inside or right after the header
	// bodyStart holds a first line that was taken for body text because the
	// block did not start with a header field (QUIRK: header-less input).
	bodyStart []byte
}

// readHeader reads one header block from br, up to and including the blank line
// that ends it. It keeps at most max bytes of fields; past that it reads on to
// the end of the block without holding it. It never fails: what it could not
// read is reported in the result.
func readHeader(br *bufio.Reader, max int) (Header, headerResult) {
	var (
		h    Header
		res  headerResult
		cur  []byte // current field, folded lines joined
		used int
		line []byte
	)
	flush := func() {
		if cur == nil {
			return
		}
		k, v, ok := splitField(cur)
		cur = cur[:0]
		if !ok {
			res.skipped++
			return
		}
		h.Fields = append(h.Fields, HeaderField{Key: k, Value: v})
	}
	first := true
	for {
		var err error
		line, err = readLine(br, line[:0], max+1)
		if len(line) == 0 && err != nil {
			res.eof = true
			break
		}
		l := trimEOL(line)
		if len(l) == 0 {
			break // blank line: end of the header
		}
		if first {
			first = false
			// QUIRK: mbox "From " separator line left at the top by some exporters.
			if bytes.HasPrefix(l, []byte("From ")) {
				continue
			}
			// QUIRK: input that does not start with a header at all (pasted text,
			// binary garbage): take it as the body of a header-less message.
			if !looksLikeField(l) && l[0] != ' ' && l[0] != '\t' {
				res.bodyStart = append([]byte(nil), line...)
				break
			}
		}
		if used+len(l) > max {
			res.truncated = true
			if err != nil {
				res.eof = true
				break
			}
			continue
		}
		used += len(l)
		if (l[0] == ' ' || l[0] == '\t') && cur != nil {
			cur = append(cur, l...) // unfold: drop the CRLF, keep the white space
		} else {
			flush()
			if cur == nil {
				cur = make([]byte, 0, 128)
			}
			cur = append(cur, l...)
		}
		if err != nil {
			res.eof = true
			break
		}
	}
	flush()
	return h, res
}

// readLine reads one line including its end of line, keeping at most max bytes
// of it (the rest of an over-long line is read and dropped).
func readLine(br *bufio.Reader, buf []byte, max int) ([]byte, error) {
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) <= max {
			buf = append(buf, frag...)
		} else if len(buf) < max {
			buf = append(buf, frag[:max-len(buf)]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		return buf, err
	}
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// looksLikeField reports whether l starts with "token:".
func looksLikeField(l []byte) bool {
	i := bytes.IndexByte(l, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(l[:i], " \t") {
		if c <= ' ' || c >= 127 {
			return false
		}
	}
	return true
}

func splitField(b []byte) (key, value string, ok bool) {
	i := bytes.IndexByte(b, ':')
	if i <= 0 {
		return "", "", false
	}
	// QUIRK: "Subject : x" (space before the colon) is seen from old clients.
	k := bytes.TrimRight(b[:i], " \t")
	if len(k) == 0 {
		return "", "", false
	}
	for _, c := range k {
		if c <= ' ' || c >= 127 {
			return "", "", false
		}
	}
	return string(k), headerText(bytes.TrimSpace(b[i+1:])), true
}

// headerText turns raw header bytes into valid UTF-8 without NUL.
// QUIRK: 8-bit headers are seen both in UTF-8 and in windows-1252; bytes that
// are not valid UTF-8 are read as windows-1252.
func headerText(b []byte) string {
	if utf8.Valid(b) {
		if bytes.IndexByte(b, 0) < 0 {
			return string(b)
		}
		return strings.ReplaceAll(string(b), "\x00", "")
	}
	return cleanString(latin1(b))
}

// latin1 decodes b as windows-1252 (a superset of ISO-8859-1's printable range).
func latin1(b []byte) string {
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// cleanString makes s valid UTF-8 without NUL.
func cleanString(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// oneLine replaces control characters (CR, LF, TAB included) by spaces, and
// returns s trimmed and valid UTF-8.
func oneLine(s string) string {
	s = cleanString(s)
	clean := true
	for _, r := range s {
		if isControl(r) {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if isControl(r) {
				return ' '
			}
			return r
		}, s)
	}
	return strings.TrimSpace(s)
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029'
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

// decodeWords decodes RFC 2047 encoded words. It returns the raw value and
// false when a charset is unknown or a word is malformed.
func decodeWords(s string) (string, bool) {
	if !strings.Contains(s, "=?") {
		return s, true
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s, false
	}
	return d, true
}

// Address is one mailbox: Addr lower-cased, Name decoded without control characters.
type Address struct{ Name, Addr string }

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// parseAddresses reads an address list leniently. group reports group syntax:
// its members are not returned.
func parseAddresses(v string) (addrs []Address, group bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, false
	}
	if isGroup(v) {
		return nil, true
	}
	if list, err := addrParser.ParseList(v); err == nil {
		for _, a := range list {
			addrs = append(addrs, Address{Name: oneLine(a.Name), Addr: strings.ToLower(cleanString(a.Address))})
		}
		return addrs, false
	}
	// QUIRK: real mail carries unquoted commas, dots and brackets in display
	// names, bare addresses without brackets and 8-bit names; read each piece alone.
	for _, piece := range splitAddrList(v) {
		if a, ok := lenientAddress(piece); ok {
			addrs = append(addrs, a)
		}
	}
	return addrs, false
}

// isGroup reports whether an address list uses group syntax "name: a, b;".
func isGroup(v string) bool {
	inQuote, inAngle := false, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '=' && !inQuote && strings.HasPrefix(v[i:], "=?"):
			// QUIRK: sloppy mailers leave a raw ':' inside an encoded
			// display name ("=?utf-8?Q?Support:_Team?="); skip the word.
			if end := encodedWordEnd(v[i:]); end > 0 {
				i += end - 1
			}
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ':' && !inAngle:
			return true
		case c == '@' && !inAngle:
			return false
		}
	}
	return false
}

// encodedWordEnd returns the length of the RFC 2047 encoded word at the
// start of s ("=?charset?enc?text?="), or 0 when there is none.
func encodedWordEnd(s string) int {
	q := 0
	for i := 2; i < len(s); i++ {
		switch s[i] {
		case '?':
			q++
			if q >= 3 && i+1 < len(s) && s[i+1] == '=' {
				return i + 2
			}
		case ' ', '\t', '\r', '\n':
			return 0
		}
	}
	return 0
}

func splitAddrList(v string) []string {
	var out []string
	inQuote, inAngle, start := false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '<':
			inAngle = true
		case c == '>':
			inAngle = false
		case c == ',' && !inAngle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
}

func lenientAddress(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	if a, err := addrParser.Parse(s); err == nil {
		return Address{Name: oneLine(a.Name), Addr: strings.ToLower(cleanString(a.Address))}, true
	}
	var name, addr string
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			addr = s[i+1:]
		} else {
			addr = s[i+1 : i+j]
		}
		name = strings.TrimSpace(s[:i])
	} else {
		addr = s
	}
	addr = strings.TrimSpace(addr)
	if !plausibleAddr(addr) {
		return Address{}, false
	}
	name = strings.Trim(name, "\" \t")
	if d, ok := decodeWords(name); ok {
		name = d
	}
	return Address{Name: oneLine(name), Addr: strings.ToLower(cleanString(addr))}, true
}

// plausibleAddr reports whether s looks like local@domain without spaces.
func plausibleAddr(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || len(s) > 320 {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r < 0x20 || r == '<' || r == '>' || r == ',' || r == '"' {
			return false
		}
	}
	return true
}

// msgIDs returns the "<...>" tokens of a Message-ID, In-Reply-To or References value.
func msgIDs(v string, max int) []string {
	var ids []string
	for len(v) > 0 && len(ids) < max {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			break
		}
		id := v[i : i+j+1]
		v = v[i+j+1:]
		if len(id) > 2 && !strings.ContainsAny(id[1:len(id)-1], " \t<") {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		// QUIRK: some senders omit the angle brackets: "Message-ID: abc@host".
		for _, f := range strings.Fields(v) {
			if len(ids) >= max {
				break
			}
			if strings.IndexByte(f, '@') > 0 && !strings.ContainsAny(f, "<>\"") {
				ids = append(ids, "<"+f+">")
			}
		}
	}
	return ids
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	time.RFC3339,
}

func parseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if t, ok := parseCommonDate(v); ok {
		return t, true
	}
	if t, err := mail.ParseDate(v); err == nil {
		return t, true
	}
	// QUIRK: dates with a day-of-week typo, two spaces or a trailing comment.
	v = strings.Join(strings.Fields(v), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// commonDateLayout is the layout of nearly all Date fields.
const commonDateLayout = "Mon, 2 Jan 2006 15:04:05 -0700"

// parseCommonDate parses a trimmed date in commonDateLayout, and returns what
// mail.ParseDate returns for it; false when v is not so simple. mail.ParseDate
// tries commonDateLayout 13th, after 12 layouts without a day name that fail
// (each allocating an error) on a date that starts with one; it cuts the date
// after its numeric zone, which the dates read here end with.
func parseCommonDate(v string) (time.Time, bool) {
	zone := strings.IndexAny(v, "+-")
	if zone < 0 || len(v) != zone+5 || !isASCIILetter(v[0]) || strings.ContainsAny(v, "\r\n") {
		return time.Time{}, false
	}
	t, err := time.Parse(commonDateLayout, v)
	return t, err == nil
}

// mediaParams parses a Content-Type or Content-Disposition value leniently.
func mediaParams(v string) (string, map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return "", nil, nil
	}
	t, params, err := mime.ParseMediaType(v)
	if err == nil && (params["filename"] != "" || !strings.Contains(v, "filename*")) {
		return t, params, nil
	}
	// QUIRK: "text/plain; charset=utf-8;; name=a b.pdf", duplicate parameters,
	// unquoted spaces, RFC 2231 values in charsets mime does not know
	// (filename*=iso-8859-1''caf%E9.txt): split on ';' by hand.
	parts := strings.Split(v, ";")
	t = strings.ToLower(strings.TrimSpace(parts[0]))
	hand := map[string]string{}
	for _, p := range parts[1:] {
		k, val, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), "\"")
		if strings.HasSuffix(k, "*") {
			k = strings.TrimSuffix(k, "*")
			val = decode2231(val)
		}
		if _, dup := hand[k]; !dup && k != "" {
			hand[k] = val
		}
	}
	for k, v := range params { // what mime did read wins
		hand[k] = v
	}
	if errors.Is(err, mime.ErrInvalidMediaParameter) {
		err = nil
	}
	return t, hand, err
}

// decode2231 decodes an RFC 2231 extended value charset'lang'percent-encoded.
func decode2231(v string) string {
	cs, rest, ok := strings.Cut(v, "'")
	if !ok {
		return v
	}
	_, enc, ok := strings.Cut(rest, "'")
	if !ok {
		return v
	}
	var b []byte
	for i := 0; i < len(enc); i++ {
		c := enc[i]
		if c == '%' && i+2 < len(enc) && isHex(enc[i+1]) && isHex(enc[i+2]) {
			b = append(b, unhex(enc[i+1])<<4|unhex(enc[i+2]))
			i += 2
			continue
		}
		b = append(b, c)
	}
	cs = strings.ToLower(cs)
	if cs == "" || cs == "utf-8" || cs == "us-ascii" {
		return cleanString(string(b))
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return headerText(b)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return headerText(b)
	}
	return cleanString(string(out))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// readAllLimit reads r to the end, keeping at most max bytes. b comes from
// textBufs: give it back with putTextBuf once done with it.
func readAllLimit(r io.Reader, max int) (b []byte, truncated bool, err error) {
	buf := bytes.NewBuffer(getTextBuf())
	// One byte more than max tells a text of max bytes from a longer one.
	if _, err = io.CopyN(buf, r, int64(max)+1); err == io.EOF {
		err = nil
	}
	if b = buf.Bytes(); len(b) > max {
		_, err = io.Copy(io.Discard, r)
		return b[:max], true, err
	}
	return b, false, err
}

// textBufs holds buffers for readAllLimit: each text part of a mail is
// read whole into one, converted in it, and given back by finishText.
var textBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getTextBuf() []byte { return (*textBufs.Get().(*[]byte))[:0] }

// putTextBuf gives back a buffer from readAllLimit. Oversized ones are left to
// the garbage collector.
func putTextBuf(b []byte) {
	if cap(b) <= 1<<20 {
		textBufs.Put(&b)
	}
}
