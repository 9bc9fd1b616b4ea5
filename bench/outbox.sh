#!/usr/bin/env bash
# The outbox (issue 11): COUNT mails queued in a fresh database, delivered
# by errata's outbox worker (default settings: 4 connections, 10 mails a
# connection) to a local SMTP server, tests/smtp/sink.py (aiosmtpd), which
# writes each message to disk. Target: 1,000 mails in under 10 s.
#
# Prints the `outbox` program's JSON line, and fails unless the server
# received every mail. DATABASE is a database URL (a fresh SQLite file by
# default; a PostgreSQL database given here must be empty or migrated by
# errata, and its outbox empty).
#
# Needs: cargo, and the Python environment scripts/test makes
# (MAIL_TEST_PYTHON, by default ~/.cache/errata-test-python/bin/python).
# Usage: bench/outbox.sh [COUNT]   (COUNT=1000; DATABASE=...; PROFILE=debug
# to check that the script works without the release build's few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
COUNT=${1:-1000}
PYTHON=${MAIL_TEST_PYTHON:-$HOME/.cache/errata-test-python/bin/python}
if ! "$PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
  echo "bench/outbox.sh: $PYTHON lacks aiosmtpd; run scripts/test once, or set MAIL_TEST_PYTHON" >&2
  exit 1
fi

PROFILE=${PROFILE:-release}
if [ "$PROFILE" = release ]; then
  cargo build --release --locked -q -p errata-bench --bin outbox
else
  cargo build --locked -q -p errata-bench --bin outbox
fi
WORK=$(mktemp -d)
SINK_PID=
cleanup() {
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

mkfifo "$WORK/ready"
"$PYTHON" tests/smtp/sink.py serve --dir "$WORK/received" >"$WORK/ready" &
SINK_PID=$!
read -r _ PORT <"$WORK/ready"

"$CARGO_TARGET_DIR/$PROFILE/outbox" "$COUNT" "$PORT" ${DATABASE:+"$DATABASE"} | tee "$WORK/result.json"
RECEIVED=$(find "$WORK/received" -name '*.eml' | wc -l)
echo "received by the SMTP server: $RECEIVED of $COUNT"
[ "$RECEIVED" -eq "$COUNT" ]
