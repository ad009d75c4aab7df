package calendar_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // tests must not depend on the host's zoneinfo

	"casemail/calendar"
)

// Calendars used by the tests.
var specs = map[string]calendar.Spec{
	// Swiftype: business hours 08:00–18:00 America/Los_Angeles, Mon–Fri,
	// Christmas and Labor Day (a Monday) off.
	"pacific": {TimeZone: "America/Los_Angeles", Weekdays: []string{"mon", "tue", "wed", "thu", "fri"},
		Hours: "08:00-18:00", Holidays: []string{"2026-12-25", "2026-09-07"}},
	// Every day 08:00–18:00 in Los Angeles, to put the DST Sundays in hours.
	"pacific7": {TimeZone: "America/Los_Angeles", Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		Hours: "08:00-18:00"},
	// Paris, Mon–Fri by default, 09:00–18:00.
	"paris": {TimeZone: "Europe/Paris", Hours: "09:00-18:00"},
	// Paris every day, 09:00–18:00.
	"paris7": {TimeZone: "Europe/Paris", Weekdays: []string{"sat", "sun", "mon", "tue", "wed", "thu", "fri"},
		Hours: "09:00-18:00"},
	// Coveo: 06:00–18:00 America/New_York, Mon–Fri.
	"coveo": {TimeZone: "America/New_York", Hours: "06:00-18:00"},
	// Veeam production: 24x7. Weekdays, hours and holidays are ignored.
	"veeam": {TimeZone: "America/New_York", Always: true, Weekdays: []string{"mon"},
		Holidays: []string{"2026-12-25"}},
	// Opening inside the hour skipped on 2026-03-08 in Los Angeles.
	"gap": {TimeZone: "America/Los_Angeles", Weekdays: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"},
		Hours: "02:30-18:00"},
	// Opening inside the hour repeated on 2026-11-01 in Los Angeles.
	"twice": {TimeZone: "America/Los_Angeles", Weekdays: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"},
		Hours: "01:30-12:00"},
	// UTC (empty time zone), round the clock on weekdays.
	"utc": {Hours: "00:00-24:00"},
}

func cals(t testing.TB) map[string]*calendar.Calendar {
	t.Helper()
	m := map[string]*calendar.Calendar{}
	for name, s := range specs {
		c, err := calendar.New(s)
		if err != nil {
			t.Fatalf("New(%s): %v", name, err)
		}
		m[name] = c
	}
	return m
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustTarget(t testing.TB, s string) calendar.Target {
	t.Helper()
	v, err := calendar.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Every due time below was worked out by hand; the offsets are part of the
// expected value (results are in the calendar's location).
// 2026: Sun Mar 8 and Sun Nov 1 are the US DST changes (at 02:00 local),
// Sun Mar 29 and Sun Oct 25 the EU ones (at 01:00 UTC).
var dueCases = []struct {
	cal, arrival, target, due string
	why                       string
}{
	// Plain business hours and days.
	{"pacific", "2026-02-03T10:00:00-08:00", "4bh", "2026-02-03T14:00:00-08:00", "Tue 10:00 + 4 open hours, same day"},
	{"pacific", "2026-02-06T17:00:00-08:00", "1bd", "2026-02-09T17:00:00-08:00", "PRODUCT.md: Friday 17:00 + 1bd = Monday 17:00"},
	{"pacific", "2026-02-07T10:00:00-08:00", "1bd", "2026-02-10T08:00:00-08:00", "PRODUCT.md: Saturday: clock starts Mon 08:00, one open day later is Tue 08:00"},
	{"pacific", "2026-02-07T10:00:00-08:00", "4bh", "2026-02-09T12:00:00-08:00", "Saturday: clock starts Mon 08:00, + 4h"},
	{"pacific", "2026-02-06T19:30:00-08:00", "4bh", "2026-02-09T12:00:00-08:00", "Friday evening: clock starts Mon 08:00, + 4h"},
	{"pacific", "2026-02-06T19:30:00-08:00", "1bd", "2026-02-10T08:00:00-08:00", "Friday evening: position is Mon's opening, one open day later Tue 08:00"},
	{"pacific", "2026-02-06T16:00:00-08:00", "2bd", "2026-02-10T16:00:00-08:00", "Fri 16:00 + 2 open days: Mon, Tue 16:00"},
	// Closing time, opening time, before opening.
	{"pacific", "2026-02-03T14:00:00-08:00", "4bh", "2026-02-03T18:00:00-08:00", "count runs out exactly at closing: due at 18:00, not Wed 08:00"},
	{"pacific", "2026-02-02T08:00:00-08:00", "20bh", "2026-02-03T18:00:00-08:00", "Mon 08:00 + 10h Mon + 10h Tue ends at Tue's closing"},
	{"pacific", "2026-02-03T06:15:00-08:00", "2bh", "2026-02-03T10:00:00-08:00", "before opening: clock starts 08:00"},
	{"pacific", "2026-02-03T08:00:00-08:00", "1bd", "2026-02-04T08:00:00-08:00", "exactly at opening: next open day at opening"},
	{"pacific", "2026-02-03T08:00:00-08:00", "10bh", "2026-02-03T18:00:00-08:00", "exactly at opening + a full day of hours = closing"},
	{"pacific", "2026-02-03T18:00:00-08:00", "1bh", "2026-02-04T09:00:00-08:00", "exactly at closing is outside hours: clock starts Wed 08:00"},
	{"pacific", "2026-02-06T18:00:00-08:00", "1bd", "2026-02-10T08:00:00-08:00", "Fri exactly at closing: clock starts Mon 08:00, + 1bd = Tue 08:00"},
	{"pacific", "2026-02-03T17:59:59-08:00", "1bh", "2026-02-04T08:59:59-08:00", "one second before closing: 1s Tue + 59m59s Wed"},
	// Holidays.
	{"pacific", "2026-12-24T16:00:00-08:00", "4bh", "2026-12-28T10:00:00-08:00", "Thu 2h, Fri 12-25 holiday, weekend, Mon 08:00 + 2h"},
	{"pacific", "2026-12-24T16:00:00-08:00", "1bd", "2026-12-28T16:00:00-08:00", "next open day after Thu 12-24 is Mon 12-28"},
	{"pacific", "2026-12-21T09:00:00-08:00", "5bd", "2026-12-29T09:00:00-08:00", "Tue22 Wed23 Thu24 (Fri25 off) Mon28 Tue29"},
	{"pacific", "2026-09-04T10:00:00-07:00", "1bd", "2026-09-08T10:00:00-07:00", "Monday holiday 09-07 pushes Fri + 1bd to Tue"},
	{"pacific", "2026-09-04T10:00:00-07:00", "2bd", "2026-09-09T10:00:00-07:00", "Fri + 2bd: Tue, Wed (Mon 09-07 off)"},
	{"pacific", "2026-09-07T09:00:00-07:00", "4bh", "2026-09-08T12:00:00-07:00", "arrival on the Monday holiday: clock starts Tue 08:00"},
	// Multi-week spans.
	{"pacific", "2026-02-02T08:00:00-08:00", "100bh", "2026-02-13T18:00:00-08:00", "10 full open days: Feb 2–6 and 9–13, ends at closing"},
	{"pacific", "2026-02-04T13:30:00-08:00", "75bh", "2026-02-16T08:30:00-08:00", "Wed 4.5h + 7 full days 70h = 74.5h, Mon 16 08:00 + 0.5h"},
	{"pacific", "2026-03-02T08:00:00-08:00", "60bh", "2026-03-09T18:00:00-07:00", "Mar 2–6 (50h) + Mon Mar 9 (10h, now PDT), ends at closing"},
	// DST, America/Los_Angeles (Mon–Fri: the change falls on the closed Sunday).
	{"pacific", "2026-03-06T17:00:00-08:00", "4bh", "2026-03-09T11:00:00-07:00", "spring forward: Fri 1h PST, Mon 08:00 PDT + 3h"},
	{"pacific", "2026-03-06T17:00:00-08:00", "1bd", "2026-03-09T17:00:00-07:00", "spring forward: Fri 17:00 -> Mon 17:00 local (71h elapsed)"},
	{"pacific", "2026-03-07T22:00:00-08:00", "8h", "2026-03-08T07:00:00-07:00", "spring forward, elapsed: 4h to 02:00 PST = 03:00 PDT, + 4h"},
	{"pacific", "2026-10-30T17:00:00-07:00", "4bh", "2026-11-02T11:00:00-08:00", "fall back: Fri 1h PDT, Mon 08:00 PST + 3h"},
	{"pacific", "2026-10-30T17:00:00-07:00", "1bd", "2026-11-02T17:00:00-08:00", "fall back: Fri 17:00 -> Mon 17:00 local (73h elapsed)"},
	{"pacific", "2026-10-31T20:00:00-07:00", "12h", "2026-11-01T07:00:00-08:00", "fall back, elapsed: 5h to 01:00 PDT, 1h to 01:00 PST, + 6h"},
	// DST, America/Los_Angeles, open on the change day itself.
	{"pacific7", "2026-03-07T16:00:00-08:00", "4bh", "2026-03-08T10:00:00-07:00", "Sat 2h PST, Sun (23h day) 08:00 PDT + 2h"},
	{"pacific7", "2026-03-07T12:00:00-08:00", "1bd", "2026-03-08T12:00:00-07:00", "same local clock time on the 23h day (23h elapsed)"},
	{"pacific7", "2026-03-08T08:00:00-07:00", "10bh", "2026-03-08T18:00:00-07:00", "the 23h day still has 10 open hours, ends at closing"},
	{"pacific7", "2026-11-01T08:00:00-08:00", "10bh", "2026-11-01T18:00:00-08:00", "the 25h day still has 10 open hours, ends at closing"},
	{"pacific7", "2026-10-31T12:00:00-07:00", "1bd", "2026-11-01T12:00:00-08:00", "same local clock time on the 25h day (25h elapsed)"},
	// DST, Europe/Paris (Mon–Fri).
	{"paris", "2026-03-27T16:00:00+01:00", "4bh", "2026-03-30T11:00:00+02:00", "spring forward: Fri 2h CET, Mon 09:00 CEST + 2h"},
	{"paris", "2026-03-27T16:00:00+01:00", "1bd", "2026-03-30T16:00:00+02:00", "spring forward: Fri 16:00 -> Mon 16:00 local"},
	{"paris", "2026-03-28T23:00:00+01:00", "6h", "2026-03-29T06:00:00+02:00", "spring forward, elapsed: 3h to 02:00 CET = 03:00 CEST, + 3h"},
	{"paris", "2026-10-23T17:00:00+02:00", "2bh", "2026-10-26T10:00:00+01:00", "fall back: Fri 1h CEST, Mon 09:00 CET + 1h"},
	{"paris", "2026-10-23T17:00:00+02:00", "1bd", "2026-10-26T17:00:00+01:00", "fall back: Fri 17:00 -> Mon 17:00 local"},
	{"paris", "2026-10-24T23:00:00+02:00", "6h", "2026-10-25T04:00:00+01:00", "fall back, elapsed: 4h to 03:00 CEST = 02:00 CET, + 2h"},
	// DST, Europe/Paris, open on the change day.
	{"paris7", "2026-03-28T16:00:00+01:00", "4bh", "2026-03-29T11:00:00+02:00", "Sat 2h CET, Sun 09:00 CEST + 2h"},
	{"paris7", "2026-10-25T09:00:00+01:00", "9bh", "2026-10-25T18:00:00+01:00", "the 25h day has 9 open hours 09:00–18:00, ends at closing"},
	{"paris7", "2026-10-24T10:00:00+02:00", "1bd", "2026-10-25T10:00:00+01:00", "same local clock time across fall back (25h elapsed)"},
	// Coveo 06:00–18:00 America/New_York.
	{"coveo", "2026-03-06T15:00:00-05:00", "4bh", "2026-03-09T07:00:00-04:00", "Fri 3h EST, Mon 06:00 EDT + 1h"},
	{"coveo", "2026-02-03T05:00:00-05:00", "12bh", "2026-02-03T18:00:00-05:00", "before opening: 06:00 + 12h = closing"},
	{"coveo", "2026-02-04T20:00:00-05:00", "2bd", "2026-02-09T06:00:00-05:00", "Wed evening: clock starts Thu 06:00; Fri 06:00, Mon 06:00"},
	{"coveo", "2026-10-30T17:30:00-04:00", "1bh", "2026-11-02T06:30:00-05:00", "Fri 0.5h EDT, Mon 06:00 EST + 0.5h"},
	// Veeam production, 24x7 America/New_York.
	{"veeam", "2026-02-03T10:00:00-05:00", "1h", "2026-02-03T11:00:00-05:00", "24x7: 1 elapsed hour"},
	{"veeam", "2026-03-07T23:30:00-05:00", "3h", "2026-03-08T03:30:00-04:00", "elapsed across spring forward: 02:30 EST = 03:30 EDT"},
	{"veeam", "2026-03-08T01:00:00-05:00", "1bh", "2026-03-08T03:00:00-04:00", "24x7 bh is elapsed: 02:00 EST = 03:00 EDT"},
	{"veeam", "2026-10-31T22:00:00-04:00", "6h", "2026-11-01T03:00:00-05:00", "elapsed across fall back: 3h to 01:00 EDT, 1h to 01:00 EST, + 2h"},
	{"veeam", "2026-12-25T09:00:00-05:00", "8h", "2026-12-25T17:00:00-05:00", "24x7 ignores the 12-25 holiday"},
	{"veeam", "2026-12-25T09:00:00-05:00", "8bh", "2026-12-25T17:00:00-05:00", "24x7 ignores holidays (and weekdays = [mon]) for bh too"},
	{"veeam", "2026-03-07T12:00:00-05:00", "1bd", "2026-03-08T12:00:00-04:00", "24x7 bd: same local clock time next day (23h elapsed)"},
	{"veeam", "2026-10-31T12:00:00-04:00", "1bd", "2026-11-01T12:00:00-05:00", "24x7 bd: same local clock time next day (25h elapsed)"},
	{"veeam", "2026-03-07T02:30:00-05:00", "1bd", "2026-03-08T03:00:00-04:00", "24x7 bd: 02:30 is skipped on Mar 8: the instant of the jump"},
	// Hours in the DST gap / repeated hour.
	{"gap", "2026-03-08T00:00:00-08:00", "1bh", "2026-03-08T04:00:00-07:00", "02:30 does not exist on Mar 8: opens at the jump, 03:00 PDT, + 1h"},
	{"gap", "2026-03-07T17:30:00-08:00", "2bh", "2026-03-08T04:30:00-07:00", "Sat 0.5h, Sun opens 03:00 PDT + 1.5h"},
	{"gap", "2026-03-09T02:00:00-07:00", "1bh", "2026-03-09T03:30:00-07:00", "the day after, 02:30 exists again"},
	{"gap", "2026-03-08T01:00:00-08:00", "1bd", "2026-03-09T02:30:00-07:00", "clock starts at Sunday's opening (03:00 PDT, the jump): position = opening, Mon 02:30"},
	{"gap", "2026-03-07T02:30:00-08:00", "1bd", "2026-03-08T03:00:00-07:00", "Sat at opening: Sun's opening, 02:30 skipped, so 03:00 PDT"},
	{"gap", "2026-03-07T10:00:00-08:00", "1bd", "2026-03-08T10:00:00-07:00", "Sat 10:00 -> Sun 10:00 local"},
	{"twice", "2026-11-01T00:00:00-07:00", "1bh", "2026-11-01T01:30:00-08:00", "01:30 occurs twice: opens at the first (PDT); 1h later is 01:30 PST"},
	{"twice", "2026-11-01T01:30:00-07:00", "11bh", "2026-11-01T11:30:00-08:00", "hours containing the change are real time: 10.5h on the wall + 1h"},
	// UTC, empty time zone.
	{"utc", "2026-02-06T20:00:00Z", "8bh", "2026-02-09T04:00:00Z", "Fri 4h to 24:00, Mon 00:00 + 4h"},
}

func TestDue(t *testing.T) {
	cs := cals(t)
	for _, tc := range dueCases {
		c := cs[tc.cal]
		arr := mustTime(t, tc.arrival)
		target := mustTarget(t, tc.target)
		got := c.Due(arr, target)
		if s := got.Format(time.RFC3339); s != tc.due {
			t.Errorf("%s: Due(%s, %s) = %s, want %s (%s)", tc.cal, tc.arrival, tc.target, s, tc.due, tc.why)
		}
		if got.Location() != c.Location() {
			t.Errorf("%s: Due(%s, %s) in %v, want %v", tc.cal, tc.arrival, tc.target, got.Location(), c.Location())
		}
		if target.Unit == calendar.BusinessDays {
			if bd := c.AddBusinessDays(arr, target.N); !bd.Equal(got) {
				t.Errorf("%s: AddBusinessDays(%s, %d) = %s, want Due %s", tc.cal, tc.arrival, target.N, bd.Format(time.RFC3339), tc.due)
			}
		}
		if at := c.At(arr, target, 1); !at.Equal(got) {
			t.Errorf("%s: At(%s, %s, 1) = %s, want Due %s", tc.cal, tc.arrival, tc.target, at.Format(time.RFC3339), tc.due)
		}
	}
}

var atCases = []struct {
	cal, arrival, target string
	fraction             float64
	at, why              string
}{
	{"pacific", "2026-02-03T10:00:00-08:00", "4bh", 0.75, "2026-02-03T13:00:00-08:00", "3 of 4 open hours"},
	{"pacific", "2026-02-06T16:00:00-08:00", "4bh", 0.75, "2026-02-09T09:00:00-08:00", "3 open hours: Fri 2h, Mon 08:00 + 1h"},
	{"pacific", "2026-02-06T16:00:00-08:00", "1bd", 0.75, "2026-02-09T13:30:00-08:00", "Due Mon 16:00; open time Fri 2h + Mon 8h = 10h; 7.5h: Fri 2h, Mon 08:00 + 5.5h"},
	{"pacific", "2026-02-07T10:00:00-08:00", "1bd", 0.75, "2026-02-09T15:30:00-08:00", "clock Mon 08:00, Due Tue 08:00: 10h open, 7.5h -> Mon 15:30"},
	{"pacific", "2026-02-03T14:00:00-08:00", "8bh", 0.5, "2026-02-03T18:00:00-08:00", "half of 8bh runs out at closing: due at closing"},
	{"pacific", "2026-03-06T17:00:00-08:00", "4bh", 0.75, "2026-03-09T10:00:00-07:00", "Fri 1h PST, Mon 08:00 PDT + 2h"},
	{"veeam", "2026-03-07T23:00:00-05:00", "4h", 0.75, "2026-03-08T03:00:00-04:00", "3 elapsed hours: 02:00 EST = 03:00 EDT"},
	{"veeam", "2026-03-07T12:00:00-05:00", "1bd", 0.75, "2026-03-08T06:15:00-04:00", "24x7 bd: 23h elapsed to Due, 75% = 17h15m: 05:15 EST = 06:15 EDT"},
	{"pacific", "2026-02-07T10:00:00-08:00", "4h", 0.75, "2026-02-07T13:00:00-08:00", "h: 75% of elapsed time from arrival, calendar ignored"},
	{"pacific", "2026-02-07T10:00:00-08:00", "4bh", 0, "2026-02-09T08:00:00-08:00", "fraction 0 is the clock start"},
	{"pacific", "2026-02-03T10:00:00-08:00", "4bh", 1.5, "2026-02-03T16:00:00-08:00", "150 % of 4bh = 6 open hours"},
}

func TestAt(t *testing.T) {
	cs := cals(t)
	for _, tc := range atCases {
		c := cs[tc.cal]
		got := c.At(mustTime(t, tc.arrival), mustTarget(t, tc.target), tc.fraction)
		if s := got.Format(time.RFC3339); s != tc.at {
			t.Errorf("%s: At(%s, %s, %v) = %s, want %s (%s)", tc.cal, tc.arrival, tc.target, tc.fraction, s, tc.at, tc.why)
		}
	}
}

func TestIsOpenNextOpening(t *testing.T) {
	cs := cals(t)
	p := cs["pacific"]
	for _, tc := range []struct {
		t    string
		open bool
		next string
	}{
		{"2026-02-03T08:00:00-08:00", true, "2026-02-03T08:00:00-08:00"},
		{"2026-02-03T07:59:59-08:00", false, "2026-02-03T08:00:00-08:00"},
		{"2026-02-03T17:59:59-08:00", true, "2026-02-03T17:59:59-08:00"},
		{"2026-02-03T18:00:00-08:00", false, "2026-02-04T08:00:00-08:00"},
		{"2026-02-07T12:00:00-08:00", false, "2026-02-09T08:00:00-08:00"},
		{"2026-12-25T12:00:00-08:00", false, "2026-12-28T08:00:00-08:00"},
		{"2026-02-03T20:00:00Z", true, "2026-02-03T12:00:00-08:00"}, // other zone in, calendar zone out
	} {
		at := mustTime(t, tc.t)
		if got := p.IsOpen(at); got != tc.open {
			t.Errorf("IsOpen(%s) = %v", tc.t, got)
		}
		if got := p.NextOpening(at).Format(time.RFC3339); got != tc.next {
			t.Errorf("NextOpening(%s) = %s, want %s", tc.t, got, tc.next)
		}
	}
	if !cs["veeam"].IsOpen(mustTime(t, "2026-12-25T03:00:00Z")) {
		t.Error("24x7 calendar closed on a holiday")
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		spec calendar.Spec
		want string
	}{
		{specs["pacific"], "Mon–Fri 08:00–18:00 America/Los_Angeles"},
		{specs["veeam"], "24x7"},
		{specs["pacific7"], "Mon–Sun 08:00–18:00 America/Los_Angeles"},
		{specs["utc"], "Mon–Fri 00:00–24:00 UTC"},
		{calendar.Spec{Weekdays: []string{"sun", "mon", "tue", "wed", "thu"}, Hours: "09:00-17:00", TimeZone: "Asia/Jerusalem"}, "Sun–Thu 09:00–17:00 Asia/Jerusalem"},
		{calendar.Spec{Weekdays: []string{"fri", "Mon", "wed"}, Hours: "9:30-17:00"}, "Mon, Wed, Fri 09:30–17:00 UTC"},
		{calendar.Spec{Weekdays: []string{"sat", "sun"}, Hours: "10:00-14:00"}, "Sat, Sun 10:00–14:00 UTC"},
	} {
		c, err := calendar.New(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Describe(); got != tc.want {
			t.Errorf("Describe() = %q, want %q", got, tc.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		spec calendar.Spec
		want string
	}{
		{calendar.Spec{TimeZone: "Mars/Base", Hours: "08:00-18:00"}, `time_zone: unknown time zone "Mars/Base"`},
		{calendar.Spec{TimeZone: "Local", Hours: "08:00-18:00"}, `time_zone: "Local" is not an IANA time zone`},
		{calendar.Spec{TimeZone: "Mars/Base", Always: true}, `time_zone: unknown time zone "Mars/Base"`},
		{calendar.Spec{Weekdays: []string{"mon", "mo"}, Hours: "08:00-18:00"}, `weekdays: "mo" is not a day (mon…sun)`},
		{calendar.Spec{Weekdays: []string{"monday"}, Hours: "08:00-18:00"}, `weekdays: "monday" is not a day (mon…sun)`},
		{calendar.Spec{Hours: "8-18"}, `hours: "8-18" is not HH:MM-HH:MM`},
		{calendar.Spec{Hours: "08:00"}, `hours: "08:00" is not HH:MM-HH:MM`},
		{calendar.Spec{Hours: "08:60-18:00"}, `hours: "08:60-18:00" is not HH:MM-HH:MM`},
		{calendar.Spec{Hours: "24:00-24:00"}, `hours: "24:00-24:00" is not HH:MM-HH:MM`},
		{calendar.Spec{Hours: "25:00-26:00"}, `hours: "25:00-26:00" is not HH:MM-HH:MM`},
		{calendar.Spec{Hours: "18:00-08:00"}, `hours: "18:00-08:00" closes before it opens`},
		{calendar.Spec{Hours: "08:00-08:00"}, `hours: "08:00-08:00" closes before it opens`},
		{calendar.Spec{}, `hours: missing`},
		{calendar.Spec{Hours: "08:00-18:00", Holidays: []string{"2026-13-01"}}, `holidays: "2026-13-01" is not a date YYYY-MM-DD`},
		{calendar.Spec{Hours: "08:00-18:00", Holidays: []string{"2026-02-30"}}, `holidays: "2026-02-30" is not a date YYYY-MM-DD`},
		{calendar.Spec{Hours: "08:00-18:00", Holidays: []string{"25/12/2026"}}, `holidays: "25/12/2026" is not a date YYYY-MM-DD`},
	} {
		_, err := calendar.New(tc.spec)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.spec, err, tc.want)
		}
	}
	// Always ignores weekdays, hours and holidays, valid or not.
	if _, err := calendar.New(calendar.Spec{Always: true, Weekdays: []string{"mo"}, Hours: "x", Holidays: []string{"x"}}); err != nil {
		t.Errorf("Always with ignored fields: %v", err)
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want calendar.Target
	}{
		{"4bh", calendar.Target{N: 4, Unit: calendar.BusinessHours}},
		{"1bd", calendar.Target{N: 1, Unit: calendar.BusinessDays}},
		{"8h", calendar.Target{N: 8, Unit: calendar.Hours}},
		{"120bh", calendar.Target{N: 120, Unit: calendar.BusinessHours}},
		{" 2bd ", calendar.Target{N: 2, Unit: calendar.BusinessDays}},
	} {
		got, err := calendar.ParseTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseTarget(%q) = %v, %v", tc.in, got, err)
		}
		if s := got.String(); s != strings.TrimSpace(tc.in) {
			t.Errorf("String() = %q, want %q", s, strings.TrimSpace(tc.in))
		}
		if !got.Valid() {
			t.Errorf("%v not Valid", got)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"4x", `"4x" is not a target: a number followed by bh, bd or h`},
		{"bh", `"bh" is not a target: a number followed by bh, bd or h`},
		{"", `"" is not a target: a number followed by bh, bd or h`},
		{"4 bh", `"4 bh" is not a target: a number followed by bh, bd or h`},
		{"4BH", `"4BH" is not a target: a number followed by bh, bd or h`},
		{"-1bh", `"-1bh" is not a target: a number followed by bh, bd or h`},
		{"1.5h", `"1.5h" is not a target: a number followed by bh, bd or h`},
		{"0bh", `"0bh" is not a target: the number must be at least 1`},
		{"00h", `"00h" is not a target: the number must be at least 1`},
		{"10001bd", `"10001bd" is not a target: the number must be at most 10000`},
		{"99999999999999999999h", `"99999999999999999999h" is not a target: the number must be at most 10000`},
	} {
		_, err := calendar.ParseTarget(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("ParseTarget(%q) error = %v, want %q", tc.in, err, tc.want)
		}
	}
	if (calendar.Target{}).Valid() {
		t.Error("zero Target is Valid")
	}
}
