//go:build interop

package interop

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLargeMailbox: a folder that already holds 1,000 or 20,000 mails,
// start_from = "now". The first poll fetches no old body; the steady-state
// cost of a poll (time, and bytes on the IMAP connection, counted by a
// proxy between casemail and Dovecot) is measured at both sizes. Only
// generous sanity bounds are asserted.
func TestLargeMailbox(t *testing.T) {
	type cost struct {
		n                      int
		seed                   time.Duration
		firstDown, firstUp     int64
		polls                  float64
		pollTime               time.Duration
		perPollDown, perPollUp float64
	}
	var costs []cost
	for _, n := range []int{1000, 20000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			px := newProxy(t, fmt.Sprintf("127.0.0.1:%d", srv.IMAPPort))
			admin := freeAddr(t)
			s := newSetup(t, opts{IMAPPort: px.port(), Idle: false, Poll: "1s", StartFrom: "now", AdminListen: admin})
			// ~2 KiB mails: 20,000 of them are ~40 MiB a client would read if it fetched them.
			pad := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 28)
			mails := make([][]byte, n)
			for i := range mails {
				_, raw := s.newCaseMail(fmt.Sprintf("Old mail %05d", i))
				mails[i] = append(raw, pad...)
			}
			seedStart := time.Now()
			multiAppend(t, s.user, "INBOX", mails, "")
			c := cost{n: n, seed: time.Since(seedStart)}
			oldBytes := int64(n * len(mails[0]))

			p := s.start()
			p.ready()
			// The first poll: wait until one is counted.
			var m0 map[string]float64
			eventually(t, 30*time.Second, "first poll", func() (bool, string) {
				m0 = metrics(t, admin)
				return m0["casemail_poll_duration_seconds_count"] >= 1, fmt.Sprint(m0["casemail_poll_duration_seconds_count"])
			})
			c.firstDown, c.firstUp = px.down.Load(), px.up.Load()
			if f := m0["casemail_messages_fetched_total"]; f != 0 {
				t.Errorf("first start with start_from = \"now\" fetched %v mails, want 0", f)
			}
			if c.firstDown > oldBytes/20 || c.firstDown > 1<<20 {
				t.Errorf("first session read %d bytes from Dovecot; the %d old mails hold %d: old bodies were fetched?",
					c.firstDown, n, oldBytes)
			}

			// Steady state: 10 s of 1 s polls.
			down0, up0 := px.down.Load(), px.up.Load()
			time.Sleep(10 * time.Second)
			m1 := metrics(t, admin)
			down1, up1 := px.down.Load(), px.up.Load()
			c.polls = m1["casemail_poll_duration_seconds_count"] - m0["casemail_poll_duration_seconds_count"]
			if c.polls < 3 {
				t.Fatalf("%v polls in 10 s with poll_interval 1s", c.polls)
			}
			sum := m1["casemail_poll_duration_seconds_sum"] - m0["casemail_poll_duration_seconds_sum"]
			c.pollTime = time.Duration(sum / c.polls * float64(time.Second))
			c.perPollDown = float64(down1-down0) / c.polls
			c.perPollUp = float64(up1-up0) / c.polls
			if c.perPollDown > 64<<10 {
				t.Errorf("a poll reads %.0f bytes from Dovecot at %d mails: it should not grow with the folder", c.perPollDown, n)
			}
			if c.pollTime > 2*time.Second {
				t.Errorf("a poll takes %s at %d mails", c.pollTime, n)
			}

			// And new mail is still taken.
			_, raw := s.newCaseMail("New after the old ones")
			appendMail(t, s.user, "INBOX", raw)
			waitAck(t, s, "New after the old ones", 30*time.Second)
			p.stop(syscall.SIGTERM, 10*time.Second)
			if got := len(s.casesList()); got != 1 {
				t.Errorf("%d cases, want 1 (old mail must be left alone)", got)
			}
			if cn := counts(t, s.user, "INBOX")["INBOX"]; cn != n {
				t.Errorf("INBOX holds %d mails, want the %d old ones left alone", cn, n)
			}
			summary(t, "%d old mails (seeded in %s): first session read %d B / wrote %d B; steady poll: %s, %.0f B read, %.0f B written (%v polls)",
				n, c.seed.Round(time.Millisecond), c.firstDown, c.firstUp, c.pollTime.Round(time.Microsecond),
				c.perPollDown, c.perPollUp, c.polls)
			costs = append(costs, c)
		})
	}
	if len(costs) == 2 {
		a, b := costs[0], costs[1]
		summary(t, "per-poll cost 1k → 20k: time %s → %s, bytes read %.0f → %.0f, written %.0f → %.0f",
			a.pollTime.Round(time.Microsecond), b.pollTime.Round(time.Microsecond),
			a.perPollDown, b.perPollDown, a.perPollUp, b.perPollUp)
	}
}

// freeAddr is a loopback address nobody listens on (for [admin] listen).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// metrics scrapes casemail's /metrics: unlabelled series by name, and
// labelled ones by name{labels}.
func metrics(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := httpClient.Get("http://" + admin + "/metrics")
	must(t, err)
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
