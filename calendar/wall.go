package calendar

import "time"

// date is a civil (local) date.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time, loc *time.Location) date {
	y, m, d := t.In(loc).Date()
	return date{y, m, d}
}

// noon is the date at noon UTC, a safe instant for calendar arithmetic.
func (d date) noon() time.Time { return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC) }

func (d date) add(n int) date {
	y, m, dd := time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC).Date()
	return date{y, m, dd}
}

func (d date) weekday() time.Weekday { return d.noon().Weekday() }

func offsetAt(t time.Time, loc *time.Location) int {
	_, off := t.In(loc).Zone()
	return off
}

// wallClock is the local time of day of t as a duration since local midnight
// (wall clock, not elapsed time: 10:00 is always 10h, even on a DST day).
func wallClock(t time.Time, loc *time.Location) time.Duration {
	l := t.In(loc)
	return time.Duration(l.Hour())*time.Hour + time.Duration(l.Minute())*time.Minute +
		time.Duration(l.Second())*time.Second + time.Duration(l.Nanosecond())
}

// resolve gives the instant at which the local clock in loc shows wall
// (a duration since midnight, up to 24h meaning the next midnight) on day d.
//
// Wall-clock times that do not exist (the hour skipped when clocks go
// forward) resolve to the instant of the jump: the first instant at which the
// local clock has passed that time. A business that opens at 02:30 on a day
// when clocks jump from 02:00 to 03:00 opens at 03:00.
//
// Wall-clock times that occur twice (the hour repeated when clocks go back)
// resolve to their first occurrence.
//
// Unlike time.Date, whose choice in both cases is unspecified (and differs
// between zones east and west of UTC in practice), this is deterministic.
func resolve(d date, wall time.Duration, loc *time.Location) time.Time {
	// w holds the wanted wall clock in its UTC fields.
	w := time.Date(d.y, d.m, d.d, 0, 0, 0, 0, time.UTC).Add(wall)
	// The real instant is w - offset with offset within ±14h. The offsets in
	// effect a day either side cover any single transition in between.
	o1 := offsetAt(w.Add(-24*time.Hour), loc)
	o2 := offsetAt(w.Add(24*time.Hour), loc)
	var best time.Time
	found := false
	for _, o := range [2]int{o1, o2} {
		x := w.Add(-time.Duration(o) * time.Second)
		if offsetAt(x, loc) != o {
			continue
		}
		if !found || x.Before(best) {
			best, found = x, true
		}
	}
	if found {
		return best.In(loc)
	}
	// A gap: with the earlier offset the instant lies after the jump; the
	// jump is the start of the zone period it lies in.
	x := w.Add(-time.Duration(o1) * time.Second)
	if start, _ := x.In(loc).ZoneBounds(); !start.IsZero() && !start.After(x) {
		return start.In(loc)
	}
	// Two transitions within two days (never seen in practice): fall back
	// on time.Date.
	return time.Date(d.y, d.m, d.d, 0, 0, 0, int(wall), loc)
}
