package intake_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"casemail/config"
	"casemail/intake"
	"casemail/mailparse"
	"casemail/reply"
	"casemail/store"
)

// BenchmarkProcessBatch measures Desk.Process of one IMAP batch of 200
// parsed, typical mails — new cases, customer replies, an agent answer,
// refusals, auto-replies — committed in one transaction to a store that
// syncs to disk as production does.
func BenchmarkProcessBatch(b *testing.B) {
	const batchSize = 200
	desk := benchDesk(b, testContacts)
	const folder, validity = "INBOX", 7

	parse := func(raw string) *mailparse.Message {
		m, err := mailparse.Parse(strings.NewReader(raw), &mailparse.Options{KeepAttachments: fromAgent})
		must(b, err)
		return m
	}
	// One case to reply to.
	first, err := desk.Process(&intake.Batch{Folder: folder, UIDValidity: validity, Mails: []*intake.Incoming{{
		UID: 1, Arrived: time.Now(), Msg: parse(mail(alice, "Index stuck", "Engine: acme-search\nSeverity: 2\nIt is stuck.")),
	}}})
	must(b, err)
	caseID := first[0].Case

	senders := []string{"Alice <alice@acme.example>", "Ops <ops@acme.example>", "Bob <bob@globex.example>", "Peter <peter@initech.example>"}
	uid := uint32(1)
	batch := func() *intake.Batch {
		mails := make([]*intake.Incoming, 0, batchSize)
		for i := range batchSize {
			var raw string
			switch i % 10 {
			case 0, 1, 2, 3, 4, 5:
				raw = mail(senders[i%len(senders)], fmt.Sprintf("Problem %d", i),
					"Hello,\n\nEngine: acme-search\nSeverity: high\nEnvironment: production\n\n"+
						"Queries time out since the last deploy.\nThanks,\n-- \nA customer")
			case 6, 7:
				raw = mail(alice, "Re: ["+string(caseID)+"] Index stuck",
					"Still stuck.\n\nOn Mon, Alice wrote:\n> It is stuck.\n> Engine: acme-search")
			case 8:
				raw = mail(fmt.Sprintf("Stranger <s%d@unknown.example>", uid+uint32(i)), "Help", "Can you fix my search?")
			default:
				raw = mail(senders[i%len(senders)], "Out of office", "I am away.", "Auto-Submitted: auto-replied")
			}
			uid++
			mails = append(mails, &intake.Incoming{UID: uid, Arrived: time.Now(), Msg: parse(raw)})
		}
		return &intake.Batch{Folder: folder, UIDValidity: validity, Mails: mails}
	}

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		bt := batch()
		b.StartTimer()
		rs, err := desk.Process(bt)
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != batchSize {
			b.Fatalf("%d results, want %d", len(rs), batchSize)
		}
		// As the source does once the batch is moved on the server.
		uids := make([]uint32, len(rs))
		for i, r := range rs {
			uids[i] = r.UID
		}
		if err := desk.Settled(folder, uids); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batchSize), "µs/mail")
}

// BenchmarkProcessNewCases measures Desk.Process of batches of 50 new-case
// mails of about 21 KiB of text each (the daemon's default batch and the
// performance benchmark's sizes) from 2,000 contacts of one account, a few
// mails each, analyzed beforehand as the source's workers do, each batch
// recording the moves of the one before: what the single committing
// goroutine spends per mail.
func BenchmarkProcessNewCases(b *testing.B) {
	const batchSize, nContacts = 50, 2000
	var contacts strings.Builder
	contacts.WriteString("[[account]]\nemail = \"admin@acme.example\"\nplan = \"premium\"\nengines = [\"acme-search\"]\ncontacts = [")
	for i := range nContacts {
		fmt.Fprintf(&contacts, "%q,", fmt.Sprintf("user%d@acme.example", i))
	}
	contacts.WriteString("]\n")
	desk := benchDesk(b, contacts.String())
	const folder, validity = "INBOX", 7
	text := "Hello,\n\nSeverity: high\nEnvironment: production\n\n" +
		strings.Repeat("Queries time out since the last deploy, about one in ten, mostly on the product index.\n", 240) +
		"Thanks,\n-- \nA customer"
	uid := uint32(0)
	var settled []uint32
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		mails := make([]*intake.Incoming, 0, batchSize)
		for i := range batchSize {
			uid++
			from := fmt.Sprintf("User <user%d@acme.example>", int(uid)%nContacts)
			m, err := mailparse.Parse(strings.NewReader(mail(from, fmt.Sprintf("Problem %d", i), text)), nil)
			must(b, err)
			in := &intake.Incoming{UID: uid, Arrived: time.Now(), Msg: m}
			intake.Analyze(in)
			mails = append(mails, in)
		}
		b.StartTimer()
		rs, err := desk.Process(&intake.Batch{Folder: folder, UIDValidity: validity, Mails: mails, Settled: settled})
		if err != nil || len(rs) != batchSize || rs[0].Outcome != intake.OutcomeCaseCreated {
			b.Fatalf("%d results (%+v), err %v", len(rs), rs[0], err)
		}
		settled = settled[:0]
		for _, r := range rs {
			settled = append(settled, r.UID)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batchSize), "µs/mail")
}

// benchDesk is a Desk over a store that syncs to disk as production does,
// with the contacts file given, resumed in INBOX (UIDVALIDITY 7) from the
// start; automatic answers are not rate-limited, to measure them.
func benchDesk(b *testing.B, contacts string) *intake.Desk {
	cfg, err := config.Parse([]byte(testPolicy))
	must(b, err)
	plans, err := cfg.BuildPlans()
	must(b, err)
	dir, err := config.ParseContacts([]byte(contacts), plans)
	must(b, err)
	tmpl, err := reply.LoadTemplates("")
	must(b, err)
	db, err := store.Open(filepath.Join(b.TempDir(), "bench.db"), &store.Options{})
	must(b, err)
	b.Cleanup(func() { db.Close() })
	desk, err := intake.NewDesk(intake.Options{
		Store: db, Renderer: tmpl, Directory: func() *intake.Directory { return dir }, Plans: plans,
		Support: supportFrom, Agents: []string{agentAddr}, Notify: notifyAddr,
		ProcessedFolder: "Processed", QuarantineFolder: "Quarantine",
		AutoReplyLimit: 1 << 30,
	})
	must(b, err)
	_, err = desk.Resume(intake.Folder{Name: "INBOX", UIDValidity: 7, UIDNext: 1}, intake.StartAll)
	must(b, err)
	return desk
}
