package mailparse_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"casemail/mailparse"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json")

func mustParseFile(t testing.TB, name string, opts *mailparse.Options) *mailparse.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mailparse.Parse(f, opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return m
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d testdata files", len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			m := mustParseFile(t, name, nil)
			checkUTF8(t, m)
			got, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(name, ".eml")+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./mailparse -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from golden file %s:\ngot:\n%s", name, golden, got)
			}
		})
	}
}

// checkUTF8 walks every string in v and fails on invalid UTF-8 or NUL.
func checkUTF8(t testing.TB, m *mailparse.Message) {
	t.Helper()
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			s := v.String()
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Errorf("%s = %q: invalid UTF-8 or NUL", path, s)
			}
		case reflect.Pointer:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					walk(path+"."+v.Type().Field(i).Name, v.Field(i))
				}
			}
		case reflect.Slice:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				return
			}
			for i := 0; i < v.Len(); i++ {
				walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
			}
		}
	}
	walk("Message", reflect.ValueOf(m))
}

func TestOutlookFrench(t *testing.T) {
	m := mustParseFile(t, "outlook_fr.eml", nil)
	if got, want := m.Subject, "Problème urgent : plus de résultats"; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if m.From.Addr != "elodie.martin@acme.example" || m.From.Name != "Élodie Martin" {
		t.Errorf("From = %+v", m.From)
	}
	if m.ContentLanguage != "fr" || m.HTMLOnly || m.ContentType != "multipart/alternative" {
		t.Errorf("ContentLanguage %q HTMLOnly %v ContentType %q", m.ContentLanguage, m.HTMLOnly, m.ContentType)
	}
	f := mailparse.ExtractFields(m.Text)
	want := mailparse.Fields{Account: "admin@acme.example", Engine: "acme-search", Severity: 2, Environment: "production",
		Nature: "la recherche renvoie une erreur 500 à chaque requête"}
	if f != want {
		t.Errorf("fields = %+v, want %+v", f, want)
	}
	if !strings.Contains(m.Text, "Acme – Service") {
		t.Errorf("windows-1252 en dash not decoded: %q", m.Text)
	}
	if got := mailparse.DetectLanguage(m.Text, ""); got != "fr" {
		t.Errorf("DetectLanguage = %q", got)
	}
}

func TestGmailAlternative(t *testing.T) {
	m := mustParseFile(t, "gmail_alternative.eml", nil)
	if m.HTMLOnly || !strings.HasPrefix(m.Text, "Hi team,") {
		t.Errorf("plain not preferred: HTMLOnly=%v Text=%q", m.HTMLOnly, m.Text)
	}
	if m.MessageID != "<CAF=abc123+xyz@mail.gmail.com>" {
		t.Errorf("MessageID = %q", m.MessageID)
	}
	if !reflect.DeepEqual(m.References, []string{"<case-1000.ack@example.com>", "<case-1000.r1@example.com>"}) {
		t.Errorf("References = %q", m.References)
	}
	if len(m.Cc) != 2 || m.Cc[1].Name != "Doe, Jane" {
		t.Errorf("Cc = %+v", m.Cc)
	}
	if got := mailparse.NewText(m.Text); got != "Hi team,\n\nThanks, the reindex worked. One more question below." {
		t.Errorf("NewText = %q", got)
	}
	if tag, ok := mailparse.CaseTag(m.Subject, "CASE"); !ok || tag != "CASE-1000" {
		t.Errorf("CaseTag = %q %v", tag, ok)
	}
}

func TestHTMLOnly(t *testing.T) {
	m := mustParseFile(t, "html_only.eml", nil)
	if !m.HTMLOnly {
		t.Fatal("HTMLOnly false")
	}
	for _, want := range []string{
		"Indexing failure\n\nHello\u00a0team, we see errors & timeouts since 10:00 — details:",
		"- Engine: acme-search\n- Severity: 1 – urgent\n- Account: admin@acme.example",
		"See the status page (https://status.acme.example/incident/42) and https://acme.example.",
		"Regards,\nCarol",
		"> Earlier message that should be quoted\n> second quoted line",
	} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("Text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, bad := range []string{"<", "alert", "color:red", "ignored title"} {
		if strings.Contains(m.Text, bad) {
			t.Errorf("Text holds %q:\n%s", bad, m.Text)
		}
	}
	if strings.Contains(mailparse.NewText(m.Text), "Earlier message") {
		t.Error("NewText kept the blockquote")
	}
	f := mailparse.ExtractFields(m.Text)
	if f.Engine != "acme-search" || f.Severity != 1 || f.Account != "admin@acme.example" {
		t.Errorf("fields = %+v", f)
	}
	if m.Subject != "Indexing failure – please help" {
		t.Errorf("Subject = %q", m.Subject)
	}
}

func TestAttachments(t *testing.T) {
	m := mustParseFile(t, "attachment.eml", &mailparse.Options{KeepAttachments: func(*mailparse.Header) bool { return true }})
	pdf := bytes.Repeat(func() []byte {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return b
	}(), 40)
	zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("hello attachment"), 100)...)
	want := []struct {
		name, ctype string
		data        []byte
	}{
		{"résumé des erreurs.pdf", "application/pdf", pdf},
		{"€ logs janvier.zip", "application/zip", zip},
		{"passwd", "text/plain", []byte("root:x:0:0")},
	}
	if len(m.Attachments) != len(want) {
		t.Fatalf("%d attachments, want %d: %+v", len(m.Attachments), len(want), m.Attachments)
	}
	for i, w := range want {
		a := m.Attachments[i]
		sum := sha256.Sum256(w.data)
		if a.Name != w.name || a.ContentType != w.ctype || a.Size != int64(len(w.data)) || a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("attachment %d = %q %q %d %s, want %q %q %d %x", i, a.Name, a.ContentType, a.Size, a.SHA256, w.name, w.ctype, len(w.data), sum)
		}
		if !bytes.Equal(a.Data, w.data) {
			t.Errorf("attachment %d: Data not kept", i)
		}
	}
	if m.Text != "Please find the logs attached.\nEngine: acme-search\n\nSecond inline text part." {
		t.Errorf("Text = %q", m.Text)
	}
	// Without KeepAttachments nothing is held.
	m = mustParseFile(t, "attachment.eml", nil)
	for _, a := range m.Attachments {
		if a.Data != nil {
			t.Errorf("%s: Data kept without KeepAttachments", a.Name)
		}
	}
}

func TestAttachmentNames(t *testing.T) {
	long := strings.Repeat("é", 200) + ".pdf"
	for _, tc := range []struct{ in, want string }{
		{`../../etc/passwd`, "passwd"},
		{`C:\\Users\\bob\\report.doc`, "report.doc"},
		{"a\x01b\x7fc.txt", "abc.txt"},
		{"..", "attachment-1"},
		{"", "attachment-1"},
		{"=?UTF-8?B?w6l0w6kudHh0?=", "été.txt"},
		{".hidden", "hidden"},
		{long, strings.Repeat("é", 125) + ".pdf"},
	} {
		raw := "From: a@b.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\n" +
			"Content-Disposition: attachment; filename=\"" + tc.in + "\"\r\n\r\ndata\r\n--x--\r\n"
		m, err := mailparse.Parse(strings.NewReader(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Attachments) != 1 {
			t.Fatalf("%q: %d attachments", tc.in, len(m.Attachments))
		}
		got := m.Attachments[0].Name
		if got != tc.want || len(got) > 255 || !utf8.ValidString(got) {
			t.Errorf("name(%q) = %q (%d bytes), want %q", tc.in, got, len(got), tc.want)
		}
	}
}

func TestDeliveryReport(t *testing.T) {
	m := mustParseFile(t, "dsn.eml", nil)
	want := &mailparse.DeliveryReport{
		OriginalMessageID: "<case-1000.r2@example.com>",
		Recipients:        []string{"nobody@acme.example"},
		Action:            "failed",
		Status:            "5.1.1",
		Diagnostic:        "550 5.1.1 <nobody@acme.example>: Recipient address rejected: User unknown",
	}
	if !reflect.DeepEqual(m.Report, want) {
		t.Errorf("Report = %+v, want %+v", m.Report, want)
	}
	if m.ReturnPath != "<>" || m.ContentType != "multipart/report" {
		t.Errorf("ReturnPath %q ContentType %q", m.ReturnPath, m.ContentType)
	}
	if len(m.Attachments) != 0 {
		t.Errorf("attachments = %+v", m.Attachments)
	}
}

func TestBrokenInputs(t *testing.T) {
	m := mustParseFile(t, "broken_mime.eml", nil)
	if !strings.Contains(m.Text, "Café is =ZZ fine, 1+1=2 and a soft break.") || !strings.Contains(m.Text, "never closed part") {
		t.Errorf("Text = %q", m.Text)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Size == 0 {
		t.Errorf("attachments = %+v", m.Attachments)
	}
	wantProblems(t, m, "invalid quoted-printable", "invalid base64", "missing end boundary")

	m = mustParseFile(t, "unknown_charset.eml", nil)
	if m.Text != "Café crème" {
		t.Errorf("Text = %q", m.Text)
	}
	wantProblems(t, m, `unknown charset "x-foo-bar" in the body`)

	m = mustParseFile(t, "headers_8bit.eml", nil)
	if m.Subject != "Problème d'accès" || m.From.Name != "René Müller" || m.Text != "Text with 8-bit é and no charset." {
		t.Errorf("Subject %q From %+v Text %q", m.Subject, m.From, m.Text)
	}

	m = mustParseFile(t, "nul_bytes.eml", nil)
	if m.Subject != "nul byteshere" && m.Subject != "nul bytes here" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if m.Text != "HelloWorld\nline two" {
		t.Errorf("Text = %q", m.Text)
	}
	checkUTF8(t, m)
}

func wantProblems(t *testing.T, m *mailparse.Message, subs ...string) {
	t.Helper()
	all := strings.Join(m.Problems, "\n")
	for _, s := range subs {
		if !strings.Contains(all, s) {
			t.Errorf("Problems lack %q: %q", s, m.Problems)
		}
	}
}

func TestFromVariants(t *testing.T) {
	m := mustParseFile(t, "no_from.eml", nil)
	if m.From.Addr != "" || m.FromCount != 0 || m.MessageID != "<no-brackets-id@acme.example>" {
		t.Errorf("no From: %+v %d %q", m.From, m.FromCount, m.MessageID)
	}
	m = mustParseFile(t, "two_from.eml", nil)
	if m.From.Addr != "alice@acme.example" || m.FromCount != 3 || m.Sender.Addr != "alice@acme.example" {
		t.Errorf("two From: %+v %d", m.From, m.FromCount)
	}
	m = mustParseFile(t, "group_from.eml", nil)
	if m.From.Addr != "" || m.FromCount != 0 || len(m.To) != 0 || !m.Date.IsZero() {
		t.Errorf("group From: %+v %d To %+v", m.From, m.FromCount, m.To)
	}
	wantProblems(t, m, "group syntax", "Date")
}

func TestEmpty(t *testing.T) {
	for _, in := range []string{"", "\r\n", "\n\n\n"} {
		if _, err := mailparse.Parse(strings.NewReader(in), nil); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
	// Header-less text is kept as text.
	m, err := mailparse.Parse(strings.NewReader("just some text\nand more"), nil)
	if err != nil || m.Text != "just some text\nand more" {
		t.Errorf("header-less: %v %+v", err, m)
	}
}

func TestDeepNesting(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: deep@acme.example\r\nSubject: deep\r\n")
	const depth = 1000
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ninnermost\r\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	m, err := mailparse.Parse(strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, m, "nesting deeper than 20")
	if m.RawSize != int64(b.Len()) {
		t.Errorf("RawSize = %d, want %d", m.RawSize, b.Len())
	}
}

func TestHugeHeaderLine(t *testing.T) {
	raw := "From: a@acme.example\r\nX-Big: " + strings.Repeat("x", 1<<20) + "\r\nSubject: after\r\n\r\nbody\r\n"
	m, err := mailparse.Parse(strings.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantProblems(t, m, "header larger than 256 KiB")
	if m.From.Addr != "a@acme.example" || m.Text != "body" {
		t.Errorf("From %+v Text %q", m.From, m.Text)
	}
	size := 0
	for _, f := range m.Header.Fields {
		size += len(f.Key) + len(f.Value)
	}
	if size > 256<<10 {
		t.Errorf("header kept %d bytes", size)
	}
}

func TestLimits(t *testing.T) {
	t.Run("MaxMessageBytes", func(t *testing.T) {
		raw := "From: a@acme.example\r\n\r\n" + strings.Repeat("line of text\r\n", 1000)
		m, err := mailparse.Parse(strings.NewReader(raw), &mailparse.Options{MaxMessageBytes: 1024})
		if err != nil {
			t.Fatal(err)
		}
		if m.RawSize != 1024 {
			t.Errorf("RawSize = %d", m.RawSize)
		}
		sum := sha256.Sum256([]byte(raw[:1024]))
		if m.ContentHash != hex.EncodeToString(sum[:]) {
			t.Error("ContentHash is not the hash of the bytes read")
		}
		wantProblems(t, m, "message truncated at 1 KiB")
		// Exactly at the limit: no truncation.
		m, _ = mailparse.Parse(strings.NewReader(raw[:1024]), &mailparse.Options{MaxMessageBytes: 1024})
		if len(m.Problems) != 0 {
			t.Errorf("Problems = %q", m.Problems)
		}
	})
	t.Run("MaxAttachments", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@acme.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
		for i := 0; i < 5; i++ {
			fmt.Fprintf(&b, "--x\r\nContent-Type: application/zip; name=a%d.zip\r\n\r\nzip%d\r\n", i, i)
		}
		b.WriteString("--x--\r\n")
		m, err := mailparse.Parse(strings.NewReader(b.String()), &mailparse.Options{MaxAttachments: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Attachments) != 3 || !reflect.DeepEqual(m.Dropped, []string{"a3.zip", "a4.zip"}) {
			t.Errorf("Attachments %d Dropped %q", len(m.Attachments), m.Dropped)
		}
		wantProblems(t, m, `attachment "a3.zip" dropped: more than 3 attachments`)
	})
	t.Run("MaxKeptBytes", func(t *testing.T) {
		raw := "From: a@acme.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" +
			"--x\r\nContent-Type: application/zip; name=small.zip\r\n\r\n0123456789\r\n" +
			"--x\r\nContent-Type: application/zip; name=big.zip\r\n\r\n" + strings.Repeat("z", 100) + "\r\n--x--\r\n"
		m, _ := mailparse.Parse(strings.NewReader(raw), &mailparse.Options{MaxKeptBytes: 50,
			KeepAttachments: func(h *mailparse.Header) bool { return h.Get("from") == "a@acme.example" }})
		if len(m.Attachments) != 2 || string(m.Attachments[0].Data) != "0123456789" || m.Attachments[1].Data != nil || m.Attachments[1].Size != 100 {
			t.Errorf("Attachments = %+v", m.Attachments)
		}
		if !reflect.DeepEqual(m.Dropped, []string{"big.zip"}) {
			t.Errorf("Dropped = %q", m.Dropped)
		}
	})
	t.Run("MaxTextBytes", func(t *testing.T) {
		raw := "From: a@acme.example\r\n\r\n" + strings.Repeat("é", 1000)
		m, _ := mailparse.Parse(strings.NewReader(raw), &mailparse.Options{MaxTextBytes: 101})
		if len(m.Text) > 101 || !utf8.ValidString(m.Text) {
			t.Errorf("Text %d bytes", len(m.Text))
		}
		wantProblems(t, m, "text truncated")
	})
	t.Run("MaxParts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("From: a@acme.example\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n")
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&b, "--x\r\nContent-Type: text/plain\r\n\r\npart %d\r\n", i)
		}
		b.WriteString("--x--\r\n")
		m, _ := mailparse.Parse(strings.NewReader(b.String()), &mailparse.Options{MaxParts: 5})
		wantProblems(t, m, "more than 5 MIME parts")
		if strings.Contains(m.Text, "part 5") {
			t.Errorf("Text = %q", m.Text)
		}
	})
}

// slowReader returns one byte at a time, like a trickling network stream.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

func TestStreaming(t *testing.T) {
	for _, name := range []string{"attachment.eml", "outlook_fr.eml", "dsn.eml"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		a, _ := mailparse.Parse(bytes.NewReader(raw), nil)
		b, _ := mailparse.Parse(slowReader{bytes.NewReader(raw)}, nil)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: byte-at-a-time parse differs", name)
		}
		sum := sha256.Sum256(raw)
		want := hex.EncodeToString(sum[:])
		if a.MessageID != "" {
			want = "" // only mail without a Message-ID is hashed
		}
		if a.ContentHash != want || a.RawSize != int64(len(raw)) {
			t.Errorf("%s: ContentHash %q, RawSize %d; want %q, %d", name, a.ContentHash, a.RawSize, want, len(raw))
		}
	}
}

func TestQuotedPrintableLongLines(t *testing.T) {
	word := "caf=C3=A9 =3D "
	raw := "From: a@acme.example\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
		strings.Repeat(word, 3000) + "=\r\nend   \r\nnext\r\n"
	m, err := mailparse.Parse(strings.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimRight(strings.Repeat("café = ", 3000), " ") + " end\nnext"
	if strings.ReplaceAll(m.Text, "  ", " ") != want && m.Text != strings.Repeat("café = ", 3000)+"end\nnext" {
		t.Errorf("long QP line decoded wrong: %d bytes, problems %q, tail %q", len(m.Text), m.Problems, m.Text[len(m.Text)-40:])
	}
	if len(m.Problems) != 0 {
		t.Errorf("Problems = %q", m.Problems)
	}
}
