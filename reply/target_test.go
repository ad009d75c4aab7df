package reply

import (
	"regexp"
	"testing"
)

// TestSplitTargetAgrees: splitTarget reads a response target exactly as
// the regular expression ^\s*(\d+)\s*(bh|bd|h)\s*$ would, over every string
// of up to five bytes from an alphabet of the cases that matter.
func TestSplitTargetAgrees(t *testing.T) {
	re := regexp.MustCompile(`^\s*(\d+)\s*(bh|bd|h)\s*$`)
	alphabet := []byte{' ', '\t', '\v', '0', '1', '9', 'b', 'h', 'd', 'x'}
	var walk func(s []byte)
	walk = func(s []byte) {
		m := re.FindStringSubmatch(string(s))
		num, unit, ok := splitTarget(string(s))
		if ok != (m != nil) || (ok && (num != m[1] || unit != m[2])) {
			t.Errorf("splitTarget(%q) = %q, %q, %v; the expression gives %q", s, num, unit, ok, m)
		}
		if len(s) == 5 {
			return
		}
		for _, c := range alphabet {
			walk(append(s, c))
		}
	}
	walk(nil)
}
