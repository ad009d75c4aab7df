// Package benchmail generates the benchmark workload: accounts of technical
// contacts and the new-case mails they send to support. The interop
// benchmark (interop/bench) seeds its IMAP server with these mails, and
// mailparse's mix benchmarks parse the same kind of mail.
//
// Every mail is built from a *rand.Rand the caller passes, so the same seed
// gives the same bytes. The package imports nothing of casemail.
package benchmail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"time"
)

const (
	// Support is the address every generated mail is sent to.
	Support = "support@bench.example"
	// PerAccount is the number of contacts of an account.
	PerAccount = 10
)

// Contact is a registered sender.
type Contact struct {
	Addr    string
	Name    string
	Account string // the account's primary address
	Engine  string // the account's search engine, named in the mails
	Plan    string // "premium" or "standard"
}

// Contacts returns accounts × PerAccount contacts, account by account: the
// even accounts premium, the odd ones standard.
func Contacts(accounts int) []Contact {
	var cs []Contact
	first := []string{"Alice", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Inès", "Jonas"}
	for a := 0; a < accounts; a++ {
		dom := fmt.Sprintf("acct%04d.example", a)
		plan := "premium"
		if a%2 == 1 {
			plan = "standard"
		}
		for k := 0; k < PerAccount; k++ {
			cs = append(cs, Contact{
				Addr:    fmt.Sprintf("%s.%d@%s", strings.ToLower(strings.NewReplacer("é", "e", "è", "e").Replace(first[k])), k, dom),
				Name:    first[k] + " " + strings.ToUpper(dom[:1]) + dom[1:8],
				Account: "admin@" + dom,
				Engine:  fmt.Sprintf("acct%04d-search", a),
				Plan:    plan,
			})
		}
	}
	return cs
}

// ContactsTOML is casemail's allowlist file (contacts.toml) for cs, as
// Contacts returns them: one [[account]] per PerAccount contacts.
func ContactsTOML(cs []Contact) string {
	var b strings.Builder
	for i := 0; i < len(cs); i += PerAccount {
		c := cs[i]
		fmt.Fprintf(&b, "[[account]]\nemail = %q\nname = %q\nplan = %q\nengines = [%q, %q]\ncontacts = [",
			c.Account, "Account "+c.Account, c.Plan, c.Engine, strings.Replace(c.Engine, "-search", "-staging", 1))
		for k := i; k < i+PerAccount && k < len(cs); k++ {
			if k > i {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", cs[k].Addr)
		}
		b.WriteString("]\n\n")
	}
	return b.String()
}

// Words for the filler text: English and French support prose, so that the
// language detector and the field extractor see realistic input.
var (
	enWords = strings.Fields(`the search engine query index timeout error request response cluster node
		shard replica latency customer production staging deploy rollback after since yesterday
		we noticed that when our users type into the box results are slow or missing entirely and
		the dashboard shows spikes every few minutes please could you check what changed on your side
		logs attached below show the failing calls with their identifiers and timestamps thanks`)
	frWords = strings.Fields(`le moteur de recherche ne répond plus depuis hier soir nos utilisateurs
		voient des résultats vides ou très lents la requête échoue avec une erreur du serveur
		pouvez-vous vérifier ce qui a changé chez vous nous avons déjà redémarré nos nœuds
		les journaux ci-dessous montrent les appels en échec avec leurs identifiants merci d'avance`)
	severities = []string{"urgent", "high", "normal", "low", "1", "2", "3", "élevée", "normale"}
)

// paragraphs writes filler prose of about n bytes, in lines of ~70 chars.
func paragraphs(r *rand.Rand, words []string, n int) string {
	var b strings.Builder
	b.Grow(n + 100)
	line := 0
	for b.Len() < n {
		w := words[r.IntN(len(words))]
		if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
		if line > 68 {
			b.WriteString("\r\n")
			line = 0
			if r.IntN(8) == 0 {
				b.WriteString("\r\n")
			}
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// logLines writes a fake log excerpt of about n bytes.
func logLines(r *rand.Rand, n int) string {
	var b strings.Builder
	t := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for b.Len() < n {
		t = t.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
		fmt.Fprintf(&b, "%s WARN [search-%d] query id=%016x took %d ms (shard %d, %d hits)\r\n",
			t.Format("2006-01-02T15:04:05.000Z"), r.IntN(8), r.Uint64(), 200+r.IntN(9000), r.IntN(16), r.IntN(500))
	}
	return b.String()
}

// Spec describes one new-case mail; Render builds it.
type Spec struct {
	From      Contact
	Subject   string
	MessageID string // without brackets
	Kind      string // "plain" (8bit), "qp" (quoted-printable) or "html" (multipart/alternative)
	French    bool
	TextSize  int // bytes of prose + log in the text part
	AttachLen int // decoded attachment bytes, 0 for none
}

// NewCase draws new-case mail number i, from the contact from: half of the
// mails plain, a quarter quoted-printable, a quarter HTML; a quarter in
// French; attachPct percent with a 50–200 KiB attachment (and 3–6 KiB of
// text), the others 20–26 KiB. Its Message-ID is bench-NONCE-I@ the
// sender's domain. Render must follow with the same r for the mail to be
// the same for the same seed.
func NewCase(r *rand.Rand, i int, from Contact, nonce string, attachPct float64) Spec {
	s := Spec{From: from, MessageID: fmt.Sprintf("bench-%s-%d@%s", nonce, i, domainOf(from.Addr))}
	switch k := r.IntN(4); k {
	case 0, 1:
		s.Kind = "plain"
	case 2:
		s.Kind = "qp"
	default:
		s.Kind = "html"
	}
	s.French = r.IntN(4) == 0
	if r.Float64()*100 < attachPct {
		s.AttachLen = (50 + r.IntN(151)) << 10
		s.TextSize = (3 + r.IntN(4)) << 10
	} else {
		s.TextSize = (20 << 10) + r.IntN(6<<10) // whole mail ~20–26 KiB
	}
	topic := []string{"Search results empty", "Slow queries on", "Indexing stuck for", "Timeouts on",
		"Relevance regression in", "Crawler errors on"}[r.IntN(6)]
	if s.French {
		topic = []string{"Résultats vides sur", "Requêtes lentes sur", "Indexation bloquée pour"}[r.IntN(3)]
	}
	s.Subject = fmt.Sprintf("%s %s (#%d)", topic, from.Engine, i)
	return s
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

// Render builds the raw mail (CRLF line ends), dated date. Its size is
// close to TextSize for text mails (the HTML alternative shares the budget
// with the plain part), plus the base64 attachment.
func (s Spec) Render(r *rand.Rand, date time.Time) []byte {
	var b bytes.Buffer
	words, hello, bye := enWords, "Hello support team,", "Best regards,"
	labels := [4]string{"Engine", "Severity", "Environment", "Account"}
	if s.French {
		words, hello, bye = frWords, "Bonjour,", "Cordialement,"
		labels = [4]string{"Moteur", "Sévérité", "Environnement", "Compte"}
	}
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", s.From.Addr)
	fmt.Fprintf(&b, "Received: from mail.%s (mail.%s [192.0.2.%d]) by mx.bench.example with ESMTPS id %08x; %s\r\n",
		domainOf(s.From.Addr), domainOf(s.From.Addr), 1+r.IntN(250), r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", qEncode(s.From.Name), s.From.Addr)
	fmt.Fprintf(&b, "To: Support <%s>\r\n", Support)
	fmt.Fprintf(&b, "Subject: %s\r\n", qEncode(s.Subject))
	fmt.Fprintf(&b, "Message-ID: <%s>\r\n", s.MessageID)
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nUser-Agent: Mozilla/5.0 Thunderbird/128.5.0\r\n")

	var text strings.Builder
	text.WriteString(hello + "\r\n\r\n")
	fmt.Fprintf(&text, "%s: %s\r\n%s: %s\r\n%s: production\r\n", labels[0], s.From.Engine,
		labels[1], severities[r.IntN(len(severities))], labels[2])
	if r.IntN(3) == 0 {
		fmt.Fprintf(&text, "%s: %s\r\n", labels[3], s.From.Account)
	}
	text.WriteString("\r\n")
	budget := s.TextSize - b.Len() - 400
	if s.Kind == "html" {
		budget = budget * 4 / 10 // the HTML part takes the rest
	}
	prose := max(budget*2/3, 200)
	text.WriteString(paragraphs(r, words, prose))
	text.WriteString("\r\n")
	text.WriteString(logLines(r, max(budget-prose, 100)))
	fmt.Fprintf(&text, "\r\n%s\r\n%s\r\n-- \r\n%s, %s\r\n", bye, s.From.Name, s.From.Name, s.From.Account)
	body := text.String()

	bnd := fmt.Sprintf("=_bench_%016x", r.Uint64())
	alt := fmt.Sprintf("=_alt_%016x", r.Uint64())
	textPart := func(w *bytes.Buffer) {
		switch s.Kind {
		case "qp":
			w.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
			qp := quotedprintable.NewWriter(w)
			qp.Write([]byte(body))
			qp.Close()
			w.WriteString("\r\n")
		default:
			w.WriteString("Content-Type: text/plain; charset=utf-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
			w.WriteString(body)
		}
	}
	htmlAlt := func(w *bytes.Buffer) {
		fmt.Fprintf(w, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n--%s\r\n", alt, alt)
		w.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		qp := quotedprintable.NewWriter(w)
		qp.Write([]byte(body))
		qp.Close()
		fmt.Fprintf(w, "\r\n--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", alt)
		var h strings.Builder
		h.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{font-family:Arial,sans-serif;font-size:13px;margin:0 0 8px}</style></head><body>\r\n")
		for _, para := range strings.Split(body, "\r\n\r\n") {
			h.WriteString("<div dir=\"ltr\"><p class=\"MsoNormal\" style=\"margin:0\">")
			h.WriteString(strings.ReplaceAll(htmlEscape(para), "\r\n", "<br>\r\n"))
			h.WriteString("</p></div>\r\n")
		}
		h.WriteString("</body></html>\r\n")
		qp = quotedprintable.NewWriter(w)
		qp.Write([]byte(h.String()))
		qp.Close()
		fmt.Fprintf(w, "\r\n--%s--\r\n", alt)
	}
	if s.AttachLen == 0 {
		if s.Kind == "html" {
			htmlAlt(&b)
		} else {
			textPart(&b)
		}
		return b.Bytes()
	}
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--%s\r\n", bnd, bnd)
	if s.Kind == "html" {
		htmlAlt(&b)
	} else {
		textPart(&b)
	}
	name := []string{"heap.bin", "trace.tar.gz", "screenshot.png", "export.zip"}[r.IntN(4)]
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bnd, name, name)
	writeBase64(&b, r, s.AttachLen)
	fmt.Fprintf(&b, "--%s--\r\n", bnd)
	return b.Bytes()
}

// writeBase64 appends n random bytes, base64 in 76-char lines.
func writeBase64(b *bytes.Buffer, r *rand.Rand, n int) {
	raw := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for k := 0; k < 8; k++ {
			raw[i+k] = byte(v >> (8 * k))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	b.Grow(len(enc) + len(enc)/76*2 + 4)
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k])
		b.WriteString("\r\n")
		enc = enc[k:]
	}
}

// Big is one new-case mail from c, dated now, with a base64 attachment of
// encLen encoded bytes (line breaks not counted). Its Message-ID is
// bench-big-NONCE@ the sender's domain.
func Big(c Contact, encLen int, nonce string) []byte {
	r := rand.New(rand.NewPCG(7, 7))
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: Support <%s>\r\nSubject: Heap dump of %s\r\nMessage-ID: <bench-big-%s@%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\n",
		qEncode(c.Name), c.Addr, Support, c.Engine, nonce, domainOf(c.Addr), time.Now().Format(time.RFC1123Z))
	b.WriteString("Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&b, "Hello,\r\n\r\nEngine: %s\r\nSeverity: high\r\n\r\nThe heap dump of the crashed node is attached.\r\n\r\n%s\r\n", c.Engine, c.Name)
	b.WriteString("--big\r\nContent-Type: application/octet-stream; name=\"heap.bin\"\r\nContent-Disposition: attachment; filename=\"heap.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	writeBase64(&b, r, encLen/4*3)
	b.WriteString("--big--\r\n")
	return b.Bytes()
}

// Latency is a small new-case mail from c, dated now, for the latency
// probes: its subject holds token, its Message-ID is token@ the sender's
// domain.
func Latency(c Contact, token string) (subject string, raw []byte) {
	subject = "Latency probe " + token
	raw = fmt.Appendf(nil, "From: %s <%s>\r\nTo: Support <%s>\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\nEngine: %s\r\nSeverity: normal\r\nEnvironment: production\r\n\r\nQueries time out since this morning.\r\n\r\n%s\r\n",
		qEncode(c.Name), c.Addr, Support, subject, token, domainOf(c.Addr), time.Now().Format(time.RFC1123Z), c.Engine, c.Name)
	return subject, raw
}

// qEncode writes a header value as an RFC 2047 word when it is not ASCII.
func qEncode(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;").Replace(s)
}
