//go:build interop

package interop

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ---- summary lines, printed once at the end of the run ----

var (
	summaryMu    sync.Mutex
	summaryLines []string
)

// summary logs a result line and keeps it for the run's final summary.
func summary(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("%s: %s", t.Name(), fmt.Sprintf(format, args...))
	t.Log(line)
	summaryMu.Lock()
	summaryLines = append(summaryLines, line)
	summaryMu.Unlock()
}

func printSummary() {
	summaryMu.Lock()
	defer summaryMu.Unlock()
	fmt.Println("=== interop summary")
	for _, l := range summaryLines {
		fmt.Println("INTEROP", l)
	}
}

// ---- one test's casemail set-up: config, contacts, store ----

// opts are the config knobs the tests turn.
type opts struct {
	TLS         string // "none" (default) or "implicit"
	Folder      string // default INBOX
	Processed   string // processed_folder; "-" for none (flag \Seen)
	Quarantine  string
	Idle        bool
	Poll        string // poll_interval, default "2s"
	StartFrom   string // default "all"
	BatchSize   int
	Notify      string // [agents] notify, default none
	AdminListen string // default "" (no admin endpoint)
	Timeout     string // [imap] timeout
	IMAPPort    int    // default: Dovecot's (IMAP or IMAPS per TLS); e.g. a proxy's
}

// setup is one test's casemail: its Dovecot user, its domain (every
// address it uses, so its mail is told apart in the shared mailpit), its
// config, contacts file and store.
type setup struct {
	t        *testing.T
	dir      string
	user     string
	domain   string
	contact  string // alice@domain, a technical contact of admin@domain
	cfg      string
	store    string
	log      string
	o        opts
	dumpOnce sync.Once
}

func newSetup(t *testing.T, o opts) *setup {
	t.Helper()
	if o.TLS == "" {
		o.TLS = "none"
	}
	if o.Folder == "" {
		o.Folder = "INBOX"
	}
	if o.Processed == "" {
		o.Processed = "Processed"
	}
	if o.Processed == "-" {
		o.Processed = ""
	}
	if o.Quarantine == "" {
		o.Quarantine = "Quarantine"
	}
	if o.Poll == "" {
		o.Poll = "2s"
	}
	if o.StartFrom == "" {
		o.StartFrom = "all"
	}
	if o.BatchSize == 0 {
		o.BatchSize = 200
	}
	if o.Timeout == "" {
		o.Timeout = "20s"
	}
	user := newUser(t)
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	s := &setup{t: t, dir: t.TempDir(), user: user, o: o}
	s.domain = fmt.Sprintf("%s.%s.example", user, name)
	s.contact = "alice@" + s.domain
	s.cfg = filepath.Join(s.dir, "casemail.toml")
	s.store = filepath.Join(s.dir, "casemail.db")
	s.log = filepath.Join(s.dir, "casemail.log")
	port := srv.IMAPPort
	if o.TLS == "implicit" {
		port = srv.IMAPSPort
	}
	if o.IMAPPort != 0 {
		port = o.IMAPPort
	}
	notify := ""
	if o.Notify != "" {
		notify = fmt.Sprintf("notify = %q", o.Notify)
	}
	cfg := fmt.Sprintf(`# casemail interop test %s
[imap]
host = "127.0.0.1"
port = %d
tls = %q
username = %q
password_env = "INTEROP_IMAP_PASSWORD"
folder = %q
processed_folder = %q
quarantine_folder = %q
poll_interval = %q
idle = %v
start_from = %q
batch_size = %d
timeout = %q

[smtp]
host = "127.0.0.1"
port = %d
tls = "none"
from = "Interop Support <support@%s>"
timeout = "10s"

[store]
path = "casemail.db"

[contacts]
file = "contacts.toml"

[agents]
addresses = ["agent@%s"]
%s

[admin]
listen = %q

[log]
level = "debug"

[limits]
auto_replies_per_hour = 1000000

[calendars.always]
always = true

[plans.premium]
calendar = "always"
severities = [1, 2, 3, 4]
first_response = { 1 = "1h", 2 = "4h", 3 = "8h", 4 = "24h" }
`, t.Name(), port, o.TLS, user, o.Folder, o.Processed, o.Quarantine, o.Poll, o.Idle, o.StartFrom,
		o.BatchSize, o.Timeout, srv.SMTPPort, s.domain, s.domain, notify, o.AdminListen)
	contacts := fmt.Sprintf(`[[account]]
email    = "admin@%[1]s"
name     = "Interop %[1]s"
plan     = "premium"
engines  = ["search"]
contacts = ["alice@%[1]s", "bob@%[1]s"]
`, s.domain)
	must(t, os.WriteFile(s.cfg, []byte(cfg), 0o600))
	must(t, os.WriteFile(filepath.Join(s.dir, "contacts.toml"), []byte(contacts), 0o600))
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// ---- mail ----

var mailSeq atomic.Int64

// newCaseMail is a mail from alice that opens a case; it returns its
// Message-ID (without angle brackets) and its bytes.
func (s *setup) newCaseMail(subject string) (string, []byte) {
	n := mailSeq.Add(1)
	id := fmt.Sprintf("interop-%d-%d@%s", time.Now().UnixNano(), n, s.domain)
	raw := fmt.Sprintf("From: Alice Interop <%s>\r\n"+
		"To: support@%s\r\n"+
		"Subject: %s\r\n"+
		"Message-ID: <%s>\r\n"+
		"Date: %s\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\nthe search engine stopped answering (%s).\r\n\r\n"+
		"Engine: search\r\nSeverity: normal\r\nEnvironment: production\r\n\r\nAlice\r\n",
		s.contact, s.domain, subject, id, time.Now().Format(time.RFC1123Z), subject)
	return id, []byte(raw)
}

// followUpMail is alice's reply to a case.
func (s *setup) followUpMail(caseID, subject, inReplyTo string) (string, []byte) {
	n := mailSeq.Add(1)
	id := fmt.Sprintf("interop-re-%d-%d@%s", time.Now().UnixNano(), n, s.domain)
	raw := fmt.Sprintf("From: Alice Interop <%s>\r\n"+
		"To: support@%s\r\n"+
		"Subject: Re: [%s] %s\r\n"+
		"Message-ID: <%s>\r\n"+
		"In-Reply-To: <%s>\r\n"+
		"Date: %s\r\n"+
		"MIME-Version: 1.0\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\n\r\n"+
		"More details: it still fails.\r\n",
		s.contact, s.domain, caseID, subject, id, inReplyTo, time.Now().Format(time.RFC1123Z))
	return id, []byte(raw)
}

// ---- IMAP (the test's own client, seeding and inspecting mailboxes) ----

func dialIMAP(t *testing.T, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(fmt.Sprintf("127.0.0.1:%d", srv.IMAPPort), nil)
	if err != nil {
		t.Fatalf("IMAP dial: %v", err)
	}
	if err := c.Login(user, srv.Password).Wait(); err != nil {
		c.Close()
		t.Fatalf("IMAP login %s: %v", user, err)
	}
	return c
}

// resetMailbox empties a user's mailbox (servers may be reused across
// runs): every folder but INBOX is deleted, INBOX expunged.
func resetMailbox(t *testing.T, user string) {
	t.Helper()
	c := dialIMAP(t, user)
	defer c.Close()
	list, err := c.List("", "*", nil).Collect()
	must(t, err)
	sort.Slice(list, func(i, j int) bool { return len(list[i].Mailbox) > len(list[j].Mailbox) })
	for _, mb := range list {
		if !strings.EqualFold(mb.Mailbox, "INBOX") {
			if err := c.Delete(mb.Mailbox).Wait(); err != nil {
				t.Fatalf("resetting %s: DELETE %s: %v", user, mb.Mailbox, err)
			}
		}
	}
	sel, err := c.Select("INBOX", nil).Wait()
	must(t, err)
	if sel.NumMessages > 0 {
		var all imap.SeqSet
		all.AddRange(1, 0)
		must(t, c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true,
			Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
		must(t, c.Expunge().Close())
	}
	_ = c.Logout().Wait()
}

// appendMail APPENDs one mail with go-imap's client and returns when the
// server has stored it.
func appendMail(t *testing.T, user, folder string, raw []byte) {
	t.Helper()
	c := dialIMAP(t, user)
	defer c.Close()
	appendWith(t, c, folder, raw)
	_ = c.Logout().Wait()
}

func appendWith(t *testing.T, c *imapclient.Client, folder string, raw []byte) {
	t.Helper()
	cmd := c.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatalf("APPEND to %s: %v", folder, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND to %s: %v", folder, err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND to %s: %v", folder, err)
	}
}

// multiAppend stores many mails fast: go-imap's client has no MULTIAPPEND,
// so this speaks the protocol itself, ~200 mails per APPEND command with
// LITERAL+ (both offered by Dovecot after LOGIN).
func multiAppend(t *testing.T, user, folder string, mails [][]byte, flags string) {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.IMAPPort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 64<<10)
	bw := bufio.NewWriterSize(conn, 1<<20)
	tag := 0
	command := func(write func()) {
		tag++
		t.Helper()
		prefix := fmt.Sprintf("m%d ", tag)
		bw.WriteString(prefix)
		write()
		bw.WriteString("\r\n")
		if err := bw.Flush(); err != nil {
			t.Fatalf("MULTIAPPEND: %v", err)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("MULTIAPPEND: reading answer: %v", err)
			}
			if strings.HasPrefix(line, prefix) {
				if !strings.HasPrefix(line[len(prefix):], "OK") {
					t.Fatalf("MULTIAPPEND: %s", strings.TrimSpace(line))
				}
				return
			}
		}
	}
	if _, err := br.ReadString('\n'); err != nil { // greeting
		t.Fatal(err)
	}
	command(func() { fmt.Fprintf(bw, "LOGIN %s %q", user, srv.Password) })
	fl := ""
	if flags != "" {
		fl = " (" + flags + ")"
	}
	for i := 0; i < len(mails); i += 200 {
		chunk := mails[i:min(i+200, len(mails))]
		command(func() {
			fmt.Fprintf(bw, "APPEND %q", folder)
			for _, m := range chunk {
				fmt.Fprintf(bw, "%s {%d+}\r\n", fl, len(m))
				bw.Write(m)
			}
		})
	}
	command(func() { bw.WriteString("LOGOUT") })
}

// status returns a folder's message count and UIDVALIDITY; -1 when the
// folder does not exist.
func status(t *testing.T, user, folder string) (int, uint32) {
	t.Helper()
	c := dialIMAP(t, user)
	defer c.Close()
	st, err := c.Status(folder, &imap.StatusOptions{NumMessages: true, UIDValidity: true}).Wait()
	if err != nil {
		return -1, 0
	}
	return int(*st.NumMessages), st.UIDValidity
}

// counts is how many mails each folder holds, -1 for a missing folder.
func counts(t *testing.T, user string, folders ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, f := range folders {
		out[f], _ = status(t, user, f)
	}
	return out
}

// ---- mailpit ----

type mpAddr struct {
	Name    string
	Address string
}

type mpMessage struct {
	ID        string
	MessageID string
	From      mpAddr
	To        []mpAddr
	Subject   string
	Created   time.Time
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func mailpitURL(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", srv.HTTPPort, path) }

func mailpitDeleteAll() error {
	req, _ := http.NewRequest(http.MethodDelete, mailpitURL("/api/v1/messages"), nil)
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("DELETE /api/v1/messages: %s", resp.Status)
	}
	return nil
}

// mailpitTo lists every mail mailpit holds for addresses of domain, oldest
// first.
func mailpitTo(t *testing.T, domain string) []mpMessage {
	t.Helper()
	var all []mpMessage
	for start := 0; ; {
		q := url.Values{"query": {"to:" + domain}, "start": {fmt.Sprint(start)}, "limit": {"1000"}}
		var page struct {
			MessagesCount int `json:"messages_count"`
			Messages      []mpMessage
		}
		if err := getJSON(mailpitURL("/api/v1/search?"+q.Encode()), &page); err != nil {
			t.Fatalf("mailpit search: %v", err)
		}
		for _, m := range page.Messages {
			for _, to := range m.To {
				if strings.HasSuffix(strings.ToLower(to.Address), "@"+domain) {
					all = append(all, m)
					break
				}
			}
		}
		start += len(page.Messages)
		if len(page.Messages) == 0 || start >= page.MessagesCount {
			break
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Created.Before(all[j].Created) })
	return all
}

func getJSON(u string, v any) error {
	resp, err := httpClient.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func mailpitRaw(t *testing.T, id string) string {
	t.Helper()
	resp, err := httpClient.Get(mailpitURL("/api/v1/message/" + id + "/raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// header returns a header field of a raw message (first occurrence,
// unfolded), "" when absent.
func header(raw, name string) string {
	head, _, _ := strings.Cut(strings.ReplaceAll(raw, "\r\n", "\n"), "\n\n")
	var val string
	found := false
	for _, line := range strings.Split(head, "\n") {
		if found {
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				val += " " + strings.TrimSpace(line)
				continue
			}
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, name) {
			val, found = strings.TrimSpace(v), true
		}
	}
	return strings.TrimSpace(val)
}

// caseTag finds "[CASE-n]" in a subject.
func caseTag(subject string) string {
	i := strings.Index(subject, "[CASE-")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(subject[i:], ']')
	if j < 0 {
		return ""
	}
	return subject[i+1 : i+j]
}

// ---- the casemail process ----

type proc struct {
	t       *testing.T
	s       *setup
	cmd     *exec.Cmd
	started time.Time
	logFrom int64 // log file offset where this process's output starts
	done    chan struct{}
	err     error
}

// start runs `casemail run -config FILE` as a separate process, its output
// appended to the setup's log file. extraEnv adds NAME=value pairs.
func (s *setup) start(extraEnv ...string) *proc {
	t := s.t
	t.Helper()
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	must(t, err)
	defer f.Close()
	off, _ := f.Seek(0, io.SeekEnd)
	cmd := exec.Command(bin, "run", "-config", s.cfg)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "INTEROP_IMAP_PASSWORD="+srv.Password)
	cmd.Env = append(cmd.Env, extraEnv...)
	p := &proc{t: t, s: s, cmd: cmd, logFrom: off, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting casemail: %v", err)
	}
	p.started = time.Now()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.running() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			s.dumpOnce.Do(s.dumpLog)
		}
	})
	return p
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logText is what this process wrote so far.
func (p *proc) logText() string {
	b, _ := os.ReadFile(p.s.log)
	if int64(len(b)) < p.logFrom {
		return ""
	}
	return string(b[p.logFrom:])
}

// waitLog waits until this process's output holds substr n times.
func (p *proc) waitLog(substr string, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Count(p.logText(), substr) >= n {
			return true
		}
		if !p.running() {
			return strings.Count(p.logText(), substr) >= n
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// ready waits for the first IMAP session.
func (p *proc) ready() {
	p.t.Helper()
	if !p.waitLog("IMAP session ready", 1, 30*time.Second) {
		p.t.Fatalf("casemail not ready within 30 s (running=%v)", p.running())
	}
}

// stop sends sig and waits up to timeout; it returns how long the exit
// took and fails the test when it did not come.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
		return time.Since(start)
	case <-time.After(timeout):
		p.t.Fatalf("casemail did not exit within %s of %v", timeout, sig)
		return 0
	}
}

func (s *setup) dumpLog() {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	s.t.Logf("last lines of %s:\n%s", s.log, strings.Join(lines, "\n"))
}

// caseJSON is the part of `cases list -json` the tests read.
type caseJSON struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Account   string `json:"account"`
	Contact   string `json:"contact"`
	Engine    string `json:"engine"`
	CreatedAt string `json:"created_at"`
}

// casesList runs `casemail cases list -json -config FILE` (the daemon must
// not hold the store, or must serve the admin endpoint).
func (s *setup) casesList() []caseJSON {
	s.t.Helper()
	cmd := exec.Command(bin, "cases", "list", "-json", "-config", s.cfg)
	cmd.Dir = s.dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("casemail cases list: %v: %s", err, stderr.String())
	}
	var list []caseJSON
	if err := json.Unmarshal(out, &list); err != nil {
		s.t.Fatalf("cases list -json: %v: %.300s", err, out)
	}
	return list
}

// eventually polls cond until it holds or timeout passes; it fails the test
// with cond's last description.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, desc := cond()
		if ok {
			return
		}
		last = desc
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// caPool is the generated CA, for the test's own TLS client.
func caPool(t *testing.T) *x509.CertPool {
	pem, err := os.ReadFile(srv.CAFile)
	must(t, err)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", srv.CAFile)
	}
	return pool
}

var _ = tls.VersionTLS12

// ---- a byte-counting TCP proxy, between casemail and Dovecot ----

type proxy struct {
	ln       net.Listener
	target   string
	up, down atomic.Int64 // bytes client→server, server→client
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c, &p.up)
		go p.pipe(c, s, &p.down)
	}
}

func (p *proxy) pipe(dst, src net.Conn, n *atomic.Int64) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
