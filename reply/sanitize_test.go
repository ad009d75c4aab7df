package reply

import "testing"

// TestHeaderCleanAgrees: what headerClean lets through unchanged is exactly
// what the full HeaderText would return unchanged, over every string of up
// to four bytes from an alphabet of the cases that matter.
func TestHeaderCleanAgrees(t *testing.T) {
	alphabet := []byte{' ', 'a', '~', '!', '\t', '\r', '\n', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xa9}
	var walk func(s []byte)
	walk = func(s []byte) {
		if headerClean(string(s)) && headerText(string(s)) != string(s) {
			t.Errorf("headerClean(%q) but HeaderText gives %q", s, headerText(string(s)))
		}
		if len(s) == 4 {
			return
		}
		for _, c := range alphabet {
			walk(append(s, c))
		}
	}
	walk(nil)
}
