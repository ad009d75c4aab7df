package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
	bolt "go.etcd.io/bbolt"
)

// rawBolt is the store's raw limit: records of recSize bytes written perTx
// to a transaction, in a fresh bbolt file with default options (fsync on
// every commit).
func rawBolt(dir string, records, perTx, recSize int) (time.Duration, error) {
	path := filepath.Join(dir, "raw-bolt.db")
	defer os.Remove(path)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, recSize)
	for i := range val {
		val[i] = byte(r.Uint32())
	}
	start := time.Now()
	for i := 0; i < records; i += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("records"))
			if err != nil {
				return err
			}
			for k := i; k < min(i+perTx, records); k++ {
				var key [8]byte
				binary.BigEndian.PutUint64(key[:], uint64(k))
				val[0], val[1] = byte(k), byte(k>>8)
				if err := bk.Put(key[:], val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// ---- mailpit ----

func (b *bench) mailpitURL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", b.env.HTTPPort, path)
}

var httpc = &http.Client{Timeout: 30 * time.Second}

func (b *bench) mailpitClear() error {
	req, _ := http.NewRequest(http.MethodDelete, b.mailpitURL("/api/v1/messages"), nil)
	resp, err := httpc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit DELETE /api/v1/messages: %s", resp.Status)
	}
	return nil
}

type mpMessage struct {
	ID      string
	Subject string
	Size    int
	To      []struct{ Address string }
	Created time.Time
}

type mpList struct {
	Total         int `json:"total"`
	MessagesCount int `json:"messages_count"`
	Messages      []mpMessage
}

func getJSON(u string, v any) error {
	resp, err := httpc.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, body)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// mailpitTotal is how many messages mailpit holds.
func (b *bench) mailpitTotal() (int, error) {
	var l mpList
	if err := getJSON(b.mailpitURL("/api/v1/messages?limit=1"), &l); err != nil {
		return 0, err
	}
	return l.Total, nil
}

// mailpitLatest lists the newest messages.
func (b *bench) mailpitLatest(n int) ([]mpMessage, error) {
	var l mpList
	err := getJSON(b.mailpitURL(fmt.Sprintf("/api/v1/messages?limit=%d", n)), &l)
	return l.Messages, err
}

// mailpitAll lists every message mailpit holds (newest first).
func (b *bench) mailpitAll() ([]mpMessage, error) {
	var all []mpMessage
	for start := 0; ; {
		var l mpList
		q := url.Values{"start": {fmt.Sprint(start)}, "limit": {"1000"}}
		if err := getJSON(b.mailpitURL("/api/v1/messages?"+q.Encode()), &l); err != nil {
			return nil, err
		}
		all = append(all, l.Messages...)
		start += len(l.Messages)
		if len(l.Messages) == 0 || start >= l.MessagesCount {
			return all, nil
		}
	}
}

// rawSMTP is mailpit's plain acceptance rate: go-mail over ONE connection,
// WithoutNoop, one mail per size in sizes (each padded to about that many
// bytes), timed until mailpit holds them all.
func (b *bench) rawSMTP(ctx context.Context, sizes []int) (time.Duration, error) {
	c, err := mail.NewClient("127.0.0.1", mail.WithPort(b.env.SMTPPort), mail.WithTLSPolicy(mail.NoTLS),
		mail.WithoutNoop(), mail.WithTimeout(30*time.Second))
	if err != nil {
		return 0, err
	}
	filler := strings.Repeat("Thank you for your message. We opened a case and will answer within the target.\r\n", 1+maxInt(sizes)/80)
	// Each mail is composed just before it is sent, as casemail does.
	compose := func(i, size int) (*mail.Msg, error) {
		m := mail.NewMsg(mail.WithNoDefaultUserAgent())
		if err := m.From("Bench Support <" + supportAddr + ">"); err != nil {
			return nil, err
		}
		if err := m.To(fmt.Sprintf("raw%d@raw.example", i)); err != nil {
			return nil, err
		}
		m.Subject(fmt.Sprintf("[CASE-%d] Raw mailpit rate probe", 1000+i))
		m.SetMessageIDWithValue(fmt.Sprintf("raw-%d-%d@bench.example", i, time.Now().UnixNano()))
		m.SetGenHeader("Auto-Submitted", "auto-replied")
		m.SetDate()
		body := max(size-450, 64) // headers go-mail writes come to ~450 bytes
		m.SetBodyString(mail.TypeTextPlain, filler[:min(body, len(filler))])
		return m, nil
	}
	start := time.Now()
	if err := c.DialWithContext(ctx); err != nil {
		return 0, fmt.Errorf("SMTP dial: %w", err)
	}
	for i, size := range sizes {
		m, err := compose(i, size)
		if err != nil {
			c.Close()
			return 0, err
		}
		if err := c.Send(m); err != nil {
			c.Close()
			return 0, fmt.Errorf("SMTP send: %w", err)
		}
	}
	_ = c.Close()
	// Accepted means stored: wait until the API shows them all.
	if err := b.waitMailpit(len(sizes), 2*time.Minute, 20*time.Millisecond); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

// waitMailpit waits until mailpit holds n messages.
func (b *bench) waitMailpit(n int, timeout, every time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got, err := b.mailpitTotal()
		if err == nil && got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit holds %d messages, want %d, after %s (err %v)", got, n, timeout, err)
		}
		time.Sleep(every)
	}
}
