package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLogWriterKeepsLines: lines written from many goroutines all arrive,
// whole and each goroutine's in order, once Close returns; later lines go
// straight through.
func TestLogWriterKeepsLines(t *testing.T) {
	var out bytes.Buffer
	lw := newLogWriter(&out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(lw, "writer=%d line=%d %s\n", g, i, strings.Repeat("x", i%40))
			}
		}()
	}
	wg.Wait()
	lw.Close()
	fmt.Fprintf(lw, "after close\n")
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines+1 || got[len(got)-1] != "after close" {
		t.Fatalf("%d lines, last %q; want %d and the one written after Close", len(got), got[len(got)-1], writers*lines+1)
	}
	next := make([]int, writers)
	for _, l := range got[:len(got)-1] {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer=%d line=%d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("broken line %q: %v", l, err)
		}
		if want := fmt.Sprintf("writer=%d line=%d %s", g, next[g], strings.Repeat("x", next[g]%40)); l != want {
			t.Fatalf("line %q, want %q", l, want)
		}
		next[g]++
	}
}

// blockingWriter holds every Write until release is closed.
type blockingWriter struct {
	release chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// TestLogWriterDoesNotWait: a slow destination does not hold up the
// goroutine that logs (below the queue's bound).
func TestLogWriterDoesNotWait(t *testing.T) {
	bw := &blockingWriter{release: make(chan struct{})}
	lw := newLogWriter(bw)
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			fmt.Fprintf(lw, "line %d\n", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logging waited for a blocked destination")
	}
	close(bw.release)
	lw.Close()
	if n := strings.Count(bw.buf.String(), "\n"); n != 100 {
		t.Errorf("%d lines written, want 100", n)
	}
}
