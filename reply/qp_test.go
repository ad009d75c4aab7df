package reply

import (
	"bytes"
	"io"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
)

// stdQP is the standard library's quoted-printable encoding of s.
func stdQP(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// checkQP checks appendQP(s) against the standard library: it decodes to
// s with CRLF line ends and invalid UTF-8 replaced, its lines are at most 76
// octets and none starts with "."; when no line of the standard encoding
// starts with ".", both are the same.
func checkQP(t *testing.T, s string) {
	t.Helper()
	got := string(appendQP(nil, s))
	valid := strings.ToValidUTF8(s, "\uFFFD")
	if std := stdQP(valid); !strings.HasPrefix(std, ".") && !strings.Contains(std, "\n.") && got != std {
		t.Fatalf("appendQP(%q)\n = %q\nstd %q", s, got, std)
	}
	for i, line := range strings.Split(got, "\r\n") {
		if len(line) > 76 {
			t.Fatalf("appendQP(%q): line %d is %d octets: %q", s, i+1, len(line), line)
		}
		if strings.HasPrefix(line, ".") {
			t.Fatalf("appendQP(%q): line %d starts with a dot: %q", s, i+1, line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("appendQP(%q): bare CR or LF in line %d: %q", s, i+1, line)
		}
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got)))
	if err != nil {
		t.Fatalf("appendQP(%q) does not decode: %v", s, err)
	}
	want := strings.NewReplacer("\r\n", "\r\n", "\r", "\r\n", "\n", "\r\n").Replace(valid)
	if string(dec) != want {
		t.Fatalf("appendQP(%q) decodes to %q, want %q", s, dec, want)
	}
}

func TestQuotedPrintable(t *testing.T) {
	for _, s := range []string{
		"",
		"plain",
		"Bonjour,\n\nNous avons bien reçu votre demande — merci.\n€ ≠ ½\n",
		".leading dot\n..two\n.\nend.\n",
		"trailing space \ntrailing tab\t\n \n\t",
		"a=b ?= =?utf-8?q?x?=",
		strings.Repeat("x", 75) + "\n" + strings.Repeat("x", 76) + "\n" + strings.Repeat("x", 200),
		strings.Repeat("x", 74) + ". " + strings.Repeat("y", 74) + "\t." + strings.Repeat("z", 75) + ".",
		strings.Repeat("é", 100),
		strings.Repeat("x", 72) + "é" + strings.Repeat("x", 73) + " \n",
		strings.Repeat(" ", 80) + "\n" + strings.Repeat("x", 74) + " ",
		"crlf\r\nlf\ncr\rcr-lf\r\r\n",
		"invalid \xff\xfe utf8 \xc3 end\xe2\x82",
		"replacement \uFFFD\xff\uFFFD",
		"nul\x00 esc\x1b del\x7f",
	} {
		checkQP(t, s)
	}
}

func TestQuotedPrintableRandom(t *testing.T) {
	pieces := []string{"a", "Z", " ", "\t", ".", "=", "\n", "\r\n", "é", "€", "\x00", "\xff", "~", "?", "xxxxxxxxxxxxxxxxxxxxxxxxx"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range r.IntN(300) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		checkQP(t, b.String())
	}
}

func FuzzQuotedPrintable(f *testing.F) {
	f.Add("Bonjour,\n.merci \n")
	f.Add(strings.Repeat("x", 75) + ".é \t")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "\r") {
			// The standard writer mishandles a lone CR; checkQP compares
			// against it.
			s = strings.ReplaceAll(s, "\r", "")
		}
		checkQP(t, s)
	})
}
