package mailparse

// The text functions as they were before they were made faster, kept to check
// that the fast ones give exactly the same results (see equal_test.go).

import (
	"bufio"
	"bytes"
	"io"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// refNewText returns the part of a reply's text that its author wrote: without
// quoted lines, quoted history (Gmail/Thunderbird/Apple attributions, Outlook
// header blocks, "Original Message" and forward separators) and signature.
// Text between quoted blocks (inline answers, bottom-posting) is kept.
func refNewText(text string) string {
	return refAuthorText(text, true)
}

// refAuthorText keeps the author's lines of text; dropSig also drops the signature
// and mobile "Sent from" lines.
func refAuthorText(text string, dropSig bool) string {
	lines := refSplitLines(text)
	out := make([]string, 0, len(lines))
	dropped := false // lines were dropped since the last kept text
lines:
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := refTrimSpace(l)
		if t == "" {
			if dropped && len(out) > 0 && out[len(out)-1] == "" {
				continue // a blank line on both sides of a dropped quote: keep one
			}
			out = append(out, "")
			continue
		}
		if t[0] == '>' {
			dropped = true
			continue
		}
		if dropSig {
			if l == "-- " || l == "--" || l == "-- \u00a0" {
				break
			}
			if refIsMobileSignature(t) {
				continue
			}
		}
		if refIsHistorySeparator(t) || refIsOutlookBlock(lines, i) {
			break
		}
		if n, strong := refAttribution(lines, i); n > 0 {
			j := i + n
			for j < len(lines) && refTrimSpace(lines[j]) == "" {
				j++
			}
			if j < len(lines) && strings.HasPrefix(refTrimSpace(lines[j]), ">") {
				i += n - 1 // drop the refAttribution, the quoted lines go one by one
				dropped = true
				continue lines
			}
			if strong {
				break // history that is not quoted: the rest is history
			}
		}
		out = append(out, l)
		dropped = false
	}
	// Drop separator lines ("____", "----") left at the end by a cut.
	for len(out) > 0 {
		t := refTrimSpace(out[len(out)-1])
		if t == "" || (len(t) >= 5 && strings.Trim(t, "_-=*") == "") {
			out = out[:len(out)-1]
			continue
		}
		break
	}
	return refJoinLines(out)
}

// refSplitLines splits on \n, \r\n and lone \r.
func refSplitLines(s string) []string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.Split(s, "\n")
}

// refJoinLines joins lines with \n, trims blank lines at both ends, trailing
// white space on each line, and collapses 3 or more blank lines to 2.
func refJoinLines(lines []string) string {
	var b strings.Builder
	blank := 0
	started := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\u00a0\u202f\r")
		if l == "" {
			blank++
			continue
		}
		if started {
			b.WriteByte('\n')
			for n := min(blank, 2); n > 0; n-- {
				b.WriteByte('\n')
			}
		}
		blank = 0
		started = true
		b.WriteString(l)
	}
	return b.String()
}

// refTrimSpace trims spaces, tabs, no-break and narrow no-break spaces.
func refTrimSpace(s string) string {
	return strings.Trim(s, " \t\u00a0\u202f\r\f\v")
}

func refHasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func refHasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

var refAttributionStarts = []string{"on ", "le ", "am ", "el ", "il ", "op ", "em ", "den ", "w dniu "}

var refAttributionEnds = []string{
	"wrote", "a écrit", "a ecrit", "a écrit\u00a0", "schrieb", "escribió", "ha scritto", "escreveu", "schreef", "skrev", "napisał",
}

// refEndsAttribution reports whether t ends like "… wrote:" / "… a écrit :".
func refEndsAttribution(t string) bool {
	if !strings.HasSuffix(t, ":") {
		return false
	}
	s := refTrimSpace(t[:len(t)-1])
	for _, e := range refAttributionEnds {
		if refHasSuffixFold(s, e) {
			return true
		}
	}
	return false
}

func refStartsAttribution(t string) bool {
	for _, p := range refAttributionStarts {
		if refHasPrefixFold(t, p) {
			return true
		}
	}
	return false
}

// refAttribution reports whether lines[i] starts a reply refAttribution and how many
// lines it takes (1 or 2: Gmail wraps long ones). strong means it has the
// "On <date> … wrote:" shape, weak only the "… wrote:" end.
func refAttribution(lines []string, i int) (n int, strong bool) {
	t := refTrimSpace(lines[i])
	if len(t) > 400 {
		return 0, false
	}
	start := refStartsAttribution(t)
	if refEndsAttribution(t) {
		return 1, start
	}
	if start && i+1 < len(lines) {
		next := refTrimSpace(lines[i+1])
		if len(next) < 300 && next != "" && next[0] != '>' && refEndsAttribution(t+" "+next) {
			return 2, true
		}
	}
	return 0, false
}

var refHistorySeparators = []string{
	"original message", "message d'origine", "message d’origine", "forwarded message", "message transféré",
	"message transfere", "message original", "mensaje original", "ursprüngliche nachricht", "messaggio originale",
	"weitergeleitete nachricht", "mensagem original", "messaggio inoltrato", "mensaje reenviado",
}

// refIsHistorySeparator recognises "-----Original Message-----" and friends,
// "Begin forwarded message:" and "Début du message réexpédié :".
func refIsHistorySeparator(t string) bool {
	if len(t) > 120 {
		return false
	}
	if t[0] == '-' || t[0] == '_' || t[0] == '=' || t[0] == '*' {
		core := strings.Trim(t, "-_=* \t\u00a0")
		for _, s := range refHistorySeparators {
			if strings.EqualFold(core, s) {
				return true
			}
		}
		return false
	}
	return refHasPrefixFold(t, "begin forwarded message") || refHasPrefixFold(t, "début du message réexpédié") ||
		refHasPrefixFold(t, "debut du message reexpedie")
}

// refIsOutlookBlock recognises the header block Outlook puts above history:
// "From: … Sent: … To: … Subject: …" or "De : … Envoyé : … À : … Objet : …".
func refIsOutlookBlock(lines []string, i int) bool {
	label, _, ok := refSplitLabel(refTrimSpace(lines[i]))
	if !ok {
		return false
	}
	switch label {
	case "from", "de", "von", "da", "van", "från", "fra":
	default:
		return false
	}
	var subject, other bool
	for j := i + 1; j < len(lines) && j <= i+10; j++ {
		l, _, ok := refSplitLabel(refTrimSpace(lines[j]))
		if !ok {
			continue
		}
		switch l {
		case "subject", "objet", "betreff", "oggetto", "asunto", "onderwerp", "ämne", "assunto":
			subject = true
		case "sent", "date", "envoyé", "envoye", "to", "à", "a", "cc", "gesendet", "an", "datum", "inviato", "enviado", "verzonden", "aan", "skickat", "till", "para":
			other = true
		}
	}
	return subject && other
}

// refSplitLabel splits "Label: value" (a space, no-break space or narrow no-break
// space may stand before the colon; bold markers around the label are ignored)
// and returns the label lower-cased.
func refSplitLabel(t string) (label, value string, ok bool) {
	i := strings.IndexByte(t, ':')
	if i <= 0 || i > 48 {
		return "", "", false
	}
	l := strings.Trim(t[:i], " \t\u00a0\u202f*_")
	if l == "" || !utf8.ValidString(l) {
		return "", "", false
	}
	for j := 0; j < len(l); j++ {
		if c := l[j]; c == '>' || c == '<' || c == '/' || c == '@' {
			return "", "", false
		}
	}
	v := strings.TrimLeft(t[i+1:], "*_")
	return strings.ToLower(l), refTrimSpace(v), true
}

var refMobileSignatures = []string{
	"sent from my ", "sent from outlook", "sent from mail for windows", "sent from yahoo mail", "sent from proton mail",
	"get outlook for ", "envoyé de mon ", "envoye de mon ", "envoyé depuis ", "envoye depuis ",
	"envoyé à partir de ", "obtenir outlook pour ", "télécharger outlook pour ",
}

func refIsMobileSignature(t string) bool {
	if len(t) > 80 {
		return false
	}
	for _, s := range refMobileSignatures {
		if refHasPrefixFold(t, s) {
			return true
		}
	}
	return false
}

const (
	refFieldAccount = iota + 1
	refFieldEngine
	refFieldNature
	refFieldSeverity
	refFieldEnvironment
)

var refFieldLabels = map[string]int{
	"account": refFieldAccount, "compte": refFieldAccount,
	"engine": refFieldEngine, "moteur": refFieldEngine,
	"nature": refFieldNature, "problem": refFieldNature, "problème": refFieldNature, "probleme": refFieldNature, "issue": refFieldNature,
	"severity": refFieldSeverity, "sévérité": refFieldSeverity, "severite": refFieldSeverity, "gravité": refFieldSeverity,
	"gravite": refFieldSeverity, "priority": refFieldSeverity, "priorité": refFieldSeverity, "priorite": refFieldSeverity,
	"environment": refFieldEnvironment, "environnement": refFieldEnvironment, "environement": refFieldEnvironment,
}

var refSeverityWords = map[string]int{
	"urgent": 1, "urgente": 1, "critical": 1, "critique": 1, "blocker": 1, "bloquant": 1, "bloquante": 1,
	"high": 2, "élevée": 2, "elevee": 2, "élevé": 2, "eleve": 2, "haute": 2, "haut": 2, "major": 2, "majeure": 2, "majeur": 2,
	"normal": 3, "normale": 3, "minor": 3, "mineure": 3, "mineur": 3, "medium": 3, "moyenne": 3, "moyen": 3,
	"low": 4, "faible": 4, "basse": 4, "bas": 4,
}

// refExtractFields reads the Account, Engine, Nature, Severity and Environment
// lines of a new-case mail, in English or French, outside quoted text and
// history. The first occurrence of each label wins.
func refExtractFields(text string) Fields {
	var f Fields
	var seen [refFieldEnvironment + 1]bool
	for _, line := range refSplitLines(refAuthorText(text, false)) {
		t := refTrimSpace(line)
		t = refTrimBullet(t)
		if len(t) < 3 || strings.IndexByte(t, ':') < 0 {
			continue
		}
		label, value, ok := refSplitLabel(t)
		if !ok || value == "" {
			continue
		}
		kind := refFieldLabels[label]
		if kind == 0 || seen[kind] {
			continue
		}
		seen[kind] = true
		value = oneLine(value)
		switch kind {
		case refFieldAccount:
			f.Account = refAccountValue(value)
		case refFieldEngine:
			f.Engine = value
		case refFieldNature:
			f.Nature = value
		case refFieldEnvironment:
			f.Environment = value
		case refFieldSeverity:
			if n, ok := refParseSeverity(value); ok {
				f.Severity = n
			} else {
				f.SeverityRaw = value
			}
		}
	}
	return f
}

// refTrimBullet drops a list bullet ("- ", "* ", "• ") in front of a line.
func refTrimBullet(t string) string {
	for _, b := range []string{"- ", "* ", "• ", "· ", "– ", "— ", "+ ", "o "} {
		if strings.HasPrefix(t, b) {
			return refTrimSpace(t[len(b):])
		}
	}
	return t
}

// refAccountValue returns the bare lower-cased address of "Acme <admin@x>",
// "<admin@x>" or "mailto:admin@x", or the value as written when it holds none.
func refAccountValue(v string) string {
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 1 {
			if a := strings.TrimSpace(v[i+1 : i+j]); strings.Contains(a, "@") {
				return strings.ToLower(strings.TrimPrefix(a, "mailto:"))
			}
		}
	}
	for _, w := range strings.Fields(v) {
		w = strings.Trim(w, "<>()[]\"',;.")
		w = strings.TrimPrefix(strings.TrimPrefix(w, "mailto:"), "MAILTO:")
		if plausibleAddr(w) {
			return strings.ToLower(w)
		}
	}
	return v
}

// refParseSeverity reads "2", "2 - high", "P2", "Sev 2", "élevée", "High (2)".
func refParseSeverity(v string) (int, bool) {
	s := strings.ToLower(v)
	for _, p := range []string{"severity", "sévérité", "sev", "p", "s", "niveau", "level"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			rest := strings.TrimLeft(s[len(p):], " -:")
			if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				s = rest
				break
			}
		}
	}
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		if len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
			return 0, false
		}
		if n := int(s[0] - '0'); n >= 1 && n <= 4 {
			return n, true
		}
		return 0, false
	}
	w := s
	if i := strings.IndexAny(w, " \t,;.()-/!"); i >= 0 {
		w = w[:i]
	}
	if n, ok := refSeverityWords[w]; ok {
		return n, true
	}
	return 0, false
}

// refMaxLangScan bounds how much text refDetectLanguage reads.
const refMaxLangScan = 4 << 10

var refFrenchWords = map[string]bool{
	"le": true, "la": true, "les": true, "des": true, "est": true, "et": true, "je": true, "vous": true,
	"nous": true, "pour": true, "pas": true, "une": true, "du": true, "dans": true, "avec": true, "sur": true,
	"merci": true, "bonjour": true, "ce": true, "cette": true, "qui": true, "que": true, "ne": true, "au": true,
	"aux": true, "mon": true, "ma": true, "mes": true, "votre": true, "vos": true, "notre": true, "cordialement": true,
	"il": true, "elle": true, "sont": true, "mais": true, "ou": true, "plus": true, "depuis": true, "avons": true,
	"avez": true, "être": true, "fait": true, "très": true, "problème": true, "salut": true, "bonsoir": true,
}

var refEnglishWords = map[string]bool{
	"the": true, "and": true, "is": true, "are": true, "to": true, "of": true, "for": true, "you": true,
	"we": true, "i": true, "it": true, "this": true, "that": true, "with": true, "not": true, "please": true,
	"thanks": true, "thank": true, "hello": true, "hi": true, "have": true, "be": true, "on": true, "in": true,
	"our": true, "my": true, "your": true, "was": true, "from": true, "since": true, "but": true, "can": true,
	"regards": true, "issue": true, "when": true, "there": true, "has": true, "does": true, "doesn't": true,
}

// refDetectLanguage returns "fr" or "en": from Content-Language when it says fr
// or en, otherwise from the words of the text (stop words and accents).
// The default is "en".
func refDetectLanguage(text, contentLanguage string) string {
	cl := strings.ToLower(strings.TrimSpace(contentLanguage))
	if refHasPrefixFold(cl, "fr") && (len(cl) == 2 || !refIsASCIILetter(cl[2])) {
		return "fr"
	}
	if refHasPrefixFold(cl, "en") && (len(cl) == 2 || !refIsASCIILetter(cl[2])) {
		return "en"
	}
	if len(text) > refMaxLangScan {
		text = truncate(text, refMaxLangScan)
	}
	fr, en := 0, 0
	var word [32]byte
	n := 0
	for i := 0; i <= len(text); {
		var r rune
		size := 1
		if i < len(text) {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if i < len(text) && (unicode.IsLetter(r) || r == '\'' || r == '’') {
			switch r {
			case 'é', 'è', 'ê', 'à', 'ç', 'ù', 'û', 'ô', 'î', 'â', 'ë', 'ï':
				fr++
			}
			if r == '’' {
				r = '\''
			}
			if n+utf8.RuneLen(r) <= len(word) {
				n += utf8.EncodeRune(word[n:], unicode.ToLower(r))
			} else {
				n = len(word) + 1
			}
		} else if n > 0 {
			if n <= len(word) {
				w := word[:n]
				// French elisions: "l'équipe", "j'ai", "d'accès"
				if n > 2 && w[1] == '\'' && strings.IndexByte("ljdcnmst", w[0]) >= 0 {
					fr++
				} else if refFrenchWords[string(w)] {
					fr += 2
				} else if refEnglishWords[string(w)] {
					en += 2
				}
			}
			n = 0
		}
		if i == len(text) {
			break
		}
		i += size
	}
	if fr > en {
		return "fr"
	}
	return "en"
}

func refIsASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// refNormalizeText makes line ends \n, drops control characters other than tab
// and newline, trims trailing white space on each line, collapses 3 or more
// blank lines to 2 and trims blank lines at both ends.
func refNormalizeText(s string) string {
	s = cleanString(s)
	var b strings.Builder
	b.Grow(len(s))
	blank := 0
	started := false
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		var line string
		if i < 0 {
			line, s = s, ""
		} else {
			line = s[:i]
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				s = s[i+2:]
			} else {
				s = s[i+1:]
			}
		}
		line = strings.TrimRight(line, " \t\u00a0\u202f\f\v")
		if refHasControl(line) {
			line = strings.Map(func(r rune) rune {
				if r == '\t' {
					return r
				}
				if r < 0x20 || r == 0x7f {
					return -1
				}
				return r
			}, line)
		}
		if line == "" {
			blank++
			continue
		}
		if started {
			n := blank
			if n > 2 {
				n = 2
			}
			b.WriteByte('\n')
			for ; n > 0; n-- {
				b.WriteByte('\n')
			}
		}
		blank = 0
		started = true
		b.WriteString(line)
	}
	return b.String()
}

func refHasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

func refParseDate(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
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

// refB64Reader is b64Reader as it was: it decodes base64, skipping white space and (noting) other bad bytes.
// QUIRK: mail in the wild carries base64 with stray characters, missing
// padding and text after the padding.
type refB64Reader struct {
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

func (b *refB64Reader) Read(p []byte) (int, error) {
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

func (b *refB64Reader) copyOut(p []byte) int {
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n
}

// flushQuantum decodes an incomplete last quantum.
func (b *refB64Reader) flushQuantum(out []byte) []byte {
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

// refQPReader is qpReader as it was: it decodes quoted-printable leniently, a line at a time: an '=' not
// followed by two hex digits or a line end is kept as written (QUIRK: unencoded
// '=' from broken senders), trailing white space on a line is dropped, soft
// line breaks ("=" then CRLF, or "=" then spaces then CRLF) are joined.
type refQPReader struct {
	br    *bufio.Reader
	st    *decodeState
	out   []byte // decoded, not yet returned
	buf   []byte
	carry []byte // the end of a partial line that may continue in the next chunk
	tmp   []byte
	err   error
}

func (q *refQPReader) Read(p []byte) (int, error) {
	for len(q.out) == 0 {
		if q.err != nil {
			return 0, q.err
		}
		q.fill()
	}
	n := copy(p, q.out)
	q.out = q.out[n:]
	return n, nil
}

func (q *refQPReader) fill() {
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
	out := q.buf[:0]
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
		q.buf = q.decode(out, chunk[:end])
		q.out = q.buf
		return
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
	q.buf = out
	q.out = out
}

func (q *refQPReader) decode(out, d []byte) []byte {
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
