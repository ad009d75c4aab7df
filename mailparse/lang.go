package mailparse

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxLangScan bounds how much text DetectLanguage reads.
const maxLangScan = 4 << 10

var frenchWords = map[string]bool{
	"le": true, "la": true, "les": true, "des": true, "est": true, "et": true, "je": true, "vous": true,
	"nous": true, "pour": true, "pas": true, "une": true, "du": true, "dans": true, "avec": true, "sur": true,
	"merci": true, "bonjour": true, "ce": true, "cette": true, "qui": true, "que": true, "ne": true, "au": true,
	"aux": true, "mon": true, "ma": true, "mes": true, "votre": true, "vos": true, "notre": true, "cordialement": true,
	"il": true, "elle": true, "sont": true, "mais": true, "ou": true, "plus": true, "depuis": true, "avons": true,
	"avez": true, "être": true, "fait": true, "très": true, "problème": true, "salut": true, "bonsoir": true,
}

var englishWords = map[string]bool{
	"the": true, "and": true, "is": true, "are": true, "to": true, "of": true, "for": true, "you": true,
	"we": true, "i": true, "it": true, "this": true, "that": true, "with": true, "not": true, "please": true,
	"thanks": true, "thank": true, "hello": true, "hi": true, "have": true, "be": true, "on": true, "in": true,
	"our": true, "my": true, "your": true, "was": true, "from": true, "since": true, "but": true, "can": true,
	"regards": true, "issue": true, "when": true, "there": true, "has": true, "does": true, "doesn't": true,
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
				} else if frenchWords[string(w)] {
					fr += 2
				} else if englishWords[string(w)] {
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

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
