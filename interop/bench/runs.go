package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"casemail/internal/benchmail"
)

// bulk runs casemail over the seeded INBOX: intake, delivery, then the
// latency probes with the daemon still in IDLE, then peak RSS and stop.
func (b *bench) bulk(user string, contacts []benchmail.Contact) error {
	r := &b.res
	d, err := b.newDaemonDir("bulk", user, contacts)
	if err != nil {
		return err
	}
	want := 2 * b.n // an acknowledgement and an agents' notification per case
	logf("casemail run: %d mails waiting, want %d cases and %d mails in mailpit", b.n, b.n, want)
	if b.profile {
		// Progress from the log and mailpit: a /metrics scrape would cost
		// the daemon more than the figure is worth (see the report).
		var off int64
		var cases int
		b.cpu.startTimeline(func() string {
			k, o, _ := countNewLines(d.log, off, "outcome=case_created")
			cases, off = cases+k, o
			got, _ := b.mailpitTotal()
			return fmt.Sprintf("%d cases, %d in mailpit", cases, got)
		})
	}
	b.cpu.resetPeaks()
	c0 := b.cpu.snap()
	if err := b.start(d); err != nil {
		return err
	}
	delivery := b.watchDelivery(d, want)
	first, last, scrapes, err := d.waitCases(b.n, 50*time.Millisecond, b.timeout(b.n), b.progress == "log")
	if err != nil {
		return err
	}
	r.Scrapes = len(scrapes)
	for _, s := range scrapes {
		r.ScrapeSum += s
		r.ScrapeMax = max(r.ScrapeMax, s)
	}
	c1 := b.cpu.snap()
	r.Intake, r.FirstCase = last.Sub(d.started), first.Sub(d.started)
	logf("intake: %d cases in %s = %.0f mails/s", b.n, r.Intake.Round(time.Millisecond), rate(b.n, r.Intake))
	dl := <-delivery
	if dl.err != nil {
		return fmt.Errorf("delivery: %w; last log lines:\n%s", dl.err, d.logTail(30))
	}
	c2 := b.cpu.snap()
	if b.profile {
		r.Timeline = b.cpu.stopTimeline()
		r.TimelineStart = d.started
	}
	r.Delivery = dl.at.Sub(d.started)
	r.CPU = append(r.CPU, phaseCPU{"casemail: intake (start → N-th case)", diff(c0, c1)},
		phaseCPU{"casemail: delivery tail (N-th case → all in mailpit)", diff(c1, c2)})
	logf("delivery: %d mails in %s = %.0f mails/s", want, r.Delivery.Round(time.Millisecond), rate(want, r.Delivery))
	r.HWMBulk, _ = vmField(d.pid(), "VmHWM")
	st := time.Now()
	if m, err := d.metrics(); err == nil {
		r.OutcomesBulk = outcomes(m)
		r.ScrapeIdle = time.Since(st)
	}

	// casemail's output, for the like-for-like mailpit measurement.
	msgs, err := b.mailpitAll()
	if err != nil {
		return fmt.Errorf("listing mailpit: %w", err)
	}
	var acks, notes []int
	for _, m := range msgs {
		r.OutSizes = append(r.OutSizes, m.Size)
		if len(m.To) > 0 && m.To[0].Address == notifyAddr {
			notes = append(notes, m.Size)
		} else {
			acks = append(acks, m.Size)
		}
	}
	if b.sent, err = b.mailpitRaw(msgs); err != nil {
		return err
	}
	r.AckMean, _, _, _, _ = sizeStats(acks)
	r.NotifyMean, _, _, _, _ = sizeStats(notes)
	r.Acks, r.Notifications = len(acks), len(notes)

	// Latency: single mails while the daemon waits in IDLE.
	if b.latencyN > 0 {
		logf("latency: %d single mails, %s apart", b.latencyN, b.latencyGap)
		c3 := b.cpu.snap()
		if err := b.latency(d, user, contacts); err != nil {
			return err
		}
		r.CPU = append(r.CPU, phaseCPU{"casemail: latency probes (IDLE)", diff(c3, b.cpu.snap())})
	}

	r.HWMEnd, err = vmField(d.pid(), "VmHWM")
	if err != nil {
		return err
	}
	r.PeakAnon, r.PeakFile = b.cpu.peaks()
	r.RssAnon, _ = vmField(d.pid(), "RssAnon")
	r.RssFile, _ = vmField(d.pid(), "RssFile")
	if m, err := d.metrics(); err == nil {
		r.OutcomesEnd = outcomes(m)
		r.GoSys, r.GoHeapSys, r.GoHeapInuse = int64(m["go_memstats_sys_bytes"]), int64(m["go_memstats_heap_sys_bytes"]), int64(m["go_memstats_heap_inuse_bytes"])
	}
	r.StopTook, err = d.stop()
	if err != nil {
		return err
	}
	if d.err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("casemail run (bulk) exited with %v after SIGTERM", d.err))
	}
	if fi, err := os.Stat(filepath.Join(d.dir, "casemail.db")); err == nil {
		r.StoreSize = fi.Size()
	}
	r.InboxLeft = b.folderCount(user, "INBOX")
	r.Processed = b.folderCount(user, "Processed")
	r.ErrorLines = countLevel(d.log, "level=ERROR") + countLevel(d.log, `"level":"ERROR"`)
	r.WarnLines = countLevel(d.log, "level=WARN") + countLevel(d.log, `"level":"WARN"`)
	return nil
}

// timeout for n items: generous, so that a slow machine still finishes.
// delivered is when mailpit held all the mails a daemon was to send.
type delivered struct {
	at  time.Time
	err error
}

// watchDelivery watches, beside intake, mailpit's count until it holds
// want mails or the daemon stops or the time is up.
func (b *bench) watchDelivery(d *daemon, want int) <-chan delivered {
	delivery := make(chan delivered, 1)
	go func() {
		deadline := time.Now().Add(b.timeout(want))
		var first time.Time // when mailpit was first seen holding mail
		for {
			n, err := b.mailpitTotal()
			now := time.Now()
			if err == nil && n >= want {
				delivery <- delivered{at: now}
				return
			}
			if now.After(deadline) || !d.running() {
				delivery <- delivered{err: fmt.Errorf("mailpit holds %d of %d mails after %s (daemon running: %v, err %v)",
					n, want, now.Sub(d.started).Round(time.Millisecond), d.running(), err)}
				return
			}
			if first.IsZero() && n > 0 {
				first = now
			}
			time.Sleep(pollGap(n, want, now.Sub(first)))
		}
	}()
	return delivery
}

// pollGap is the wait before reading mailpit's count again, when it held
// n of want mails and had been receiving them for elapsed. Each read costs
// mailpit about 1 ms of work (SQL counts over its messages) that the
// baselines, timed by their own client, do not pay: read every 50 ms,
// 460 reads would take ~2 % of mailpit's time from casemail's delivery.
// So the count is read every half of the time the rest should take at the
// rate seen so far: at most every 500 ms (200 ms before the first mail),
// and every 20 ms near the end, as the baselines' final wait does.
func pollGap(n, want int, elapsed time.Duration) time.Duration {
	if n == 0 {
		return 200 * time.Millisecond
	}
	rest := time.Duration(float64(elapsed) * float64(want-n) / float64(n))
	return min(max(rest/2, 20*time.Millisecond), 500*time.Millisecond)
}

func (b *bench) timeout(n int) time.Duration {
	return max(2*time.Minute, time.Duration(n)*20*time.Millisecond)
}

func (b *bench) latency(d *daemon, user string, contacts []benchmail.Contact) error {
	r := &b.res
	c, err := b.dialIMAP(user)
	if err != nil {
		return err
	}
	defer c.Close()
	slow := 0
	for j := 0; j < b.latencyN; j++ {
		ct := contacts[(b.n+j)%len(contacts)]
		token := fmt.Sprintf("%x-%03d", time.Now().UnixNano()&0xffffffff, j)
		subject, raw := benchmail.Latency(ct, token)
		if err := appendOne(c, "INBOX", raw); err != nil {
			return err
		}
		appended := time.Now()
		deadline := appended.Add(40 * time.Second) // > poll_interval
		for {
			msgs, err := b.mailpitLatest(10)
			now := time.Now()
			if err == nil && ackAmong(msgs, subject, ct.Addr) {
				r.Latencies = append(r.Latencies, now.Sub(appended))
				break
			}
			if now.After(deadline) || !d.running() {
				r.LatencyLost++
				logf("latency probe %d: no acknowledgement within 40 s", j)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		// A probe that waits for the poll interval means IDLE did not
		// wake the daemon; after three of them the rest would only
		// measure the poll interval again.
		if n := len(r.Latencies); n > 0 && r.Latencies[n-1] > 5*time.Second {
			slow++
		}
		if slow+r.LatencyLost >= 3 {
			r.LatencyAborted = j + 1
			logf("latency: stopped after %d probes, %d of them over 5 s (IDLE did not wake the daemon)", j+1, slow+r.LatencyLost)
			break
		}
		time.Sleep(b.latencyGap)
	}
	_ = c.Logout().Wait()
	return nil
}

// ackAmong reports whether msgs hold the acknowledgement to `to` of the
// mail with that subject.
func ackAmong(msgs []mpMessage, subject, to string) bool {
	for _, m := range msgs {
		if !strings.Contains(m.Subject, subject) {
			continue
		}
		for _, a := range m.To {
			if strings.EqualFold(a.Address, to) {
				return true
			}
		}
	}
	return false
}

// big runs a fresh daemon and gives it one mail with a large attachment.
func (b *bench) big(user string, contacts []benchmail.Contact, nonce string) error {
	r := &b.res
	d, err := b.newDaemonDir("big", user, contacts)
	if err != nil {
		return err
	}
	ct := contacts[len(contacts)-1]
	raw := benchmail.Big(ct, int(b.bigMiB*(1<<20)), nonce)
	r.BigSize = len(raw)
	logf("big mail: %.1f MiB (attachment %.0f MiB base64), fresh daemon", float64(len(raw))/(1<<20), b.bigMiB)
	if err := b.start(d); err != nil {
		return err
	}
	// Ready: the first (empty) poll is done.
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := d.metrics()
		if err == nil && m["casemail_poll_duration_seconds_count"] >= 1 {
			break
		}
		if time.Now().After(deadline) || !d.running() {
			return fmt.Errorf("big-mail daemon not ready within 30 s; last log lines:\n%s", d.logTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.HWMBigIdle, _ = vmField(d.pid(), "VmHWM")
	if err := b.multiAppend(user, "INBOX", [][]byte{raw}, 1); err != nil {
		return fmt.Errorf("appending the big mail: %w", err)
	}
	appended := time.Now()
	raw = nil
	_, last, _, err := d.waitCases(1, 20*time.Millisecond, time.Minute, false)
	if err != nil {
		return err
	}
	r.BigCase = last.Sub(appended)
	deadline = time.Now().Add(time.Minute)
	for {
		msgs, err := b.mailpitLatest(10)
		if err == nil && ackAmong(msgs, "Heap dump of", ct.Addr) {
			r.BigAck = time.Since(appended)
			break
		}
		if time.Now().After(deadline) || !d.running() {
			return fmt.Errorf("no acknowledgement of the big mail within a minute; last log lines:\n%s", d.logTail(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Wait for the move to Processed (the end of the mail's handling).
	deadline = time.Now().Add(30 * time.Second)
	for b.folderCount(user, "Processed") != 1 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	r.HWMBig, err = vmField(d.pid(), "VmHWM")
	if err != nil {
		return err
	}
	if m, err := d.metrics(); err == nil {
		r.OutcomesBig = outcomes(m)
	}
	if _, err := d.stop(); err != nil {
		return err
	}
	logf("big mail: case in %s, peak RSS %.1f MiB", r.BigCase.Round(time.Millisecond), float64(r.HWMBig)/(1<<20))
	return nil
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	// nearest rank
	k := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}
