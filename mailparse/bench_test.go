package mailparse_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"mime/quotedprintable"
	"strings"
	"testing"
	"time"

	"casemail/mailparse"
)

// typicalMail is a ~25 KiB plain-text reply with quoted history.
func typicalMail() []byte {
	var b bytes.Buffer
	b.WriteString("Received: from mx.acme.example by mx.example.com; Mon, 5 Jan 2026 09:12:44 +0100\r\n" +
		"From: \"Bob Smith\" <bob@acme.example>\r\nTo: Acme Support <support@example.com>\r\n" +
		"Cc: ops@acme.example, \"Doe, Jane\" <jane@acme.example>\r\nSubject: Re: [CASE-1000] Search is slow\r\n" +
		"Date: Mon, 5 Jan 2026 09:12:40 +0100\r\nMessage-ID: <typical-1@acme.example>\r\n" +
		"In-Reply-To: <case-1000.r1@example.com>\r\nReferences: <case-1000.ack@example.com> <case-1000.r1@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	b.WriteString("Hi team,\r\n\r\nEngine: acme-search\r\nSeverity: 2 - high\r\n\r\n")
	for b.Len() < 12<<10 {
		b.WriteString("The search latency went up to 3 seconds since the deploy; r=C3=A9sultats are slow too.\r\n")
	}
	b.WriteString("\r\nOn Mon, Jan 5, 2026 at 10:00 AM Acme Support <support@example.com> wrote:\r\n")
	for b.Len() < 25<<10 {
		b.WriteString("> Please send us the query logs and the output of the status command.\r\n")
	}
	return b.Bytes()
}

func htmlMail() []byte {
	var b bytes.Buffer
	b.WriteString("From: carol@acme.example\r\nTo: support@example.com\r\nSubject: html\r\nMessage-ID: <h@acme.example>\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{}</style></head><body>")
	for b.Len() < 25<<10 {
		b.WriteString("<p>Hello&nbsp;team, <b>the index</b> is <a href=\"https://acme.example/x\">broken</a> &amp; slow.</p><ul><li>one</li><li>two</li></ul>\n")
	}
	b.WriteString("</body></html>\r\n")
	return b.Bytes()
}

func attachmentMail() []byte {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16)
	return []byte("From: dave@acme.example\r\nTo: support@example.com\r\nSubject: logs\r\nMessage-ID: <a@acme.example>\r\n" +
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nLogs attached.\r\n" +
		"--x\r\nContent-Type: application/zip; name=logs.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		wrap(base64.StdEncoding.EncodeToString(data)) + "\r\n--x--\r\n")
}

func wrap(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76])
		b.WriteString("\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

func benchParse(b *testing.B, raw []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := mailparse.Parse(bytes.NewReader(raw), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseTypical(b *testing.B)    { benchParse(b, typicalMail()) }
func BenchmarkParseHTMLOnly(b *testing.B)   { benchParse(b, htmlMail()) }
func BenchmarkParseAttachment(b *testing.B) { benchParse(b, attachmentMail()) }

func BenchmarkExtractFields(b *testing.B) {
	m, _ := mailparse.Parse(bytes.NewReader(typicalMail()), nil)
	b.ReportAllocs()
	for b.Loop() {
		mailparse.ExtractFields(m.Text)
	}
}

func BenchmarkCaseTag(b *testing.B) {
	subjects := []string{"Re: AW: [CASE-1000] Search is slow", "Fwd: no tag at all here", "回复: [case-123456] x"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := subjects[i%len(subjects)]
		mailparse.CaseTag(s, "CASE")
		mailparse.StripPrefixes(s)
	}
}

func BenchmarkNewText(b *testing.B) {
	m, _ := mailparse.Parse(bytes.NewReader(typicalMail()), nil)
	b.ReportAllocs()
	for b.Loop() {
		mailparse.NewText(m.Text)
	}
}

// BenchmarkAnalyzeTypical is the text analysis the daemon runs on every
// parsed mail (intake.Analyze): NewText, ExtractFields and DetectLanguage.
func BenchmarkAnalyzeTypical(b *testing.B) {
	m, _ := mailparse.Parse(bytes.NewReader(typicalMail()), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Text)))
	for b.Loop() {
		mailparse.NewText(m.Text)
		mailparse.ExtractFields(m.Text)
		mailparse.DetectLanguage(m.Text, m.ContentLanguage)
	}
}

// BenchmarkAnalyzeText is BenchmarkAnalyzeTypical in one call.
func BenchmarkAnalyzeText(b *testing.B) {
	m, _ := mailparse.Parse(bytes.NewReader(typicalMail()), nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(m.Text)))
	for b.Loop() {
		mailparse.AnalyzeText(m.Text, m.ContentLanguage)
	}
}

func TestBenchMailsParse(t *testing.T) {
	for i, raw := range [][]byte{typicalMail(), htmlMail(), attachmentMail()} {
		m, err := mailparse.Parse(bytes.NewReader(raw), nil)
		if err != nil || len(m.Problems) > 0 {
			t.Errorf("%d: %v %q", i, err, m.Problems)
		}
		if i == 2 && (len(m.Attachments) != 1 || m.Attachments[0].Size != 64<<10) {
			t.Errorf("attachment %+v", m.Attachments)
		}
	}
	_ = fmt.Sprint()
}

func BenchmarkDetectLanguage(b *testing.B) {
	m, _ := mailparse.Parse(bytes.NewReader(typicalMail()), nil)
	b.ReportAllocs()
	for b.Loop() {
		mailparse.DetectLanguage(m.Text, "")
	}
}

// The benchmark mix: mails built as interop/bench/mails.go builds them (its
// generating code copied here, trimmed to what a mail needs): plain 8bit,
// quoted-printable and HTML-alternative new-case mails of 20–26 KiB, a
// quarter in French, 2 % with a 50–200 KiB base64 attachment.

var (
	mixEnWords = strings.Fields(`the search engine query index timeout error request response cluster node
		shard replica latency customer production staging deploy rollback after since yesterday
		we noticed that when our users type into the box results are slow or missing entirely and
		the dashboard shows spikes every few minutes please could you check what changed on your side
		logs attached below show the failing calls with their identifiers and timestamps thanks`)
	mixFrWords = strings.Fields(`le moteur de recherche ne répond plus depuis hier soir nos utilisateurs
		voient des résultats vides ou très lents la requête échoue avec une erreur du serveur
		pouvez-vous vérifier ce qui a changé chez vous nous avons déjà redémarré nos nœuds
		les journaux ci-dessous montrent les appels en échec avec leurs identifiants merci d'avance`)
	mixSeverities = []string{"urgent", "high", "normal", "low", "1", "2", "3", "élevée", "normale"}
)

type mixContact struct{ Addr, Name, Account, Engine string }

func mixContacts(accounts int) []mixContact {
	var cs []mixContact
	first := []string{"Alice", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hugo", "Inès", "Jonas"}
	for a := 0; a < accounts; a++ {
		dom := fmt.Sprintf("acct%04d.example", a)
		for k := 0; k < 10; k++ {
			cs = append(cs, mixContact{
				Addr:    fmt.Sprintf("%s.%d@%s", strings.ToLower(strings.NewReplacer("é", "e", "è", "e").Replace(first[k])), k, dom),
				Name:    first[k] + " " + strings.ToUpper(dom[:1]) + dom[1:8],
				Account: "admin@" + dom,
				Engine:  fmt.Sprintf("acct%04d-search", a),
			})
		}
	}
	return cs
}

func mixParagraphs(r *rand.Rand, words []string, n int) string {
	var b strings.Builder
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

func mixLogLines(r *rand.Rand, n int) string {
	var b strings.Builder
	t := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for b.Len() < n {
		t = t.Add(time.Duration(r.IntN(5000)) * time.Millisecond)
		fmt.Fprintf(&b, "%s WARN [search-%d] query id=%016x took %d ms (shard %d, %d hits)\r\n",
			t.Format("2006-01-02T15:04:05.000Z"), r.IntN(8), r.Uint64(), 200+r.IntN(9000), r.IntN(16), r.IntN(500))
	}
	return b.String()
}

func mixDomain(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

func mixQEncode(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?="
		}
	}
	return s
}

// mixMail is the i-th mail of the bulk run (newCaseSpec then render in
// interop/bench/mails.go, with attachPct 2).
func mixMail(r *rand.Rand, i int, from mixContact, date time.Time) []byte {
	var kind string
	switch r.IntN(4) {
	case 0, 1:
		kind = "plain"
	case 2:
		kind = "qp"
	default:
		kind = "html"
	}
	french := r.IntN(4) == 0
	attachLen, textSize := 0, 0
	if r.Float64()*100 < 2 {
		attachLen = (50 + r.IntN(151)) << 10
		textSize = (3 + r.IntN(4)) << 10
	} else {
		textSize = (20 << 10) + r.IntN(6<<10)
	}
	topic := []string{"Search results empty", "Slow queries on", "Indexing stuck for", "Timeouts on",
		"Relevance regression in", "Crawler errors on"}[r.IntN(6)]
	if french {
		topic = []string{"Résultats vides sur", "Requêtes lentes sur", "Indexation bloquée pour"}[r.IntN(3)]
	}
	subject := fmt.Sprintf("%s %s (#%d)", topic, from.Engine, i)

	var b bytes.Buffer
	words, hello, bye := mixEnWords, "Hello support team,", "Best regards,"
	labels := [4]string{"Engine", "Severity", "Environment", "Account"}
	if french {
		words, hello, bye = mixFrWords, "Bonjour,", "Cordialement,"
		labels = [4]string{"Moteur", "Sévérité", "Environnement", "Compte"}
	}
	fmt.Fprintf(&b, "Return-Path: <%s>\r\n", from.Addr)
	fmt.Fprintf(&b, "Received: from mail.%s (mail.%s [192.0.2.%d]) by mx.bench.example with ESMTPS id %08x; %s\r\n",
		mixDomain(from.Addr), mixDomain(from.Addr), 1+r.IntN(250), r.Uint32(), date.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: %s <%s>\r\n", mixQEncode(from.Name), from.Addr)
	b.WriteString("To: Support <support@bench.example>\r\n")
	fmt.Fprintf(&b, "Subject: %s\r\n", mixQEncode(subject))
	fmt.Fprintf(&b, "Message-ID: <bench-mix-%d@%s>\r\n", i, mixDomain(from.Addr))
	fmt.Fprintf(&b, "Date: %s\r\n", date.Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nUser-Agent: Mozilla/5.0 Thunderbird/128.5.0\r\n")

	var text strings.Builder
	text.WriteString(hello + "\r\n\r\n")
	fmt.Fprintf(&text, "%s: %s\r\n%s: %s\r\n%s: production\r\n", labels[0], from.Engine,
		labels[1], mixSeverities[r.IntN(len(mixSeverities))], labels[2])
	if r.IntN(3) == 0 {
		fmt.Fprintf(&text, "%s: %s\r\n", labels[3], from.Account)
	}
	text.WriteString("\r\n")
	budget := textSize - b.Len() - 400
	if kind == "html" {
		budget = budget * 4 / 10
	}
	prose := max(budget*2/3, 200)
	text.WriteString(mixParagraphs(r, words, prose))
	text.WriteString("\r\n")
	text.WriteString(mixLogLines(r, max(budget-prose, 100)))
	fmt.Fprintf(&text, "\r\n%s\r\n%s\r\n-- \r\n%s, %s\r\n", bye, from.Name, from.Name, from.Account)
	body := text.String()

	bnd := fmt.Sprintf("=_bench_%016x", r.Uint64())
	alt := fmt.Sprintf("=_alt_%016x", r.Uint64())
	textPart := func(w *bytes.Buffer) {
		switch kind {
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
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;")
		for _, para := range strings.Split(body, "\r\n\r\n") {
			h.WriteString("<div dir=\"ltr\"><p class=\"MsoNormal\" style=\"margin:0\">")
			h.WriteString(strings.ReplaceAll(esc.Replace(para), "\r\n", "<br>\r\n"))
			h.WriteString("</p></div>\r\n")
		}
		h.WriteString("</body></html>\r\n")
		qp = quotedprintable.NewWriter(w)
		qp.Write([]byte(h.String()))
		qp.Close()
		fmt.Fprintf(w, "\r\n--%s--\r\n", alt)
	}
	if attachLen == 0 {
		if kind == "html" {
			htmlAlt(&b)
		} else {
			textPart(&b)
		}
		return b.Bytes()
	}
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--%s\r\n", bnd, bnd)
	if kind == "html" {
		htmlAlt(&b)
	} else {
		textPart(&b)
	}
	name := []string{"heap.bin", "trace.tar.gz", "screenshot.png", "export.zip"}[r.IntN(4)]
	fmt.Fprintf(&b, "--%s\r\nContent-Type: application/octet-stream; name=\"%s\"\r\nContent-Disposition: attachment; filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", bnd, name, name)
	raw := make([]byte, attachLen)
	for k := 0; k+8 <= attachLen; k += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			raw[k+j] = byte(v >> (8 * j))
		}
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k])
		b.WriteString("\r\n")
		enc = enc[k:]
	}
	fmt.Fprintf(&b, "--%s--\r\n", bnd)
	return b.Bytes()
}

// mixMails returns n mails of the benchmark mix, the same on every call. The
// seed is one whose first 64 mails are close to the interop mix: 16
// multipart/alternative, 13 in French, one with an attachment.
func mixMails(n int) [][]byte {
	r := rand.New(rand.NewPCG(5, 3))
	cs := mixContacts(8)
	date := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		out[i] = mixMail(r, i, cs[r.IntN(len(cs))], date.Add(time.Duration(i)*time.Minute))
	}
	return out
}

// BenchmarkMix is what the daemon does with each mail of the interop
// benchmark: Parse then AnalyzeText, per mail, averaged over the mix.
func BenchmarkMix(b *testing.B) {
	mails := mixMails(64)
	total := 0
	for _, m := range mails {
		total += len(m)
	}
	b.ReportAllocs()
	b.SetBytes(int64(total / len(mails)))
	for i := 0; b.Loop(); i++ {
		m, err := mailparse.Parse(bytes.NewReader(mails[i%len(mails)]), nil)
		if err != nil {
			b.Fatal(err)
		}
		mailparse.AnalyzeText(m.Text, m.ContentLanguage)
	}
}

// BenchmarkMixParse and BenchmarkMixAnalyze are BenchmarkMix's two halves.
func BenchmarkMixParse(b *testing.B) {
	mails := mixMails(64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := mailparse.Parse(bytes.NewReader(mails[i%len(mails)]), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMixAnalyze(b *testing.B) {
	mails := mixMails(64)
	msgs := make([]*mailparse.Message, len(mails))
	for i, raw := range mails {
		msgs[i], _ = mailparse.Parse(bytes.NewReader(raw), nil)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := msgs[i%len(msgs)]
		mailparse.AnalyzeText(m.Text, m.ContentLanguage)
	}
}

func TestMixMails(t *testing.T) {
	kinds := map[string]int{}
	for i, raw := range mixMails(64) {
		m, err := mailparse.Parse(bytes.NewReader(raw), nil)
		if err != nil || len(m.Problems) > 0 {
			t.Fatalf("%d: %v %q", i, err, m.Problems)
		}
		a := mailparse.AnalyzeText(m.Text, m.ContentLanguage)
		if a.Fields.Engine == "" || a.Fields.Severity == 0 {
			t.Errorf("%d: fields %+v", i, a.Fields)
		}
		kinds[m.ContentType]++
		kinds[a.Lang]++
		kinds[fmt.Sprint("attachments=", len(m.Attachments))]++
	}
	t.Log(kinds)
	if kinds["attachments=1"] == 0 {
		t.Error("no mail with an attachment in the mix")
	}
}
