#!/usr/bin/env bash
# install.sh — what casemail's interop suite needs: Dovecot's IMAP server,
# openssl (the test CA) and mailpit. Installs only what is missing; usable
# by CI (runs as root on Debian/Ubuntu).
set -euo pipefail

MAILPIT_VERSION=${MAILPIT_VERSION:-v1.27.11}

missing=()
command -v dovecot >/dev/null 2>&1 && [ -x /usr/lib/dovecot/imap ] || missing+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update
	$sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
if ! command -v mailpit >/dev/null 2>&1 && [ ! -x "$gobin/mailpit" ]; then
	# Outside the module, so that casemail's go.mod is never touched.
	(cd / && go install "github.com/axllent/mailpit@$MAILPIT_VERSION")
fi
echo "install.sh: dovecot $(dovecot --version | cut -d' ' -f1), mailpit $(command -v mailpit || echo "$gobin/mailpit")"
