package intake

import (
	"testing"
	"time"
)

// TestRetrySchedule: PRODUCT.md's guarantee — the first retry within 30 s,
// exponential backoff, never more than 5 minutes between tries.
func TestRetrySchedule(t *testing.T) {
	for range 200 { // the delays are jittered
		if d := retryDelay(1); d <= 0 || d > 30*time.Second {
			t.Fatalf("first retry after %v, want within 30 s", d)
		}
		if d := retryDelay(3); d <= 30*time.Second {
			t.Fatalf("third retry after %v: no longer than a first one, not backing off", d)
		}
		for a := 1; a <= 40; a++ {
			if d := retryDelay(a); d <= 0 || d > 5*time.Minute {
				t.Fatalf("retry %d after %v, want at most 5 minutes", a, d)
			}
		}
		// The backoff reaches the 5-minute ceiling, not a lower one.
		if d := retryDelay(40); d < 4*time.Minute {
			t.Fatalf("late retries after %v, want close to 5 minutes", d)
		}
	}
}
