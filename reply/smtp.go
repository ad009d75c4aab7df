package reply

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"casemail/intake"
)

// TLS modes for Options.TLS.
const (
	TLSImplicit = "implicit" // TLS from the first byte (port 465)
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS (port 587); required
	TLSNone     = "none"     // no TLS: loopback hosts only
)

// DefaultTimeout bounds each SMTP operation: a dial with its greeting, TLS
// and authentication, or the sending of one mail.
const DefaultTimeout = 30 * time.Second

// Options configure an SMTP sender.
type Options struct {
	Host string
	Port int    // 0: 465 for implicit TLS, 587 for STARTTLS, 25 without TLS
	TLS  string // "implicit" | "starttls" | "none"; "" means "starttls"
	// Username and Password authenticate with AUTH PLAIN, or LOGIN when the
	// server offers only that. An empty Username means no authentication.
	Username, Password string
	From               string        // the support address, e.g. "Acme Support <support@example.com>"
	Timeout            time.Duration // per operation; 0 means DefaultTimeout
	// TLSConfig is cloned for each connection; nil means the system roots.
	// ServerName defaults to Host.
	TLSConfig *tls.Config
	HelloName string // EHLO name; "" means the host name of this machine
	// Token, when set, authenticates with SASL XOAUTH2 (Microsoft 365,
	// Gmail) as Username, with the access token it returns; it is called at
	// every connection, so a token that expired is read again. Password is
	// then ignored.
	Token func() (string, error)
	// TokenRefused, when set, is told that a connection with a token
	// failed, so that the next one gets a fresh token.
	TokenRefused func()
}

// SMTP sends mail through one SMTP server over one connection, kept open
// between sends and dialled again when it breaks. SendComposed and Check
// may be called from one goroutine at a time; calls are serialised by
// a mutex anyway, so concurrent use is safe but not parallel. Compose takes
// no lock and runs in parallel with them: composing the next mail on
// another goroutine keeps it off the SMTP conversation's path.
type SMTP struct {
	opts   Options
	sender netmail.Address // From: the support address, display name header-safe
	log    *slog.Logger

	mu     sync.Mutex
	client *smtp.Client // nil when not connected
	conn   net.Conn     // the client's network connection
	closed bool
}

var _ intake.Sender = (*SMTP)(nil)

// ErrClosed is returned by SendComposed after Close.
var ErrClosed = errors.New("reply: SMTP sender closed")

// NewSMTP checks opts and returns a sender. It does not connect: the first
// SendComposed (or Check) does.
func NewSMTP(opts Options, log *slog.Logger) (*SMTP, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Host == "" {
		return nil, errors.New("reply: smtp host: required")
	}
	if opts.TLS == "" {
		opts.TLS = TLSStartTLS
	}
	switch opts.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if !isLoopback(opts.Host) {
			return nil, fmt.Errorf("reply: smtp tls: %q is allowed only for loopback hosts, not %q", TLSNone, opts.Host)
		}
	default:
		return nil, fmt.Errorf("reply: smtp tls: %q: want %q, %q or %q", opts.TLS, TLSImplicit, TLSStartTLS, TLSNone)
	}
	if opts.Port == 0 {
		opts.Port = map[string]int{TLSImplicit: 465, TLSStartTLS: 587, TLSNone: 25}[opts.TLS]
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, fmt.Errorf("reply: smtp port: %d out of range", opts.Port)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if strings.ContainsAny(opts.HelloName, "\r\n \t") {
		return nil, fmt.Errorf("reply: smtp hello name %q: white space", opts.HelloName)
	}
	if opts.From == "" {
		return nil, errors.New("reply: smtp from: required")
	}
	support, err := parseFrom(opts.From)
	if err != nil {
		return nil, err
	}
	return &SMTP{
		opts:   opts,
		sender: supportSender(support),
		log:    log.With("smtp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))),
	}, nil
}

// isLoopback reports whether host is "localhost" or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// SendComposed hands data, m composed by Compose, to the server: from the
// support address to the addresses of m.To. A 5xx reply to MAIL, RCPT or
// DATA, or recipients that are not addresses, give an error wrapping
// intake.ErrPermanent; connection failures, time-outs, 4xx replies and
// "authentication required" (530, or 5.7.0, to MAIL) give other errors.
// After a connection failure the connection is dropped and the next send
// dials again; a connection found dead when a send starts (the server
// closed it while idle) is redialled at once, within the same call.
//
// data has CRLF line ends, as Compose writes them (a LF without its CR
// gets one); lines starting with "." are dot-stuffed here, and a CRLF is
// added when data does not end with one.
func (s *SMTP) SendComposed(ctx context.Context, m *intake.Outgoing, data []byte) error {
	env, err := s.envelope(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if s.closed {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reply: sending %s: %w", m.MessageID, err)
		}
		fresh := s.client == nil
		if fresh {
			if err := s.dial(ctx); err != nil {
				return err
			}
		}
		err := s.send(ctx, env, data)
		if err == nil {
			s.log.Debug("sent", "message_id", m.MessageID, "purpose", m.Purpose)
			return nil
		}
		res := classify(err)
		if res.drop {
			s.drop("send failed", err)
		}
		if res.stale && !fresh && attempt == 0 && ctx.Err() == nil {
			continue // the idle connection had died: dial again and retry once
		}
		err = fmt.Errorf("reply: sending %s: %w", m.MessageID, err)
		if res.permanent {
			return permanent(err)
		}
		return err
	}
}

// envelope is the SMTP envelope of one mail.
type envelope struct {
	from string
	to   []string
}

// envelope returns the envelope for m: the support address and the
// addresses of m.To.
func (s *SMTP) envelope(m *intake.Outgoing) (*envelope, error) {
	rcpts, err := recipients(m.To)
	if err != nil {
		return nil, err
	}
	env := &envelope{from: s.sender.Address, to: make([]string, len(rcpts))}
	for i, a := range rcpts {
		env.to[i] = a.Address
	}
	return env, nil
}

// send runs one mail transaction over the open connection, aborting when
// ctx ends.
func (s *SMTP) send(ctx context.Context, env *envelope, data []byte) error {
	conn := s.conn
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	err := transaction(s.client, s.opts.Timeout, env, data)
	if !stop() {
		// ctx ended while sending: the connection is closed.
		s.drop("context ended", ctx.Err())
		if err == nil {
			return nil
		}
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// SMTP steps of a mail transaction, for stepError.
const (
	stepDeadline = "setting the deadline"
	stepMail     = "MAIL FROM"
	stepRcpt     = "RCPT TO"
	stepData     = "DATA"
	stepContent  = "sending the content"
	stepDataEnd  = "end of DATA"
)

// stepError is a failed step of a mail transaction.
type stepError struct {
	step string
	rcpt string // for stepRcpt
	code int    // the server's reply code, 0 when there was no reply
	esc  string // the enhanced status code of the reply, "" when none
	err  error
}

func (e *stepError) Error() string {
	if e.rcpt != "" {
		return fmt.Sprintf("%s <%s>: %v", e.step, e.rcpt, e.err)
	}
	return e.step + ": " + e.err.Error()
}

func (e *stepError) Unwrap() error { return e.err }

// escPattern finds an enhanced status code (RFC 3463) in a reply, as go-mail
// does.
var escPattern = regexp.MustCompile(`\b([245])\.\d{1,3}\.\d{1,3}\b`)

// failed is the stepError for err, an error of step.
func failed(c *smtp.Client, step string, err error) *stepError {
	e := &stepError{step: step, err: err}
	var te *textproto.Error
	if errors.As(err, &te) {
		e.code = te.Code
		if ok, _ := c.Extension("ENHANCEDSTATUSCODES"); ok {
			e.esc = escPattern.FindString(te.Msg)
		}
	}
	return e
}

// transaction sends data from env.from to env.to over c, as go-mail's
// Client.Send does with NOOP disabled: MAIL, RCPT for every recipient (and
// RSET when one of them failed), DATA. Unlike go-mail it sends no RSET
// once the server took the mail: the transaction is over (RFC 5321 4.1.4),
// and the round trip would cost every mail. timeout bounds the whole
// transaction.
func transaction(c *smtp.Client, timeout time.Duration, env *envelope, data []byte) error {
	if err := c.UpdateDeadline(timeout); err != nil {
		return &stepError{step: stepDeadline, err: err}
	}
	// go-mail's smtp.Client writes the path as given: RFC 5321 wants it
	// in angle brackets, and strict servers (mailpit) refuse it without.
	if err := c.Mail("<" + env.from + ">"); err != nil {
		e := failed(c, stepMail, err)
		if rerr := c.Reset(); rerr != nil {
			e.err = fmt.Errorf("%w (then RSET: %w)", e.err, rerr)
		}
		return e
	}
	var rcptErr *stepError
	for _, to := range env.to {
		if err := c.Rcpt("<" + to + ">"); err != nil {
			if rcptErr != nil {
				err = fmt.Errorf("%w; <%s>: %w", err, rcptErr.rcpt, rcptErr.err)
			}
			// The last refusal decides, as with go-mail.
			rcptErr = failed(c, stepRcpt, err)
			rcptErr.rcpt = to
		}
	}
	if rcptErr != nil {
		if rerr := c.Reset(); rerr != nil {
			rcptErr.err = fmt.Errorf("%w (then RSET: %w)", rcptErr.err, rerr)
		}
		return rcptErr
	}
	return writeData(c, data)
}

// writeData sends DATA, then data dot-stuffed, then the final dot, and
// reads the server's reply. It writes to the client's connection itself
// rather than through smtp.Client.Data, whose textproto dot-writer goes
// byte by byte; Compose writes no line starting with ".", so data usually
// goes in one write.
func writeData(c *smtp.Client, data []byte) error {
	t := c.Text
	id, err := t.Cmd("DATA")
	if err != nil {
		return failed(c, stepData, err)
	}
	t.StartResponse(id)
	_, _, err = t.ReadResponse(354)
	t.EndResponse(id)
	if err != nil {
		return failed(c, stepData, err)
	}
	if err := writeDotStuffed(t.W, data); err != nil {
		return &stepError{step: stepContent, err: err}
	}
	if _, _, err := t.ReadResponse(250); err != nil {
		return failed(c, stepDataEnd, err)
	}
	return nil
}

// writeDotStuffed writes data as the content of DATA (RFC 5321 4.5.2):
// a "." starting a line is doubled, a LF without CR before it gets one, and
// the content ends with CRLF "." CRLF. It flushes w.
func writeDotStuffed(w *bufio.Writer, data []byte) error {
	done := 0 // data[:done] is written
	for line := 0; line < len(data); {
		if data[line] == '.' {
			w.Write(data[done:line])
			w.WriteByte('.')
			done = line
		}
		nl := bytes.IndexByte(data[line:], '\n')
		if nl < 0 {
			break
		}
		nl += line
		if nl == 0 || data[nl-1] != '\r' {
			w.Write(data[done:nl])
			w.WriteByte('\r')
			done = nl
		}
		line = nl + 1
	}
	w.Write(data[done:])
	if len(data) == 0 || data[len(data)-1] != '\n' {
		w.WriteString("\r\n")
	}
	w.WriteString(".\r\n")
	return w.Flush()
}

// result is what an error of a mail transaction means for us.
type result struct {
	permanent bool // a 5xx reply to MAIL, RCPT or DATA
	drop      bool // the connection cannot be trusted any more
	stale     bool // the connection was dead before anything was sent
}

func classify(err error) result {
	var se *stepError
	if !errors.As(err, &se) {
		return result{drop: true}
	}
	switch se.step {
	case stepMail, stepRcpt, stepData, stepDataEnd:
		code := se.code
		switch {
		case se.step == stepMail && (code == 530 || se.esc == "5.7.0"):
			// "Authentication required" (RFC 4954): our configuration
			// is at fault, not this mail; failing it for good would
			// fail the whole queue. Retried once the login is fixed.
			return result{}
		case code >= 500 && code < 600:
			return result{permanent: true}
		case code == 421: // the server is closing the connection
			return result{drop: true}
		case code >= 400 && code < 500:
			return result{}
		}
		// Not an SMTP reply: the connection broke.
		return result{drop: true, stale: se.step == stepMail}
	case stepDeadline:
		return result{drop: true, stale: true}
	}
	return result{drop: true}
}

// dial connects, greets, starts TLS and authenticates. On success s.client
// and s.conn are set.
func (s *SMTP) dial(ctx context.Context) error {
	client, conn, err := s.connect(ctx)
	if err != nil {
		s.log.Warn("connect failed", "err", err)
		return err
	}
	s.client, s.conn = client, conn
	s.log.Info("connected", "tls", s.opts.TLS, "auth", s.opts.Username != "")
	return nil
}

// connect opens a new authenticated connection, aborted when ctx ends.
func (s *SMTP) connect(ctx context.Context) (*smtp.Client, net.Conn, error) {
	var conn net.Conn
	var stop func() bool
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		c, err := s.dialConn(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn = c
		// dctx ends when the dial returns; watch the caller's ctx for
		// the greeting, TLS and authentication that follow.
		stop = context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}
	var token string
	if s.opts.Token != nil {
		var err error
		if token, err = s.opts.Token(); err != nil {
			return nil, nil, fmt.Errorf("reply: OAuth2 token: %w", err)
		}
	}
	mc, err := mail.NewClient(s.opts.Host, s.clientOptions(dial, token)...)
	if err != nil {
		return nil, nil, fmt.Errorf("reply: smtp client: %w", err)
	}
	// go-mail greets, starts TLS and authenticates; mails go over the
	// smtp.Client it returns (see transaction).
	client, err := mc.DialToSMTPClientWithContext(ctx)
	if stop != nil && !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		if s.opts.TokenRefused != nil {
			s.opts.TokenRefused()
		}
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, nil, fmt.Errorf("reply: smtp %s: %w", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)), err)
	}
	return client, conn, nil
}

// dialConn opens the network connection, with TLS for implicit TLS.
func (s *SMTP) dialConn(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.opts.Timeout}
	if s.opts.TLS != TLSImplicit {
		return d.DialContext(ctx, network, addr)
	}
	td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig()}
	return td.DialContext(ctx, network, addr)
}

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.opts.TLSConfig != nil {
		c = s.opts.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = strings.Trim(s.opts.Host, "[]")
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func (s *SMTP) clientOptions(dial mail.DialContextFunc, token string) []mail.Option {
	opts := []mail.Option{
		mail.WithPort(s.opts.Port),
		mail.WithTimeout(s.opts.Timeout),
		mail.WithDialContextFunc(dial),
		mail.WithTLSConfig(s.tlsConfig()),
	}
	switch s.opts.TLS {
	case TLSImplicit:
		// dialConn wraps the connection in TLS already.
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.opts.HelloName != "" {
		opts = append(opts, mail.WithHELO(s.opts.HelloName))
	}
	if s.opts.Token != nil {
		return append(opts, mail.WithSMTPAuth(mail.SMTPAuthXOAUTH2),
			mail.WithUsername(s.opts.Username), mail.WithPassword(token))
	}
	if s.opts.Username != "" {
		mechs := []mail.SMTPAuthType{mail.SMTPAuthPlain, mail.SMTPAuthLogin}
		if s.opts.TLS == TLSNone {
			// Loopback only (NewSMTP enforces it): allow the password
			// in clear, which go-mail otherwise allows only for
			// "localhost", "127.0.0.1" and "::1".
			mechs = []mail.SMTPAuthType{mail.SMTPAuthPlainNoEnc, mail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mechs...),
			mail.WithUsername(s.opts.Username),
			mail.WithPassword(s.opts.Password))
	}
	return opts
}

// Check connects and authenticates on a connection of its own, then says
// QUIT: it sends no mail and leaves the connection SendComposed uses alone.
func (s *SMTP) Check(ctx context.Context) error {
	client, conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	return quit(client)
}

// quit says QUIT and closes the connection.
func quit(c *smtp.Client) error {
	if !c.HasConnection() {
		return nil
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("reply: smtp QUIT: %w", err)
	}
	return nil
}

// drop forgets the connection after a failure, closing it without QUIT.
func (s *SMTP) drop(why string, err error) {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	if s.client != nil {
		s.log.Warn("connection dropped", "why", why, "err", err)
	}
	s.client, s.conn = nil, nil
}

// Close says QUIT and closes the connection. SendComposed fails with
// ErrClosed afterwards. Close waits for a send in progress to finish (at
// most Options.Timeout, or until that send's context ends).
func (s *SMTP) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.client == nil {
		return nil
	}
	client, conn := s.client, s.conn
	s.client, s.conn = nil, nil
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(min(s.opts.Timeout, 5*time.Second)))
	return quit(client)
}
