package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"casemail/internal/benchmail"
)

// intakeAB measures the intake phase alone (with -ab-delivery, intake and
// delivery), again and again, alternating two casemail binaries (this
// run's and -ab), each time on the same mails seeded afresh and with a
// fresh store. A change worth a few per cent is lost in the ±5–10 %
// between single full runs on a shared VM; paired, interleaved rounds show
// it.
func (b *bench) intakeAB() error {
	if b.rounds > maxRounds {
		return fmt.Errorf("at most %d rounds (a mailbox each)", maxRounds)
	}
	contacts := b.contacts(b.n)
	rng := rand.New(rand.NewPCG(b.seed, 0x5eed))
	nonce := strconv.FormatInt(time.Now().Unix()%1e6, 36)
	date := time.Now().Add(-time.Hour)
	mails := make([][]byte, b.n)
	for k := range mails {
		spec := benchmail.NewCase(rng, k, contacts[k%len(contacts)], nonce, b.attachPct)
		mails[k] = spec.Render(rng, date.Add(time.Duration(k)*time.Millisecond))
	}
	other, err := filepath.Abs(b.abBin)
	if err != nil {
		return err
	}
	bins := [2]string{b.bin, other}
	var rates, deliveries [2][]float64
	for round := range b.rounds {
		order := []int{0, 1}
		if round%2 == 1 {
			order = []int{1, 0} // neither always goes first
		}
		for _, i := range order {
			// A mailbox of its own, as fresh as the benchmark's: Dovecot
			// keeps the history of every mail a folder held.
			user := fmt.Sprintf("user%d", 3+2*round+i)
			if err := b.mailpitClear(); err != nil {
				return err
			}
			if err := b.multiAppend(user, "INBOX", mails, 200); err != nil {
				return fmt.Errorf("seeding: %w", err)
			}
			flushDirty()
			d, err := b.newDaemonDir(fmt.Sprintf("ab-%d-%d", round, i), user, contacts)
			if err != nil {
				return err
			}
			d.bin = bins[i]
			if err := b.start(d); err != nil {
				return err
			}
			var delivery <-chan delivered
			if b.abDelivery {
				delivery = b.watchDelivery(d, 2*b.n)
			}
			_, last, _, err := d.waitCases(b.n, 50*time.Millisecond, b.timeout(b.n), true)
			var dl delivered
			if err == nil && delivery != nil {
				dl = <-delivery
				err = dl.err
			}
			if _, serr := d.stop(); err == nil {
				err = serr
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, bins[i], err)
			}
			r := rate(b.n, last.Sub(d.started))
			rates[i] = append(rates[i], r)
			if delivery != nil {
				dr := rate(2*b.n, dl.at.Sub(d.started))
				deliveries[i] = append(deliveries[i], dr)
				logf("round %d: %s: intake %.0f mails/s, delivery %.0f mails/s", round+1, bins[i], r, dr)
			} else {
				logf("round %d: %s: %.0f mails/s", round+1, bins[i], r)
			}
		}
	}
	compare(bins, "intake", b.n, rates)
	if b.abDelivery {
		compare(bins, "delivery", 2*b.n, deliveries)
	}
	return nil
}

// compare prints the figures of two binaries over paired rounds.
func compare(bins [2]string, what string, n int, rates [2][]float64) {
	fmt.Printf("%s A/B, %d mails, %d rounds (mails/s)\n", what, n, len(rates[0]))
	for i, bin := range bins {
		fmt.Printf("%s: median %.0f; %.0f\n", bin, median(rates[i]), rates[i])
	}
	var wins int
	for k := range rates[0] {
		if rates[0][k] > rates[1][k] {
			wins++
		}
	}
	fmt.Printf("%s faster in %d of %d rounds; medians differ by %+.1f %%\n", bins[0], wins, len(rates[0]),
		100*(median(rates[0])/median(rates[1])-1))
}

// maxRounds: interop/servers.sh makes 40 mailboxes; the benchmark uses
// user1 and user2.
const maxRounds = 19

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
