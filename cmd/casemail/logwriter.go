package main

import (
	"io"
	"sync"
)

// maxQueuedLog bounds the log bytes waiting for the writer: past it, a
// logging goroutine waits (no line is dropped).
const maxQueuedLog = 1 << 20

// logWriter hands the daemon's log lines to a goroutine of its own that
// writes them: the goroutine that commits mail logs a line per mail, and
// would otherwise wait for a write(2) each time. Lines that arrive while
// one write is in progress go out together in the next. The writer starts
// on a line as soon as it is queued; Close writes what is left.
type logWriter struct {
	w      io.Writer
	mu     sync.Mutex
	cond   *sync.Cond
	queued []byte
	closed bool
	done   chan struct{}
}

func newLogWriter(w io.Writer) *logWriter {
	lw := &logWriter{w: w, done: make(chan struct{})}
	lw.cond = sync.NewCond(&lw.mu)
	go lw.run()
	return lw
}

// Write queues p, a whole line as slog writes it.
func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	for len(lw.queued) > maxQueuedLog && !lw.closed {
		lw.cond.Wait()
	}
	if lw.closed {
		return lw.w.Write(p)
	}
	lw.queued = append(lw.queued, p...)
	lw.cond.Broadcast()
	return len(p), nil
}

func (lw *logWriter) run() {
	defer close(lw.done)
	var out []byte
	lw.mu.Lock()
	for {
		for len(lw.queued) == 0 && !lw.closed {
			lw.cond.Wait()
		}
		if len(lw.queued) == 0 {
			lw.mu.Unlock()
			return
		}
		out, lw.queued = lw.queued, out[:0]
		lw.cond.Broadcast()
		lw.mu.Unlock()
		_, _ = lw.w.Write(out) // a log that cannot be written has nowhere to say so
		lw.mu.Lock()
	}
}

// Close writes the queued lines and makes later ones go straight to the
// underlying writer.
func (lw *logWriter) Close() error {
	lw.mu.Lock()
	lw.closed = true
	lw.cond.Broadcast()
	lw.mu.Unlock()
	<-lw.done
	return nil
}
