package mailparse

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The fast text functions must give exactly what the reference ones in
// ref_test.go give, on any input, valid UTF-8 or not.

// sampleLines are the pieces random texts are made of: the shapes the text
// functions look at, with their edge cases.
var sampleLines = []string{
	"", " ", "\t", "\u00a0", "\u202f", " \u00a0\t", "\f", "\v", "\r", "\x01", "\x7f", "\x00",
	"Hi team,", "Hello", "Bonjour, notre moteur ne répond plus depuis ce matin.", "Thanks", "Merci.",
	"The search latency went up to 3 seconds since the deploy; résultats are slow too.",
	"Hello, our engine is not responding since this morning.", "l'équipe j'ai d'accès",
	"Engine: acme-search", "Severity: 2 - high", "Account: Acme <Admin@Acme.example>", "Compte : mailto:admin@acme.example",
	"Moteur\u00a0: x", "Moteur\u202f: x", "Gravité : Élevée", "GRAVITÉ : ÉLEVÉE", "- Severity: 5", "* Engine: q", "• Moteur : y",
	"  • Moteur : acme-search  ", "Nature: slow", "Environnement : prod", "Priority: P2", "Severity: 12", "Issue:",
	"> quoted", ">", "  > indented quote", "> Engine: quoted",
	"-- ", "--", "-- \u00a0", "---", "_____", "-----", "=====", "*****",
	"Sent from my iPhone", "Envoyé de mon iPad", "SENT FROM MY PHONE", "ſent from my phone", "Get Outlook for iOS",
	"On Mon, Jan 5, 2026 at 10:00 AM Support <s@x.example> wrote:", "On Mon, Jan 5, 2026 at 10:00 AM Acme Support",
	"wrote:", "Le lun. 5 janv. 2026 à 10:00, Support <s@x.example> a écrit :", "Le 5 janv. 2026, Support a",
	"écrit :", "a écrit\u00a0:", "Support wrote:", "He skrev:", "Er schrieb :", "X napisał:", "W dniu 5, X napisał:",
	"ON x WROTE:", "on x wrote :", "le x A ÉCRIT :", "Am 5. Jan schrieb X:",
	"-----Original Message-----", "-----Message d'origine-----", "---------- Forwarded message ---------",
	"Begin forwarded message:", "Début du message réexpédié :", "*** message transféré ***",
	"From: Acme Support <support@example.com>", "Sent: Monday, January 5, 2026 10:00 AM", "To: Bob <bob@acme.example>",
	"Subject: [CASE-1000] x", "De : Support", "Envoyé : lundi", "À : Bob", "Objet : RE: x", "*De :* Support", "*Objet :* x",
	"FRÅN: x", "Från: x", "Ämne: y", "Date: today", "Cc: a", "Note: the index is fine.", "From: my side all good.",
	"\xff\xfe bad bytes", "Engine: \xc3", "\xc2\xa0Engine: x\xc2", "\xe2\x80", "abc \x01", "tab\there", "x\u2028y",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: long label",
	"KELVIN \u212a and \u212b angstrom", "İstanbul ΣΑΣ straße",
	"S\u212aICKAT: x", "FR\u212bN: x", "ENVOYÉ : x", "ÄMNE: y", "\u00a0*De\u202f:* x", "_Objet_ : y", "*\u00a0 : z", "Kc: x",
	"2026-03-02T09:00:04.123Z WARN [search-3] query id=00ab took 201 ms (shard 2, 4 hits)",
}

var lineEnds = []string{"\n", "\n", "\n", "\r\n", "\r", "\n\n", "\n\n\n\n"}

func randomText(r *rand.Rand) string {
	var b strings.Builder
	n := r.IntN(40)
	for i := 0; i < n; i++ {
		if r.IntN(8) == 0 {
			b.WriteString(strings.Repeat(" ", r.IntN(3)))
		}
		b.WriteString(sampleLines[r.IntN(len(sampleLines))])
		if r.IntN(10) == 0 {
			b.WriteString(sampleLines[r.IntN(len(sampleLines))])
		}
		if r.IntN(6) == 0 {
			b.WriteString(" \u00a0 "[:r.IntN(5)])
		}
		b.WriteString(lineEnds[r.IntN(len(lineEnds))])
	}
	return b.String()
}

// same runs f and g and returns "" when they return the same or both panic,
// else what differs.
func same[T any](f, g func() T) string {
	call := func(h func() T) (v T, p any) {
		defer func() { p = recover() }()
		return h(), nil
	}
	a, pa := call(f)
	b, pb := call(g)
	if (pa != nil) != (pb != nil) {
		return fmt.Sprintf("panic %v vs %v", pa, pb)
	}
	if !reflect.DeepEqual(a, b) {
		return fmt.Sprintf("%#v\nwant %#v", a, b)
	}
	return ""
}

func checkTextEqual(t *testing.T, s string) {
	t.Helper()
	check := func(name string, diff string) {
		t.Helper()
		if diff != "" {
			t.Fatalf("%s(%q) = %s", name, s, diff)
		}
	}
	check("trimSpace", same(func() string { return trimSpace(s) }, func() string { return refTrimSpace(s) }))
	check("NewText", same(func() string { return NewText(s) }, func() string { return refNewText(s) }))
	check("authorText", same(func() string { return authorText(s, false) }, func() string { return refAuthorText(s, false) }))
	check("ExtractFields", same(func() Fields { return ExtractFields(s) }, func() Fields { return refExtractFields(s) }))
	check("normalizeText", same(func() string { return normalizeText(s) }, func() string { return refNormalizeText(s) }))
	if utf8.ValidString(s) { // as normalizeBytes wants
		check("normalizeBytes", same(func() string { return normalizeBytes([]byte(s)) }, func() string { return refNormalizeText(s) }))
	}
	for _, cl := range []string{"", "de", "FR"} {
		check("DetectLanguage", same(func() string { return DetectLanguage(s, cl) }, func() string { return refDetectLanguage(s, cl) }))
		check("AnalyzeText", same(func() TextAnalysis { return AnalyzeText(s, cl) }, func() TextAnalysis {
			return TextAnalysis{NewText: refNewText(s), Fields: refExtractFields(s), Lang: refDetectLanguage(s, cl)}
		}))
		check("AnalyzeText vs the three calls", same(func() TextAnalysis { return AnalyzeText(s, cl) }, func() TextAnalysis {
			return TextAnalysis{NewText: NewText(s), Fields: ExtractFields(s), Lang: DetectLanguage(s, cl)}
		}))
	}
	if len(s) < 200 {
		for _, fix := range []string{"wrote", "a écrit", "on ", "sent from my ", "begin forwarded message"} {
			check("hasPrefixFold", same(func() bool { return hasPrefixFold(s, fix) }, func() bool { return refHasPrefixFold(s, fix) }))
			check("hasSuffixFold", same(func() bool { return hasSuffixFold(s, fix) }, func() bool { return refHasSuffixFold(s, fix) }))
		}
	}
}

func equalSeeds(t testing.TB) []string {
	seeds := append([]string{}, sampleLines...)
	files, _ := filepath.Glob("testdata/*.eml")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
		if m, err := Parse(strings.NewReader(string(b)), nil); err == nil {
			seeds = append(seeds, m.Text)
		}
	}
	return seeds
}

func TestTextEqualsReference(t *testing.T) {
	for _, s := range equalSeeds(t) {
		checkTextEqual(t, s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		checkTextEqual(t, randomText(r))
	}
}

func FuzzTextEqualsReference(f *testing.F) {
	for _, s := range equalSeeds(f) {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200; i++ {
		f.Add(randomText(r))
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkTextEqual(t, s)
	})
}

var sampleDates = []string{
	"Mon, 5 Jan 2026 09:12:40 +0100", "Mon, 05 Jan 2026 09:12:40 +0100", "Mon, 5 Jan 26 09:12:40 +0100",
	"Mon, 5 Jan 2026 09:12 +0100", "5 Jan 2026 09:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 -0000",
	"Tue, 5 Jan 2026 09:12:40 +0100", "Xyz, 5 Jan 2026 09:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 +0100 (CET)",
	"Mon, 5 Jan 2026 09:12:40 GMT", "Mon,  5 Jan 2026 09:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 +01:00",
	"Mon, 5 Jan 2026 25:12:40 +0100", "Mon, 31 Feb 2026 09:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 +9999",
	"Mon, 5 Jan 2026 09:12:40 -1260", "Mon, 5 Jan 2026 09:12:40 +0100\r\n", "Mon, 5 Jan 2026\r\n 09:12:40 +0100",
	"Monday, 5 Jan 2026 09:12:40 +0100", "mon, 5 jan 2026 09:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 +010",
	"Mon, 5-Jan-2026 09:12:40 +0100", "2026-01-05T09:12:40+01:00", "Mon Jan 5 09:12:40 2026", "M, 5 Jan 2026 09:12:40 +0100",
	"Mon, 5 Jan 2026 09:12:40.5 +0100", "Mon, 5 Jan 2026 9:12:40 +0100", "Mon, 5 Jan 2026 09:12:40 +0100 ", "",
}

func TestParseDateEqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	dates := append([]string{}, sampleDates...)
	for i := 0; i < 2000; i++ {
		d := []byte(sampleDates[r.IntN(len(sampleDates))])
		if len(d) > 0 {
			switch r.IntN(3) {
			case 0:
				const chars = "0123456789 +-:,ADJMTadejmnotu\r"
				d[r.IntN(len(d))] = chars[r.IntN(len(chars))]
			case 1:
				d = d[:r.IntN(len(d))]
			}
		}
		dates = append(dates, string(d))
	}
	for _, d := range dates {
		t1, ok1 := parseDate(d)
		t2, ok2 := refParseDate(d)
		if ok1 != ok2 || !t1.Equal(t2) || t1.String() != t2.String() {
			t.Fatalf("parseDate(%q) = %v %v, want %v %v", d, t1, ok1, t2, ok2)
		}
	}
}

// chunkReader returns its data in chunks of the given sizes, in turn.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), c.sizes[c.i%len(c.sizes)])
	c.i++
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestBase64EqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < 3000; i++ {
		var in []byte
		for n := r.IntN(300); n > 0; n-- {
			switch k := r.IntN(40); {
			case k == 0:
				const odd = "=\r\n \t-_!\x00\xff"
				in = append(in, odd[r.IntN(len(odd))])
			case k < 3:
				in = append(in, "\r\n"...)
			default:
				in = append(in, alphabet[r.IntN(len(alphabet))])
			}
		}
		sizes := []int{1 + r.IntN(5000), 1 + r.IntN(7), 4096}
		var st1, st2 decodeState
		got, err1 := io.ReadAll(&b64Reader{r: &chunkReader{data: in, sizes: sizes}, st: &st1})
		want, err2 := io.ReadAll(&refB64Reader{r: &chunkReader{data: in, sizes: sizes}, st: &st2})
		if string(got) != string(want) || st1 != st2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("base64 %q: %q %+v, want %q %+v", in, got, st1, want, st2)
		}
	}
}

// readInSizes reads r to the end with reads of the given sizes, in turn.
func readInSizes(r io.Reader, sizes []int) ([]byte, error) {
	var out []byte
	for i := 0; ; i++ {
		buf := make([]byte, sizes[i%len(sizes)])
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestQuotedPrintableEqualsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	pieces := []string{"caf=C3=A9", " ", "  ", "\t", "=\r\n", "= \r\n", "\r\n", "\n", "=3D", "=", "=4", "=zz", "abc", "x=\n",
		strings.Repeat("long line ", 60), strings.Repeat(" ", 300), "é"}
	for i := 0; i < 3000; i++ {
		var in []byte
		for n := r.IntN(60); n > 0; n-- {
			in = append(in, pieces[r.IntN(len(pieces))]...)
		}
		sizes := []int{1 + r.IntN(9000), 1 + r.IntN(100), 64 << 10}
		in2 := []int{1 + r.IntN(5000), 4096}
		var st1, st2 decodeState
		got, err1 := readInSizes(&qpReader{br: bufio.NewReaderSize(&chunkReader{data: in, sizes: in2}, 4096), st: &st1}, sizes)
		want, err2 := readInSizes(&refQPReader{br: bufio.NewReaderSize(&chunkReader{data: in, sizes: in2}, 4096), st: &st2}, sizes)
		if string(got) != string(want) || st1 != st2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("quoted-printable %q: %q %+v, want %q %+v", in, got, st1, want, st2)
		}
	}
}

func TestTagAtomEqualsTagName(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"<p>", "</P >", "<br/>", "<BR />", "<a href=\"x\">", "</a>", "<div\nclass=x>", "<td\t>", "<h1>", "</h1\f>",
		"<x\x00y>", "<my-tag>", "<table>", "<abcdefghijklmnopq>", "<abcdefghijklmnop>", "< p>", "</ p>", "<p", "text", "&amp;",
		"<!-- c -->", "<script>", "</script>", "<Style>x</stYle>", "<p/x>", "<b>", "<é>", "<a1>", "\r\n"}
	for i := 0; i < 3000; i++ {
		var b strings.Builder
		for n := r.IntN(20); n > 0; n-- {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		z := html.NewTokenizer(strings.NewReader(b.String()))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.EndTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			a, ok := tagAtom(z.Raw())
			name, _ := z.TagName()
			if want := atom.Lookup(name); ok && a != want {
				t.Fatalf("%q: tagAtom(%q) = %v, want %v", b.String(), z.Raw(), a, want)
			}
		}
	}
}

func TestToLower(t *testing.T) {
	for r := rune(0); r < 0x300; r++ {
		if toLower(r) != unicode.ToLower(r) {
			t.Errorf("toLower(%q) = %q, want %q", r, toLower(r), unicode.ToLower(r))
		}
	}
}
