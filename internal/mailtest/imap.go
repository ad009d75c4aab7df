package mailtest

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// Default IMAP credentials.
const (
	DefaultUsername = "support@example.com"
	DefaultPassword = "secret"
)

// IMAPOptions configures StartIMAP. The zero value is a plaintext server
// with MOVE, UIDPLUS, IDLE and LITERAL+ and the default credentials.
type IMAPOptions struct {
	Username, Password string   // default DefaultUsername / DefaultPassword
	Folders            []string // created at start besides INBOX
	NoMove             bool     // MOVE neither advertised nor accepted: clients must COPY + \Deleted + UID EXPUNGE
	NoIdle             bool     // IDLE neither advertised nor accepted (the command gets BAD)
	TLS                bool     // implicit TLS with a self-signed certificate; see CertPool
	// XOAuth2Token, when set, makes AUTHENTICATE XOAUTH2 with this bearer
	// token (and the username) the only way in: LOGIN and AUTHENTICATE PLAIN
	// are refused.
	XOAuth2Token string
	Logger       *slog.Logger // nil discards
}

// StoredMessage is a message as the IMAP server holds it.
type StoredMessage struct {
	UID          imap.UID
	Flags        []imap.Flag // sorted
	InternalDate time.Time   // as served over IMAP: whole seconds
	Raw          []byte
}

// IMAPServer is an in-memory IMAP server with one user, listening on
// 127.0.0.1.
type IMAPServer struct {
	opts   IMAPOptions
	log    *slog.Logger
	user   *imapmemserver.User
	srv    *imapserver.Server
	ln     *trackingListener // public TCP listener
	pipes  *pipeListener     // in-process connections used by Messages
	pool   *x509.CertPool
	serves sync.WaitGroup

	mu sync.Mutex // serialises Deliver and ResetUIDValidity

	closeOnce sync.Once
	closeErr  error
}

// StartIMAP starts a server on 127.0.0.1 with a free port.
func StartIMAP(opts IMAPOptions) (*IMAPServer, error) {
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	s := &IMAPServer{
		opts:  opts,
		log:   orDiscard(opts.Logger).With("server", "imap"),
		user:  imapmemserver.NewUser(opts.Username, opts.Password),
		pipes: newPipeListener(),
	}
	for _, name := range append([]string{"INBOX"}, opts.Folders...) {
		if err := s.user.Create(name, nil); err != nil {
			return nil, fmt.Errorf("mailtest: creating folder %q: %w", name, err)
		}
	}

	caps := imap.CapSet{
		imap.CapIMAP4rev1:   {},
		imap.CapUIDPlus:     {},
		imap.CapLiteralPlus: {},
	}
	if !opts.NoMove {
		caps[imap.CapMove] = struct{}{}
	}
	s.srv = imapserver.New(&imapserver.Options{
		NewSession:   s.newSession,
		Caps:         caps,
		Logger:       printfLogger{s.log},
		InsecureAuth: true, // loopback only
	})

	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	s.ln = ln
	var public net.Listener = ln
	if opts.TLS {
		cfg, pool, err := selfSigned()
		if err != nil {
			ln.Close()
			return nil, err
		}
		s.pool = pool
		public = tls.NewListener(public, cfg)
	}
	if opts.NoIdle {
		public = noIdleListener{public}
	}
	s.serve(public)
	s.serve(s.pipes)
	s.log.Debug("listening", "addr", s.Addr(), "tls", opts.TLS, "no_move", opts.NoMove, "no_idle", opts.NoIdle)
	return s, nil
}

func (s *IMAPServer) serve(ln net.Listener) {
	s.serves.Add(1)
	go func() {
		defer s.serves.Done()
		if err := s.srv.Serve(ln); err != nil {
			s.log.Debug("serve ended", "err", err)
		}
	}()
}

// Addr returns "127.0.0.1:PORT".
func (s *IMAPServer) Addr() string { return net.JoinHostPort(loopback, strconv.Itoa(s.Port())) }

// Host returns "127.0.0.1".
func (s *IMAPServer) Host() string { return loopback }

// Port returns the TCP port.
func (s *IMAPServer) Port() int { return s.ln.port() }

// Username returns the login name clients must use.
func (s *IMAPServer) Username() string { return s.opts.Username }

// Password returns the password clients must use (unused in XOAUTH2 mode).
func (s *IMAPServer) Password() string { return s.opts.Password }

// CertPool returns a pool trusting the server's certificate, or nil when
// the server does not use TLS.
func (s *IMAPServer) CertPool() *x509.CertPool { return s.pool }

// Connections returns how many client connections were accepted so far.
// Connections made internally (by Messages and ResetUIDValidity) do not
// count.
func (s *IMAPServer) Connections() int { return s.ln.count() }

// DropConnections closes every client connection at once, as a network cut
// would. The server keeps listening.
func (s *IMAPServer) DropConnections() {
	s.log.Debug("dropping connections")
	s.ln.dropAll()
}

// Deliver appends raw to folder as if the mail had just been delivered:
// clients in IDLE on that folder are told at once. A zero internalDate
// means now.
func (s *IMAPServer) Deliver(folder string, raw []byte, internalDate time.Time, flags ...imap.Flag) (imap.UID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(folder, raw, internalDate, flags)
}

func (s *IMAPServer) appendLocked(folder string, raw []byte, internalDate time.Time, flags []imap.Flag) (imap.UID, error) {
	data, err := s.user.Append(folder, bytes.NewReader(raw), &imap.AppendOptions{
		Flags: flags,
		Time:  internalDate,
	})
	if err != nil {
		return 0, fmt.Errorf("mailtest: deliver to %q: %w", folder, err)
	}
	return data.UID, nil
}

// Messages returns the messages of folder in UID order.
func (s *IMAPServer) Messages(folder string) ([]StoredMessage, error) {
	c, err := s.internalClient()
	if err != nil {
		return nil, err
	}
	defer c.Close()

	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("mailtest: select %q: %w", folder, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID:          true,
		Flags:        true,
		InternalDate: true,
		BodySection:  []*imap.FetchItemBodySection{body},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("mailtest: fetch %q: %w", folder, err)
	}
	msgs := make([]StoredMessage, 0, len(bufs))
	for _, b := range bufs {
		flags := slices.Clone(b.Flags)
		slices.Sort(flags)
		msgs = append(msgs, StoredMessage{
			UID:          b.UID,
			Flags:        flags,
			InternalDate: b.InternalDate,
			Raw:          b.FindBodySection(body),
		})
	}
	slices.SortFunc(msgs, func(a, b StoredMessage) int { return int(a.UID) - int(b.UID) })
	return msgs, nil
}

// UIDValidity returns the folder's UIDVALIDITY.
func (s *IMAPServer) UIDValidity(folder string) (uint32, error) {
	data, err := s.user.Status(folder, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, fmt.Errorf("mailtest: status %q: %w", folder, err)
	}
	return data.UIDValidity, nil
}

// ResetUIDValidity recreates folder with a new UIDVALIDITY, keeping its
// messages (flags and internal dates too) under new UIDs counted from 1, as
// a server rebuild would. Clients that have the folder selected keep
// seeing the old one until they select it again; call DropConnections to
// make them reconnect. Mail a client appends to the folder while this runs
// may be lost.
func (s *IMAPServer) ResetUIDValidity(folder string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, err := s.Messages(folder)
	if err != nil {
		return err
	}
	if err := s.user.Delete(folder); err != nil {
		return fmt.Errorf("mailtest: delete %q: %w", folder, err)
	}
	if err := s.user.Create(folder, nil); err != nil {
		return fmt.Errorf("mailtest: create %q: %w", folder, err)
	}
	for _, m := range msgs {
		if _, err := s.appendLocked(folder, m.Raw, m.InternalDate, m.Flags); err != nil {
			return err
		}
	}
	s.log.Debug("uidvalidity reset", "folder", folder, "messages", len(msgs))
	return nil
}

// Close stops listening and closes every connection. It waits for the
// server's accept loops; connection goroutines end right after.
func (s *IMAPServer) Close() error {
	s.closeOnce.Do(func() {
		// Stop the accept loops first and wait for them: imapserver's
		// Close races with a Serve that is still starting (WaitGroup Add
		// during Wait).
		s.ln.Close()
		s.pipes.Close()
		s.serves.Wait()
		if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
		}
		s.ln.dropAll() // accepted but not yet registered with imapserver
	})
	return s.closeErr
}

// internalClient opens a pre-authenticated in-process connection.
func (s *IMAPServer) internalClient() (*imapclient.Client, error) {
	conn, err := s.pipes.dial()
	if err != nil {
		return nil, err
	}
	c := imapclient.New(conn, nil)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, fmt.Errorf("mailtest: internal IMAP connection: %w", err)
	}
	return c, nil
}

// newSession is imapserver's NewSession hook.
func (s *IMAPServer) newSession(conn *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	sess := &session{srv: s}
	var greeting *imapserver.GreetingData
	if _, ok := conn.NetConn().(internalConn); ok {
		sess.Session = imapmemserver.NewUserSession(s.user)
		greeting = &imapserver.GreetingData{PreAuth: true}
	}
	if s.opts.NoMove {
		return sess, greeting, nil
	}
	return moveSession{sess}, greeting, nil
}

// session is one IMAP connection. It has no Move method, so that imapserver
// refuses MOVE; moveSession adds it.
type session struct {
	imapserver.Session // *imapmemserver.UserSession once logged in, else nil
	srv                *IMAPServer
}

var (
	_ imapserver.SessionSASL      = (*session)(nil)
	_ imapserver.SessionNamespace = (*session)(nil)
	_ imapserver.SessionMove      = moveSession{}
)

func (sess *session) Close() error {
	if sess.Session == nil {
		return nil
	}
	return sess.Session.Close()
}

func (sess *session) Login(username, password string) error {
	o := sess.srv.opts
	if o.XOAuth2Token != "" || !equal(username, o.Username) || !equal(password, o.Password) {
		return imapserver.ErrAuthFailed
	}
	sess.Session = imapmemserver.NewUserSession(sess.srv.user)
	return nil
}

func (sess *session) AuthenticateMechanisms() []string {
	if sess.srv.opts.XOAuth2Token != "" {
		return []string{"XOAUTH2"}
	}
	return []string{sasl.Plain}
}

func (sess *session) Authenticate(mech string) (sasl.Server, error) {
	o := sess.srv.opts
	switch {
	case mech == "XOAUTH2" && o.XOAuth2Token != "":
		return newXOAuth2Server(func(user, token string) error {
			if !equal(user, o.Username) || !equal(token, o.XOAuth2Token) {
				return imapserver.ErrAuthFailed
			}
			sess.Session = imapmemserver.NewUserSession(sess.srv.user)
			return nil
		}), nil
	case mech == sasl.Plain && o.XOAuth2Token == "":
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return imapserver.ErrAuthFailed
			}
			return sess.Login(username, password)
		}), nil
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SASL mechanism not supported"}
}

func (sess *session) Namespace() (*imap.NamespaceData, error) {
	return sess.Session.(imapserver.SessionNamespace).Namespace()
}

type moveSession struct{ *session }

func (sess moveSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	return sess.Session.(imapserver.SessionMove).Move(w, numSet, dest)
}

// pipeListener hands out in-process connections to imapserver.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// internalConn marks the server side of an in-process connection.
type internalConn struct{ net.Conn }

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

var errClosed = errors.New("mailtest: server closed")

func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- internalConn{server}:
		return client, nil
	case <-l.done:
		client.Close()
		server.Close()
		return nil, errClosed
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "mailtest-internal" }
