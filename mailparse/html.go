package mailparse

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText turns HTML into readable text: no tags, no script or style content,
// entities decoded, block elements on their own lines, list items behind "- ",
// links followed by their URL in parentheses when it differs from their text,
// blockquote content behind "> " so that NewText drops it.
func htmlText(b []byte) string {
	w := htmlWriter{}
	w.out.Grow(len(b) / 2)
	z := html.NewTokenizer(bytes.NewReader(b))
	type link struct {
		href  string
		start int
	}
	var links []link
	skip := 0
	pre := 0
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return w.out.String()
		case html.TextToken:
			if skip > 0 {
				continue
			}
			// Text() copies and rewrites every token; most need nothing of it.
			if raw := z.Raw(); !needsText(raw) {
				w.text(raw, pre > 0)
			} else {
				w.text(z.Text(), pre > 0)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			a, ok := tagAtom(z.Raw())
			hasAttr := false
			if !ok || a == atom.A {
				var name []byte
				name, hasAttr = z.TagName()
				a = atom.Lookup(name)
			}
			end := tt == html.EndTagToken
			switch a {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				if tt == html.SelfClosingTagToken {
					continue
				}
				if end {
					if skip > 0 {
						skip--
					}
				} else {
					skip++
				}
			case atom.Br:
				w.lineBreak()
			case atom.P, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Table, atom.Ul, atom.Ol, atom.Hr:
				w.paragraph()
			case atom.Div, atom.Tr, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Dl, atom.Dt, atom.Dd, atom.Center, atom.Address, atom.Caption:
				w.newline()
			case atom.Pre:
				w.paragraph()
				if end {
					if pre > 0 {
						pre--
					}
				} else if tt == html.StartTagToken {
					pre++
				}
			case atom.Blockquote:
				w.paragraph()
				if end {
					if w.quote > 0 {
						w.quote--
					}
				} else if tt == html.StartTagToken {
					w.quote++
				}
			case atom.Li:
				w.newline()
				if !end {
					w.marker = "- "
				}
			case atom.Td, atom.Th:
				if !end {
					w.space = true
				}
			case atom.A:
				if end {
					if n := len(links); n > 0 {
						l := links[n-1]
						links = links[:n-1]
						if l.href != "" && l.start <= w.out.Len() {
							txt := strings.TrimSpace(w.out.String()[l.start:])
							if txt != l.href && strings.TrimPrefix(l.href, "mailto:") != txt {
								if txt == "" {
									w.text([]byte(l.href), false)
								} else {
									w.text([]byte(" ("+l.href+")"), false)
								}
							}
						}
					}
					continue
				}
				if tt == html.SelfClosingTagToken {
					continue
				}
				href := ""
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "href" {
						href = strings.TrimSpace(string(v))
					}
				}
				if strings.HasPrefix(href, "#") || strings.HasPrefix(strings.ToLower(href), "javascript:") {
					href = ""
				}
				if len(links) < 64 {
					links = append(links, link{href: href, start: w.out.Len()})
				}
			}
		}
	}
}

// needsText reports whether a raw text token needs Tokenizer.Text: for
// entities, carriage returns or NUL.
func needsText(raw []byte) bool {
	return bytes.IndexByte(raw, '&') >= 0 || bytes.IndexByte(raw, '\r') >= 0 || bytes.IndexByte(raw, 0) >= 0
}

// tagAtom returns the atom of the name of the tag written raw ("<Name …>" or
// "</name>") when the name is short and of ASCII letters and digits only: as
// atom.Lookup(Tokenizer.TagName()) would, without the copy TagName makes.
func tagAtom(raw []byte) (atom.Atom, bool) {
	var buf [16]byte
	i := 1
	if len(raw) > 1 && raw[1] == '/' {
		i = 2
	}
	n := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '/' || c == '>':
			// The end of the name, as the tokenizer reads it.
			return atom.Lookup(buf[:n]), n > 0
		default:
			return 0, false
		}
		if n == len(buf) {
			return 0, false
		}
		buf[n] = c
		n++
	}
	return 0, false
}

// htmlWriter writes text line by line, adding the quote prefix and list markers
// at the start of each line.
type htmlWriter struct {
	out     strings.Builder
	pending int  // line breaks asked for and not yet written
	started bool // the current line holds text
	space   bool // a space is due before the next text
	quote   int
	marker  string
}

func (w *htmlWriter) newline() {
	if w.started && w.pending < 1 {
		w.pending = 1
	}
	w.space = false
}

func (w *htmlWriter) paragraph() {
	if w.out.Len() > 0 && w.pending < 2 {
		w.pending = 2
	}
	w.space = false
}

func (w *htmlWriter) lineBreak() {
	if w.pending < 3 {
		w.pending++
	}
	w.space = false
}

func (w *htmlWriter) text(t []byte, pre bool) {
	for len(t) > 0 {
		if pre {
			i := bytes.IndexByte(t, '\n')
			if i < 0 {
				w.write(t)
				return
			}
			w.write(bytes.TrimRight(t[:i], "\r"))
			w.lineBreak()
			t = t[i+1:]
			continue
		}
		// collapse white space
		i := 0
		for i < len(t) && isHTMLSpace(t[i]) {
			i++
		}
		if i > 0 {
			w.space = true
			t = t[i:]
			continue
		}
		j := 0
		for j < len(t) && !isHTMLSpace(t[j]) {
			j++
		}
		w.write(t[:j])
		t = t[j:]
	}
}

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func (w *htmlWriter) write(s []byte) {
	if len(s) == 0 {
		return
	}
	if w.pending > 0 && w.out.Len() > 0 {
		for i := 0; i < w.pending; i++ {
			w.out.WriteByte('\n')
		}
		w.started = false
	}
	w.pending = 0
	if !w.started {
		if w.quote > 0 {
			w.out.WriteString(strings.Repeat("> ", w.quote))
		}
		if w.marker != "" {
			w.out.WriteString(w.marker)
			w.marker = ""
		}
		w.started = true
		w.space = false
	} else if w.space {
		w.out.WriteByte(' ')
	}
	w.space = false
	w.out.Write(s)
}
