package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"casemail/intake"
)

func TestCaseFilter(t *testing.T) {
	now := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	at := func(h int) *time.Time { v := now.Add(time.Duration(h) * time.Hour); return &v }
	yes, no := true, false
	cases := map[string]*intake.Case{
		"overdue":  {ID: "C-1", State: intake.StateOpen, Account: "a@x", FirstResponseDue: at(-1)},
		"due-soon": {ID: "C-2", State: intake.StateOpen, Account: "a@x", FirstResponseDue: at(2)},
		"due-late": {ID: "C-3", State: intake.StateOpen, Account: "b@x", FirstResponseDue: at(30)},
		"met":      {ID: "C-4", State: intake.StateWaiting, Account: "a@x", FirstResponseDue: at(-5), FirstResponseAt: at(-6), FirstResponseMet: &yes},
		"missed":   {ID: "C-5", State: intake.StateWaiting, Account: "b@x", FirstResponseDue: at(-5), FirstResponseAt: at(-2), FirstResponseMet: &no},
		"closed":   {ID: "C-6", State: intake.StateClosed, Account: "a@x", FirstResponseDue: at(-9)},
		"no-plan":  {ID: "C-7", State: intake.StateOpen, Account: "a@x"},
	}
	for _, tc := range []struct {
		name string
		f    caseFilter
		want []string
	}{
		{"all", caseFilter{}, []string{"overdue", "due-soon", "due-late", "met", "missed", "closed", "no-plan"}},
		{"state", caseFilter{State: "waiting"}, []string{"met", "missed"}},
		{"account any case", caseFilter{Account: "B@X"}, []string{"due-late", "missed"}},
		{"breached", caseFilter{Breached: true, Now: now}, []string{"overdue", "missed"}},
		{"due before 4h", caseFilter{DueBefore: now.Add(4 * time.Hour), Now: now}, []string{"overdue", "due-soon"}},
		{"breached of b", caseFilter{Breached: true, Account: "b@x", Now: now}, []string{"missed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := map[string]bool{}
			for _, w := range tc.want {
				want[w] = true
			}
			for name, c := range cases {
				if got := tc.f.match(c); got != want[name] {
					t.Errorf("match(%s) = %v, want %v", name, got, want[name])
				}
			}
		})
	}
	// The filter survives the trip through the admin API's query.
	f := caseFilter{State: "open", Account: "a@x", Breached: true, DueBefore: now.Add(time.Hour)}
	back, err := filterFromQuery(url.Values(f.query()), now)
	if err != nil || back.State != f.State || back.Account != f.Account || !back.Breached || !back.DueBefore.Equal(f.DueBefore) {
		t.Errorf("filterFromQuery(query()) = %+v, %v; want %+v", back, err, f)
	}
	if _, err := filterFromQuery(url.Values{"due_before": {"tomorrow"}}, now); err == nil {
		t.Error("due_before=tomorrow accepted")
	}
}

func TestPrintCaseFirstResponse(t *testing.T) {
	due := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	at := due.Add(time.Hour)
	missed := false
	c := &intake.Case{ID: "CASE-1000", State: intake.StateWaiting, FirstResponseDue: &due,
		FirstResponseAt: &at, FirstResponseMet: &missed}
	var b strings.Builder
	printCase(&b, c)
	for _, want := range []string{"first response due: 2026-11-24T18:00:00Z", "first response:     2026-11-24T19:00:00Z (target missed)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("cases show output lacks %q:\n%s", want, b.String())
		}
	}
}
