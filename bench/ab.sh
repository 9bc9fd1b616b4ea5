#!/usr/bin/env bash
# Interleaved A/B: the small query without a token (A) and with a session JWT
# (B) on one errata server, PAIRS pairs of DUR-second wrk runs taken back to
# back, so that the host's slow drift hits both sides of each pair. Reports
# each pair's B/A ratio and their median. Same pinning as run.sh: server on
# SERVER_CPU with one worker, wrk -t1 -c50 on WRK_CPU.
#
# Needs: cargo, wrk, curl, taskset. Usage: bench/ab.sh  (PAIRS, DUR to change)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
PAIRS=${PAIRS:-10}; DUR=${DUR:-10}; PORT=${PORT:-8099}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
( cd "$ROOT" && cargo build --release --locked -p errata )
ERRATA=$CARGO_TARGET_DIR/release/errata
DATA=$(mktemp -d)
"$ERRATA" users create --data "$DATA" --email bench@example.com --password 'bench password 1' --admin > /dev/null
taskset -c "$SERVER_CPU" "$ERRATA" serve --addr 127.0.0.1:$PORT --data "$DATA" --workers 1 --rate-limit off > "$DATA/server.log" 2>&1 &
SPID=$!
trap 'kill $SPID 2>/dev/null; wait $SPID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT/graphql
TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary \
  '{"query":"mutation { authentication { login(username: \"bench@example.com\", password: \"bench password 1\") { jwt } } }"}' \
  "$URL" | sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || { echo "no session token" >&2; exit 1; }
export TOKEN
rps() { taskset -c "$WRK_CPU" wrk -t1 -c50 -d"$1"s -s "$2" "$URL" | awk '/^Requests\/sec:/{print $2}'; }
rps 3 "$HERE/lua/small.lua" > /dev/null
ratios=""
for i in $(seq "$PAIRS"); do
  a=$(rps "$DUR" "$HERE/lua/small.lua"); b=$(rps "$DUR" "$HERE/lua/small-bearer.lua")
  r=$(echo "$b $a" | awk '{printf "%.3f", $1/$2}'); ratios+=" $r"
  printf 'pair %d: no token %s rps, JWT %s rps, ratio %s\n' "$i" "$a" "$b" "$r"
done
echo "$ratios" | tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "median ratio over %d pairs: %.3f (min %.3f, max %.3f)\n", NR, m, a[1], a[NR]}'
