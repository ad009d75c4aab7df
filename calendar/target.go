package calendar

import (
	"fmt"
	"strconv"
	"strings"
)

// Unit of a Target.
type Unit int

const (
	BusinessHours Unit = iota + 1 // "bh"
	BusinessDays                  // "bd"
	Hours                         // "h": elapsed time, calendar ignored
)

// String is the unit as written in a target: "bh", "bd" or "h".
func (u Unit) String() string {
	switch u {
	case BusinessHours:
		return "bh"
	case BusinessDays:
		return "bd"
	case Hours:
		return "h"
	}
	return fmt.Sprintf("Unit(%d)", int(u))
}

// MaxN is the largest N ParseTarget accepts.
const MaxN = 10000

// Target is a response target such as "4bh", "1bd", "8h".
type Target struct {
	N    int
	Unit Unit
}

// ParseTarget parses "4bh", "1bd", "8h": a whole number from 1 to MaxN
// followed by the unit, without spaces in between.
func ParseTarget(s string) (Target, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	var u Unit
	switch t[i:] {
	case "bh":
		u = BusinessHours
	case "bd":
		u = BusinessDays
	case "h":
		u = Hours
	}
	if i == 0 || u == 0 {
		return Target{}, fmt.Errorf("%q is not a target: a number followed by bh, bd or h", s)
	}
	n, err := strconv.Atoi(t[:i])
	if err != nil || n > MaxN {
		return Target{}, fmt.Errorf("%q is not a target: the number must be at most %d", s, MaxN)
	}
	if n < 1 {
		return Target{}, fmt.Errorf("%q is not a target: the number must be at least 1", s)
	}
	return Target{N: n, Unit: u}, nil
}

// String gives the target back as written ("4bh").
func (t Target) String() string { return strconv.Itoa(t.N) + t.Unit.String() }

// Valid reports whether t is a target ParseTarget could return (N ≥ 1 and a
// known unit). The zero Target is not valid.
func (t Target) Valid() bool {
	return t.N >= 1 && t.N <= MaxN && (t.Unit == BusinessHours || t.Unit == BusinessDays || t.Unit == Hours)
}
