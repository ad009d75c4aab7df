package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTP TLS modes for SMTPOptions.TLS.
const (
	SMTPTLSNone     = ""
	SMTPTLSStartTLS = "starttls"
	SMTPTLSImplicit = "implicit"
)

// SMTPOptions configures StartSMTP. The zero value accepts any mail
// without authentication over plaintext.
type SMTPOptions struct {
	// Username and Password, when set, make AUTH PLAIN required before
	// MAIL FROM.
	Username, Password string
	// TLS is "" (none), "starttls" or "implicit", with a self-signed
	// certificate (see CertPool). With "starttls", AUTH is offered and
	// accepted only after STARTTLS, as on a real submission server.
	TLS string
	// XOAuth2Token, when set, makes AUTH XOAUTH2 with this bearer token the
	// only mechanism offered and authentication required. The user in the
	// exchange must equal Username when that is set.
	XOAuth2Token string
	Logger       *slog.Logger // nil discards
}

// Received is one mail the SMTP server accepted.
type Received struct {
	From string   // MAIL FROM address
	To   []string // RCPT TO addresses
	Data []byte   // the message as sent after DATA
	At   time.Time
}

// SMTPServer is an SMTP sink listening on 127.0.0.1 that records what it
// receives and can inject failures.
type SMTPServer struct {
	opts  SMTPOptions
	log   *slog.Logger
	srv   *smtp.Server
	ln    *trackingListener
	pool  *x509.CertPool
	serve sync.WaitGroup

	mu         sync.Mutex
	received   []Received
	arrived    chan struct{} // closed and replaced at each arrival
	refuseN    int
	refuseCode int
	dropDataN  int
	closed     chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// StartSMTP starts a server on 127.0.0.1 with a free port.
func StartSMTP(opts SMTPOptions) (*SMTPServer, error) {
	s := &SMTPServer{
		opts:    opts,
		log:     orDiscard(opts.Logger).With("server", "smtp"),
		arrived: make(chan struct{}),
		closed:  make(chan struct{}),
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "localhost"
	s.srv.ErrorLog = printfLogger{s.log}
	s.srv.ReadTimeout = time.Minute
	s.srv.WriteTimeout = time.Minute
	s.srv.AllowInsecureAuth = true // loopback only

	var cfg *tls.Config
	switch opts.TLS {
	case SMTPTLSNone:
	case SMTPTLSStartTLS, SMTPTLSImplicit:
		var err error
		if cfg, s.pool, err = selfSigned(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("mailtest: SMTP TLS mode %q: want \"\", %q or %q", opts.TLS, SMTPTLSStartTLS, SMTPTLSImplicit)
	}

	ln, err := listenLoopback()
	if err != nil {
		return nil, err
	}
	s.ln = ln
	var public net.Listener = ln
	switch opts.TLS {
	case SMTPTLSStartTLS:
		s.srv.TLSConfig = cfg
		s.srv.AllowInsecureAuth = false
	case SMTPTLSImplicit:
		public = tls.NewListener(public, cfg)
	}

	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		if err := s.srv.Serve(public); err != nil {
			s.log.Debug("serve ended", "err", err)
		}
	}()
	s.log.Debug("listening", "addr", s.Addr(), "tls", opts.TLS)
	return s, nil
}

// Addr returns "127.0.0.1:PORT".
func (s *SMTPServer) Addr() string { return net.JoinHostPort(loopback, strconv.Itoa(s.Port())) }

// Host returns "127.0.0.1".
func (s *SMTPServer) Host() string { return loopback }

// Port returns the TCP port.
func (s *SMTPServer) Port() int { return s.ln.port() }

// CertPool returns a pool trusting the server's certificate, or nil when
// the server does not use TLS.
func (s *SMTPServer) CertPool() *x509.CertPool { return s.pool }

// Connections returns how many connections were accepted so far,
// including those closed at once while the server was down.
func (s *SMTPServer) Connections() int { return s.ln.count() }

// Received returns a copy of the mail received so far, in arrival order.
func (s *SMTPServer) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.copyLocked()
}

func (s *SMTPServer) copyLocked() []Received {
	out := make([]Received, len(s.received))
	for i, r := range s.received {
		r.To = slices.Clone(r.To)
		r.Data = slices.Clone(r.Data)
		out[i] = r
	}
	return out
}

// WaitFor waits until at least n mails were received and returns them all.
// After timeout, or when the server closes, it returns what it has and an
// error.
func (s *SMTPServer) WaitFor(n int, timeout time.Duration) ([]Received, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.received) >= n {
			out := s.copyLocked()
			s.mu.Unlock()
			return out, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			got := s.Received()
			return got, fmt.Errorf("mailtest: received %d of %d mails within %v", len(got), n, timeout)
		case <-s.closed:
			got := s.Received()
			return got, fmt.Errorf("mailtest: SMTP server closed after %d of %d mails", len(got), n)
		}
	}
}

// Reset forgets the mail received so far. Pending failure injections stay.
func (s *SMTPServer) Reset() {
	s.mu.Lock()
	s.received = nil
	s.mu.Unlock()
}

// RefuseRcpt makes the next n RCPT TO commands, on any connection, fail
// with code (e.g. 451 temporary, 550 permanent).
func (s *SMTPServer) RefuseRcpt(n int, code int) {
	s.mu.Lock()
	s.refuseN, s.refuseCode = n, code
	s.mu.Unlock()
}

// SetDown takes the server down (true) or back up (false). While down,
// connections are closed right after accept, without a greeting; going
// down also drops every open connection.
func (s *SMTPServer) SetDown(down bool) {
	s.log.Debug("set down", "down", down)
	s.ln.setDown(down)
	if down {
		s.ln.dropAll()
	}
}

// DropNextData makes the next n DATA commands read the whole message, then
// drop the connection instead of replying. Such mail is not recorded.
func (s *SMTPServer) DropNextData(n int) {
	s.mu.Lock()
	s.dropDataN = n
	s.mu.Unlock()
}

// Close stops listening and closes every connection.
func (s *SMTPServer) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			s.closeErr = err
		}
		s.ln.Close()
		s.ln.dropAll()
		s.serve.Wait()
	})
	return s.closeErr
}

func (s *SMTPServer) takeRefusal() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuseN <= 0 {
		return 0
	}
	s.refuseN--
	return s.refuseCode
}

func (s *SMTPServer) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropDataN <= 0 {
		return false
	}
	s.dropDataN--
	return true
}

func (s *SMTPServer) record(r Received) {
	s.mu.Lock()
	s.received = append(s.received, r)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
}

func (s *SMTPServer) authRequired() bool {
	return s.opts.Username != "" || s.opts.XOAuth2Token != ""
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{srv: s, conn: c}, nil
}

// smtpSession is one SMTP connection (reset by a later EHLO or STARTTLS).
type smtpSession struct {
	srv    *SMTPServer
	conn   *smtp.Conn
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

func (sess *smtpSession) AuthMechanisms() []string {
	switch o := sess.srv.opts; {
	case o.XOAuth2Token != "":
		return []string{"XOAUTH2"}
	case o.Username != "":
		return []string{sasl.Plain}
	}
	return nil
}

func (sess *smtpSession) Auth(mech string) (sasl.Server, error) {
	o := sess.srv.opts
	switch {
	case mech == "XOAUTH2" && o.XOAuth2Token != "":
		return newXOAuth2Server(func(user, token string) error {
			if (o.Username != "" && !equal(user, o.Username)) || !equal(token, o.XOAuth2Token) {
				return smtp.ErrAuthFailed
			}
			sess.authed = true
			return nil
		}), nil
	case mech == sasl.Plain && o.XOAuth2Token == "" && o.Username != "":
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if (identity != "" && identity != username) || !equal(username, o.Username) || !equal(password, o.Password) {
				return smtp.ErrAuthFailed
			}
			sess.authed = true
			return nil
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (sess *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if sess.srv.authRequired() && !sess.authed {
		return errAuthRequired
	}
	sess.from, sess.to = from, nil
	return nil
}

func (sess *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if code := sess.srv.takeRefusal(); code != 0 {
		sess.srv.log.Debug("refusing recipient", "rcpt", to, "code", code)
		return rcptError(code)
	}
	sess.to = append(sess.to, to)
	return nil
}

func rcptError(code int) *smtp.SMTPError {
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{code / 100, 0, 0}, Message: "Recipient refused (mailtest)"}
	switch code {
	case 450, 451, 452:
		e.EnhancedCode = smtp.EnhancedCode{4, 3, 0}
		e.Message = "Temporary failure, try again later (mailtest)"
	case 550, 551, 553:
		e.EnhancedCode = smtp.EnhancedCode{5, 1, 1}
		e.Message = "Mailbox unavailable (mailtest)"
	}
	return e
}

var errDropped = errors.New("mailtest: connection dropped on purpose")

func (sess *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if sess.srv.takeDrop() {
		sess.srv.log.Debug("dropping connection after DATA", "from", sess.from)
		sess.conn.Conn().Close()
		return errDropped
	}
	sess.srv.record(Received{
		From: sess.from,
		To:   slices.Clone(sess.to),
		Data: data,
		At:   time.Now(),
	})
	return nil
}

func (sess *smtpSession) Reset() {
	sess.from, sess.to = "", nil
}

func (sess *smtpSession) Logout() error { return nil }
