package mailparse_test

import (
	"strings"
	"testing"

	"casemail/mailparse"
)

// TestColonInEncodedName: a raw ':' inside an encoded display name is not
// group syntax; the address is kept.
func TestColonInEncodedName(t *testing.T) {
	for _, from := range []string{
		"=?utf-8?Q?Support:_Team?= <team@acme.example>",
		"=?utf-8?Q?Acme_Support?= <team@acme.example>",
	} {
		raw := "From: " + from + "\r\nTo: support@example.com\r\nSubject: x\r\n\r\nbody\r\n"
		m, err := mailparse.Parse(strings.NewReader(raw), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.From.Addr != "team@acme.example" || m.FromCount != 1 {
			t.Errorf("From %q: got %q (count %d), want team@acme.example", from, m.From.Addr, m.FromCount)
		}
	}
	// Real group syntax still has no address.
	m, _ := mailparse.Parse(strings.NewReader("From: Undisclosed:;\r\nSubject: x\r\n\r\nbody\r\n"), nil)
	if m.From.Addr != "" {
		t.Errorf("group syntax gave address %q", m.From.Addr)
	}
}
