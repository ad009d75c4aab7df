package reply_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sink is a small SMTP server on 127.0.0.1:0 that keeps what it receives,
// counts connections, and fails on demand.
type sink struct {
	Host string
	Port int
	// ClientTLS trusts the sink's self-signed certificate.
	ClientTLS *tls.Config

	srv  *smtp.Server
	opts sinkOptions

	mu       sync.Mutex
	accepted int
	conns    []net.Conn
	mails    []sinkMail
	rcptErr  *smtp.SMTPError
	dataHold chan struct{} // when set, DATA waits for it to close
}

type sinkOptions struct {
	TLS   string   // "none", "starttls", "implicit"
	User  string   // when set, AUTH is required with User/Pass
	Pass  string   //
	Mechs []string // offered mechanisms; default PLAIN
}

type sinkMail struct {
	From   string
	To     []string
	Data   []byte
	User   string // authenticated user
	TLS    bool   // the session was encrypted
	Server string // TLS server name the client asked for
}

func newSink(t testing.TB, opts sinkOptions) *sink {
	t.Helper()
	if opts.TLS == "" {
		opts.TLS = "none"
	}
	if len(opts.Mechs) == 0 {
		opts.Mechs = []string{sasl.Plain}
	}
	s := &sink{opts: opts}
	srvTLS, cliTLS := selfSigned(t)
	s.ClientTLS = cliTLS

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "sink.test"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.AllowInsecureAuth = opts.TLS == "none"
	s.srv.ErrorLog = discardLogger{}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = "127.0.0.1", addr.Port
	var ln net.Listener = &countingListener{Listener: l, s: s}
	switch opts.TLS {
	case "starttls":
		s.srv.TLSConfig = srvTLS
	case "implicit":
		ln = tls.NewListener(ln, srvTLS)
	}
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}
func (discardLogger) Println(...any)        {}

type countingListener struct {
	net.Listener
	s *sink
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.accepted++
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// Connections is the number of connections accepted so far.
func (s *sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Mails returns what the sink received so far.
func (s *sink) Mails() []sinkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMail(nil), s.mails...)
}

// FailRcpt makes every RCPT fail with code (0 stops failing).
func (s *sink) FailRcpt(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.rcptErr = nil
		return
	}
	s.rcptErr = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: msg}
}

// HoldData makes DATA wait until the returned function is called.
func (s *sink) HoldData() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.dataHold = ch
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

// DropAll closes every connection, as a server restart would.
func (s *sink) DropAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, c: c}, nil
}

type session struct {
	s    *sink
	c    *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.User == "" {
		return nil
	}
	return ss.s.opts.Mechs
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != ss.s.opts.User || pass != ss.s.opts.Pass {
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.opts.User != "" && ss.user == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	err := ss.s.rcptErr
	ss.s.mu.Unlock()
	if err != nil {
		return err
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	hold := ss.s.dataHold
	ss.s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	state, isTLS := ss.c.TLSConnectionState()
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	ss.s.mails = append(ss.s.mails, sinkMail{
		From: ss.from, To: ss.to, Data: data, User: ss.user,
		TLS: isTLS, Server: state.ServerName,
	})
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks.
type loginServer struct {
	check      func(user, pass string) error
	step       int
	user, pass string
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if resp != nil { // initial response: the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.step++
		l.user = string(resp)
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		l.pass = string(resp)
		return nil, true, l.check(l.user, l.pass)
	}
	return nil, true, errors.New("unexpected response")
}

// selfSigned makes a certificate for 127.0.0.1 and localhost, a server
// config using it and a client config trusting it.
func selfSigned(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "casemail test sink"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool}
	return server, client
}
