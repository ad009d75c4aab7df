package mailtest

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"strings"

	"github.com/emersion/go-sasl"
)

// xoauth2Failure is the challenge Gmail sends when a bearer token is refused;
// the client must answer it with an empty response, then gets the failure.
const xoauth2Failure = `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`

var errXOAuth2Syntax = errors.New("mailtest: malformed XOAUTH2 response")

// xoauth2Server is the server side of the XOAUTH2 mechanism
// (https://developers.google.com/gmail/imap/xoauth2-protocol):
// the client sends "user=U\x01auth=Bearer T\x01\x01".
type xoauth2Server struct {
	// check is called with the user and token; a nil error authenticates.
	check  func(user, token string) error
	failed error // set after a refusal, returned on the next step
}

func newXOAuth2Server(check func(user, token string) error) sasl.Server {
	return &xoauth2Server{check: check}
}

func (s *xoauth2Server) Next(response []byte) (challenge []byte, done bool, err error) {
	if s.failed != nil {
		// The client answered the error challenge; now fail.
		return nil, true, s.failed
	}
	if response == nil {
		// No initial response: ask for it with an empty challenge.
		return []byte{}, false, nil
	}
	user, token, err := parseXOAuth2(response)
	if err == nil {
		err = s.check(user, token)
	}
	if err != nil {
		s.failed = err
		return []byte(xoauth2Failure), false, nil
	}
	return nil, true, nil
}

func parseXOAuth2(b []byte) (user, token string, err error) {
	for _, field := range bytes.Split(b, []byte{1}) {
		k, v, ok := strings.Cut(string(field), "=")
		if !ok {
			continue
		}
		switch k {
		case "user":
			user = v
		case "auth":
			scheme, t, ok := strings.Cut(v, " ")
			if !ok || !strings.EqualFold(scheme, "Bearer") {
				return "", "", errXOAuth2Syntax
			}
			token = t
		}
	}
	if user == "" || token == "" {
		return "", "", errXOAuth2Syntax
	}
	return user, token, nil
}

// equal compares secrets in constant time.
func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
