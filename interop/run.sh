#!/usr/bin/env bash
# run.sh — casemail's interop suite against a real Dovecot and mailpit:
# installs what is missing, starts the servers in a temporary directory,
# runs the tagged Go tests, and stops the servers whatever happens.
#
#   bash interop/run.sh [go test flags, e.g. -run TestIdle]
set -euo pipefail

cd "$(dirname "$0")/.."
bash interop/install.sh

dir=$(mktemp -d /tmp/casemail-interop.XXXXXX)
chmod 755 "$dir"
cleanup() {
	bash interop/servers.sh stop "$dir" || true
	if [ -n "${INTEROP_KEEP:-}" ]; then
		echo "run.sh: kept $dir"
	else
		rm -rf "$dir"
	fi
}
trap cleanup EXIT
bash interop/servers.sh start "$dir"

# The tests find the running servers through INTEROP_ENV; without it their
# TestMain starts (and stops) servers of its own.
INTEROP_ENV="$dir/env" go test -tags interop -count=1 -v -timeout 40m "$@" ./interop/
