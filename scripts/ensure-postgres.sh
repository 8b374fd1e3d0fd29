#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl) are installed.
# The test session (tests/integration/db/conftest.py) starts a throwaway cluster on
# loopback as the unprivileged `postgres` user; this script only installs.
set -euo pipefail
find_bindir() {
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return 0
    fi
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/pg_ctl" ] && [ -x "$d/initdb" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}
if find_bindir >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian's package starts a cluster on port 5432; the tests use their own, so stop it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in /etc/postgresql/*/main; do
        [ -d "$v" ] || continue
        ver=$(basename "$(dirname "$v")")
        pg_ctlcluster "$ver" main stop >/dev/null 2>&1 || true
    done
fi
echo "postgresql binaries in $(find_bindir)"
