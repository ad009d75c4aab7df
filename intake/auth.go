package intake

import (
	"fmt"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"golang.org/x/net/publicsuffix"
)

// Which senders must be authenticated ([security] require_auth).
const (
	RequireNone   = "none"
	RequireAgents = "agents"
	RequireAll    = "all"
)

// AuthOptions is the [security] policy.
type AuthOptions struct {
	// TrustedAuthservIDs are the authserv-ids of the receiving servers
	// whose Authentication-Results headers casemail believes.
	TrustedAuthservIDs []string
	Require            string // RequireNone, RequireAgents or RequireAll
}

// mustAuthenticate reports whether the policy requires this sender to be
// authenticated.
func (d *Desk) mustAuthenticate(sender string) bool {
	switch d.opts.Auth.Require {
	case RequireAll:
		return true
	case RequireAgents:
		return d.isAgent(sender)
	}
	return false
}

// authenticate decides whether the From address of a mail is genuine. Only
// the topmost Authentication-Results header carrying a trusted authserv-id
// is read: a lower one with the same id may have been written by the
// sender. The mail is authenticated when that header shows dmarc=pass, or
// dkim=pass or spf=pass aligned with the From domain. With no trusted
// header, DKIM signatures verified by casemail itself (Incoming.DKIMPass)
// count when aligned. It returns "" when authenticated, else why not.
func (d *Desk) authenticate(in *Incoming) string {
	m := in.Msg
	domain := domainOf(m.From.Addr)
	if domain == "" {
		return "no From domain to authenticate"
	}
	for _, v := range m.Header.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil {
			// The receiving server's own header may be unreadable
			// because of text the sender controls: it still decides,
			// and fails, rather than a lower header the sender wrote.
			if raw := authservID(v); d.trusted(raw) {
				return fmt.Sprintf("Authentication-Results from %s is unreadable: %v", raw, err)
			}
			continue
		}
		if !d.trusted(id) {
			continue
		}
		// The topmost trusted header decides.
		var seen []string
		for _, r := range results {
			switch r := r.(type) {
			case *authres.DMARCResult:
				seen = append(seen, "dmarc="+string(r.Value))
				if r.Value == authres.ResultPass {
					return ""
				}
			case *authres.DKIMResult:
				seen = append(seen, fmt.Sprintf("dkim=%s (d=%s)", r.Value, r.Domain))
				if r.Value == authres.ResultPass && aligned(r.Domain, domain) {
					return ""
				}
			case *authres.SPFResult:
				seen = append(seen, fmt.Sprintf("spf=%s (mailfrom=%s)", r.Value, r.From))
				if r.Value == authres.ResultPass && aligned(domainOf(r.From), domain) {
					return ""
				}
			}
		}
		return fmt.Sprintf("Authentication-Results from %s shows no pass aligned with %s: %s",
			id, domain, strings.Join(seen, ", "))
	}
	if in.DKIMChecked {
		for _, dd := range in.DKIMPass {
			if aligned(dd, domain) {
				return ""
			}
		}
		if len(in.DKIMPass) > 0 {
			return fmt.Sprintf("DKIM signatures verified for %s, none aligned with %s", strings.Join(in.DKIMPass, ", "), domain)
		}
		return "no trusted Authentication-Results and no valid DKIM signature"
	}
	return "no Authentication-Results from a trusted server (trusted_authserv_ids)"
}

func (d *Desk) trusted(id string) bool {
	for _, t := range d.opts.Auth.TrustedAuthservIDs {
		if strings.EqualFold(t, id) {
			return true
		}
	}
	return false
}

// aligned is DMARC's relaxed alignment: both domains have the same
// organizational domain (the registrable domain under the public suffix).
func aligned(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSuffix(a, ".")), strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if a == b {
		return true
	}
	oa, err1 := publicsuffix.EffectiveTLDPlusOne(a)
	ob, err2 := publicsuffix.EffectiveTLDPlusOne(b)
	return err1 == nil && err2 == nil && oa == ob
}

// domainOf is the domain of an address, or the value itself when it is a
// bare domain (RFC 8601 allows smtp.mailfrom=example.com).
func domainOf(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		addr = addr[i+1:]
	}
	if !strings.Contains(addr, ".") {
		return ""
	}
	return strings.ToLower(addr)
}

// authservID is the authserv-id of a header value, read without parsing
// the rest: the first word before the first ';'.
func authservID(v string) string {
	head, _, _ := strings.Cut(v, ";")
	if f := strings.Fields(head); len(f) > 0 {
		return f[0]
	}
	return ""
}
