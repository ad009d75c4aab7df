// Command bench is casemail's performance benchmark against real servers:
// a private Dovecot and mailpit started with interop/servers.sh on
// loopback ports in a temporary directory, the real binary built from this
// tree, N new-case mails of realistic size, and the machine's raw limits
// measured in the same run for comparison.
//
//	go run ./interop/bench [-n 5000] [-out report.md] [-profile]
//	bash interop/bench.sh  [same flags]
//
// Must run as root (Dovecot's master). Installs Dovecot and mailpit with
// interop/install.sh when they are missing; stops the servers and removes
// the temporary directory at the end, also after an error or ^C. See
// usage() for every flag.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"casemail/internal/benchmail"
)

type srvEnv struct {
	Dir, BaseDir, Password              string
	IMAPPort, SMTPPort, HTTPPort, Users int
	DovecotPidFile, MailpitPidFile      string
}

type bench struct {
	// flags
	n          int
	out        string
	profile    bool
	latencyN   int
	latencyGap time.Duration
	batch      int
	attachPct  float64
	boltRecs   int
	nContacts  int
	bigMiB     float64
	skipBig    bool
	rev        string
	binFlag    string
	progress   string
	daemonEnv  string
	keep       bool
	seed       uint64
	abBin      string
	rounds     int
	abDelivery bool

	repo, tmp, bin string
	env            srvEnv
	daemonPid      atomic.Int64
	cpu            *cpuSampler

	cleanMu  sync.Mutex
	cleanups []func()
	cleaned  bool

	res  results
	sent []sentMail // the mails casemail delivered in the bulk run, as mailpit got them
}

func main() {
	b := &bench{}
	flag.IntVar(&b.n, "n", 5000, "new-case mails of the bulk run")
	flag.StringVar(&b.out, "out", "", "also write the report (Markdown) to this file")
	flag.BoolVar(&b.profile, "profile", false, "add a per-second timeline of CPU use (casemail, Dovecot, mailpit) and cases during the bulk run")
	flag.IntVar(&b.latencyN, "latency", 50, "single mails of the latency run")
	flag.DurationVar(&b.latencyGap, "latency-gap", 300*time.Millisecond, "pause between latency probes")
	flag.IntVar(&b.batch, "batch", 50, "casemail's [imap] batch_size, also the raw fetch's batch")
	flag.Float64Var(&b.attachPct, "attach-pct", 2, "percentage of mails with a 50–200 KiB base64 attachment (2 keeps the mean near 25 KiB; 10 gives a mean near 40 KiB)")
	flag.IntVar(&b.boltRecs, "bolt-records", 50000, "records written by the raw bbolt measurement")
	flag.IntVar(&b.nContacts, "contacts", 0, "registered contacts (default: enough that no sender gets over 3 mails, the default auto-reply limit per hour; at least 1,000)")
	flag.Float64Var(&b.bigMiB, "big-mib", 24, "encoded size (MiB) of the big mail's base64 attachment")
	flag.BoolVar(&b.skipBig, "no-big", false, "skip the big-mail run")
	flag.StringVar(&b.rev, "rev", "", "build casemail from this git revision (git archive) instead of the work tree")
	flag.StringVar(&b.binFlag, "bin", "", "benchmark this casemail binary instead of building one (e.g. a variant with profiling)")
	flag.StringVar(&b.progress, "progress", "log", "how intake progress is watched: \"log\" (the daemon's \"mail processed\" log lines, read every 50 ms: free for the daemon, and the times are the log's own) or \"metrics\" (GET /metrics every 50 ms: the times are the polls', up to 50 ms late, and each scrape costs the daemon CPU)")
	flag.StringVar(&b.daemonEnv, "daemon-env", "", "extra environment of the casemail daemon only, NAME=value pairs separated by spaces (e.g. \"GOMEMLIMIT=40MiB GOGC=50\")")
	flag.BoolVar(&b.keep, "keep", false, "keep the temporary directory (logs, stores, server data)")
	flag.Uint64Var(&b.seed, "seed", 1, "random seed of the generated mails")
	flag.StringVar(&b.abBin, "ab", "", "instead of the benchmark, compare intake alone with this other casemail binary: -rounds interleaved runs of each")
	flag.IntVar(&b.rounds, "rounds", 8, "rounds of an -ab comparison")
	flag.BoolVar(&b.abDelivery, "ab-delivery", false, "in an -ab comparison, also wait for and compare delivery (about 25 s more a run)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./interop/bench [flags]\n\ncasemail's benchmark against a private Dovecot and mailpit (run as root).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || (b.progress != "metrics" && b.progress != "log") || b.n < 1 || b.batch < 1 || b.latencyN < 0 {
		flag.Usage()
		os.Exit(2)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		interrupted.Store(true)
		logf("%v: stopping the daemon and the servers", s)
		b.cleanup()
		os.Exit(130)
	}()

	code := 0
	func() {
		defer func() {
			if p := recover(); p != nil {
				logf("panic: %v", p)
				code = 2
			}
		}()
		if err := b.run(); err != nil && !interrupted.Load() {
			logf("FAILED: %v", err)
			code = 1
		}
	}()
	b.cleanup()
	os.Exit(code)
}

var (
	t0          = time.Now()
	interrupted atomic.Bool
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench %6.1fs  %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) onCleanup(f func()) {
	b.cleanMu.Lock()
	defer b.cleanMu.Unlock()
	b.cleanups = append(b.cleanups, f)
}

// cleanup runs the registered clean-ups, newest first, once.
func (b *bench) cleanup() {
	b.cleanMu.Lock()
	defer b.cleanMu.Unlock()
	if b.cleaned {
		return
	}
	b.cleaned = true
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
}

func (b *bench) run() error {
	start := time.Now()
	var err error
	if b.repo, err = repoRoot(); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("must run as root (Dovecot's master process; mail is served as nobody)")
	}
	if err := b.ensureTools(); err != nil {
		return err
	}
	b.tmp, err = os.MkdirTemp("/tmp", "casemail-bench-")
	if err != nil {
		return err
	}
	if err := os.Chmod(b.tmp, 0o755); err != nil {
		return err
	}
	b.onCleanup(func() {
		if b.keep {
			logf("kept %s", b.tmp)
			return
		}
		os.RemoveAll(b.tmp)
	})
	if err := b.build(); err != nil {
		return err
	}

	srvDir := filepath.Join(b.tmp, "srv")
	b.onCleanup(func() {
		if err := b.serversSh("stop", srvDir); err != nil {
			logf("stopping the servers: %v", err)
		}
	})
	logf("starting Dovecot and mailpit in %s", srvDir)
	if err := b.serversSh("start", srvDir); err != nil {
		return fmt.Errorf("interop/servers.sh start: %w", err)
	}
	if b.env, err = readEnv(filepath.Join(srvDir, "env")); err != nil {
		return err
	}
	b.startCPU()
	defer b.cpu.close()
	b.machineInfo()

	if b.abBin != "" {
		return b.intakeAB()
	}
	if err := b.phases(); err != nil {
		return err
	}
	b.res.Wall = time.Since(start)
	rep := b.report()
	fmt.Print(rep)
	if b.out != "" {
		if err := os.WriteFile(b.out, []byte(rep), 0o644); err != nil {
			return err
		}
		logf("report written to %s", b.out)
	}
	return nil
}

// repoRoot finds the module casemail from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module casemail") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside casemail's repository (no go.mod of module casemail above the working directory)")
		}
		dir = parent
	}
}

func mailpitBin() string {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gobin, _ := exec.Command("go", "env", "GOBIN").Output()
	dir := strings.TrimSpace(string(gobin))
	if dir == "" {
		gopath, _ := exec.Command("go", "env", "GOPATH").Output()
		dir = filepath.Join(strings.TrimSpace(string(gopath)), "bin")
	}
	p := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

func (b *bench) ensureTools() error {
	_, derr := exec.LookPath("dovecot")
	_, ierr := os.Stat("/usr/lib/dovecot/imap")
	if derr == nil && ierr == nil && mailpitBin() != "" {
		return nil
	}
	logf("Dovecot or mailpit missing: running interop/install.sh")
	c := exec.Command("bash", filepath.Join(b.repo, "interop", "install.sh"))
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	return c.Run()
}

// build compiles the binary under test, from the work tree or from -rev.
func (b *bench) build() error {
	if b.binFlag != "" {
		abs, err := filepath.Abs(b.binFlag)
		if err != nil {
			return err
		}
		b.bin, b.res.Source = abs, "binary "+abs
		return nil
	}
	src := b.repo
	commit, _ := exec.Command("git", "-C", b.repo, "rev-parse", "--short=12", "HEAD").Output()
	b.res.Commit = strings.TrimSpace(string(commit))
	if b.rev != "" {
		full, err := exec.Command("git", "-C", b.repo, "rev-parse", "--short=12", b.rev+"^{commit}").Output()
		if err != nil {
			return fmt.Errorf("-rev %s: not a commit", b.rev)
		}
		b.res.Commit = strings.TrimSpace(string(full))
		src = filepath.Join(b.tmp, "src")
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		arch := exec.Command("bash", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "-", b.repo, b.res.Commit, src)
		arch.Stderr = os.Stderr
		if err := arch.Run(); err != nil {
			return fmt.Errorf("git archive %s: %w", b.rev, err)
		}
		b.res.Source = "commit " + b.res.Commit
	} else {
		st, _ := exec.Command("git", "-C", b.repo, "status", "--porcelain", "--", ".", ":!interop/bench", ":!interop/bench.sh").Output()
		b.res.Source = "work tree at " + b.res.Commit
		if len(strings.TrimSpace(string(st))) > 0 {
			b.res.Source += " with uncommitted changes"
		}
	}
	b.bin = filepath.Join(b.tmp, "casemail")
	logf("building casemail (%s)", b.res.Source)
	c := exec.Command("go", "build", "-o", b.bin, "./cmd/casemail")
	c.Dir = src
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/casemail: %w", err)
	}
	return nil
}

func (b *bench) serversSh(cmd, dir string) error {
	c := exec.Command("bash", filepath.Join(b.repo, "interop", "servers.sh"), cmd, dir)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	// servers.sh's mailpit is setsid and Dovecot daemonises: neither
	// keeps our terminal, and a ^C reaches only us.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c.Run()
}

func readEnv(path string) (srvEnv, error) {
	f, err := os.Open(path)
	if err != nil {
		return srvEnv{}, fmt.Errorf("reading the servers' env: %w", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok && !strings.HasPrefix(k, "#") {
			kv[k] = v
		}
	}
	num := func(k string) int {
		n, e := strconv.Atoi(kv[k])
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %s missing or not a number", path, k)
		}
		return n
	}
	e := srvEnv{Dir: kv["DIR"], BaseDir: kv["BASE_DIR"], Password: kv["PASSWORD"],
		IMAPPort: num("IMAP_PORT"), SMTPPort: num("SMTP_PORT"), HTTPPort: num("HTTP_PORT"), Users: num("USERS"),
		DovecotPidFile: kv["DOVECOT_PID_FILE"], MailpitPidFile: kv["MAILPIT_PID_FILE"]}
	return e, err
}

func pidFile(path string) int {
	data, _ := os.ReadFile(path)
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return n
}

// startCPU samples casemail, Dovecot's instance (master and every child,
// which titles itself with the instance name), mailpit and the benchmark.
func (b *bench) startCPU() {
	tag := "casemail-interop-" + filepath.Base(b.env.BaseDir) + "/"
	dovecot := cachedPids(100*time.Millisecond, func() []int {
		pids := pidsMatching(tag)
		if m := pidFile(b.env.DovecotPidFile); m > 0 {
			pids = append(pids, m)
		}
		return pids
	})
	mailpit := pidFile(b.env.MailpitPidFile)
	self := os.Getpid()
	b.cpu = newCPUSampler(map[string]func() []int{
		"casemail": func() []int {
			if p := b.daemonPid.Load(); p > 0 {
				return []int{int(p)}
			}
			return nil
		},
		"dovecot": dovecot,
		"mailpit": func() []int { return []int{mailpit} },
		"bench":   func() []int { return []int{self} },
	})
}

func (b *bench) machineInfo() {
	r := &b.res
	r.Date = time.Now().Format("2006-01-02 15:04 MST")
	r.NProc = runtime.NumCPU()
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				r.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
				r.MemGiB = float64(kb) / (1 << 20)
			}
		}
	}
	gv, _ := exec.Command("go", "version").Output()
	r.GoVersion = strings.TrimPrefix(strings.TrimSpace(string(gv)), "go version ")
	dv, _ := exec.Command("dovecot", "--version").Output()
	r.Dovecot = strings.TrimSpace(string(dv))
	if p := mailpitBin(); p != "" {
		out, _ := exec.Command("go", "version", "-m", p).Output()
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == "mod" {
				r.Mailpit = f[2]
			}
		}
	}
	r.Kernel = strings.TrimSpace(readFirstLine("/proc/sys/kernel/osrelease"))
}

func readFirstLine(p string) string {
	data, _ := os.ReadFile(p)
	l, _, _ := strings.Cut(string(data), "\n")
	return l
}

// phases runs every measurement in turn.
func (b *bench) phases() error {
	r := &b.res
	ctx := context.Background()
	nonce := strconv.FormatInt(time.Now().Unix()%1e6, 36)
	rng := rand.New(rand.NewPCG(b.seed, 0x5eed))

	contacts := b.contacts(b.n + b.latencyN)
	r.N, r.Accounts, r.Contacts = b.n, len(contacts)/benchmail.PerAccount, len(contacts)

	// 1. Seed: N new-case mails, in MULTIAPPEND commands of 200.
	const user = "user1"
	logf("seeding %d mails into %s's INBOX", b.n, user)
	var seedTook time.Duration
	var sizes []int
	date := time.Now().Add(-time.Hour)
	for i := 0; i < b.n; i += 1000 {
		chunk := make([][]byte, 0, 1000)
		for k := i; k < min(i+1000, b.n); k++ {
			spec := benchmail.NewCase(rng, k, contacts[k%len(contacts)], nonce, b.attachPct)
			raw := spec.Render(rng, date.Add(time.Duration(k)*time.Millisecond))
			chunk = append(chunk, raw)
			sizes = append(sizes, len(raw))
			r.Kinds[kindIndex(spec.Kind)]++
			if spec.AttachLen > 0 {
				r.Attached++
			}
			if spec.French {
				r.French++
			}
		}
		st := time.Now()
		if err := b.multiAppend(user, "INBOX", chunk, 200); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		seedTook += time.Since(st)
	}
	r.Seed = seedTook
	r.SizeMean, r.SizeMin, r.SizeMax, r.SizeP50, r.Bytes = sizeStats(sizes)
	if got := b.folderCount(user, "INBOX"); got != b.n {
		return fmt.Errorf("INBOX holds %d mails after seeding, want %d", got, b.n)
	}
	logf("seeded %d mails (%.1f MiB, mean %.1f KiB) in %s", b.n, float64(r.Bytes)/(1<<20), r.SizeMean/1024, seedTook.Round(time.Millisecond))

	// 2. Raw limits.
	flushDirty()
	logf("raw IMAP fetch of %d mails, %d per UID FETCH", b.n, b.batch)
	c0 := b.cpu.snap()
	n, bytes, took, err := b.rawFetch(user, b.batch)
	if err != nil {
		return fmt.Errorf("raw IMAP fetch: %w", err)
	}
	r.CPU = append(r.CPU, phaseCPU{"raw IMAP fetch", diff(c0, b.cpu.snap())})
	if n != b.n {
		return fmt.Errorf("raw IMAP fetch read %d mails, want %d", n, b.n)
	}
	r.RawFetch, r.RawFetchBytes = took, bytes
	logf("raw IMAP fetch: %.0f mails/s (%.0f MiB/s)", rate(n, took), float64(bytes)/(1<<20)/took.Seconds())

	flushDirty()
	logf("raw bbolt: %d records of 4 KiB, 100 per transaction, fsync'd", b.boltRecs)
	if r.RawBolt, err = rawBolt(b.tmp, b.boltRecs, 100, 4096); err != nil {
		return fmt.Errorf("raw bbolt: %w", err)
	}
	r.BoltRecs = b.boltRecs
	logf("raw bbolt: %.0f records/s", rate(b.boltRecs, r.RawBolt))

	if err := b.mailpitClear(); err != nil {
		return err
	}
	small := make([]int, b.n)
	for i := range small {
		small[i] = 1024
	}
	flushDirty()
	logf("raw mailpit: %d mails of 1 KiB over one connection", b.n)
	c0 = b.cpu.snap()
	if r.RawSMTPSmall, err = b.rawSMTP(ctx, small); err != nil {
		return fmt.Errorf("raw mailpit: %w", err)
	}
	r.CPU = append(r.CPU, phaseCPU{"raw mailpit, 1 KiB mails", diff(c0, b.cpu.snap())})
	logf("raw mailpit: %.0f mails/s", rate(b.n, r.RawSMTPSmall))
	if err := b.mailpitClear(); err != nil {
		return err
	}

	// 3. The bulk run.
	flushDirty()
	if err := b.bulk(user, contacts); err != nil {
		return err
	}

	// 4. mailpit's plain rate for the very mails casemail sent (same count
	// and sizes), so that the delivery ratio compares like with like.
	if err := b.mailpitClear(); err != nil {
		return err
	}
	flushDirty()
	logf("raw mailpit: %d mails of casemail's output sizes over one connection", len(r.OutSizes))
	c0 = b.cpu.snap()
	if r.RawSMTPSame, err = b.rawSMTP(ctx, r.OutSizes); err != nil {
		return fmt.Errorf("raw mailpit (casemail's sizes): %w", err)
	}
	r.CPU = append(r.CPU, phaseCPU{"raw mailpit, casemail's sizes", diff(c0, b.cpu.snap())})
	logf("raw mailpit (casemail's sizes): %.0f mails/s", rate(len(r.OutSizes), r.RawSMTPSame))
	if err := b.mailpitClear(); err != nil {
		return err
	}
	flushDirty()
	logf("raw mailpit: the %d mails casemail sent, replayed byte for byte over one connection", len(b.sent))
	c0 = b.cpu.snap()
	if r.RawSMTPReplay, err = b.replaySMTP(b.sent); err != nil {
		return fmt.Errorf("raw mailpit (casemail's mails replayed): %w", err)
	}
	r.CPU = append(r.CPU, phaseCPU{"raw mailpit, casemail's mails replayed", diff(c0, b.cpu.snap())})
	logf("raw mailpit (casemail's mails replayed): %.0f mails/s", rate(len(b.sent), r.RawSMTPReplay))
	b.sent = nil
	if err := b.mailpitClear(); err != nil {
		return err
	}

	// 5. One big mail, fresh daemon.
	if !b.skipBig {
		flushDirty()
		if err := b.big("user2", contacts, nonce); err != nil {
			return err
		}
	}
	return nil
}

// contacts are the registered contacts for that many new-case mails: ten per
// account, enough that no sender gets more than three automatic answers
// an hour (the default limit), or -contacts.
func (b *bench) contacts(mails int) []benchmail.Contact {
	need := max(1000, (mails+2)/3+1)
	if b.nContacts > 0 {
		need = b.nContacts
	}
	return benchmail.Contacts((need + benchmail.PerAccount - 1) / benchmail.PerAccount)
}

func kindIndex(k string) int {
	switch k {
	case "qp":
		return 1
	case "html":
		return 2
	}
	return 0
}

func sizeStats(s []int) (mean float64, mn, mx, p50 int, total int64) {
	if len(s) == 0 {
		return
	}
	c := append([]int(nil), s...)
	sort.Ints(c)
	for _, v := range c {
		total += int64(v)
	}
	return float64(total) / float64(len(c)), c[0], c[len(c)-1], c[len(c)/2], total
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func sortStrings(s []string) { sort.Strings(s) }

// flushDirty writes the machine's dirty page cache out (sync(2)) before a
// measured phase: the seeding leaves over 100 MiB of Dovecot's files
// unwritten (mail_fsync = never), and the kernel writing them back in the
// middle of a phase slows every fsync in it by chance.
func flushDirty() {
	st := time.Now()
	syscall.Sync()
	logf("sync(2): dirty pages written out in %s", time.Since(st).Round(time.Millisecond))
}
