// Package calendar computes support due times on a business calendar.
//
// A Calendar is a time zone, the open weekdays, the daily opening hours and
// holidays, or "24x7" (always open). Due times follow PRODUCT.md:
//
//   - the clock starts at arrival, or at the next opening when the mail
//     arrives outside the calendar's hours (an arrival exactly at closing time
//     is outside: open hours are the half-open interval [opening, closing));
//   - Nbh counts only open hours; a count that runs out exactly at closing
//     time is due at that closing time, not at the next opening;
//   - Nbd lands at the same position of the business clock N open days later
//     (Friday 17:00 + 1bd = Monday 17:00; Saturday 10:00 + 1bd = Tuesday
//     08:00, because Saturday's clock starts at Monday's opening);
//   - Nh is N hours of elapsed time, calendar ignored.
//
// Daily hours are local wall-clock times: on a DST change day an open day
// 08:00–18:00 is still open from 08:00 to 18:00 local. Open time is counted
// as elapsed (real) time between those instants, so such a day has 10 open
// hours whether it is 23 or 25 hours long, and only hours that contain the
// change itself (say 00:00–24:00, or 01:30–12:00 in America/Los_Angeles)
// are an hour shorter or longer that day. Opening or closing times that do
// not exist on a day (they fall in the hour skipped when clocks go forward)
// are taken as the instant of the jump; times that occur twice (the hour
// repeated when clocks go back) are taken at their first occurrence.
//
// A 24x7 calendar (Always) is always open and ignores weekdays, hours and
// holidays: Nbh is N elapsed hours, like Nh, and Nbd is the same local clock
// time N days later (so 1bd is 23 or 25 elapsed hours across a DST change;
// a clock time skipped on the target day is taken as the instant of the jump,
// one repeated is taken at its first occurrence).
//
// Every time returned is in the calendar's location.
package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec is a calendar as written in the config file ([calendars.NAME]).
type Spec struct {
	TimeZone string   // IANA zone, e.g. "America/Los_Angeles"; empty means UTC
	Weekdays []string // "mon".."sun" (any case); empty means mon–fri
	Hours    string   // "08:00-18:00" (local wall clock; "24:00" may close); required unless Always
	Holidays []string // "2026-12-25": whole local days closed
	Always   bool     // 24x7: ignores weekdays, hours and holidays
}

// Calendar is a parsed Spec. It is immutable and safe for concurrent use.
type Calendar struct {
	loc      *time.Location
	always   bool
	days     [7]bool       // indexed by time.Weekday
	open     time.Duration // wall clock since local midnight
	close    time.Duration // wall clock since local midnight, up to 24h
	holidays map[date]bool
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// New checks and parses a Spec. Errors name the config field, e.g.
// `time_zone: unknown time zone "Mars/Base"`.
func New(s Spec) (*Calendar, error) {
	c := &Calendar{loc: time.UTC, always: s.Always}
	if tz := strings.TrimSpace(s.TimeZone); tz != "" {
		if tz == "Local" {
			return nil, fmt.Errorf("time_zone: %q is not an IANA time zone (such as \"America/Los_Angeles\")", s.TimeZone)
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("time_zone: unknown time zone %q", s.TimeZone)
		}
		c.loc = loc
	}
	if s.Always {
		return c, nil
	}

	if len(s.Weekdays) == 0 {
		for d := time.Monday; d <= time.Friday; d++ {
			c.days[d] = true
		}
	}
	for _, w := range s.Weekdays {
		i := indexOf(dayNames[:], strings.ToLower(strings.TrimSpace(w)))
		if i < 0 {
			return nil, fmt.Errorf("weekdays: %q is not a day (mon…sun)", w)
		}
		c.days[i] = true
	}

	if strings.TrimSpace(s.Hours) == "" {
		return nil, fmt.Errorf(`hours: missing: give opening hours such as "08:00-18:00", or always = true for 24x7`)
	}
	open, close, err := parseHours(s.Hours)
	if err != nil {
		return nil, err
	}
	c.open, c.close = open, close

	c.holidays = make(map[date]bool, len(s.Holidays))
	for _, h := range s.Holidays {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("holidays: %q is not a date YYYY-MM-DD", h)
		}
		y, m, d := t.Date()
		c.holidays[date{y, m, d}] = true
	}
	return c, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// parseHours parses "HH:MM-HH:MM". The closing time may be "24:00" (end of
// the day); overnight hours (closing before opening) are refused.
func parseHours(s string) (open, close time.Duration, err error) {
	bad := fmt.Errorf("hours: %q is not HH:MM-HH:MM", s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, bad
	}
	open, ok1 := parseClock(strings.TrimSpace(a), false)
	close, ok2 := parseClock(strings.TrimSpace(b), true)
	if !ok1 || !ok2 {
		return 0, 0, bad
	}
	if close <= open {
		return 0, 0, fmt.Errorf("hours: %q closes before it opens (hours past midnight are not supported)", s)
	}
	return open, close, nil
}

func parseClock(s string, end bool) (time.Duration, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, false
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !end)) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// dayOpen gives the open interval [s, e) of local day d, if d is open.
func (c *Calendar) dayOpen(d date) (s, e time.Time, ok bool) {
	if !c.days[d.weekday()] || c.holidays[d] {
		return time.Time{}, time.Time{}, false
	}
	s = resolve(d, c.open, c.loc)
	e = resolve(d, c.close, c.loc)
	// Hours entirely inside a skipped DST hour leave nothing open.
	return s, e, s.Before(e)
}

// maxDays bounds searches for an open day. A valid calendar has at least one
// open weekday and finitely many holidays, so it is never reached in practice.
const maxDays = 100 * 366

// IsOpen reports whether the calendar is open at t (opening time included,
// closing time excluded). A 24x7 calendar is always open.
func (c *Calendar) IsOpen(t time.Time) bool {
	if c.always {
		return true
	}
	s, e, ok := c.dayOpen(dateOf(t, c.loc))
	return ok && !t.Before(s) && t.Before(e)
}

// NextOpening is t itself when the calendar is open at t, otherwise the next
// time it opens. This is when the clock of a target starts.
func (c *Calendar) NextOpening(t time.Time) time.Time {
	if c.always {
		return t.In(c.loc)
	}
	d := dateOf(t, c.loc)
	for i := 0; i < maxDays; i++ {
		if s, e, ok := c.dayOpen(d); ok && t.Before(e) {
			if t.Before(s) {
				return s
			}
			return t.In(c.loc)
		}
		d = d.add(1)
	}
	return t.In(c.loc).AddDate(100, 0, 0) // unreachable for a valid calendar
}

// OpenBetween is the open time between from and to (zero when to is not after
// from). On a 24x7 calendar it is the elapsed time.
func (c *Calendar) OpenBetween(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if c.always {
		return to.Sub(from)
	}
	var sum time.Duration
	last := dateOf(to, c.loc)
	for d := dateOf(from, c.loc); ; d = d.add(1) {
		if s, e, ok := c.dayOpen(d); ok {
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if e.After(s) {
				sum += e.Sub(s)
			}
		}
		if d == last {
			return sum
		}
	}
}

// addOpen is the first instant at which dur of open time has run from
// 'from'. A count that runs out exactly at a closing time gives that closing
// time. With dur = 0 it is NextOpening(from).
func (c *Calendar) addOpen(from time.Time, dur time.Duration) time.Time {
	if c.always {
		return from.Add(dur).In(c.loc)
	}
	cur := from
	d := dateOf(from, c.loc)
	for i := 0; i < maxDays+int(dur/time.Hour); i++ {
		if s, e, ok := c.dayOpen(d); ok && cur.Before(e) {
			if cur.Before(s) {
				cur = s
			}
			if avail := e.Sub(cur); dur <= avail {
				return cur.Add(dur).In(c.loc)
			}
			dur -= e.Sub(cur)
			cur = e
		}
		d = d.add(1)
	}
	return cur.In(c.loc).AddDate(100, 0, 0) // unreachable for a valid calendar
}

// Describe gives the calendar in a line, e.g.
// "Mon–Fri 08:00–18:00 America/Los_Angeles" or "24x7". Holidays are not
// listed.
func (c *Calendar) Describe() string {
	if c.always {
		return "24x7"
	}
	return describeDays(c.days) + " " + clock(c.open) + "–" + clock(c.close) + " " + c.loc.String()
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// describeDays lists open days as runs, week starting Monday unless a run
// goes through Sunday into Monday: "Mon–Fri", "Sun–Thu", "Mon, Wed, Fri",
// "Sat, Sun".
func describeDays(days [7]bool) string {
	title := func(i int) string { n := dayNames[i%7]; return strings.ToUpper(n[:1]) + n[1:] }
	all := true
	for _, o := range days {
		all = all && o
	}
	if all {
		return "Mon–Sun"
	}
	start := int(time.Monday)
	for days[(start+6)%7] && days[start%7] {
		start = (start + 6) % 7
	}
	var parts []string
	for i := 0; i < 7; {
		if !days[(start+i)%7] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && days[(start+j+1)%7] {
			j++
		}
		switch {
		case j == i:
			parts = append(parts, title(start+i))
		case j == i+1:
			parts = append(parts, title(start+i), title(start+j))
		default:
			parts = append(parts, title(start+i)+"–"+title(start+j))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
