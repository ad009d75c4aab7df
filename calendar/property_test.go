package calendar_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"casemail/calendar"
)

// wallOpen is IsOpen written independently from the wall clock, valid for
// calendars whose hours do not contain a DST change.
func wallOpen(s calendar.Spec, loc *time.Location, t time.Time) bool {
	lt := t.In(loc)
	days := s.Weekdays
	if len(days) == 0 {
		days = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	day := map[time.Weekday]string{0: "sun", 1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat"}[lt.Weekday()]
	found := false
	for _, d := range days {
		found = found || d == day
	}
	for _, h := range s.Holidays {
		found = found && h != lt.Format("2006-01-02")
	}
	hm := lt.Format("15:04")
	return found && hm >= s.Hours[:5] && hm < s.Hours[6:]
}

func TestProperties(t *testing.T) {
	cs := cals(t)
	names := []string{"pacific", "pacific7", "paris", "paris7", "coveo", "veeam", "gap", "twice", "utc"}
	// Calendars whose hours contain no DST change and do not close at 24:00:
	// wallOpen applies, and bd keeps the local clock time exactly.
	plain := map[string]bool{"pacific": true, "pacific7": true, "paris": true, "paris7": true, "coveo": true}
	dstDays := []string{"2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25", "2026-12-25", "2026-09-07"}
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(2026, 11))
	iterations := 4000
	if testing.Short() {
		iterations = 500
	}
	for i := 0; i < iterations; i++ {
		name := names[rng.IntN(len(names))]
		c := cs[name]
		var arr time.Time
		aligned := true
		switch rng.IntN(3) {
		case 0: // anywhere in 2026, to the nanosecond
			arr = year.Add(time.Duration(rng.Int64N(int64(365 * 24 * time.Hour))))
			aligned = false
		case 1: // on a quarter hour
			arr = year.Add(time.Duration(rng.IntN(365*24*4)) * 15 * time.Minute)
		default: // a quarter hour within two days of a DST change or holiday
			d, _ := time.ParseInLocation("2006-01-02", dstDays[rng.IntN(len(dstDays))], c.Location())
			arr = d.Add(time.Duration(rng.IntN(4*24*4)-2*24*4) * 15 * time.Minute)
		}
		var tg calendar.Target
		switch rng.IntN(3) {
		case 0:
			tg = calendar.Target{N: 1 + rng.IntN(40), Unit: calendar.BusinessHours}
		case 1:
			tg = calendar.Target{N: 1 + rng.IntN(10), Unit: calendar.BusinessDays}
		default:
			tg = calendar.Target{N: 1 + rng.IntN(48), Unit: calendar.Hours}
		}
		due := c.Due(arr, tg)
		start := c.NextOpening(arr)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: Due(%s, %s) = %s: "+format,
				append([]any{name, arr.In(c.Location()).Format(time.RFC3339Nano), tg, due.Format(time.RFC3339Nano)}, args...)...)
		}
		if due.Before(arr) {
			fail("before arrival")
		}
		if due.Location() != c.Location() {
			fail("in %v", due.Location())
		}
		if start.Before(arr) || !c.IsOpen(start) || (c.IsOpen(arr) && !start.Equal(arr)) {
			fail("bad clock start %s", start)
		}
		if plain[name] {
			for _, p := range []time.Time{arr, due, start, due.Add(-time.Nanosecond)} {
				if c.IsOpen(p) != wallOpen(specs[name], c.Location(), p) {
					t.Errorf("%s: IsOpen(%s) = %v, wall clock says otherwise", name, p.In(c.Location()), c.IsOpen(p))
				}
			}
		}
		n := time.Duration(tg.N) * time.Hour
		switch tg.Unit {
		case calendar.Hours:
			if due.Sub(arr) != n {
				fail("elapsed %v", due.Sub(arr))
			}
		case calendar.BusinessHours, calendar.BusinessDays:
			closing := !c.IsOpen(due) && c.IsOpen(due.Add(-time.Nanosecond))
			if !c.IsOpen(due) && !closing {
				fail("neither open nor a closing time")
			}
		}
		if tg.Unit == calendar.BusinessHours {
			if got := c.OpenBetween(start, due); got != n {
				fail("open time from clock start %v, want %v", got, n)
			}
			if got := c.OpenBetween(start, due.Add(-time.Nanosecond)); got >= n {
				fail("not the earliest instant: %v open a nanosecond before", got)
			}
			if aligned { // count open quarter hours one by one
				var open time.Duration
				for p := start; p.Before(due); p = p.Add(15 * time.Minute) {
					if c.IsOpen(p) {
						open += 15 * time.Minute
					}
				}
				if open != n {
					fail("counted %v open, want %v", open, n)
				}
			}
		}
		if tg.Unit == calendar.BusinessDays && name != "veeam" {
			// due falls on the N-th open day after the clock start's day.
			loc := c.Location()
			sd := start.In(loc)
			days := 0
			for d := time.Date(sd.Year(), sd.Month(), sd.Day()+1, 0, 0, 0, 0, loc); !d.After(due); d = d.AddDate(0, 0, 1) {
				if o := c.NextOpening(d).In(loc); o.YearDay() == d.YearDay() {
					days++
				}
			}
			if days != tg.N {
				fail("%d open days after the clock start, want %d", days, tg.N)
			}
			if plain[name] && due.In(loc).Format("15:04:05.999999999") != sd.Format("15:04:05.999999999") {
				fail("clock position %s, want %s", due.In(loc).Format("15:04:05"), sd.Format("15:04:05"))
			}
		}
		if tg.Unit == calendar.BusinessDays && name == "veeam" {
			loc := c.Location()
			if w := arr.In(loc).AddDate(0, 0, tg.N); due.In(loc).Format("2006-01-02 15:04") != w.Format("2006-01-02 15:04") &&
				!(w.Hour() == 2 && due.In(loc).Hour() == 3) { // skipped 02:xx -> 03:00
				fail("24x7 bd: want local %s", w.Format("2006-01-02 15:04"))
			}
		}
		// At: 0 is the clock start, 1 is Due, and it never goes back.
		clockStart := start
		if tg.Unit == calendar.Hours {
			clockStart = arr
		}
		if got := c.At(arr, tg, 0); !got.Equal(clockStart) {
			fail("At 0 = %s, want %s", got, clockStart)
		}
		if got := c.At(arr, tg, 1); !got.Equal(due) {
			fail("At 1 = %s", got)
		}
		prev := clockStart
		for _, f := range []float64{0.25, 0.5, 0.75, 0.999} {
			got := c.At(arr, tg, f)
			if got.Before(prev) || got.After(due) {
				fail("At %v = %s out of order", f, got)
			}
			prev = got
		}
		// Later arrival, later (or equal) due time.
		later := arr.Add(time.Duration(rng.Int64N(int64(72 * time.Hour))))
		if d2 := c.Due(later, tg); d2.Before(due) {
			fail("arrival %s later gives earlier due %s", later, d2)
		}
	}
}

func BenchmarkDue(b *testing.B) {
	c := cals(b)["pacific"]
	arr := mustTime(b, "2026-12-24T16:00:00-08:00") // across a holiday and a weekend
	for _, tg := range []string{"4bh", "40bh", "1bd", "5bd", "8h"} {
		target := mustTarget(b, tg)
		b.Run(tg, func(b *testing.B) {
			for b.Loop() {
				c.Due(arr, target)
			}
		})
	}
}

func BenchmarkAt(b *testing.B) {
	c := cals(b)["pacific"]
	arr := mustTime(b, "2026-12-24T16:00:00-08:00")
	target := mustTarget(b, "2bd")
	for b.Loop() {
		c.At(arr, target, 0.75)
	}
}
