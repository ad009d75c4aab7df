package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func (b *bench) imapAddr() string { return fmt.Sprintf("127.0.0.1:%d", b.env.IMAPPort) }

func (b *bench) dialIMAP(user string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(b.imapAddr(), nil)
	if err != nil {
		return nil, fmt.Errorf("IMAP dial %s: %w", b.imapAddr(), err)
	}
	if err := c.Login(user, b.env.Password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("IMAP login %s: %w", user, err)
	}
	return c, nil
}

// multiAppend stores mails with MULTIAPPEND and LITERAL+ (go-imap's client
// has neither), per commands of `per` mails, on one connection.
func (b *bench) multiAppend(user, folder string, mails [][]byte, per int) error {
	conn, err := net.Dial("tcp", b.imapAddr())
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 64<<10)
	bw := bufio.NewWriterSize(conn, 1<<20)
	tag := 0
	command := func(write func()) error {
		tag++
		prefix := fmt.Sprintf("m%d ", tag)
		bw.WriteString(prefix)
		write()
		bw.WriteString("\r\n")
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("MULTIAPPEND: %w", err)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return fmt.Errorf("MULTIAPPEND: reading answer: %w", err)
			}
			if strings.HasPrefix(line, prefix) {
				if !strings.HasPrefix(line[len(prefix):], "OK") {
					return fmt.Errorf("MULTIAPPEND: %s", strings.TrimSpace(line))
				}
				return nil
			}
		}
	}
	if _, err := br.ReadString('\n'); err != nil { // greeting
		return err
	}
	if err := command(func() { fmt.Fprintf(bw, "LOGIN %s %q", user, b.env.Password) }); err != nil {
		return err
	}
	for i := 0; i < len(mails); i += per {
		chunk := mails[i:min(i+per, len(mails))]
		if err := command(func() {
			fmt.Fprintf(bw, "APPEND %q", folder)
			for _, m := range chunk {
				fmt.Fprintf(bw, " {%d+}\r\n", len(m))
				bw.Write(m)
			}
		}); err != nil {
			return err
		}
	}
	return command(func() { bw.WriteString("LOGOUT") })
}

// rawFetch is the raw IMAP limit: a plain go-imap v2 client fetching
// BODY.PEEK[] (with UID and INTERNALDATE, as casemail asks) of every mail
// of the folder by UID, `batch` per UID FETCH, one command at a time, the
// literals read in full and discarded.
func (b *bench) rawFetch(user string, batch int) (n int, bytes int64, took time.Duration, err error) {
	c, err := b.dialIMAP(user)
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return 0, 0, 0, err
	}
	var all imap.UIDSet
	all.AddRange(1, 0)
	sd, err := c.UIDSearch(&imap.SearchCriteria{UID: []imap.UIDSet{all}}, nil).Wait()
	if err != nil {
		return 0, 0, 0, err
	}
	uids := sd.AllUIDs()
	buf := make([]byte, 64<<10)
	for i := 0; i < len(uids); i += batch {
		var set imap.UIDSet
		for _, u := range uids[i:min(i+batch, len(uids))] {
			set.AddNum(u)
		}
		cmd := c.Fetch(set, &imap.FetchOptions{UID: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			for {
				item := msg.Next()
				if item == nil {
					break
				}
				if bs, ok := item.(imapclient.FetchItemDataBodySection); ok && bs.Literal != nil {
					k, err := io.CopyBuffer(io.Discard, bs.Literal, buf)
					if err != nil {
						return n, bytes, 0, err
					}
					bytes += k
					n++
				}
			}
		}
		if err := cmd.Close(); err != nil {
			return n, bytes, 0, fmt.Errorf("UID FETCH: %w", err)
		}
	}
	took = time.Since(start)
	_ = c.Logout().Wait()
	return n, bytes, took, nil
}

// folderCount is a folder's message count, -1 when it does not exist.
func (b *bench) folderCount(user, folder string) int {
	c, err := b.dialIMAP(user)
	if err != nil {
		return -1
	}
	defer c.Close()
	st, err := c.Status(folder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return -1
	}
	_ = c.Logout().Wait()
	return int(*st.NumMessages)
}

// appendOne APPENDs one mail on an open connection and returns when the
// server has stored it.
func appendOne(c *imapclient.Client, folder string, raw []byte) error {
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return fmt.Errorf("APPEND: %w", err)
	}
	if err := cmd.Close(); err != nil {
		return fmt.Errorf("APPEND: %w", err)
	}
	if _, err := cmd.Wait(); err != nil {
		return fmt.Errorf("APPEND: %w", err)
	}
	return nil
}
