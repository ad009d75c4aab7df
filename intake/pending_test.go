package intake

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestPendingMovesCompactForm(t *testing.T) {
	var p PendingMoves
	for u := uint32(1); u <= 5000; u++ {
		if u != 77 {
			p = append(p, PendingMove{UID: u, To: "Processed"})
		}
	}
	p = append(p, PendingMove{UID: 77, To: "Quarantine"}, PendingMove{UID: 6000})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"":"6000","Processed":"1:76,78:5000","Quarantine":"77"}`
	if string(b) != want {
		t.Fatalf("compact form = %s; want %s", b, want)
	}
	var got PendingMoves
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(p) || got[76] != (PendingMove{UID: 77, To: "Quarantine"}) || got[len(got)-1] != (PendingMove{UID: 6000}) {
		t.Fatalf("round trip: %d moves, [76]=%+v, last %+v", len(got), got[76], got[len(got)-1])
	}
}

func TestPendingMovesOldFormRead(t *testing.T) {
	var st MailboxState
	old := `{"uid_validity":1,"last_uid":17,"pending":[{"uid":16,"to":"Processed"},{"uid":17}]}`
	if err := json.Unmarshal([]byte(old), &st); err != nil {
		t.Fatal(err)
	}
	want := PendingMoves{{UID: 16, To: "Processed"}, {UID: 17}}
	if !reflect.DeepEqual(st.Pending, want) {
		t.Fatalf("old form read as %+v; want %+v", st.Pending, want)
	}
}

func TestPendingMovesBadRecord(t *testing.T) {
	for _, bad := range []string{`{"Processed":"1:x"}`, `{"Processed":"9:3"}`, `{"Processed":"1:4294967295"}`, `{"Processed":","}`, `7`} {
		var p PendingMoves
		err := json.Unmarshal([]byte(bad), &p)
		if err == nil {
			t.Errorf("%s: read without error as %d moves", bad, len(p))
		} else if strings.HasPrefix(bad, "{") && !strings.Contains(err.Error(), "Processed") {
			t.Errorf("%s: error %q does not name the folder", bad, err)
		}
	}
}
