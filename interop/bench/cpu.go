package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// CPU accounting: every 100 ms the sampler reads user+sys time of the
// processes of each group (casemail, Dovecot's whole instance, mailpit, this
// benchmark) from /proc/PID/stat, and the machine's busy time from
// /proc/stat. A process's last sample is kept after it exits, so a group's
// total only loses the last <100 ms of processes that end.

const clkTck = 100 // USER_HZ on Linux

type cpuSampler struct {
	mu      sync.Mutex
	groups  map[string]func() []int // group → its current pids
	ticks   map[string]map[int]int64
	machine [2]int64 // busy, total jiffies (all CPUs)
	stop    chan struct{}
	done    chan struct{}
	// timeline, one point per second when enabled
	timeline []cpuPoint
	extra    func() string // a figure to show on each timeline line
	lastTL   cpuSnap
	// peak RssAnon and RssFile of the casemail process, sampled
	peakAnon, peakFile int64
}

type cpuPoint struct {
	At    time.Time
	Snap  cpuSnap
	Extra string
}

// cpuSnap is cumulative CPU seconds per group, plus the machine's.
type cpuSnap struct {
	At      time.Time
	Groups  map[string]float64
	Busy    float64 // machine busy seconds (all CPUs)
	Total   float64 // machine seconds (all CPUs)
	present bool
}

func newCPUSampler(groups map[string]func() []int) *cpuSampler {
	s := &cpuSampler{groups: groups, ticks: map[string]map[int]int64{}, stop: make(chan struct{}), done: make(chan struct{})}
	for g := range groups {
		s.ticks[g] = map[int]int64{}
	}
	s.sample()
	go s.loop()
	return s
}

func (s *cpuSampler) loop() {
	defer close(s.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-s.stop:
			s.sample()
			return
		case <-t.C:
			s.sample()
			n++
			if n%10 == 0 {
				s.mu.Lock()
				tl := s.extra != nil
				s.mu.Unlock()
				if tl {
					snap := s.snap()
					s.mu.Lock()
					s.timeline = append(s.timeline, cpuPoint{At: snap.At, Snap: snap, Extra: s.extra()})
					s.mu.Unlock()
				}
			}
		}
	}
}

func (s *cpuSampler) close() {
	close(s.stop)
	<-s.done
}

func (s *cpuSampler) sample() {
	type got struct {
		g   string
		pid int
		t   int64
	}
	var samples []got
	for g, pids := range s.groups {
		for _, pid := range pids() {
			if t, ok := procTicks(pid); ok {
				samples = append(samples, got{g, pid, t})
			}
		}
	}
	busy, total := machineTicks()
	var anon, file int64
	if pids := s.groups["casemail"]; pids != nil {
		for _, pid := range pids() {
			anon, _ = vmField(pid, "RssAnon")
			file, _ = vmField(pid, "RssFile")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peakAnon, s.peakFile = max(s.peakAnon, anon), max(s.peakFile, file)
	for _, x := range samples {
		if x.t > s.ticks[x.g][x.pid] {
			s.ticks[x.g][x.pid] = x.t
		}
	}
	s.machine = [2]int64{busy, total}
}

func (s *cpuSampler) snap() cpuSnap {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := cpuSnap{At: time.Now(), Groups: map[string]float64{}, present: true,
		Busy: float64(s.machine[0]) / clkTck, Total: float64(s.machine[1]) / clkTck}
	for g, m := range s.ticks {
		var sum int64
		for _, t := range m {
			sum += t
		}
		out.Groups[g] = float64(sum) / clkTck
	}
	return out
}

// resetPeaks starts a new peak RssAnon/RssFile measurement.
func (s *cpuSampler) resetPeaks() {
	s.mu.Lock()
	s.peakAnon, s.peakFile = 0, 0
	s.mu.Unlock()
}

func (s *cpuSampler) peaks() (anon, file int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakAnon, s.peakFile
}

// startTimeline records one point a second, with extra() beside it.
func (s *cpuSampler) startTimeline(extra func() string) {
	s.mu.Lock()
	s.extra = extra
	s.timeline = nil
	s.mu.Unlock()
}

func (s *cpuSampler) stopTimeline() []cpuPoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra = nil
	return s.timeline
}

// cpuUse is what each group used between two snapshots.
type cpuUse struct {
	Wall    time.Duration
	Groups  map[string]float64 // CPU seconds
	Machine float64            // busy CPU seconds, all processes
}

func diff(a, b cpuSnap) cpuUse {
	u := cpuUse{Wall: b.At.Sub(a.At), Groups: map[string]float64{}, Machine: b.Busy - a.Busy}
	for g, v := range b.Groups {
		u.Groups[g] = v - a.Groups[g]
	}
	return u
}

// procTicks is utime+stime of a process, in clock ticks.
func procTicks(pid int) (int64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// comm may hold spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return ut + st, true
}

// machineTicks is the busy and total jiffies of all CPUs.
func machineTicks() (busy, total int64) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		if i >= 8 { // guest time is counted in user already
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// pidsMatching lists processes whose command line contains substr.
func pidsMatching(substr string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []int
	for _, f := range dirs {
		data, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(data, []byte(substr)) {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, "/proc/"), "/cmdline"))
		if err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// cachedPids rescans with scan at most every `every`.
func cachedPids(every time.Duration, scan func() []int) func() []int {
	var mu sync.Mutex
	var last time.Time
	var pids []int
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) >= every {
			pids, last = scan(), time.Now()
		}
		return pids
	}
}

// vmField reads a "VmHWM:"-style field of /proc/PID/status, in bytes.
func vmField(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("odd %s line %q", field, line)
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
