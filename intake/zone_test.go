package intake_test

import (
	"strings"
	"testing"

	"casemail/intake"
)

// TestDueInCustomerZone: the acknowledgement shows the first-response due
// time in the plan's zone, naming it, and also in the customer's zone when
// the Date of their mail shows another one.
func TestDueInCustomerZone(t *testing.T) {
	e := newEnv(t, envOptions{})
	raw := mail(alice, "Index down", "Engine: acme-search\nSeverity: 1\nIt is down.",
		"Date: Wed, 3 Mar 2027 09:00:00 +0100")
	r, out := e.step(raw)
	wantOutcome(t, r, intake.OutcomeCaseCreated)
	ack := sentTo(out, "alice@acme.example")[0]
	wantContains(t, "ack", ack.Text, "PST (America/Los_Angeles)", "your time (UTC+01:00)")

	// A customer in the plan's own zone gets the plan's time only.
	raw = mail(alice, "Other", "Engine: acme-search\nIt is slow.", "Date: Wed, 3 Mar 2027 09:00:00 -0800")
	_, out = e.step(raw)
	ack = sentTo(out, "alice@acme.example")[0]
	if strings.Contains(ack.Text, "your time") {
		t.Errorf("ack repeats the due time for a customer in the plan's zone:\n%s", ack.Text)
	}
}
