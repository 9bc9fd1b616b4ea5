#!/usr/bin/env bash
# Redis commands per admitted request, with rate limits shared through Redis.
#
# errata runs with `--redis`, one worker, pinned to one core; wrk sends the
# small query from the other (-t1 -c$CONNS, one client: every request counts
# against the same allowance). Redis's own `INFO commandstats` is read before
# and after each run, and the calls in between (the reads themselves aside)
# are divided by the requests that were admitted (2xx) and by all requests.
#
# Rows:
#   admitted  a limit no request reaches: every request is admitted, and
#             leases let one round trip admit several (target: < 1 command
#             per admitted request).
#   refused   a limit most requests exceed: refusals are remembered until the
#             retry time, so they cost no command (target: at most 1 command
#             per admitted request).
#
# By default a Redis of its own is started on REDIS_PORT (6391), so nothing
# else's commands are counted; REDIS_URL=redis://host:port uses another (the
# counts then include whatever else talks to it; its statistics are read,
# never reset). ERRATA=path uses a built binary instead of building one.
#
# Needs: cargo, redis-server, redis-cli, wrk, curl, taskset.
# Usage: bench/redis-commands.sh   (DUR, CONNS to change the method; results in
# bench/results/<date>-redis/summary.tsv)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
DUR=${DUR:-10}; CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
REDIS_PORT=${REDIS_PORT:-6391}
PORT=${PORT:-8091}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-redis}
mkdir -p "$OUT"

if [ -z "${ERRATA:-}" ]; then
  ( cd "$ROOT" && cargo build --release --locked -p errata )
  ERRATA=$CARGO_TARGET_DIR/release/errata
fi

RPID=""; SPID=""; DATA=$(mktemp -d)
cleanup() {
  [ -n "$SPID" ] && { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }
  [ -n "$RPID" ] && { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; }
  rm -rf "$DATA"
}
trap cleanup EXIT

if [ -z "${REDIS_URL:-}" ]; then
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DATA" > "$OUT/redis.log" 2>&1 &
  RPID=$!
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  for _ in $(seq 100); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# Commands sent to Redis, summed over `INFO commandstats`: every command but
# INFO (this script's own reads) and TIME, GET and SET, which Redis counts
# when the rate limit's script calls them inside its one EVALSHA. (errata
# sends GET and SET itself only for persisted queries, which the small
# query does not use.)
commands() {
  redis-cli -u "$REDIS_URL" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|time|get|set)$/ { n += $3 } END { print n + 0 }'
}

printf 'row\trate_limit\trequests\tadmitted\tcommands\tper_admitted\tper_request\n' > "$OUT/summary.tsv"
run() { # row rate-limit
  local row=$1 rate=$2 f before after requests refused admitted
  taskset -c "$SERVER_CPU" "$ERRATA" serve --addr "127.0.0.1:$PORT" --data "$DATA/$row" --workers 1 \
    --rate-limit "$rate" --redis "$REDIS_URL" > "$OUT/$row.server.log" 2>&1 &
  SPID=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)" = 200 ] && break
    sleep 0.1
  done
  before=$(commands)
  f="$OUT/$row.wrk.txt"
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DUR"s -s "$HERE/lua/small.lua" "http://127.0.0.1:$PORT/graphql" > "$f"
  after=$(commands)
  kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""
  requests=$(awk '/requests in/{print $1}' "$f")
  refused=$(awk '/Non-2xx/{print $NF}' "$f"); refused=${refused:-0}
  admitted=$((requests - refused))
  awk -v row="$row" -v rate="$rate" -v r="$requests" -v a="$admitted" -v c="$((after - before))" \
    'BEGIN { printf "%s\t%s\t%d\t%d\t%d\t%.4f\t%.4f\n", row, rate, r, a, c, (a ? c / a : 0), (r ? c / r : 0) }' |
    tee -a "$OUT/summary.tsv"
}

run admitted 1000000/s
run refused 100/s
redis-cli -u "$REDIS_URL" info server | grep -E '^redis_version' > "$OUT/versions.txt" || true
git -C "$ROOT" rev-parse --short HEAD >> "$OUT/versions.txt"
