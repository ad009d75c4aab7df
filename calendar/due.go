package calendar

import (
	"math"
	"time"
)

// Due is when a target that starts at arrival runs out, in the calendar's
// location. See the package documentation for the rules.
//
// For a target that is not Valid: N < 1 gives the clock start (arrival for
// h, NextOpening(arrival) for bh and bd); an unknown unit gives arrival.
func (c *Calendar) Due(arrival time.Time, t Target) time.Time {
	switch t.Unit {
	case Hours:
		return arrival.Add(time.Duration(max(t.N, 0)) * time.Hour).In(c.loc)
	case BusinessHours:
		return c.addOpen(c.NextOpening(arrival), time.Duration(max(t.N, 0))*time.Hour)
	case BusinessDays:
		return c.AddBusinessDays(arrival, t.N)
	}
	return arrival.In(c.loc)
}

// At is when the given fraction (0..1) of the target has run, e.g. 0.75 for
// a warning at 75 %:
//   - bh: fraction×N open hours after the clock start;
//   - bd: fraction of the open time between the clock start and Due;
//   - h: fraction of the elapsed duration.
//
// At(…, 0) is the clock start (arrival for h), At(…, 1) is Due. Fractions
// above 1 extend the count past Due the same way (1.5 = 150 %); negative
// fractions and NaN count as 0, fractions above 100 as 100. A count that runs
// out exactly at a closing time gives that closing time.
func (c *Calendar) At(arrival time.Time, t Target, fraction float64) time.Time {
	if fraction == 1 {
		return c.Due(arrival, t)
	}
	if !(fraction > 0) { // also NaN
		fraction = 0
	}
	fraction = min(fraction, 100)
	part := func(d time.Duration) time.Duration {
		f := math.Round(fraction * float64(d))
		if f >= math.MaxInt64 {
			return math.MaxInt64
		}
		return time.Duration(f)
	}
	n := time.Duration(max(t.N, 0)) * time.Hour
	switch t.Unit {
	case Hours:
		return arrival.Add(part(n)).In(c.loc)
	case BusinessHours:
		return c.addOpen(c.NextOpening(arrival), part(n))
	case BusinessDays:
		start := c.NextOpening(arrival)
		total := c.OpenBetween(start, c.Due(arrival, t))
		return c.addOpen(start, part(total))
	}
	return arrival.In(c.loc)
}

// AddBusinessDays is Due(start, Target{n, BusinessDays}): the same position
// of the business clock n open days later. The position is the local clock
// time of the clock start, or the opening when the clock starts at an
// opening (so an arrival outside hours lands on the opening of the n-th open
// day after the next opening). On a 24x7 calendar it is the same local clock
// time n days later. n < 1 gives the clock start.
func (c *Calendar) AddBusinessDays(start time.Time, n int) time.Time {
	if c.always {
		if n < 1 {
			return start.In(c.loc)
		}
		return resolve(dateOf(start, c.loc).add(n), wallClock(start, c.loc), c.loc)
	}
	cs := c.NextOpening(start)
	if n < 1 {
		return cs
	}
	d := dateOf(cs, c.loc)
	open, _, _ := c.dayOpen(d)
	atOpening := cs.Equal(open)
	for i := 0; n > 0 && i < maxDays+n; i++ {
		d = d.add(1)
		if _, _, ok := c.dayOpen(d); ok {
			n--
		}
	}
	s, e, _ := c.dayOpen(d)
	if atOpening {
		return s
	}
	t := resolve(d, wallClock(cs, c.loc), c.loc)
	// Only possible when DST shortens the open hours of one of the days.
	if t.Before(s) {
		return s
	}
	if t.After(e) {
		return e
	}
	return t
}
