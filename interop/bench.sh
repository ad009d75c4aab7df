#!/usr/bin/env bash
# bench.sh — casemail's performance benchmark against a private Dovecot and
# mailpit (see interop/bench/main.go). Run as root from anywhere:
#
#   bash interop/bench.sh [-n 5000] [-out report.md] [-profile] [-rev HEAD] ...
#
# It installs what is missing (interop/install.sh), starts the servers with
# interop/servers.sh in a temporary directory and stops them at the end,
# also after an error or ^C. `bash interop/bench.sh -h` lists every flag.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./interop/bench "$@"
