// Package mailtest runs in-process IMAP and SMTP servers on 127.0.0.1 that
// speak the real protocols over real TCP, for casemail's tests and for the
// `casemail demo` command.
//
// The IMAP server is go-imap's imapmemserver behind imapserver; the SMTP
// server is go-smtp with a backend that records what it receives. Both can
// inject the failures casemail must survive: dropped connections, refused
// recipients, a server that is down, a UIDVALIDITY change, a server without
// MOVE or IDLE.
//
// This package must not import "testing": the demo command links it.
package mailtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"
)

// loopback is the only address the servers listen on.
const loopback = "127.0.0.1"

// selfSigned makes a fresh ECDSA certificate valid for 127.0.0.1, ::1 and
// localhost, and a pool that trusts it.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: generating serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"casemail mailtest"}, CommonName: loopback},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP(loopback), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: creating certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: parsing certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// trackingListener counts accepted connections and can close all of them
// at once. While down, it closes new connections right after accept.
type trackingListener struct {
	net.Listener

	mu       sync.Mutex
	conns    map[*trackedConn]struct{}
	accepted int
	down     bool
}

func listenLoopback() (*trackingListener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		return nil, fmt.Errorf("mailtest: listen: %w", err)
	}
	return &trackingListener{Listener: ln, conns: make(map[*trackedConn]struct{})}, nil
}

func (l *trackingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.accepted++
		if l.down {
			l.mu.Unlock()
			c.Close()
			continue
		}
		tc := &trackedConn{Conn: c, l: l}
		l.conns[tc] = struct{}{}
		l.mu.Unlock()
		return tc, nil
	}
}

func (l *trackingListener) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted
}

func (l *trackingListener) setDown(down bool) {
	l.mu.Lock()
	l.down = down
	l.mu.Unlock()
}

// dropAll closes every connection accepted so far and still open.
func (l *trackingListener) dropAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (l *trackingListener) port() int {
	return l.Addr().(*net.TCPAddr).Port
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
	err  error
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
		c.err = c.Conn.Close()
	})
	return c.err
}

// printfLogger adapts a slog.Logger to the Printf/Println loggers of
// go-imap and go-smtp. Their messages are mostly expected noise in tests
// (a client hung up), so they go out at debug level.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, v ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (p printfLogger) Println(v ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintln(v...)))
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
