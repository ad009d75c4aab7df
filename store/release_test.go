//go:build linux

package store_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"casemail/intake"
	"casemail/store"
)

// rssFileKiB reads the file-backed resident memory of this process.
func rssFileKiB(t *testing.T) int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	t.Skip("no RssFile line")
	return 0
}

// TestWritesDoNotPinTheStoreInMemory: pages written and read through
// bbolt's mapping are released after commits, so the daemon's resident set
// does not grow with the store; the data reads back intact afterwards.
func TestWritesDoNotPinTheStoreInMemory(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "big.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	text := strings.Repeat("x", 24<<10)
	readAll := func() {
		t.Helper()
		err := db.View(func(tx intake.Tx) error {
			for i := range 1600 {
				msgs, err := tx.Messages(intake.CaseID(fmt.Sprintf("CASE-%d", 1000+i)))
				if err != nil {
					return err
				}
				if len(msgs) != 1 || len(msgs[0].Text) != len(text) {
					return fmt.Errorf("case %d: %d messages", 1000+i, len(msgs))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	before := rssFileKiB(t)
	for b := range 16 {
		err := db.Update(func(tx intake.Tx) error {
			for i := range 100 {
				id := intake.CaseID(fmt.Sprintf("CASE-%d", 1000+b*100+i))
				if err := tx.AppendMessage(id, &intake.Message{Text: text}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond) // past the release interval
	}
	readAll() // touches all ~40 MiB through the mapping
	time.Sleep(60 * time.Millisecond)
	if err := db.Update(func(tx intake.Tx) error { return tx.SetContactLanguage("a@x", "en") }); err != nil {
		t.Fatal(err)
	}
	after := rssFileKiB(t)
	t.Logf("RssFile before %d KiB, after writing and reading 40 MiB %d KiB", before, after)
	if after-before > 16<<10 {
		t.Errorf("RssFile grew by %d KiB for a 40 MiB store: mapped pages are not released", after-before)
	}
	readAll() // intact after the release
}
