package mailtest_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"casemail/internal/mailtest"
)

func mustStartIMAP(tb testing.TB, opts mailtest.IMAPOptions) *mailtest.IMAPServer {
	tb.Helper()
	s, err := mailtest.StartIMAP(opts)
	if err != nil {
		tb.Fatalf("StartIMAP: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mustLogin dials s and logs in with the default credentials.
func mustLogin(tb testing.TB, s *mailtest.IMAPServer, opts *imapclient.Options) *imapclient.Client {
	tb.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), opts)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	if err := c.Login(mailtest.DefaultUsername, mailtest.DefaultPassword).Wait(); err != nil {
		tb.Fatalf("login: %v", err)
	}
	return c
}

func testMail(n int) []byte {
	return []byte(fmt.Sprintf("From: alice@acme.example\r\nTo: support@example.com\r\nSubject: test %d\r\nMessage-Id: <%d@acme.example>\r\n\r\nBody %d.\r\n", n, n, n))
}

func TestIMAP_DeliverAndFetch(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{Folders: []string{"Processed", "Quarantine"}})
	if got := s.Host(); got != "127.0.0.1" {
		t.Errorf("Host() = %q", got)
	}
	if got, want := s.Addr(), fmt.Sprintf("127.0.0.1:%d", s.Port()); got != want {
		t.Errorf("Addr() = %q, want %q", got, want)
	}

	date := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	uid1, err := s.Deliver("INBOX", testMail(1), date)
	if err != nil {
		t.Fatal(err)
	}
	uid2, err := s.Deliver("INBOX", testMail(2), date.Add(time.Minute), imap.FlagSeen)
	if err != nil {
		t.Fatal(err)
	}
	if uid1 != 1 || uid2 != 2 {
		t.Errorf("UIDs = %d, %d, want 1, 2", uid1, uid2)
	}
	if _, err := s.Deliver("Nope", testMail(3), date); err == nil {
		t.Error("Deliver to a missing folder: no error")
	}

	c := mustLogin(t, s, nil)
	caps, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []imap.Cap{imap.CapIMAP4rev1, imap.CapMove, imap.CapUIDPlus, imap.CapIdle, imap.CapLiteralPlus} {
		if !caps.Has(want) {
			t.Errorf("capability %s missing from %v", want, caps)
		}
	}

	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	slices.Sort(names)
	if got, want := strings.Join(names, ","), "INBOX,Processed,Quarantine"; got != want {
		t.Errorf("folders = %s, want %s", got, want)
	}

	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("fetched %d messages, want 2", len(msgs))
	}
	if got := msgs[0].FindBodySection(body); !bytes.Equal(got, testMail(1)) {
		t.Errorf("body 1 = %q", got)
	}
	if !msgs[0].InternalDate.Equal(date) {
		t.Errorf("internal date = %v, want %v", msgs[0].InternalDate, date)
	}
	if !slices.Contains(msgs[1].Flags, imap.FlagSeen) {
		t.Errorf("flags 2 = %v, want \\Seen", msgs[1].Flags)
	}

	// A client's move shows in Messages.
	if _, err := c.Move(imap.UIDSetNum(1), "Processed").Wait(); err != nil {
		t.Fatalf("MOVE: %v", err)
	}
	got, err := s.Messages("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].UID != 2 || !bytes.Equal(got[0].Raw, testMail(2)) || !slices.Equal(got[0].Flags, []imap.Flag{imap.FlagSeen}) {
		t.Errorf("Messages(INBOX) = %+v", got)
	}
	got, err = s.Messages("Processed")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].UID != 1 || !bytes.Equal(got[0].Raw, testMail(1)) || !got[0].InternalDate.Equal(date) {
		t.Errorf("Messages(Processed) = %+v", got)
	}
	if got, err := s.Messages("Quarantine"); err != nil || len(got) != 0 {
		t.Errorf("Messages(Quarantine) = %v, %v; want none", got, err)
	}
	if _, err := s.Messages("Nope"); err == nil {
		t.Error("Messages of a missing folder: no error")
	}
	// Messages peeks: nothing became \Seen.
	if got, _ := s.Messages("Processed"); len(got) == 1 && len(got[0].Flags) != 0 {
		t.Errorf("flags after Messages = %v, want none", got[0].Flags)
	}
	if got := s.Connections(); got != 1 {
		t.Errorf("Connections() = %d, want 1 (internal ones do not count)", got)
	}
}

func TestIMAP_Login(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{Username: "desk@acme.example", Password: "pw"})
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("desk@acme.example", "wrong").Wait(); err == nil {
		t.Error("LOGIN with a wrong password: no error")
	}
	if err := c.Authenticate(sasl.NewPlainClient("", "desk@acme.example", "pw")); err != nil {
		t.Errorf("AUTHENTICATE PLAIN: %v", err)
	}
}

func TestIMAP_IdleWakesOnDeliver(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{})
	exists := make(chan uint32, 10)
	c := mustLogin(t, s, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					exists <- *data.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	// Let the server enter IDLE before delivering.
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Deliver("INBOX", testMail(1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no EXISTS during IDLE after Deliver")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
}

// rawIMAP is a line-level IMAP conversation for what imapclient would not
// send (MOVE without the capability, IDLE without it).
type rawIMAP struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	n    int
}

func dialRaw(t *testing.T, addr string) *rawIMAP {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := &rawIMAP{t: t, conn: conn, r: bufio.NewReader(conn)}
	if greeting := r.line(); !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q", greeting)
	}
	return r
}

func (r *rawIMAP) line() string {
	r.t.Helper()
	l, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	return strings.TrimRight(l, "\r\n")
}

// cmd sends a command and returns the untagged lines and the tagged one.
func (r *rawIMAP) cmd(format string, args ...any) (untagged []string, tagged string) {
	r.t.Helper()
	r.n++
	tag := fmt.Sprintf("a%d", r.n)
	fmt.Fprintf(r.conn, tag+" "+format+"\r\n", args...)
	for {
		l := r.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

func TestIMAP_NoMove(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{NoMove: true, Folders: []string{"Processed"}})
	for i := 1; i <= 2; i++ {
		if _, err := s.Deliver("INBOX", testMail(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}

	r := dialRaw(t, s.Addr())
	if _, st := r.cmd("LOGIN %s %s", mailtest.DefaultUsername, mailtest.DefaultPassword); !strings.HasPrefix(st, "OK") {
		t.Fatalf("LOGIN: %s", st)
	}
	caps, _ := r.cmd("CAPABILITY")
	if len(caps) != 1 || strings.Contains(caps[0], "MOVE") || !strings.Contains(caps[0], "UIDPLUS") {
		t.Errorf("CAPABILITY = %q, want UIDPLUS and no MOVE", caps)
	}
	r.cmd("SELECT INBOX")
	if _, st := r.cmd("UID MOVE 1 Processed"); strings.HasPrefix(st, "OK") {
		t.Errorf("UID MOVE on a NoMove server: %s", st)
	}
	if got, _ := s.Messages("Processed"); len(got) != 0 {
		t.Errorf("refused MOVE moved %d messages", len(got))
	}

	// imapclient falls back to COPY, STORE \Deleted, UID EXPUNGE.
	c := mustLogin(t, s, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Processed").Wait(); err != nil {
		t.Fatalf("fallback move: %v", err)
	}
	inbox, _ := s.Messages("INBOX")
	processed, _ := s.Messages("Processed")
	if len(inbox) != 1 || inbox[0].UID != 2 || len(processed) != 1 || !bytes.Equal(processed[0].Raw, testMail(1)) {
		t.Errorf("after fallback move: INBOX %+v, Processed %+v", inbox, processed)
	}
}

func TestIMAP_NoIdle(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{NoIdle: true})
	// Bodies that look like protocol lines must pass untouched.
	tricky := []byte("Subject: tricky\r\n\r\n* CAPABILITY IMAP4rev1 IDLE\r\na9 IDLE\r\n* OK [CAPABILITY IDLE] x\r\n")
	if _, err := s.Deliver("INBOX", tricky, time.Time{}); err != nil {
		t.Fatal(err)
	}

	r := dialRaw(t, s.Addr())
	_, st := r.cmd("LOGIN %s %s", mailtest.DefaultUsername, mailtest.DefaultPassword)
	if !strings.HasPrefix(st, "OK") || strings.Contains(st, "IDLE") {
		t.Fatalf("LOGIN: %s", st)
	}
	caps, _ := r.cmd("CAPABILITY")
	if len(caps) != 1 || strings.Contains(caps[0], "IDLE") || !strings.Contains(caps[0], "MOVE") {
		t.Errorf("CAPABILITY = %q, want MOVE and no IDLE", caps)
	}
	r.cmd("SELECT INBOX")
	if _, st := r.cmd("IDLE"); !strings.HasPrefix(st, "BAD") {
		t.Errorf("IDLE on a NoIdle server: %s", st)
	}
	// The connection still works.
	if _, st := r.cmd("NOOP"); !strings.HasPrefix(st, "OK") {
		t.Errorf("NOOP after refused IDLE: %s", st)
	}

	c := mustLogin(t, s, nil)
	caps2, err := c.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if caps2.Has(imap.CapIdle) || !caps2.Has(imap.CapMove) {
		t.Errorf("imapclient caps = %v", caps2)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.UIDSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("fetch: %v, %d messages", err, len(msgs))
	}
	if got := msgs[0].FindBodySection(body); !bytes.Equal(got, tricky) {
		t.Errorf("fetched body = %q, want %q", got, tricky)
	}
	// And an APPEND of the same bytes (LITERAL+) arrives intact.
	app := c.Append("INBOX", int64(len(tricky)), nil)
	app.Write(tricky)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatalf("append: %v", err)
	}
	stored, _ := s.Messages("INBOX")
	if len(stored) != 2 || !bytes.Equal(stored[1].Raw, tricky) {
		t.Errorf("appended message = %+v", stored)
	}
}

func TestIMAP_ResetUIDValidity(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{})
	date := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		if _, err := s.Deliver("INBOX", testMail(i), date.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// Expunge UID 1 so that the renumbering shows.
	c := mustLogin(t, s, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.UIDSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Close()

	before, err := s.UIDValidity("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ResetUIDValidity("INBOX"); err != nil {
		t.Fatal(err)
	}
	after, err := s.UIDValidity("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Errorf("UIDVALIDITY unchanged: %d", after)
	}
	msgs, err := s.Messages("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages after reset, want 2", len(msgs))
	}
	for i, m := range msgs {
		if m.UID != imap.UID(i+1) || !bytes.Equal(m.Raw, testMail(i+2)) || !m.InternalDate.Equal(date.Add(time.Duration(i+2)*time.Minute)) {
			t.Errorf("message %d = UID %d %q %v", i, m.UID, m.Raw, m.InternalDate)
		}
	}
	if !slices.Equal(msgs[1].Flags, []imap.Flag{imap.FlagSeen}) {
		t.Errorf("flags kept = %v, want \\Seen", msgs[1].Flags)
	}

	// A new client sees the new value.
	c2 := mustLogin(t, s, nil)
	sel, err := c2.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.UIDValidity != after || sel.NumMessages != 2 {
		t.Errorf("SELECT: UIDVALIDITY %d, %d messages; want %d, 2", sel.UIDValidity, sel.NumMessages, after)
	}
	if _, err := s.UIDValidity("Nope"); err == nil {
		t.Error("UIDValidity of a missing folder: no error")
	}
	if err := s.ResetUIDValidity("Nope"); err == nil {
		t.Error("ResetUIDValidity of a missing folder: no error")
	}
}

func TestIMAP_DropConnections(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{})
	c := mustLogin(t, s, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	s.DropConnections()
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after DropConnections")
	}
	if err := c.Noop().Wait(); err == nil {
		t.Error("NOOP after DropConnections: no error")
	}
	// The server still listens.
	c2 := mustLogin(t, s, nil)
	if err := c2.Noop().Wait(); err != nil {
		t.Errorf("NOOP on a new connection: %v", err)
	}
	if got := s.Connections(); got != 2 {
		t.Errorf("Connections() = %d, want 2", got)
	}
}

func TestIMAP_TLS(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{TLS: true, NoIdle: true})
	if s.CertPool() == nil {
		t.Fatal("CertPool() = nil in TLS mode")
	}
	if _, err := s.Deliver("INBOX", testMail(1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialTLS(s.Addr(), &imapclient.Options{TLSConfig: &tls.Config{RootCAs: s.CertPool()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(mailtest.DefaultUsername, mailtest.DefaultPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages != 1 {
		t.Fatalf("select: %v, %+v", err, sel)
	}
	caps, err := c.Capability().Wait()
	if err != nil || caps.Has(imap.CapIdle) || caps.Has(imap.CapStartTLS) {
		t.Errorf("caps = %v, %v; want no IDLE, no STARTTLS", caps, err)
	}

	// Without the pool the certificate is not trusted.
	bad, err := imapclient.DialTLS(s.Addr(), nil)
	if err == nil {
		err = bad.Login(mailtest.DefaultUsername, mailtest.DefaultPassword).Wait()
		bad.Close()
	}
	if err == nil {
		t.Error("TLS without CertPool: no error")
	}
	if plain := mustStartIMAP(t, mailtest.IMAPOptions{}); plain.CertPool() != nil {
		t.Error("CertPool() != nil without TLS")
	}
}

// xoauth2Client is the client side of XOAUTH2; it answers the server's
// error challenge with an empty response, as Gmail wants.
type xoauth2Client struct{ user, token string }

func (c xoauth2Client) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c xoauth2Client) Next(challenge []byte) ([]byte, error) { return []byte{}, nil }

func TestIMAP_XOAuth2(t *testing.T) {
	s := mustStartIMAP(t, mailtest.IMAPOptions{XOAuth2Token: "tok-123"})

	dial := func() *imapclient.Client {
		c, err := imapclient.DialInsecure(s.Addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := dial()
	caps, err := c.Capability().Wait()
	if err != nil || !caps.Has("AUTH=XOAUTH2") || caps.Has("AUTH=PLAIN") {
		t.Errorf("caps = %v, %v; want AUTH=XOAUTH2 only", caps, err)
	}
	if err := c.Login(mailtest.DefaultUsername, mailtest.DefaultPassword).Wait(); err == nil {
		t.Error("LOGIN accepted in XOAUTH2 mode")
	}
	if err := c.Authenticate(sasl.NewPlainClient("", mailtest.DefaultUsername, mailtest.DefaultPassword)); err == nil {
		t.Error("AUTHENTICATE PLAIN accepted in XOAUTH2 mode")
	}
	if err := c.Authenticate(xoauth2Client{mailtest.DefaultUsername, "wrong"}); err == nil {
		t.Error("XOAUTH2 with a wrong token accepted")
	}
	if err := c.Authenticate(xoauth2Client{"other@example.com", "tok-123"}); err == nil {
		t.Error("XOAUTH2 with a wrong user accepted")
	}
	if err := c.Authenticate(xoauth2Client{mailtest.DefaultUsername, "tok-123"}); err != nil {
		t.Fatalf("XOAUTH2 with the right token: %v", err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Errorf("select after XOAUTH2: %v", err)
	}
}
