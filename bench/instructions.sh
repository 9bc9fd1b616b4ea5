#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: repeatable
# whatever else the machine is doing, where the wall-clock rows of run.sh
# move by a third from run to run on this host.
#
# For each row the server runs under callgrind, answers a warm-up of 50
# requests over one keep-alive connection (bench/send.py), has its counters
# zeroed, answers N more, and has them dumped: the count covers exactly the
# N requests. Rows: the plain axum handler and bare async-graphql (the
# peers), errata's workloads of run.sh with and without the response cache,
# the rate-limited request, and the identity paths (small query with a
# session JWT, with a tampered one, and the token endpoint). Row `login`
# (argon2id, about a second a request under callgrind; not in the default
# rows: ask for it with a small N) logs the benchmark user in.
#
# DATABASE=postgres://... (an empty database) and REDIS_URL=redis://... run
# errata's rows on PostgreSQL with Redis instead of SQLite, and LIMIT=RATE
# turns on the rate limit of the rows that run without (bench/instances.sh
# compares the two modes with LIMIT=1000000/s). The count is errata's own:
# what PostgreSQL and Redis spend is not in it.
#
# Needs: cargo, valgrind (callgrind_control), python3, curl.
# Usage: bench/instructions.sh  (N to change; ROWS="plain e1 ..." for some rows)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
N=${N:-2000}; PORT=${PORT:-8093}
OUT=${OUT:-$HERE/results/instructions-$(date -u +%Y%m%dT%H%M%SZ)}
ROWS=${ROWS:-"plain ag-small ag-realistic e1 e2 e3 e4 e4s u1 u2 u4 u4s e5 i2 i3 i4"}
LUA=$HERE/lua
LIMIT=${LIMIT:-off}
STORE=()
[ -n "${DATABASE:-}" ] && STORE+=(--database "$DATABASE")
SERVE=("${STORE[@]}")
[ -n "${REDIS_URL:-}" ] && SERVE+=(--redis "$REDIS_URL")
mkdir -p "$OUT"
# One package at a time, so that errata gets none of the features
# errata-bench's HTTP client turns on in shared dependencies.
( cd "$ROOT" && cargo build --release --locked -p errata )
( cd "$ROOT" && cargo build --release --locked -p errata-bench --bin peers )
ERRATA=$CARGO_TARGET_DIR/release/errata
PEERS=$CARGO_TARGET_DIR/release/peers
DATA=$(mktemp -d); trap 'rm -rf "$DATA"' EXIT
"$ERRATA" users create --data "$DATA" "${STORE[@]}" --email bench@example.com --password 'bench password 1' --admin > /dev/null
CLIENT=$("$ERRATA" clients create --data "$DATA" "${STORE[@]}" --name bench --scope read:pages)
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
CSECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
BASIC=$(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)
JSON=Content-Type:application/json

measure() { # label server-args... -- path headers... (body on stdin)
  local label=$1 pid args=() body; shift
  while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  local path=$1; shift
  body=$(cat)
  rm -f "$OUT/$label".callgrind*
  env THREADS=1 PORT=$PORT valgrind --tool=callgrind --callgrind-out-file="$OUT/$label.callgrind" "${args[@]}" > "$OUT/$label.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)" != 000 ] && break
    sleep 0.2
  done
  printf '%s' "$body" | python3 "$HERE/send.py" "$PORT" 50 "$path" "$@" > /dev/null
  callgrind_control -z "$pid" > /dev/null 2>&1
  printf '%s' "$body" | python3 "$HERE/send.py" "$PORT" "$N" "$path" "$@" > "$OUT/$label.statuses"
  callgrind_control -d "$pid" > /dev/null 2>&1
  sleep 0.5
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  local total
  total=$(awk '/^(summary|totals):/{print $2; exit}' "$OUT/$label".callgrind.*)
  printf '%s\t%s\t%s\n' "$label" "$((total / N))" "$(cat "$OUT/$label.statuses")" | tee -a "$OUT/summary.tsv"
}

serve() { echo "$ERRATA" serve --addr "127.0.0.1:$PORT" --data "$DATA" "${SERVE[@]}" --workers 1 "$@"; }
token() { # a session JWT, from a server run for it
  "$ERRATA" serve --addr "127.0.0.1:$PORT" --data "$DATA" "${SERVE[@]}" --workers 1 --rate-limit off > "$OUT/login.log" 2>&1 &
  local pid=$!
  for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
  curl -s -X POST -H 'Content-Type: application/json' --data-binary \
    '{"query":"mutation { authentication { login(username: \"bench@example.com\", password: \"bench password 1\") { jwt } } }"}' \
    "http://127.0.0.1:$PORT/graphql" | sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p'
  kill -INT "$pid"; wait "$pid" || true
}
JWT=$(token); [ -n "$JWT" ] || { echo "no session token" >&2; exit 1; }
BAD=${JWT%?}A; [ "$BAD" = "$JWT" ] && BAD=${JWT%?}B

printf 'row\tinstructions_per_request\tstatuses\n' > "$OUT/summary.tsv"
for row in $ROWS; do
  case $row in
    plain) measure plain "$PEERS" -- /plain $JSON < "$LUA/small.json" ;;
    ag-small) measure ag-small "$PEERS" -- /graphql $JSON < "$LUA/small.json" ;;
    ag-realistic) measure ag-realistic "$PEERS" -- /graphql $JSON < "$LUA/realistic.json" ;;
    e1) measure e1 $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/small.json" ;;
    e2) measure e2 $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/realistic.json" ;;
    e3) measure e3 $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/invalid.json" ;;
    e4) measure e4 $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/fielderror.json" ;;
    e4s) measure e4s $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/fieldsuccess.json" ;;
    u1) measure u1 $(serve --rate-limit "$LIMIT" --response-cache 0) -- /graphql $JSON < "$LUA/small.json" ;;
    u2) measure u2 $(serve --rate-limit "$LIMIT" --response-cache 0) -- /graphql $JSON < "$LUA/realistic.json" ;;
    u4) measure u4 $(serve --rate-limit "$LIMIT" --response-cache 0) -- /graphql $JSON < "$LUA/fielderror.json" ;;
    u4s) measure u4s $(serve --rate-limit "$LIMIT" --response-cache 0) -- /graphql $JSON < "$LUA/fieldsuccess.json" ;;
    e5) measure e5 $(serve --rate-limit 1/h) -- /graphql $JSON < "$LUA/small.json" ;;
    i2) measure i2 $(serve --rate-limit "$LIMIT") -- /graphql $JSON "Authorization:Bearer $JWT" < "$LUA/small.json" ;;
    i3) measure i3 $(serve --rate-limit "$LIMIT") -- /graphql $JSON "Authorization:Bearer $BAD" < "$LUA/small.json" ;;
    login) measure login $(serve --rate-limit "$LIMIT") -- /graphql $JSON < "$LUA/login.json" ;;
    i4) printf 'grant_type=client_credentials' | measure i4 $(serve --rate-limit "$LIMIT") -- /oauth/token \
          Content-Type:application/x-www-form-urlencoded "Authorization:Basic $BASIC" ;;
    *) echo "unknown row $row" >&2; exit 1 ;;
  esac
done
echo "results in $OUT"
