package mailparse_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"casemail/internal/benchmail"
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

// The benchmark mix: new-case mails of the interop benchmark
// (internal/benchmail, attachPct 2): plain 8bit, quoted-printable and
// HTML-alternative mails of 20–26 KiB, a quarter in French, 2 % with a
// 50–200 KiB base64 attachment.

// mixMails returns n mails of the benchmark mix, the same on every call. The
// seed is one whose first 64 mails are close to the interop mix: 16
// multipart/alternative, 13 in French, one with an attachment.
func mixMails(n int) [][]byte {
	r := rand.New(rand.NewPCG(5, 3))
	cs := benchmail.Contacts(8)
	date := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		spec := benchmail.NewCase(r, i, cs[r.IntN(len(cs))], "mix", 2)
		out[i] = spec.Render(r, date.Add(time.Duration(i)*time.Minute))
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
