package intake

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// PendingMoves are committed mails not yet moved (see MailboxState). While
// a backlog is taken in they can number thousands and the mailbox state is
// written with every batch, so they are stored compactly: each destination
// with its UIDs as ranges, {"Processed":"1:4800,4802","":"7"}. The older
// form, a list of {"uid":…,"to":…}, is still read.
type PendingMoves []PendingMove

// MarshalJSON writes the compact form.
func (p PendingMoves) MarshalJSON() ([]byte, error) {
	byDest := make(map[string][]uint32)
	for _, m := range p {
		byDest[m.To] = append(byDest[m.To], m.UID)
	}
	ranges := make(map[string]string, len(byDest))
	for dest, uids := range byDest {
		ranges[dest] = uidRanges(uids)
	}
	return json.Marshal(ranges)
}

// UnmarshalJSON reads either form; the moves come out in UID order.
func (p *PendingMoves) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		var list []PendingMove
		if err := json.Unmarshal(b, &list); err != nil {
			return err
		}
		*p = list
		return nil
	}
	var ranges map[string]string
	if err := json.Unmarshal(b, &ranges); err != nil {
		return err
	}
	var out PendingMoves
	for dest, r := range ranges {
		uids, err := parseUIDRanges(r)
		if err != nil {
			return fmt.Errorf("pending moves to %q: %w", dest, err)
		}
		for _, u := range uids {
			out = append(out, PendingMove{UID: u, To: dest})
		}
	}
	slices.SortFunc(out, func(a, b PendingMove) int { return cmp.Compare(a.UID, b.UID) })
	*p = out
	return nil
}

// uidRanges writes uids as "1:5,7,9:12".
func uidRanges(uids []uint32) string {
	uids = slices.Clone(uids)
	slices.Sort(uids)
	uids = slices.Compact(uids)
	var b strings.Builder
	for i := 0; i < len(uids); {
		j := i
		for j+1 < len(uids) && uids[j+1] == uids[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(uint64(uids[i]), 10))
		if j > i {
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(uint64(uids[j]), 10))
		}
		i = j + 1
	}
	return b.String()
}

// parseUIDRanges reads what uidRanges writes.
func parseUIDRanges(s string) ([]uint32, error) {
	var uids []uint32
	if s == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		first, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad UID range %q", part)
		}
		last := first
		if isRange {
			// A folder holds far fewer mails than 1<<24: more is a corrupt record.
			if last, err = strconv.ParseUint(hi, 10, 32); err != nil || last < first || last-first > 1<<24 {
				return nil, fmt.Errorf("bad UID range %q", part)
			}
		}
		for u := first; u <= last; u++ {
			uids = append(uids, uint32(u))
		}
	}
	return uids, nil
}
