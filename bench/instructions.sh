#!/usr/bin/env bash
# Instructions per request on errata's identity paths, counted by valgrind's
# callgrind: repeatable whatever else the machine is doing, where the
# wall-clock rows of run.sh move by a third from run to run on this host.
#
# For each path the server runs under callgrind, answers N requests over one
# keep-alive connection (bench/send.py) and stops; the count of a server that
# answered one request is subtracted, so startup and shutdown cancel out.
# Rows: the small query without a token, with a session JWT, with a tampered
# JWT (refused 401), and the token endpoint (client credentials).
#
# Needs: cargo, valgrind, python3, curl. Usage: bench/instructions.sh  (N to change)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
N=${N:-2000}; PORT=${PORT:-8093}
OUT=${OUT:-$HERE/results/instructions-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
( cd "$ROOT" && cargo build --release --locked -p errata )
ERRATA=$CARGO_TARGET_DIR/release/errata
DATA=$(mktemp -d); trap 'rm -rf "$DATA"' EXIT
"$ERRATA" users create --data "$DATA" --email bench@example.com --password 'bench password 1' --admin > /dev/null
CLIENT=$("$ERRATA" clients create --data "$DATA" --name bench --scope read:pages)
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
CSECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
BASIC=$(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)
SMALL='{"query":"{ catalog { name } }"}'

measure() { # label requests path headers... (body on stdin)
  local label=$1 n=$2 path=$3 pid; shift 3
  valgrind --tool=callgrind --callgrind-out-file="$OUT/$label.callgrind" \
    "$ERRATA" serve --addr 127.0.0.1:$PORT --data "$DATA" --workers 1 --rate-limit off > "$OUT/$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
  python3 "$HERE/send.py" "$PORT" "$n" "$path" "$@" > "$OUT/$label.statuses"
  kill -INT "$pid"; wait "$pid" || true
  awk '/^totals:/{print $2}' "$OUT/$label.callgrind"
}

login() {
  "$ERRATA" serve --addr 127.0.0.1:$PORT --data "$DATA" --workers 1 --rate-limit off > "$OUT/login.log" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  curl -s -X POST -H 'Content-Type: application/json' --data-binary \
    '{"query":"mutation { authentication { login(username: \"bench@example.com\", password: \"bench password 1\") { jwt } } }"}' \
    "http://127.0.0.1:$PORT/graphql" | sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p'
  kill -INT "$pid"; wait "$pid" || true
}
JWT=$(login); [ -n "$JWT" ] || { echo "no session token" >&2; exit 1; }
BAD=${JWT%?}A; [ "$BAD" = "$JWT" ] && BAD=${JWT%?}B

base=$(echo "$SMALL" | measure base 1 /graphql Content-Type:application/json)
per() { echo "$1 $base $N" | awk '{printf "%.0f", ($1-$2)/($3-1)}'; }
anon=$(per "$(echo "$SMALL" | measure anonymous "$N" /graphql Content-Type:application/json)")
jwt=$(per "$(echo "$SMALL" | measure jwt "$N" /graphql Content-Type:application/json "Authorization:Bearer $JWT")")
bad=$(per "$(echo "$SMALL" | measure invalid-bearer "$N" /graphql Content-Type:application/json "Authorization:Bearer $BAD")")
token=$(per "$(printf 'grant_type=client_credentials' | measure token "$N" /oauth/token Content-Type:application/x-www-form-urlencoded "Authorization:Basic $BASIC")")
{
  printf 'path\tinstructions_per_request\tstatuses\trelative_to_anonymous\n'
  for row in "anonymous $anon" "jwt $jwt" "invalid-bearer $bad" "token $token"; do
    set -- $row
    printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$(cat "$OUT/$1.statuses")" "$(echo "$anon $2" | awk '{printf "%.3f", $1/$2}')"
  done
} | tee "$OUT/summary.tsv"
echo "results in $OUT"
