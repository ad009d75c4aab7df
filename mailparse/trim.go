package mailparse

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// NewText returns the part of a reply's text that its author wrote: without
// quoted lines, quoted history (Gmail/Thunderbird/Apple attributions, Outlook
// header blocks, "Original Message" and forward separators) and signature.
// Text between quoted blocks (inline answers, bottom-posting) is kept.
func NewText(text string) string {
	lines := splitLinesTo(text, nil)
	_, own := readAuthorLinesTo(lines, false, true, nil, nil)
	return joinLines(lines, own)
}

// readAuthorLinesTo reads a text's lines once for two uses: all is what
// ExtractFields reads (when wantAll), own what NewText keeps (when
// wantOwn). The two differ only in that own stops at the signature and
// skips mobile "Sent from" lines. They go in allBuf and ownBuf when these
// are large enough.
func readAuthorLinesTo(lines textLines, wantAll, wantOwn bool, allBuf, ownBuf []int) (all, own []int) {
	a := keptLines{on: wantAll}
	o := keptLines{on: wantOwn}
	if wantAll {
		a.out = slices.Grow(allBuf[:0], lines.len())
	}
	if wantOwn {
		o.out = slices.Grow(ownBuf[:0], lines.len())
	}
	for i := 0; i < lines.len() && (a.on || o.on); i++ {
		l := lines.line(i)
		t := trimSpace(l)
		if t == "" {
			a.blank(i)
			o.blank(i)
			continue
		}
		if t[0] == '>' {
			a.dropped, o.dropped = true, true
			continue
		}
		ownSkips := false // own does not look further at this line
		if o.on {
			if l == "-- " || l == "--" || l == "-- \u00a0" {
				o.on = false // the signature
				ownSkips = true
			} else if isMobileSignature(t) {
				ownSkips = true
			}
		}
		if !a.on && ownSkips {
			continue
		}
		// Below, all looks at the line if a.on, own if !ownSkips.
		if isHistorySeparator(t) || isOutlookBlock(lines, i, t) {
			a.on = false
			o.on = o.on && ownSkips
			continue
		}
		if n, strong := attribution(lines, i, t); n > 0 {
			j := i + n
			for j < lines.len() && trimSpace(lines.line(j)) == "" {
				j++
			}
			if j < lines.len() && strings.HasPrefix(trimSpace(lines.line(j)), ">") {
				// Drop the attribution, the quoted lines go one by one. A
				// two-line one never starts with a mobile signature line,
				// which own skips (TestMobileSignatureStartsNoAttribution),
				// so own may skip its second line too.
				i += n - 1
				a.dropped = true
				o.dropped = o.dropped || !ownSkips
				continue
			}
			if strong { // history that is not quoted: the rest is history
				a.on = false
				o.on = o.on && ownSkips
				continue
			}
		}
		a.keep(i)
		if !ownSkips {
			o.keep(i)
		}
	}
	return a.finish(lines), o.finish(lines)
}

// keptLines are the lines readAuthorLinesTo keeps for one use.
type keptLines struct {
	out     []int // line numbers; -1-i for line i kept as a blank line
	on      bool  // still reading: not stopped by history or the signature
	dropped bool  // lines were dropped since the last kept text
}

func (k *keptLines) blank(i int) {
	if !k.on || (k.dropped && len(k.out) > 0 && k.out[len(k.out)-1] < 0) {
		return // a blank line on both sides of a dropped quote: keep one
	}
	k.out = append(k.out, -1-i)
}

func (k *keptLines) keep(i int) {
	if k.on {
		k.out = append(k.out, i)
		k.dropped = false
	}
}

// finish drops separator lines ("____", "----") left at the end by a cut.
func (k *keptLines) finish(lines textLines) []int {
	out := k.out
	for len(out) > 0 {
		t := trimSpace(lines.kept(out[len(out)-1]))
		if t == "" || (len(t) >= 5 && strings.Trim(t, "_-=*") == "") {
			out = out[:len(out)-1]
			continue
		}
		break
	}
	return out
}

// textLines are the lines of a text, split on \n, \r\n and lone \r, kept as
// offsets into it: one slice of ints, which the garbage collector need not
// scan, instead of one string per line.
type textLines struct {
	text string // with \n line ends only
	ends []int  // line i is text[ends[i-1]+1 : ends[i]]
}

// splitLinesTo splits s into lines, on \n, \r\n and lone \r, keeping the
// line ends in buf when it is large enough.
func splitLinesTo(s string, buf []int) textLines {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	ends := slices.Grow(buf[:0], strings.Count(s, "\n")+1)
	for start := 0; ; {
		i := strings.IndexByte(s[start:], '\n')
		if i < 0 {
			ends = append(ends, len(s))
			break
		}
		ends = append(ends, start+i)
		start += i + 1
	}
	return textLines{text: s, ends: ends}
}

func (ls textLines) len() int { return len(ls.ends) }

// line returns line i, without its end.
func (ls textLines) line(i int) string {
	start := 0
	if i > 0 {
		start = ls.ends[i-1] + 1
	}
	return ls.text[start:ls.ends[i]]
}

// kept returns the line a keptLines number stands for: "" for a blank one.
func (ls textLines) kept(i int) string {
	if i < 0 {
		return ""
	}
	return ls.line(i)
}

// joined returns what joinLines returns when the text holds it as is: the
// kept lines follow each other, need no trimming, and have no blank line at
// either end nor 3 in a row (as in a reply whose history was cut, once Parse
// normalized it).
func (ls textLines) joined(kept []int) (string, bool) {
	if len(kept) == 0 || kept[0] < 0 || kept[len(kept)-1] < 0 {
		return "", false
	}
	first, blank := kept[0], 0
	for n, k := range kept {
		if k < 0 {
			if k != -1-(first+n) || ls.line(-1-k) != "" || blank == 2 {
				return "", false
			}
			blank++
			continue
		}
		if l := ls.line(k); k != first+n || trimRightBlank(l, " \t\r") != l {
			return "", false
		}
		blank = 0
	}
	start := 0
	if first > 0 {
		start = ls.ends[first-1] + 1
	}
	return ls.text[start:ls.ends[kept[len(kept)-1]]], true
}

// joinLines joins the kept lines with \n, trims blank lines at both ends,
// trailing white space on each line, and collapses 3 or more blank lines to 2.
func joinLines(lines textLines, kept []int) string {
	if s, ok := lines.joined(kept); ok {
		return s
	}
	size := 0 // an upper bound of the length of the result
	for _, i := range kept {
		size += len(lines.kept(i)) + 1
	}
	var b strings.Builder
	b.Grow(size)
	blank := 0
	started := false
	for _, i := range kept {
		l := trimRightBlank(lines.kept(i), " \t\r")
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

// trimSpace trims spaces, tabs, no-break and narrow no-break spaces (and CR,
// FF, VT): strings.Trim(s, " \t\u00a0\u202f\r\f\v"), without decoding runes.
func trimSpace(s string) string {
	if len(s) > 0 && isGraphicASCII(s[0]) && isGraphicASCII(s[len(s)-1]) {
		return s // the common case: nothing to trim
	}
	return trimRightBlank(trimLeftBlank(s, " \t\r\f\v"), " \t\r\f\v")
}

// isGraphicASCII reports whether c is ASCII and neither a space nor a control
// character.
func isGraphicASCII(c byte) bool { return ' ' < c && c < utf8.RuneSelf }

// The no-break and narrow no-break spaces, which trimSpace and friends trim
// along with ASCII white space.
const (
	noBreakSpace       = "\u00a0"
	narrowNoBreakSpace = "\u202f"
)

// trimLeftBlank trims from the start of s the bytes of ascii (ASCII only)
// and no-break and narrow no-break spaces: it is strings.TrimLeft(s,
// ascii+"\u00a0\u202f") without decoding runes.
func trimLeftBlank(s, ascii string) string {
	for len(s) > 0 {
		c := s[0]
		switch {
		case c < utf8.RuneSelf:
			if strings.IndexByte(ascii, c) < 0 {
				return s
			}
			s = s[1:]
		case strings.HasPrefix(s, noBreakSpace):
			s = s[len(noBreakSpace):]
		case strings.HasPrefix(s, narrowNoBreakSpace):
			s = s[len(narrowNoBreakSpace):]
		default:
			return s
		}
	}
	return s
}

// trimRightBlank is trimLeftBlank at the end of s: strings.TrimRight(s,
// ascii+"\u00a0\u202f"). A no-break space is trimmed only when its bytes end
// s, which is when strings.TrimRight decodes one there.
func trimRightBlank[T string | []byte](s T, ascii string) T {
	for len(s) > 0 {
		c := s[len(s)-1]
		switch {
		case c < utf8.RuneSelf:
			if strings.IndexByte(ascii, c) < 0 {
				return s
			}
			s = s[:len(s)-1]
		case hasSuffix(s, noBreakSpace):
			s = s[:len(s)-len(noBreakSpace)]
		case hasSuffix(s, narrowNoBreakSpace):
			s = s[:len(s)-len(narrowNoBreakSpace)]
		default:
			return s
		}
	}
	return s
}

func hasSuffix[T string | []byte](s T, suffix string) bool {
	return len(s) >= len(suffix) && string(s[len(s)-len(suffix):]) == suffix
}

// hasPrefixFold reports whether s starts with prefix, ignoring case as
// strings.EqualFold does.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) || len(prefix) == 0 {
		return len(s) >= len(prefix)
	}
	// Compare the ASCII bytes that start both here: they are whole
	// characters, equal but for case (asciiFoldDiffer) or not. EqualFold
	// compares the rest.
	for i := 0; i < len(prefix); i++ {
		a, b := s[i], prefix[i]
		if a >= utf8.RuneSelf || b >= utf8.RuneSelf {
			return strings.EqualFold(s[i:len(prefix)], prefix[i:])
		}
		if lowerASCII(a) != lowerASCII(b) {
			return false // the quick answer for most lines
		}
	}
	return true
}

// hasSuffixFold reports whether s ends with suffix, ignoring case as
// strings.EqualFold does.
func hasSuffixFold(s, suffix string) bool {
	if len(s) < len(suffix) || len(suffix) == 0 {
		return len(s) >= len(suffix)
	}
	if asciiFoldDiffer(s[len(s)-1], suffix[len(suffix)-1]) {
		return false
	}
	return strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// asciiFoldDiffer reports whether a and b are both ASCII and differ other than
// by case. An ASCII byte is always a whole character, and no other character
// folds to an ASCII one that is not its ASCII upper or lower case, so two
// strings whose first (or last) bytes differ so are not strings.EqualFold.
func asciiFoldDiffer(a, b byte) bool {
	return a < utf8.RuneSelf && b < utf8.RuneSelf && lowerASCII(a) != lowerASCII(b)
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

var attributionStarts = newPrefixSet("on ", "le ", "am ", "el ", "il ", "op ", "em ", "den ", "w dniu ")

var attributionEnds = []string{
	"wrote", "a écrit", "a ecrit", "a écrit\u00a0", "schrieb", "escribió", "ha scritto", "escreveu", "schreef", "skrev", "napisał",
}

// endsAttribution reports whether t ends like "… wrote:" / "… a écrit :".
func endsAttribution(t string) bool {
	if !strings.HasSuffix(t, ":") {
		return false
	}
	s := trimSpace(t[:len(t)-1])
	for _, e := range attributionEnds {
		if hasSuffixFold(s, e) {
			return true
		}
	}
	return false
}

func startsAttribution(t string) bool {
	return attributionStarts.matchFold(t)
}

// attribution reports whether lines[i] (t trimmed) starts a reply attribution
// and how many lines it takes (1 or 2: Gmail wraps long ones). strong means it
// has the "On <date> … wrote:" shape, weak only the "… wrote:" end.
func attribution(lines textLines, i int, t string) (n int, strong bool) {
	if len(t) > 400 {
		return 0, false
	}
	start := startsAttribution(t)
	if endsAttribution(t) {
		return 1, start
	}
	if start && i+1 < lines.len() {
		next := trimSpace(lines.line(i + 1))
		if len(next) < 300 && strings.HasSuffix(next, ":") && next[0] != '>' && endsAttribution(t+" "+next) {
			return 2, true
		}
	}
	return 0, false
}

var historySeparators = []string{
	"original message", "message d'origine", "message d’origine", "forwarded message", "message transféré",
	"message transfere", "message original", "mensaje original", "ursprüngliche nachricht", "messaggio originale",
	"weitergeleitete nachricht", "mensagem original", "messaggio inoltrato", "mensaje reenviado",
}

// isHistorySeparator recognises "-----Original Message-----" and friends,
// "Begin forwarded message:" and "Début du message réexpédié :".
func isHistorySeparator(t string) bool {
	if len(t) > 120 {
		return false
	}
	if t[0] == '-' || t[0] == '_' || t[0] == '=' || t[0] == '*' {
		core := strings.Trim(t, "-_=* \t\u00a0")
		for _, s := range historySeparators {
			if strings.EqualFold(core, s) {
				return true
			}
		}
		return false
	}
	return forwardStarts.matchFold(t)
}

var forwardStarts = newPrefixSet("begin forwarded message", "début du message réexpédié", "debut du message reexpedie")

// isOutlookBlock recognises the header block Outlook puts above history:
// "From: … Sent: … To: … Subject: …" or "De : … Envoyé : … À : … Objet : …"
// starting at lines[i] (t trimmed).
func isOutlookBlock(lines textLines, i int, t string) bool {
	if c := t[0]; c < utf8.RuneSelf && c != '*' && c != '_' && !outlookFromFirst[lowerASCII(c)] {
		return false // the label starts with t's first byte (cutLabel trims only * and _ here), and no From label does
	}
	label, _, ok := cutLabel(t)
	if !ok || outlookLabels.lookup(label) != outlookFrom {
		return false
	}
	var subject, other bool
	for j := i + 1; j < lines.len() && j <= i+10; j++ {
		l, _, ok := cutLabel(trimSpace(lines.line(j)))
		if !ok {
			continue
		}
		switch outlookLabels.lookup(l) {
		case outlookSubject:
			subject = true
		case outlookOther:
			other = true
		}
	}
	return subject && other
}

// The labels of an Outlook header block, lower case.
const (
	outlookFrom = iota + 1
	outlookSubject
	outlookOther
)

var outlookLabels = newLabelSet(map[string]int{
	"from": outlookFrom, "de": outlookFrom, "von": outlookFrom, "da": outlookFrom, "van": outlookFrom,
	"från": outlookFrom, "fra": outlookFrom,

	"subject": outlookSubject, "objet": outlookSubject, "betreff": outlookSubject, "oggetto": outlookSubject,
	"asunto": outlookSubject, "onderwerp": outlookSubject, "ämne": outlookSubject, "assunto": outlookSubject,

	"sent": outlookOther, "date": outlookOther, "envoyé": outlookOther, "envoye": outlookOther, "to": outlookOther,
	"à": outlookOther, "a": outlookOther, "cc": outlookOther, "gesendet": outlookOther, "an": outlookOther,
	"datum": outlookOther, "inviato": outlookOther, "enviado": outlookOther, "verzonden": outlookOther,
	"aan": outlookOther, "skickat": outlookOther, "till": outlookOther, "para": outlookOther,
})

// labelSet maps lower-case labels to their kind (never 0).
// outlookFromFirst has the first bytes of the "From" labels of outlookLabels.
var outlookFromFirst = func() (first [utf8.RuneSelf]bool) {
	for l, kind := range outlookLabels.kinds {
		if kind == outlookFrom && l[0] < utf8.RuneSelf {
			first[l[0]] = true
		}
	}
	return first
}()

type labelSet struct {
	kinds map[string]int
	first [utf8.RuneSelf]bool // the first bytes of the labels
}

func newLabelSet(kinds map[string]int) *labelSet {
	ls := &labelSet{kinds: kinds}
	for l := range kinds {
		if l[0] < utf8.RuneSelf {
			ls.first[l[0]] = true
		}
	}
	return ls
}

// lookup returns the kind of strings.ToLower(label), 0 if it is none of the
// set's, without building the lower case string for an ASCII label: most
// labels looked up are none (times in log lines, prose), and lower-casing
// each cost an allocation.
func (ls *labelSet) lookup(label string) int {
	if label == "" {
		return 0
	}
	if c := label[0]; c < utf8.RuneSelf && !ls.first[lowerASCII(c)] {
		return 0 // strings.ToLower lowers an ASCII byte to lowerASCII
	}
	var buf [32]byte
	if len(label) <= len(buf) {
		n := 0
		for ; n < len(label) && label[n] < utf8.RuneSelf; n++ {
			buf[n] = lowerASCII(label[n])
		}
		if n == len(label) { // ASCII: strings.ToLower lowers it byte by byte
			return ls.kinds[string(buf[:n])]
		}
	}
	return ls.kinds[strings.ToLower(label)]
}

// cutLabel splits "Label: value" (a space, no-break space or narrow no-break
// space may stand before the colon; bold markers around the label are
// ignored). The label is as written: see labelSet.lookup.
func cutLabel(t string) (label, value string, ok bool) {
	i := strings.IndexByte(t[:min(len(t), 49)], ':') // a colon further is no label's
	if i <= 0 || i > 48 {
		return "", "", false
	}
	l := trimLabel(t[:i])
	if l == "" || !utf8.ValidString(l) {
		return "", "", false
	}
	for j := 0; j < len(l); j++ {
		if c := l[j]; c == '>' || c == '<' || c == '/' || c == '@' {
			return "", "", false
		}
	}
	v := strings.TrimLeft(t[i+1:], "*_")
	return l, trimSpace(v), true
}

// trimLabel is strings.Trim(s, " \t\u00a0\u202f*_") without decoding runes.
func trimLabel(s string) string {
	return trimRightBlank(trimLeftBlank(s, " \t*_"), " \t*_")
}

var mobileSignatures = newPrefixSet(
	"sent from my ", "sent from outlook", "sent from mail for windows", "sent from yahoo mail", "sent from proton mail",
	"get outlook for ", "envoyé de mon ", "envoye de mon ", "envoyé depuis ", "envoye depuis ",
	"envoyé à partir de ", "obtenir outlook pour ", "télécharger outlook pour ",
)

func isMobileSignature(t string) bool {
	if len(t) > 80 {
		return false
	}
	return mobileSignatures.matchFold(t)
}

// prefixSet is a list of lower-case prefixes that start with an ASCII letter,
// grouped by their first letter: most lines start with none of them, and the
// others are compared with the few prefixes that start like them.
type prefixSet struct {
	list    []string
	byFirst [utf8.RuneSelf][]string
}

func newPrefixSet(list ...string) *prefixSet {
	ps := &prefixSet{list: list}
	for _, p := range list {
		if p[0] >= utf8.RuneSelf || p[0] != lowerASCII(p[0]) {
			panic("mailparse: prefix " + p + " does not start with a lower-case ASCII letter")
		}
		ps.byFirst[p[0]] = append(ps.byFirst[p[0]], p)
	}
	return ps
}

// matchFold reports whether t starts with one of the prefixes, ignoring case
// as strings.EqualFold does.
func (ps *prefixSet) matchFold(t string) bool {
	if t == "" {
		return false
	}
	list := ps.list
	if c := t[0]; c < utf8.RuneSelf {
		list = ps.byFirst[lowerASCII(c)] // see asciiFoldDiffer
	}
	for _, p := range list {
		if hasPrefixFold(t, p) {
			return true
		}
	}
	return false
}
