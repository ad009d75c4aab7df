package mailtest_test

import (
	"fmt"
	"net/smtp"
	"time"

	"casemail/internal/mailtest"
)

func Example() {
	imapSrv, err := mailtest.StartIMAP(mailtest.IMAPOptions{Folders: []string{"Processed"}})
	if err != nil {
		panic(err)
	}
	defer imapSrv.Close()
	smtpSrv, err := mailtest.StartSMTP(mailtest.SMTPOptions{})
	if err != nil {
		panic(err)
	}
	defer smtpSrv.Close()

	// A customer's mail lands in INBOX; the code under test would now read
	// it from imapSrv.Addr() and answer through smtpSrv.Addr().
	uid, _ := imapSrv.Deliver("INBOX", []byte("From: alice@acme.example\r\nSubject: help\r\n\r\nHi\r\n"), time.Time{})
	smtp.SendMail(smtpSrv.Addr(), nil, "support@example.com", []string{"alice@acme.example"},
		[]byte("Subject: [CASE-1000] help\r\n\r\nReceived.\r\n"))

	msgs, _ := imapSrv.Messages("INBOX")
	sent, _ := smtpSrv.WaitFor(1, 5*time.Second)
	fmt.Println(uid, len(msgs), sent[0].To)
	// Output: 1 1 [alice@acme.example]
}
