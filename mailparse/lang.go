package mailparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLangScan bounds how much text DetectLanguage reads: some 300 words,
// plenty to tell French from English.
const maxLangScan = 2 << 10

// The common French and English words DetectLanguage counts, lower case.
var (
	frStopWords = strings.Fields(`le la les des est et je vous
		nous pour pas une du dans avec sur
		merci bonjour ce cette qui que ne au
		aux mon ma mes votre vos notre cordialement
		il elle sont mais ou plus depuis avons
		avez être fait très problème salut bonsoir`)
	enStopWords = strings.Fields(`the and is are to of for you
		we i it this that with not please
		thanks thank hello hi have be on in
		our my your was from since but can
		regards issue when there has does doesn't`)
)

// stopWords[n][c&31] lists the stop words of n bytes whose first byte is c
// (modulo 32): most words are told apart from them without a comparison.
var stopWords = func() (t [maxStopWord + 1][32][]stopWord) {
	for _, l := range []struct {
		words []string
		lang  byte
	}{{frStopWords, 'f'}, {enStopWords, 'e'}} {
		for _, w := range l.words {
			p := &t[len(w)][w[0]&31]
			*p = append(*p, stopWord{w, l.lang})
		}
	}
	return t
}()

type stopWord struct {
	word string
	lang byte
}

// stopWordLang tells whether w is one of the common French ('f') or English
// ('e') words DetectLanguage counts (0 if neither); w is lower case.
func stopWordLang(w string) byte {
	if len(w) == 0 || len(w) > maxStopWord {
		return 0
	}
	for _, s := range stopWords[len(w)][w[0]&31] {
		if s.word == w {
			return s.lang
		}
	}
	return 0
}

// DetectLanguage returns "fr" or "en": from Content-Language when it says fr
// or en, otherwise from the words of the text (stop words and accents).
// The default is "en".
func DetectLanguage(text, contentLanguage string) string {
	cl := strings.ToLower(strings.TrimSpace(contentLanguage))
	if hasPrefixFold(cl, "fr") && (len(cl) == 2 || !isASCIILetter(cl[2])) {
		return "fr"
	}
	if hasPrefixFold(cl, "en") && (len(cl) == 2 || !isASCIILetter(cl[2])) {
		return "en"
	}
	if len(text) > maxLangScan {
		text = truncate(text, maxLangScan)
	}
	var c langCount
	for i := 0; i < len(text); {
		if b := text[i]; b < utf8.RuneSelf { // ASCII: no decoding, no Unicode tables
			if asciiWordClass[b] == 0 {
				c.endWord()
				i++
				continue
			}
			j, class := i, byte(0)
			for ; j < len(text) && asciiWordClass[text[j]] != 0; j++ {
				class |= asciiWordClass[text[j]]
			}
			if c.n == 0 && class&upperLetter == 0 && (j == len(text) || text[j] < utf8.RuneSelf) {
				c.count(text[i:j]) // a whole word in lower case: no copy
			} else {
				c.addASCII(text[i:j])
			}
			i = j
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if !unicode.IsLetter(r) && r != '’' {
			c.endWord()
			continue
		}
		switch r {
		case 'é', 'è', 'ê', 'à', 'ç', 'ù', 'û', 'ô', 'î', 'â', 'ë', 'ï':
			c.fr++
		}
		if r == '’' {
			r = '\''
		}
		// The lower case may be longer in UTF-8 than the letter (Ⱥ, ⱥ).
		if lower := toLower(r); c.n+utf8.RuneLen(lower) <= len(c.word) {
			c.n += utf8.EncodeRune(c.word[c.n:], lower)
		} else {
			c.n = len(c.word) + 1
		}
	}
	c.endWord()
	fr, en := c.fr, c.en
	if fr > en {
		return "fr"
	}
	return "en"
}

// toLower is unicode.ToLower with a short cut for the Latin-1 letters of
// French words, which unicode.ToLower looks up in its case tables.
func toLower(r rune) rune {
	switch {
	case 'À' <= r && r <= 'Þ' && r != '×':
		return r + 'à' - 'À'
	case 'ß' <= r && r <= 'ÿ':
		return r
	}
	return unicode.ToLower(r)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// langCount counts the French and English hints of a text as DetectLanguage
// reads it, word by word.
type langCount struct {
	fr, en int
	word   [32]byte // the current word, lower-cased
	n      int      // its length; len(word)+1 once it is too long to be a hint
}

// addASCII adds ASCII letters and apostrophes to the current word.
func (c *langCount) addASCII(s string) {
	if c.n+len(s) > len(c.word) {
		c.n = len(c.word) + 1
		return
	}
	for i := 0; i < len(s); i++ {
		c.word[c.n+i] = lowerASCII(s[i])
	}
	c.n += len(s)
}

// asciiWordClass tells the ASCII bytes words are made of (letters and
// apostrophes) from the others (0), and upper-case letters from the others.
var asciiWordClass = func() (t [256]byte) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = wordByte
		t[c-'a'+'A'] = wordByte | upperLetter
	}
	t['\''] = wordByte
	return t
}()

const (
	wordByte    = 1 << iota // a letter or an apostrophe
	upperLetter             // A to Z
)

// endWord counts the word just read, if any.
func (c *langCount) endWord() {
	if c.n == 0 {
		return
	}
	if c.n <= len(c.word) {
		c.count(string(c.word[:c.n]))
	}
	c.n = 0
}

// count counts the hints of a whole word, in lower case.
func (c *langCount) count(w string) {
	// French elisions: "l'équipe", "j'ai", "d'accès"
	if len(w) > 2 && w[1] == '\'' && strings.IndexByte("ljdcnmst", w[0]) >= 0 {
		c.fr++
	} else {
		switch stopWordLang(w) {
		case 'f':
			c.fr += 2
		case 'e':
			c.en += 2
		}
	}
}

// maxStopWord is the length of the longest word stopWordLang knows.
const maxStopWord = len("cordialement")
