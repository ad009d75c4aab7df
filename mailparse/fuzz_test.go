package mailparse_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"casemail/mailparse"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n"))
	opts := &mailparse.Options{
		MaxMessageBytes: 64 << 10, MaxDepth: 5, MaxParts: 20, MaxHeaderBytes: 4 << 10,
		MaxTextBytes: 8 << 10, MaxAttachments: 3, MaxKeptBytes: 1 << 10,
		KeepAttachments: func(*mailparse.Header) bool { return true },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := mailparse.Parse(bytes.NewReader(data), opts)
		if err != nil {
			if m != nil {
				t.Fatal("message and error")
			}
			return
		}
		checkUTF8(t, m)
		if m.RawSize > opts.MaxMessageBytes || m.RawSize > int64(len(data)) {
			t.Fatalf("RawSize %d", m.RawSize)
		}
		if len(m.Text) > opts.MaxTextBytes {
			t.Fatalf("Text %d bytes", len(m.Text))
		}
		if len(m.Attachments) > opts.MaxAttachments {
			t.Fatalf("%d attachments", len(m.Attachments))
		}
		kept := 0
		for _, a := range m.Attachments {
			kept += len(a.Data)
			if a.Name == "" || len(a.Name) > 255 || strings.ContainsAny(a.Name, "/\\\x00") {
				t.Fatalf("bad name %q", a.Name)
			}
		}
		if int64(kept) > opts.MaxKeptBytes {
			t.Fatalf("kept %d bytes", kept)
		}
		hdr := 0
		for _, f := range m.Header.Fields {
			hdr += len(f.Key) + len(f.Value)
		}
		if hdr > opts.MaxHeaderBytes {
			t.Fatalf("header %d bytes", hdr)
		}
		if strings.ContainsAny(m.Subject, "\r\n\t") {
			t.Fatalf("subject %q", m.Subject)
		}
		// The text helpers take any decoded text.
		mailparse.ExtractFields(m.Text)
		mailparse.NewText(m.Text)
		mailparse.Commands(m.Text)
		mailparse.Rating(m.Text)
		mailparse.DetectLanguage(m.Text, m.ContentLanguage)
	})
}

func FuzzExtractFields(f *testing.F) {
	for _, s := range []string{
		"Account: admin@acme.example\nEngine: acme-search\nSeverity: 2 - high",
		"Compte : Acme <admin@acme.example>\nMoteur\u00a0: x\nGravité : Élevée\nEnvironnement : prod",
		"- Severity: 5\n> Engine: q\nLe 5 janv. 2026, X a écrit :\n> Moteur : y",
		"From: a\nSent: b\nTo: c\nSubject: d\nEngine: e",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fl := mailparse.ExtractFields(s)
		if fl.Severity < 0 || fl.Severity > 4 || (fl.Severity != 0 && fl.SeverityRaw != "") {
			t.Fatalf("severity %d raw %q", fl.Severity, fl.SeverityRaw)
		}
		for _, v := range []string{fl.Account, fl.Engine, fl.Nature, fl.Environment, fl.SeverityRaw} {
			if strings.ContainsAny(v, "\n\r") || (utf8.ValidString(s) && !utf8.ValidString(v)) {
				t.Fatalf("value %q", v)
			}
		}
		nt := mailparse.NewText(s)
		if utf8.ValidString(s) && !utf8.ValidString(nt) {
			t.Fatalf("NewText made invalid UTF-8")
		}
	})
}

func FuzzCaseTag(f *testing.F) {
	for _, s := range []string{"Re: [CASE-1000] x", "AW: WG: [case-12]", "回复：[CASE-1]", "Re[2]: [CASE-]", "[CASE-1"} {
		f.Add(s, "CASE")
	}
	f.Fuzz(func(t *testing.T, subject, prefix string) {
		tag, ok := mailparse.CaseTag(subject, prefix)
		if ok {
			if !strings.HasPrefix(tag, prefix+"-") || !strings.Contains(strings.ToLower(subject), "["+strings.ToLower(tag)+"]") {
				t.Fatalf("CaseTag(%q, %q) = %q", subject, prefix, tag)
			}
			n := tag[len(prefix)+1:]
			if n == "" || strings.Trim(n, "0123456789") != "" {
				t.Fatalf("CaseTag(%q, %q) = %q", subject, prefix, tag)
			}
		}
		s := mailparse.StripPrefixes(subject)
		if !strings.HasSuffix(subject, s) {
			t.Fatalf("StripPrefixes(%q) = %q is not a suffix", subject, s)
		}
		if ok {
			if tag2, ok2 := mailparse.CaseTag(s, prefix); ok2 && tag2 != tag {
				// stripping prefixes never changes which tag is first, unless the
				// tag itself sat inside a prefix, which a prefix cannot hold.
				t.Fatalf("tag %q became %q after StripPrefixes(%q)", tag, tag2, subject)
			}
		}
	})
}
