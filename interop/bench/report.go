package main

import (
	"fmt"
	"os"

	"strings"
	"time"
)

type phaseCPU struct {
	Name string
	Use  cpuUse
}

type results struct {
	Date, CPUModel, Kernel, GoVersion, Dovecot, Mailpit, Commit, Source string
	CPU                                                                 []phaseCPU
	NProc                                                               int
	MemGiB                                                              float64
	Wall                                                                time.Duration

	N, Accounts, Contacts int
	Kinds                 [3]int // plain, qp, html
	Attached, French      int
	SizeMean              float64
	SizeMin, SizeMax      int
	SizeP50               int
	Bytes                 int64
	Seed                  time.Duration

	RawFetch      time.Duration
	RawFetchBytes int64
	RawBolt       time.Duration
	BoltRecs      int
	RawSMTPSmall  time.Duration
	RawSMTPSame   time.Duration
	RawSMTPReplay time.Duration // casemail's own mails, byte for byte
	OutSizes      []int

	Intake, FirstCase, Delivery time.Duration
	HWMBulk, HWMEnd             int64
	RssAnon, RssFile            int64
	PeakAnon, PeakFile          int64
	StoreSize                   int64
	GoSys, GoHeapSys            int64
	GoHeapInuse                 int64
	OutcomesBulk, OutcomesEnd   string
	Acks, Notifications         int
	AckMean, NotifyMean         float64
	StopTook                    time.Duration
	InboxLeft, Processed        int
	ErrorLines, WarnLines       int

	Latencies      []time.Duration
	LatencyLost    int
	LatencyAborted int

	Scrapes                          int
	ScrapeSum, ScrapeMax, ScrapeIdle time.Duration

	BigSize            int
	HWMBigIdle, HWMBig int64
	BigCase, BigAck    time.Duration
	OutcomesBig        string
	Timeline           []cpuPoint
	TimelineStart      time.Time
	Notes              []string
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**MISS**"
}

// report is the whole report, in Markdown.
func (b *bench) report() string {
	r := &b.res
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }

	rawFetch := rate(r.N, r.RawFetch)
	intake := rate(r.N, r.Intake)
	steady := 0.0
	if r.Intake > r.FirstCase {
		steady = float64(r.N) / (r.Intake - r.FirstCase).Seconds()
	}
	nOut := 2 * r.N
	delivery := rate(nOut, r.Delivery)
	smtpSmall := rate(r.N, r.RawSMTPSmall)
	smtpSame := rate(len(r.OutSizes), r.RawSMTPSame)
	smtpReplay := rate(len(r.OutSizes), r.RawSMTPReplay)
	p50, p99 := percentile(r.Latencies, 50), percentile(r.Latencies, 99)
	var lmax time.Duration
	for _, l := range r.Latencies {
		lmax = max(lmax, l)
	}

	p("## casemail benchmark — %s", r.Date)
	p("")
	p("`go run ./interop/bench -n %d` · casemail %s · %s", r.N, r.Source, r.GoVersion)
	p("")
	p("Machine: %d CPUs (%s), %.1f GiB RAM, Linux %s. Servers on loopback: Dovecot %s (maildir, `mail_fsync = never`), mailpit %s (`--max 0`).",
		r.NProc, r.CPUModel, r.MemGiB, r.Kernel, r.Dovecot, r.Mailpit)
	p("")
	p("Workload: %d new-case mails from %d registered contacts (%d accounts × 10, half premium, half standard; no sender over 3 mails, the default auto-reply limit per hour), "+
		"%d plain 8bit, %d quoted-printable, %d with an HTML alternative, %d in French, %d with a 50–200 KiB base64 attachment; "+
		"sizes %.1f KiB mean, %.1f KiB median, %.1f–%.1f KiB, %.0f MiB in all. Seeded with MULTIAPPEND (200 a command) in %s.",
		r.N, r.Contacts, r.Accounts, r.Kinds[0], r.Kinds[1], r.Kinds[2], r.French, r.Attached,
		r.SizeMean/1024, float64(r.SizeP50)/1024, float64(r.SizeMin)/1024, float64(r.SizeMax)/1024, float64(r.Bytes)/(1<<20), secs(r.Seed))
	if b.daemonEnv != "" {
		p("Daemon environment: `%s`.", b.daemonEnv)
	}
	p("casemail config: plaintext IMAP with IDLE, `start_from = \"all\"`, `processed_folder = \"Processed\"`, `batch_size = %d`, default limits, log level info; every case sends an acknowledgement and an agents' notification.", b.batch)
	p("")

	p("### Raw limits of this machine (same run, same mails)")
	p("")
	p("| measurement | result |")
	p("| --- | --- |")
	p("| IMAP: go-imap v2 UID FETCH BODY.PEEK[] of all %d mails, %d per command | **%.0f mails/s** (%.0f MiB/s, %s) |",
		r.N, b.batch, rawFetch, float64(r.RawFetchBytes)/(1<<20)/r.RawFetch.Seconds(), secs(r.RawFetch))
	p("| bbolt: %d records of 4 KiB, 100 per transaction, fsync'd (default options) | **%.0f records/s** (%.0f transactions/s) |",
		r.BoltRecs, rate(r.BoltRecs, r.RawBolt), rate(r.BoltRecs/100, r.RawBolt))
	p("| mailpit: go-mail, one connection, WithoutNoop, %d mails of 1 KiB | **%.0f mails/s** (%s) |", r.N, smtpSmall, secs(r.RawSMTPSmall))
	if len(r.OutSizes) > 0 {
		p("| mailpit: same, the %d mails casemail sent (their sizes: acks %.1f KiB, notifications %.1f KiB mean) | **%.0f mails/s** (%s) |",
			len(r.OutSizes), r.AckMean/1024, r.NotifyMean/1024, smtpSame, secs(r.RawSMTPSame))
		p("| mailpit: Go's net/smtp, one connection, the %d mails casemail sent replayed byte for byte | **%.0f mails/s** (%s) |",
			len(r.OutSizes), smtpReplay, secs(r.RawSMTPReplay))
	}
	p("")

	p("### casemail")
	p("")
	p("| figure | result | target | |")
	p("| --- | --- | --- | --- |")
	p("| intake: N / (daemon start → N-th case committed) | **%.0f mails/s** (%s; first case after %s, %.0f mails/s from then) | ≥ 5,000 mails/s | %s |",
		intake, secs(r.Intake), ms(r.FirstCase), steady, passMiss(intake >= 5000))
	p("| intake / raw IMAP fetch | %.0f %% | | |", 100*intake/rawFetch)
	p("| delivery: %d mails (acks + notifications) / (daemon start → all in mailpit) | **%.0f mails/s** (%s) | ≥ 90 %% of mailpit's plain rate for the same mails | %s |",
		nOut, delivery, secs(r.Delivery), passMiss(delivery >= 0.9*smtpReplay))
	p("| delivery / mailpit plain rate, the same mails replayed | %.0f %% | ≥ 90 %% | |", 100*delivery/smtpReplay)
	p("| delivery / mailpit plain rate, filler of casemail's sizes | %.0f %% | | |", 100*delivery/smtpSame)
	p("| delivery / mailpit plain rate, 1 KiB mails | %.0f %% | | |", 100*delivery/smtpSmall)
	if len(r.Latencies) > 0 {
		p("| latency: APPEND done → ack in mailpit, %d single mails (IDLE) | p50 **%s**, p99 **%s**, max %s%s | p50 ≤ 600 ms, p99 ≤ 1 s | %s |",
			len(r.Latencies), ms(p50), ms(p99), ms(lmax), lost(r.LatencyLost)+aborted(r.LatencyAborted, b.latencyN), passMiss(p50 <= 600*time.Millisecond && p99 <= time.Second && r.LatencyLost == 0))
	}
	p("| peak RSS (VmHWM) of the N-mail run, read before stopping | **%s** (%s after delivery, before the latency probes) | ≤ 48 MiB | %s |",
		mib(r.HWMEnd), mib(r.HWMBulk), passMiss(r.HWMEnd <= 48<<20))
	if r.BigSize > 0 {
		p("| peak RSS of a fresh daemon given one %.1f MiB mail (%.0f MiB base64 attachment) | **%s** (%s idle; case %s, ack %s after APPEND) | ≤ 64 MiB | %s |",
			float64(r.BigSize)/(1<<20), b.bigMiB, mib(r.HWMBig), mib(r.HWMBigIdle), ms(r.BigCase), ms(r.BigAck), passMiss(r.HWMBig <= 64<<20))
	}
	p("")
	p("Checks: outcomes after the bulk run: %s; at the end: %s. mailpit got %d acks and %d notifications. INBOX left %d, Processed %d (want 0 and %d). "+
		"Log: %d ERROR, %d WARN lines. Shutdown took %s.",
		r.OutcomesBulk, r.OutcomesEnd, r.Acks, r.Notifications, r.InboxLeft, r.Processed, r.N+len(r.Latencies)+r.LatencyLost,
		r.ErrorLines, r.WarnLines, ms(r.StopTook))
	p("Memory of the N-mail daemon: peaks sampled every 100 ms: RssAnon %s (Go heap and stacks), RssFile %s (file pages mapped: bbolt's mmap of the %s store, the binary); "+
		"before stopping: RssAnon %s, RssFile %s; Go runtime: %s obtained from the OS, heap %s of which %s in use.",
		mib(r.PeakAnon), mib(r.PeakFile), mib(r.StoreSize), mib(r.RssAnon), mib(r.RssFile), mib(r.GoSys), mib(r.GoHeapSys), mib(r.GoHeapInuse))
	if r.Scrapes > 0 {
		src := "GET /metrics"
		if b.progress == "log" {
			src = "reading the daemon's log"
		}
		p("Progress polls during intake (%s every 50 ms): %d, %s mean, %s max; one /metrics scrape after the run (%d cases, outbox emptied): %s.",
			src, r.Scrapes, ms(r.ScrapeSum/time.Duration(r.Scrapes)), ms(r.ScrapeMax), r.N, ms(r.ScrapeIdle))
	}
	if r.OutcomesBig != "" {
		p("Big mail outcomes: %s.", r.OutcomesBig)
	}
	for _, n := range r.Notes {
		p("Note: %s.", n)
	}
	p("")

	p("### Who uses the CPUs")
	p("")
	p("CPU time (user+sys, from /proc/PID/stat sampled every 100 ms) per phase, in cores used on average (CPU seconds / wall seconds); %d cores in all.", r.NProc)
	p("")
	p("| phase | wall | casemail | Dovecot | mailpit | benchmark | machine busy |")
	p("| --- | --- | --- | --- | --- | --- | --- |")
	for _, ph := range r.CPU {
		wall := ph.Use.Wall.Seconds()
		cell := func(g string) string { return fmt.Sprintf("%.2f (%.1f s)", ph.Use.Groups[g]/wall, ph.Use.Groups[g]) }
		p("| %s | %s | %s | %s | %s | %s | %.2f |", ph.Name, secs(ph.Use.Wall), cell("casemail"), cell("dovecot"), cell("mailpit"), cell("bench"), ph.Use.Machine/wall)
	}
	if len(r.Timeline) > 1 {
		p("")
		p("Timeline of the bulk run (cores used in each second):")
		p("")
		p("| t | casemail | Dovecot | mailpit | machine | progress |")
		p("| --- | --- | --- | --- | --- | --- |")
		prev := r.Timeline[0]
		for _, pt := range r.Timeline[1:] {
			u := diff(prev.Snap, pt.Snap)
			wall := u.Wall.Seconds()
			p("| %.1f s | %.2f | %.2f | %.2f | %.2f | %s |", pt.At.Sub(r.TimelineStart).Seconds(),
				u.Groups["casemail"]/wall, u.Groups["dovecot"]/wall, u.Groups["mailpit"]/wall, u.Machine/wall, pt.Extra)
			prev = pt
		}
	}
	p("")
	p("The whole benchmark took %s.", secs(r.Wall.Round(100*time.Millisecond)))
	return w.String()
}

func aborted(at, of int) string {
	if at == 0 {
		return ""
	}
	return fmt.Sprintf("; stopped after %d of %d probes: IDLE did not wake the daemon, mail waited for the 30 s poll", at, of)
}

func lost(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d never acknowledged", n)
}

func countLevel(path, needle string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), needle)
}
