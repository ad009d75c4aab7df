package mailparse

import "testing"

// TestMobileSignatureStartsNoAttribution: readAuthorLinesTo lets NewText
// skip the second line of a two-line attribution along with all; that holds
// only while no mobile signature prefix also starts an attribution.
func TestMobileSignatureStartsNoAttribution(t *testing.T) {
	for _, p := range mobileSignatures.list {
		if attributionStarts.matchFold(p) {
			t.Errorf("mobile signature %q starts an attribution: NewText would lose lines after it", p)
		}
	}
}
