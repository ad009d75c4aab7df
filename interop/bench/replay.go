package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"sync"
	"time"
)

// sentMail is one mail casemail delivered, as mailpit received it.
type sentMail struct {
	to  string
	raw []byte
}

// mailpitRaw fetches the raw bytes of msgs from mailpit (four requests at
// a time).
func (b *bench) mailpitRaw(msgs []mpMessage) ([]sentMail, error) {
	out := make([]sentMail, len(msgs))
	errs := make(chan error, len(msgs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if len(msgs[i].To) == 0 {
					errs <- fmt.Errorf("mailpit message %s has no recipient", msgs[i].ID)
					continue
				}
				raw, err := getRaw(b.mailpitURL("/api/v1/message/" + msgs[i].ID + "/raw"))
				if err != nil {
					errs <- err
					continue
				}
				out[i] = sentMail{to: msgs[i].To[0].Address, raw: raw}
			}
		}()
	}
	for i := range msgs {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("fetching casemail's mails from mailpit: %w", err)
	}
	// Oldest first, as casemail sent them (mailpit lists the newest first).
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func getRaw(u string) ([]byte, error) {
	resp, err := httpc.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// replaySMTP sends mails byte for byte through Go's plain net/smtp client
// over one connection (MAIL, RCPT, DATA; no NOOP, no RSET), timed until
// mailpit holds them all: mailpit's rate for exactly the mails casemail
// sent. mailpit's own work per mail depends on the content (it parses and
// stores every mail), so a filler of the same size is not the same load.
func (b *bench) replaySMTP(mails []sentMail) (time.Duration, error) {
	start := time.Now()
	c, err := smtp.Dial(net.JoinHostPort("127.0.0.1", strconv.Itoa(b.env.SMTPPort)))
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if err := c.Hello("bench.example"); err != nil {
		return 0, err
	}
	for _, m := range mails {
		if err := c.Mail(supportAddr); err != nil {
			return 0, fmt.Errorf("MAIL: %w", err)
		}
		if err := c.Rcpt(m.to); err != nil {
			return 0, fmt.Errorf("RCPT: %w", err)
		}
		w, err := c.Data()
		if err != nil {
			return 0, fmt.Errorf("DATA: %w", err)
		}
		if _, err := w.Write(m.raw); err != nil {
			return 0, fmt.Errorf("DATA: %w", err)
		}
		if err := w.Close(); err != nil {
			return 0, fmt.Errorf("DATA: %w", err)
		}
	}
	if err := c.Quit(); err != nil {
		return 0, err
	}
	if err := b.waitMailpit(len(mails), 2*time.Minute, 20*time.Millisecond); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
