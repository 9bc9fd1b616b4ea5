#!/usr/bin/env bash
# errata's HTTP benchmark, with its peers in the same run, after the method of
# shared/bench-anchors: the server pinned to one core with one tokio worker, wrk
# pinned to the other (-t1 -c50 --latency), every response checked with curl
# before it is timed, a warm-up, then RUNS runs of DUR seconds, medians reported.
#
# Rows: a plain axum handler (the ceiling), bare async-graphql with errata's schema,
# errata, and Apollo Server 4 with the same schema and data; workloads: a small
# query, a realistic 30-line operation with fragments and variables, a validation
# error, a resolver error (partial data), and, for errata, the same operation with
# a key that exists (the success path the error path is compared with), a
# rate-limited request, the small query with a session JWT, with an invalid one,
# and the OAuth token endpoint (client credentials with HTTP Basic).
#
# errata runs as shipped, with its response cache (rows e*), and with the cache
# off (rows u*), which measures execution; Apollo runs without (rows c*) and with
# its own response cache plugin (rows r*).
#
# Needs: cargo, node+npm, wrk, curl, taskset. Usage: bench/run.sh  (WARM, DUR, RUNS, CONNS
# to change the method; results go to bench/results/<date>/summary.tsv).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
WARM=${WARM:-3}; DUR=${DUR:-10}; RUNS=${RUNS:-3}; CONNS=${CONNS:-50}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)}
LUA=$HERE/lua
mkdir -p "$OUT/raw"

# One package at a time, so that errata gets none of the features
# errata-bench's HTTP client turns on in shared dependencies.
( cd "$ROOT" && cargo build --release --locked -p errata )
( cd "$ROOT" && cargo build --release --locked -p errata-bench --bin peers )
ERRATA=$CARGO_TARGET_DIR/release/errata
PEERS=$CARGO_TARGET_DIR/release/peers
( cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error )
"$PEERS" --sdl > "$OUT/schema.graphql"
( cd "$ROOT" && "$ERRATA" catalog docs catalog --format json --out "$OUT/catalog.json" )

{
  echo "date: $(date -u)"; echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"; echo "load: $(cat /proc/loadavg)"
  rustc --version; echo "node $(node --version)"; wrk -v 2>&1 | head -1 || true
  git -C "$ROOT" rev-parse --short HEAD
} > "$OUT/versions.txt"

SPID=""
stop_server() {
  [ -z "$SPID" ] && return 0
  kill "$SPID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  SPID=""
}
trap stop_server EXIT

start_server() { # name port cmd...
  local name=$1 port=$2; shift 2
  taskset -c "$SERVER_CPU" "$@" >"$OUT/$name.server.log" 2>&1 &
  SPID=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)" != 000 ] && break
    sleep 0.1
  done
}

check() { # label url body-file expected-status grep-pattern...
  local label=$1 url=$2 body=$3 status=$4 code resp; shift 4
  code=$(curl -s -o "$OUT/check.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "@$body" "$url")
  resp=$(head -c 400 "$OUT/check.body")
  printf '%s  HTTP %s  %s\n' "$label" "$code" "$resp" >> "$OUT/checks.txt"
  [ "$code" = "$status" ] || { echo "CHECK FAILED for $label: HTTP $code, expected $status" >&2; exit 1; }
  for pattern in "$@"; do
    grep -qE -- "$pattern" "$OUT/check.body" || { echo "CHECK FAILED for $label: no /$pattern/ in $resp" >&2; exit 1; }
  done
}

to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000} }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

printf 'row\tserver\tworkload\trps_med\tp50_us_med\tp99_us_med\trps_runs\tnon2xx_last\n' > "$OUT/summary.tsv"
bench() { # row server workload lua url
  local row=$1 server=$2 workload=$3 lua=$4 url=$5 i f rps="" p50="" p99="" n2
  taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$WARM"s -s "$lua" "$url" > "$OUT/raw/${row}_warmup.txt"
  for i in $(seq "$RUNS"); do
    f="$OUT/raw/${row}_run$i.txt"
    taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" -d"$DUR"s --latency -s "$lua" "$url" > "$f"
    rps+=" $(awk '/^Requests\/sec:/{print $2}' "$f")"
    p50+=" $(awk '$1=="50%"{print $2}' "$f" | to_us)"
    p99+=" $(awk '$1=="99%"{print $2}' "$f" | to_us)"
  done
  n2=$(awk '/Non-2xx/{print $NF}' "$f"); n2=${n2:-0}
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$server" "$workload" \
    "$(echo "$rps" | median)" "$(echo "$p50" | median)" "$(echo "$p99" | median)" "$(echo $rps | tr ' ' ',')" "$n2" \
    | tee -a "$OUT/summary.tsv"
}

# Rust peers: plain axum and bare async-graphql, one worker.
start_server peers 8000 env THREADS=1 PORT=8000 "$PEERS"
P=http://127.0.0.1:8000
check plain "$P/plain" "$LUA/small.json" 200 '"name":"errata"'
bench a  axum-plain    small      "$LUA/small.lua"      "$P/plain"
check ag-small "$P/graphql" "$LUA/small.json" 200 '"name":"errata"'
bench b1 async-graphql small      "$LUA/small.lua"      "$P/graphql"
check ag-realistic "$P/graphql" "$LUA/realistic.json" 200 '"totalCount":18' 'AuthGenericError'
bench b2 async-graphql realistic  "$LUA/realistic.lua"  "$P/graphql"
check ag-invalid "$P/graphql" "$LUA/invalid.json" 200 'nmae'
bench b3 async-graphql invalid    "$LUA/invalid.lua"    "$P/graphql"
check ag-fielderror "$P/graphql" "$LUA/fielderror.json" 200 '"errors"'
bench b4 async-graphql fielderror "$LUA/fielderror.lua" "$P/graphql"
stop_server

# errata, one worker, default configuration but no rate limit.
DATA=$(mktemp -d)
start_server errata 8080 "$ERRATA" serve --addr 127.0.0.1:8080 --data "$DATA" --workers 1 --rate-limit off
E=http://127.0.0.1:8080
check e-small "$E/graphql" "$LUA/small.json" 200 '"name":"errata"' '"requestId"'
bench e1 errata small      "$LUA/small.lua"      "$E/graphql"
check e-realistic "$E/graphql" "$LUA/realistic.json" 200 '"totalCount":18' 'AuthGenericError'
bench e2 errata realistic  "$LUA/realistic.lua"  "$E/graphql"
check e-invalid "$E/graphql" "$LUA/invalid.json" 200 'Did you mean \\"name\\"' 'GRAPHQL_VALIDATION_FAILED'
bench e3 errata invalid    "$LUA/invalid.lua"    "$E/graphql"
check e-fielderror "$E/graphql" "$LUA/fielderror.json" 200 '"error":null' 'CatalogEntryNotFound'
bench e4 errata fielderror "$LUA/fielderror.lua" "$E/graphql"
check e-fieldsuccess "$E/graphql" "$LUA/fieldsuccess.json" 200 '"id":"auth.generic_error"'
bench e4s errata fieldsuccess "$LUA/fieldsuccess.lua" "$E/graphql"
grep -E '^(VmRSS|VmHWM)' "/proc/$SPID/status" | tee "$OUT/errata-rss.txt"
awk '/^Requests\/sec|requests in/' "$OUT"/raw/e*_run*.txt "$OUT"/raw/e*_warmup.txt | awk '/requests in/{n+=$1} END{print "requests served:", n}' | tee -a "$OUT/errata-rss.txt"
stop_server

# errata with the response cache off: every request executes.
start_server errata-uncached 8083 "$ERRATA" serve --addr 127.0.0.1:8083 --data "$DATA" --workers 1 --rate-limit off --response-cache 0
U=http://127.0.0.1:8083
check u-small "$U/graphql" "$LUA/small.json" 200 '"name":"errata"'
bench u1 errata-uncached small      "$LUA/small.lua"      "$U/graphql"
check u-realistic "$U/graphql" "$LUA/realistic.json" 200 '"totalCount":18' 'AuthGenericError'
bench u2 errata-uncached realistic  "$LUA/realistic.lua"  "$U/graphql"
check u-fielderror "$U/graphql" "$LUA/fielderror.json" 200 '"error":null' 'CatalogEntryNotFound'
bench u4 errata-uncached fielderror "$LUA/fielderror.lua" "$U/graphql"
check u-fieldsuccess "$U/graphql" "$LUA/fieldsuccess.json" 200 '"id":"auth.generic_error"'
bench u4s errata-uncached fieldsuccess "$LUA/fieldsuccess.lua" "$U/graphql"
stop_server

# errata with identity: the small query with a valid session JWT (beside the
# same query without one, in the same process), with a tampered JWT (refused
# at the edge with 401), and the OAuth token endpoint issuing tokens.
AUTH=$(mktemp -d)
"$ERRATA" users create --data "$AUTH" --email bench@example.com --password 'bench password 1' --admin > /dev/null
CLIENT=$("$ERRATA" clients create --data "$AUTH" --name bench --scope read:pages)
CID=$(echo "$CLIENT" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')
CSECRET=$(echo "$CLIENT" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')
start_server errata-auth 8082 "$ERRATA" serve --addr 127.0.0.1:8082 --data "$AUTH" --workers 1 --rate-limit off
I=http://127.0.0.1:8082
JWT=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary \
  '{"query":"mutation { authentication { login(username: \"bench@example.com\", password: \"bench password 1\") { jwt } } }"}' \
  "$I/graphql" | sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p')
[ -n "$JWT" ] || { echo "CHECK FAILED: no session token" >&2; exit 1; }
BAD=${JWT%?}A; [ "$BAD" = "$JWT" ] && BAD=${JWT%?}B
BASIC=$(printf '%s:%s' "$CID" "$CSECRET" | base64 -w0)
check_auth() { # label url status pattern curl-args...
  local label=$1 url=$2 status=$3 pattern=$4 code; shift 4
  code=$(curl -s -o "$OUT/check.body" -w '%{http_code}' -X POST "$@" "$url")
  printf '%s  HTTP %s  %s\n' "$label" "$code" "$(head -c 400 "$OUT/check.body")" >> "$OUT/checks.txt"
  [ "$code" = "$status" ] && grep -qE -- "$pattern" "$OUT/check.body" || { echo "CHECK FAILED for $label: HTTP $code" >&2; exit 1; }
}
check i-anon "$I/graphql" "$LUA/small.json" 200 '"name":"errata"'
bench i1 errata small-anonymous "$LUA/small.lua" "$I/graphql"
check_auth i-jwt "$I/graphql" 200 '"name":"errata"' -H 'Content-Type: application/json' -H "Authorization: Bearer $JWT" --data-binary "@$LUA/small.json"
TOKEN=$JWT bench i2 errata small-jwt "$LUA/small-bearer.lua" "$I/graphql"
check_auth i-bad "$I/graphql" 401 'TokenInvalid' -H 'Content-Type: application/json' -H "Authorization: Bearer $BAD" --data-binary "@$LUA/small.json"
TOKEN=$BAD bench i3 errata invalid-bearer "$LUA/small-bearer.lua" "$I/graphql"
check_auth i-token "$I/oauth/token" 200 '"token_type":"Bearer"' -H 'Content-Type: application/x-www-form-urlencoded' -H "Authorization: Basic $BASIC" --data 'grant_type=client_credentials'
BASIC=$BASIC bench i4 errata token-endpoint "$LUA/token.lua" "$I/oauth/token"
stop_server
rm -rf "$AUTH"

# errata with a rate limit every benchmark request exceeds.
start_server errata-limited 8081 "$ERRATA" serve --addr 127.0.0.1:8081 --data "$DATA" --workers 1 --rate-limit 1/h
L=http://127.0.0.1:8081
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$LUA/small.json" "$L/graphql"
check e-limited "$L/graphql" "$LUA/small.json" 429 'Too Many Requests' 'TOO_MANY_REQUESTS'
bench e5 errata ratelimited "$LUA/small.lua" "$L/graphql"
stop_server
rm -rf "$DATA"

# Apollo Server 4, same schema and data.
start_server apollo 4000 env NODE_ENV=production PORT=4000 SCHEMA="$OUT/schema.graphql" CATALOG_JSON="$OUT/catalog.json" node "$HERE/node/apollo.mjs"
A=http://127.0.0.1:4000
check c-small "$A/graphql" "$LUA/small.json" 200 '"name":"errata"'
bench c1 apollo4 small      "$LUA/small.lua"      "$A/graphql"
check c-realistic "$A/graphql" "$LUA/realistic.json" 200 '"totalCount":18' 'AuthGenericError'
bench c2 apollo4 realistic  "$LUA/realistic.lua"  "$A/graphql"
check c-invalid "$A/graphql" "$LUA/invalid.json" 400 'nmae'
bench c3 apollo4 invalid    "$LUA/invalid.lua"    "$A/graphql"
check c-fielderror "$A/graphql" "$LUA/fielderror.json" 200 '"errors"'
bench c4 apollo4 fielderror "$LUA/fielderror.lua" "$A/graphql"
stop_server

# Apollo Server 4 with its response cache plugin, which keeps answers by the
# same @cacheControl hints (it keeps none with errors).
start_server apollo-cached 4001 env NODE_ENV=production PORT=4001 RESPONSE_CACHE=1 SCHEMA="$OUT/schema.graphql" CATALOG_JSON="$OUT/catalog.json" node "$HERE/node/apollo.mjs"
A=http://127.0.0.1:4001
check r-small "$A/graphql" "$LUA/small.json" 200 '"name":"errata"'
bench r1 apollo4-cached small      "$LUA/small.lua"      "$A/graphql"
check r-realistic "$A/graphql" "$LUA/realistic.json" 200 '"totalCount":18' 'AuthGenericError'
bench r2 apollo4-cached realistic  "$LUA/realistic.lua"  "$A/graphql"
stop_server

echo "results in $OUT"
