package benchmail

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestContacts(t *testing.T) {
	cs := Contacts(3)
	if len(cs) != 3*PerAccount || cs[0].Plan != "premium" || cs[PerAccount].Plan != "standard" {
		t.Fatalf("contacts %+v", cs)
	}
	toml := ContactsTOML(cs)
	if n := strings.Count(toml, "[[account]]"); n != 3 {
		t.Errorf("%d accounts in\n%s", n, toml)
	}
	for _, c := range cs {
		if !strings.Contains(toml, `"`+c.Addr+`"`) {
			t.Errorf("%s missing", c.Addr)
		}
	}
}

// The same seed gives the same mails; the sizes are those documented
// (quoted-printable French text grows by a few KiB).
func TestNewCase(t *testing.T) {
	gen := func() [][]byte {
		r := rand.New(rand.NewPCG(1, 2))
		cs := Contacts(2)
		date := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		var out [][]byte
		for i := 0; i < 200; i++ {
			s := NewCase(r, i, cs[i%len(cs)], "t", 10)
			raw := s.Render(r, date)
			if s.AttachLen == 0 && (len(raw) < 18<<10 || len(raw) > 32<<10) {
				t.Errorf("mail %d (%s): %d bytes", i, s.Kind, len(raw))
			}
			if s.AttachLen > 0 && len(raw) < s.AttachLen*4/3 {
				t.Errorf("mail %d: %d bytes for an attachment of %d", i, len(raw), s.AttachLen)
			}
			if !bytes.Contains(raw, []byte("Message-ID: <"+s.MessageID+">\r\n")) {
				t.Errorf("mail %d: no Message-ID %s", i, s.MessageID)
			}
			out = append(out, raw)
		}
		return out
	}
	a, b := gen(), gen()
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("mail %d differs between two runs with the same seed", i)
		}
	}
}

func TestBigLatency(t *testing.T) {
	c := Contacts(1)[2]
	if raw := Big(c, 1<<20, "n"); len(raw) < 1<<20 || !bytes.Contains(raw, []byte("bench-big-n@acct0000.example")) {
		t.Errorf("big: %d bytes", len(raw))
	}
	subject, raw := Latency(c, "tok")
	if subject != "Latency probe tok" || !bytes.Contains(raw, []byte("Subject: "+subject+"\r\n")) {
		t.Errorf("latency: %q\n%s", subject, raw)
	}
}
