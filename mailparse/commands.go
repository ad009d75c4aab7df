package mailparse

import (
	"strings"
)

// Command is an agent command: "#severity 2" is {Name: "severity", Arg: "2"}.
type Command struct{ Name, Arg string } // Name lower-case without '#'

// maxCommands bounds how many command lines are read at the top of a text.
const maxCommands = 32

// Commands parses agent commands on their own lines at the top of a text
// ("#note", "#resolve", "#close", "#waiting", "#severity N", and any other
// "#word [arg]"), blank lines between them allowed. It returns the commands in
// order and the text without them.
func Commands(text string) ([]Command, string) {
	var cmds []Command
	rest := text
	for len(cmds) < maxCommands {
		line, after, _ := strings.Cut(rest, "\n")
		t := trimSpace(line)
		if t == "" {
			if after == rest || rest == "" {
				break
			}
			rest = after
			continue
		}
		c, ok := parseCommand(t)
		if !ok {
			break
		}
		cmds = append(cmds, c)
		rest = after
		if after == "" {
			break
		}
	}
	if len(cmds) == 0 {
		return nil, text
	}
	return cmds, strings.TrimLeft(rest, "\r\n")
}

func parseCommand(t string) (Command, bool) {
	if len(t) < 2 || t[0] != '#' {
		return Command{}, false
	}
	i := 1
	for i < len(t) && (isASCIILetter(t[i]) || (i > 1 && (t[i] == '-' || t[i] == '_'))) {
		i++
	}
	if i == 1 || (i < len(t) && t[i] != ' ' && t[i] != '\t' && t[i] != ':' && t[i] != 0xc2 && t[i] != 0xe2) {
		return Command{}, false
	}
	arg := strings.TrimLeft(t[i:], ":")
	return Command{Name: strings.ToLower(t[1:i]), Arg: oneLine(trimSpace(arg))}, true
}

// ratingLead are the words that may stand before a rating, lower case.
var ratingLead = []string{
	"note", "rating", "score", "ma note", "my rating", "i'd give it", "i would give it", "i give it", "i'd give",
	"i give", "i'd rate it", "i rate it", "i'd rate", "i rate", "je mets", "je donne", "je note", "je vous mets",
	"je vous donne", "je lui mets", "je lui donne", "je dirais", "i'd say", "i would say",
}

// Rating reads a satisfaction rating 1–5 at the start of a survey answer, in
// English or French: "5", "5/5", "4 / 5", "note : 4", "rating: 2",
// "I'd give it 4", "je mets 5".
func Rating(text string) (int, bool) {
	t := trimSpace(text)
	for len(t) > 0 && (t[0] == '\n' || t[0] == '\r') {
		t = trimSpace(t[1:])
	}
	if len(t) > 200 {
		t = truncate(t, 200)
	}
	line, _, _ := strings.Cut(t, "\n")
	s := strings.ToLower(trimSpace(line))
	s = strings.ReplaceAll(s, "’", "'")
	if n, ok := ratingNumber(s); ok {
		return n, true
	}
	for _, lead := range ratingLead {
		if strings.HasPrefix(s, lead) {
			rest := strings.TrimLeft(s[len(lead):], " \t\u00a0\u202f:=-")
			if rest != s[len(lead):] || lead[len(lead)-1] == ' ' {
				if n, ok := ratingNumber(rest); ok {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// ratingNumber reads "4", "4/5", "4 / 5", "4 sur 5", "4 out of 5", "4 stars".
func ratingNumber(s string) (int, bool) {
	s = strings.TrimLeft(s, " \t\u00a0\u202f")
	if s == "" || s[0] < '1' || s[0] > '5' {
		return 0, false
	}
	n := int(s[0] - '0')
	rest := s[1:]
	if rest == "" {
		return n, true
	}
	if c := rest[0]; c >= '0' && c <= '9' || c == '.' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9' || c == ',' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9' {
		return 0, false // 10, 4.5, 4,5
	}
	r := strings.TrimLeft(rest, " \t\u00a0\u202f")
	for _, of := range []string{"/", "sur", "out of", "of"} {
		if strings.HasPrefix(r, of) {
			d := strings.TrimLeft(r[len(of):], " \t\u00a0\u202f")
			if strings.HasPrefix(d, "5") && (len(d) == 1 || d[1] < '0' || d[1] > '9') {
				return n, true
			}
			return 0, false
		}
	}
	if rest[0] == ' ' || rest[0] == '!' || rest[0] == '.' || rest[0] == ',' || rest[0] == ')' || rest[0] == '\t' || rest[0] == '*' || rest[0] == '-' {
		return n, true
	}
	return 0, false
}
