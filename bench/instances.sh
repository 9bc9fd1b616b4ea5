#!/usr/bin/env bash
# Several instances (issue 9): one errata instance on PostgreSQL with Redis
# against the same on SQLite, with run.sh's method (server on SERVER_CPU
# with one tokio worker, wrk -t1 --latency on WRK_CPU, every response
# checked with curl first, a warm-up, RUNS runs of DUR seconds, medians),
# then two instances on one PostgreSQL database.
#
# 1. Throughput, both modes in the same run and interleaved: both servers
#    run at once (the idle one costs nothing), and each of the RUNS runs is
#    a pair, SQLite then PostgreSQL, the order swapped every other pair, so
#    the host's drift hits both sides. The rate limit is on in both modes
#    with a budget the load never exhausts (1000000/s), so every request is
#    checked (through Redis in the PostgreSQL mode). Rows: the small query,
#    the small query with a session JWT, `POST /oauth/token` (client
#    credentials, HTTP Basic), login (argon2id; LOGIN_CONNS connections, as
#    more would queue past the password slots), and the 429 of run.sh (a
#    limit of 1/h, spent by one request first). Targets (PostgreSQL+Redis
#    over SQLite): 0.9, 0.9, 0.8, 0.95 and 0.8. A last row, with no target,
#    sends the small query from 65,536 client addresses (X-Forwarded-For
#    from a trusted proxy) at the default limit, where no client is busy
#    enough for a lease.
# 2. Redis commands per admitted request in each PostgreSQL run, from
#    `INFO commandstats` before and after it (counted as
#    bench/redis-commands.sh does), then bench/redis-commands.sh itself.
# 3. (PARTS=instructions, not run by default) errata's own instructions per
#    request in both modes, under callgrind (bench/instructions.sh).
# 4. Two instances, A and B, on one fresh PostgreSQL database and one Redis:
#    the invalidation delay from A to B over TRIALS trials (the
#    `invalidation` program of errata-bench), and whether the two together
#    keep to one rate-limit allowance (a correctness result, not a ratio:
#    both share CPU 0 and the load generators share CPU 1).
#
# PostgreSQL is the machine's (PG, a URL without the database; a database of
# this run's own is created and dropped); Redis is one of this run's own on
# REDIS_PORT, so that its command counts are errata's alone. Keys start with
# a prefix of this run's own.
#
# Needs: cargo, wrk, curl, taskset, redis-server, redis-cli, createdb, dropdb,
# psql (and valgrind for the instruction counts).
# Usage: bench/instances.sh  (WARM, DUR, RUNS, CONNS, LOGIN_CONNS, TRIALS,
# CG_N, CG_ROWS to change the method; ERRATA=path to use a built binary; ROWS="x1 x4" for some rows,
# PARTS="pairs redis instructions two" for some parts; results in
# bench/results/<date>-instances/)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
WARM=${WARM:-3}; DUR=${DUR:-10}; RUNS=${RUNS:-3}; CONNS=${CONNS:-50}; LOGIN_CONNS=${LOGIN_CONNS:-8}
TRIALS=${TRIALS:-100}
ROWS=${ROWS:-"x1 x2 x4 x6 x5 x7"}; PARTS=${PARTS:-"pairs redis two"}
CG_ROWS=${CG_ROWS:-"e1 i2 i4 e5"}; CG_N=${CG_N:-1000}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS_PORT=${REDIS_PORT:-6392}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-instances}
LUA=$HERE/lua
mkdir -p "$OUT/raw"

# Built one package at a time: built together, errata would get the
# features errata-bench's HTTP client turns on in shared dependencies, and
# be another binary than run.sh measures.
if [ -z "${ERRATA:-}" ]; then
  ( cd "$ROOT" && cargo build --release --locked -p errata )
  ERRATA=$CARGO_TARGET_DIR/release/errata
fi
( cd "$ROOT" && cargo build --release --locked -p errata-bench --bin invalidation )
INVALIDATION=$CARGO_TARGET_DIR/release/invalidation

TAG=errata_bench_$$
DB=$TAG; DB_TWO=${TAG}_two; DB_CG=${TAG}_cg
PG_HOST=$(echo "$PG" | sed -E 's#^postgres(ql)?://([^@/]*@)?([^:/]*).*#\3#')
PG_PORT=$(echo "$PG" | sed -nE 's#^postgres(ql)?://([^@/]*@)?[^:/]*:([0-9]+).*#\3#p'); PG_PORT=${PG_PORT:-5432}
PG_USER=$(echo "$PG" | sed -nE 's#^postgres(ql)?://([^:@/]*)(:[^@]*)?@.*#\2#p'); PG_USER=${PG_USER:-postgres}
REDIS=redis://127.0.0.1:$REDIS_PORT
SCRATCH=$(mktemp -d)
declare -A PIDS=()
RPID=""

stop() { # name
  local pid=${PIDS[$1]:-}
  [ -z "$pid" ] && return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$1]"
}
cleanup() {
  local name
  for name in "${!PIDS[@]}"; do stop "$name"; done
  [ -n "$RPID" ] && { kill "$RPID" 2>/dev/null || true; wait "$RPID" 2>/dev/null || true; }
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB" 2>/dev/null || true
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB_TWO" 2>/dev/null || true
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$DB_CG" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

start() { # name port cpu(empty: any) cmd...
  local name=$1 port=$2 cpu=$3; shift 3
  if [ -n "$cpu" ]; then
    taskset -c "$cpu" "$@" > "$OUT/$name.server.log" 2>&1 &
  else
    "$@" > "$OUT/$name.server.log" 2>&1 &
  fi
  PIDS[$name]=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" = 200 ] && return 0
    kill -0 "${PIDS[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start: $(tail -5 "$OUT/$name.server.log")" >&2
  exit 1
}

check() { # label url status pattern curl-args...
  local label=$1 url=$2 status=$3 pattern=$4 code; shift 4
  code=$(curl -s -o "$OUT/check.body" -w '%{http_code}' -X POST "$@" "$url")
  printf '%s  HTTP %s  %s\n' "$label" "$code" "$(head -c 400 "$OUT/check.body")" >> "$OUT/checks.txt"
  [ "$code" = "$status" ] && grep -qE -- "$pattern" "$OUT/check.body" ||
    { echo "CHECK FAILED for $label: HTTP $code $(head -c 400 "$OUT/check.body")" >&2; exit 1; }
}

load() { echo "$(date -u +%H:%M:%S) $1: $(cat /proc/loadavg)" >> "$OUT/load.txt"; }

# Redis commands so far, as bench/redis-commands.sh counts them: all but
# INFO (these reads) and TIME, GET and SET, which Redis counts when the
# rate limit's script calls them inside its one EVALSHA.
commands() {
  redis-cli -u "$REDIS" info commandstats | tr -d '\r' |
    awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /^cmdstat_(info|time|get|set)$/ { n += $3 } END { print n + 0 }'
}

{
  echo "date: $(date -u)"; echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"; echo "load: $(cat /proc/loadavg)"
  rustc --version; wrk -v 2>&1 | head -1 || true
  psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -At -c 'SHOW server_version' postgres | sed 's/^/postgresql /'
  redis-server --version
  git -C "$ROOT" rev-parse --short HEAD
} > "$OUT/versions.txt"
load start

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$SCRATCH" > "$OUT/redis.log" 2>&1 &
RPID=$!
for _ in $(seq 100); do redis-cli -u "$REDIS" ping > /dev/null 2>&1 && break; sleep 0.1; done
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB"
PGURL=$PG/$DB

want() { [[ " $ROWS $PARTS " == *" $1 "* ]]; }
if want pairs; then
# The same identity data in both modes: an administrator, and a client.
SQ=$SCRATCH/sqlite; PQ=$SCRATCH/postgres; mkdir -m 700 "$SQ" "$PQ"
declare -A BASIC=() JWT=()
for mode in s p; do
  if [ $mode = s ]; then where=(--data "$SQ"); else where=(--data "$PQ" --database "$PGURL"); fi
  "$ERRATA" users create "${where[@]}" --email bench@example.com --password 'bench password 1' --admin > /dev/null
  client=$("$ERRATA" clients create "${where[@]}" --name bench --scope read:pages)
  BASIC[$mode]=$(printf '%s:%s' "$(echo "$client" | sed -n 's/.*"client_id": "\(.*\)".*/\1/p')" \
    "$(echo "$client" | sed -n 's/.*"client_secret": "\(.*\)".*/\1/p')" | base64 -w0)
done

S=http://127.0.0.1:8111; P=http://127.0.0.1:8112
start s 8111 "$SERVER_CPU" "$ERRATA" serve --addr 127.0.0.1:8111 --data "$SQ" --workers 1 --rate-limit 1000000/s
start p 8112 "$SERVER_CPU" env ERRATA_REDIS_PREFIX="$TAG:p:" "$ERRATA" serve --addr 127.0.0.1:8112 --data "$PQ" \
  --database "$PGURL" --redis "$REDIS" --workers 1 --rate-limit 1000000/s
declare -A URL=([s]=$S [p]=$P)
for mode in s p; do
  JWT[$mode]=$(curl -s -X POST -H 'Content-Type: application/json' --data-binary "@$LUA/login.json" "${URL[$mode]}/graphql" |
    sed -n 's/.*"jwt":"\([^"]*\)".*/\1/p')
  [ -n "${JWT[$mode]}" ] || { echo "CHECK FAILED: no session token from $mode" >&2; exit 1; }
done

to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000} }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

printf 'row\tworkload\ttarget\tsqlite_rps\tpg_rps\tratio_of_medians\tpair_ratio_median\tpair_ratios\tsqlite_p99_us\tpg_p99_us\tsqlite_non2xx\tpg_non2xx\tpg_requests\tpg_admitted\tredis_commands\tper_admitted\tper_request\tsqlite_cpu_us\tpg_errata_cpu_us\tpg_postgres_cpu_us\tpg_redis_cpu_us\tpg_total_cpu_us\tcpu_ratio\tmet\n' > "$OUT/summary.tsv"

wrk_run() { # file conns lua url env...
  local f=$1 conns=$2 lua=$3 url=$4; shift 4
  env "$@" taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"$DUR"s --latency -s "$lua" "$url" > "$f"
}

# CPU time (user and system, in clock ticks) the processes have used so
# far; one gone since counts nothing. PostgreSQL's backends are those
# connected to this run's database (its background writers are not).
HZ=$(getconf CLK_TCK)
ticks() {
  local pid t=0
  for pid in "$@"; do
    t=$((t + $(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{n += $12 + $13} END {print n + 0}')))
  done
  echo "$t"
}
backends() {
  psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -At -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'" postgres
}

# pair row workload target conns lua path s-env p-env: the warm-ups, then
# RUNS interleaved pairs; one summary line. Besides wrk's figures, the CPU
# time each side spent per request: errata's in SQLite mode; errata's,
# PostgreSQL's backends' and Redis's in PostgreSQL mode.
pair() {
  local row=$1 workload=$2 target=$3 conns=$4 lua=$5 path=$6 s_env=$7 p_env=$8 i mode f
  local -A rps=() p99=() non2xx=()
  local ratios="" cmds=0 requests=0 refused=0 s_requests=0 before after
  local s_cpu=0 e_cpu=0 pg_cpu=0 r_cpu=0 pg_before pg_after e0 pg0 r0
  load "$row"
  env $s_env taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"$WARM"s -s "$lua" "$S$path" > "$OUT/raw/${row}_s_warmup.txt"
  env $p_env taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"$WARM"s -s "$lua" "$P$path" > "$OUT/raw/${row}_p_warmup.txt"
  for i in $(seq "$RUNS"); do
    local order="s p"; [ $((i % 2)) = 0 ] && order="p s"
    for mode in $order; do
      f=$OUT/raw/${row}_${mode}_run$i.txt
      if [ "$mode" = s ]; then
        e0=$(ticks "${PIDS[s]}")
        wrk_run "$f" "$conns" "$lua" "$S$path" $s_env
        s_cpu=$((s_cpu + $(ticks "${PIDS[s]}") - e0))
        s_requests=$((s_requests + $(awk '/requests in/{print $1}' "$f")))
      else
        pg_before=$(backends)
        before=$(commands); e0=$(ticks "${PIDS[p]}"); pg0=$(ticks $pg_before); r0=$(ticks "$RPID")
        wrk_run "$f" "$conns" "$lua" "$P$path" $p_env
        pg_after=$(printf '%s\n%s\n' "$pg_before" "$(backends)" | sort -u)
        e_cpu=$((e_cpu + $(ticks "${PIDS[p]}") - e0)); pg_cpu=$((pg_cpu + $(ticks $pg_after) - pg0))
        r_cpu=$((r_cpu + $(ticks "$RPID") - r0))
        after=$(commands)
        cmds=$((cmds + after - before))
        requests=$((requests + $(awk '/requests in/{print $1}' "$f")))
        refused=$((refused + $(awk '/Non-2xx/{n=$NF} END{print n+0}' "$f")))
      fi
      rps[$mode]+=" $(awk '/^Requests\/sec:/{print $2}' "$f")"
      p99[$mode]+=" $(awk '$1=="99%"{print $2}' "$f" | to_us)"
      non2xx[$mode]=$(( ${non2xx[$mode]:-0} + $(awk '/Non-2xx/{n=$NF} END{print n+0}' "$f") ))
    done
    ratios+=" $(awk -v p="$(awk '/^Requests\/sec:/{print $2}' "$OUT/raw/${row}_p_run$i.txt")" \
      -v s="$(awk '/^Requests\/sec:/{print $2}' "$OUT/raw/${row}_s_run$i.txt")" 'BEGIN{printf "%.3f", p/s}')"
  done
  local s_med p_med pair_med admitted
  s_med=$(echo "${rps[s]}" | median); p_med=$(echo "${rps[p]}" | median); pair_med=$(echo "$ratios" | median)
  admitted=$((requests - refused))
  awk -v row="$row" -v w="$workload" -v t="$target" -v s="$s_med" -v p="$p_med" -v pm="$pair_med" \
    -v rs="$(echo $ratios | tr ' ' ',')" -v s99="$(echo "${p99[s]}" | median)" -v p99="$(echo "${p99[p]}" | median)" \
    -v sn="${non2xx[s]}" -v pn="${non2xx[p]}" -v r="$requests" -v a="$admitted" -v c="$cmds" \
    -v hz="$HZ" -v sr="$s_requests" -v sc="$s_cpu" -v ec="$e_cpu" -v gc="$pg_cpu" -v rc="$r_cpu" 'BEGIN {
      us = 1e6 / hz; scpu = sr ? sc * us / sr : 0; ecpu = r ? ec * us / r : 0; gcpu = r ? gc * us / r : 0; rcpu = r ? rc * us / r : 0
      printf "%s\t%s\t%s\t%.0f\t%.0f\t%.3f\t%.3f\t%s\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%s\t%.4f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%s\n",
        row, w, t, s, p, p / s, pm, rs, s99, p99, sn, pn, r, a, c,
        (a ? sprintf("%.4f", c / a) : "-"), (r ? c / r : 0),
        scpu, ecpu, gcpu, rcpu, ecpu + gcpu + rcpu, (ecpu + gcpu + rcpu ? scpu / (ecpu + gcpu + rcpu) : 0),
        (t == "-" ? "-" : pm >= t ? "yes" : "no") }' | tee -a "$OUT/summary.tsv"
}

for mode in s p; do
  u=${URL[$mode]}
  check "$mode-small" "$u/graphql" 200 '"name":"errata"' -H 'Content-Type: application/json' --data-binary "@$LUA/small.json"
  check "$mode-jwt" "$u/graphql" 200 '"name":"errata"' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer ${JWT[$mode]}" --data-binary "@$LUA/small.json"
  check "$mode-token" "$u/oauth/token" 200 '"token_type":"Bearer"' -H 'Content-Type: application/x-www-form-urlencoded' \
    -H "Authorization: Basic ${BASIC[$mode]}" --data 'grant_type=client_credentials'
  check "$mode-login" "$u/graphql" 200 '"succeeded":true' -H 'Content-Type: application/json' --data-binary "@$LUA/login.json"
done
want x1 && pair x1 small 0.9 "$CONNS" "$LUA/small.lua" /graphql "" ""
want x2 && pair x2 small-jwt 0.9 "$CONNS" "$LUA/small-bearer.lua" /graphql "TOKEN=${JWT[s]}" "TOKEN=${JWT[p]}"
want x4 && pair x4 token-endpoint 0.8 "$CONNS" "$LUA/token.lua" /oauth/token "BASIC=${BASIC[s]}" "BASIC=${BASIC[p]}"
want x6 && pair x6 login 0.95 "$LOGIN_CONNS" "$LUA/login.lua" /graphql "" ""
grep -E '^(VmRSS|VmHWM)' "/proc/${PIDS[s]}/status" | sed 's/^/sqlite /' > "$OUT/rss.txt"
grep -E '^(VmRSS|VmHWM)' "/proc/${PIDS[p]}/status" | sed 's/^/postgres /' >> "$OUT/rss.txt"
stop s; stop p

# The 429: a limit of 1/h, spent by one request before the checks.
if want x5; then
start s 8111 "$SERVER_CPU" "$ERRATA" serve --addr 127.0.0.1:8111 --data "$SQ" --workers 1 --rate-limit 1/h
start p 8112 "$SERVER_CPU" env ERRATA_REDIS_PREFIX="$TAG:l:" "$ERRATA" serve --addr 127.0.0.1:8112 --data "$PQ" \
  --database "$PGURL" --redis "$REDIS" --workers 1 --rate-limit 1/h
for mode in s p; do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$LUA/small.json" "${URL[$mode]}/graphql"
  check "$mode-limited" "${URL[$mode]}/graphql" 429 'TOO_MANY_REQUESTS' -H 'Content-Type: application/json' --data-binary "@$LUA/small.json"
done
pair x5 ratelimited 0.8 "$CONNS" "$LUA/small.lua" /graphql "" ""
stop s; stop p
fi

# Many clients, each under its limit: the small query from 65,536
# addresses behind a trusted proxy, at the default limit (15/s). A client
# this slow gets no lease, so every request it sends is a round trip to
# Redis. No target: issue 9's are for one busy client.
if want x7; then
start s 8111 "$SERVER_CPU" "$ERRATA" serve --addr 127.0.0.1:8111 --data "$SQ" --workers 1 --rate-limit 15/s \
  --trusted-proxies 127.0.0.1
start p 8112 "$SERVER_CPU" env ERRATA_REDIS_PREFIX="$TAG:m:" "$ERRATA" serve --addr 127.0.0.1:8112 --data "$PQ" \
  --database "$PGURL" --redis "$REDIS" --workers 1 --rate-limit 15/s --trusted-proxies 127.0.0.1
for mode in s p; do
  check "$mode-many" "${URL[$mode]}/graphql" 200 '"name":"errata"' -H 'Content-Type: application/json' \
    -H 'X-Forwarded-For: 10.0.0.1' --data-binary "@$LUA/small.json"
done
pair x7 small-many-clients - "$CONNS" "$LUA/many-clients.lua" /graphql "" ""
stop s; stop p
fi
fi

# Redis commands per admitted request, as measured before (a limit no
# request reaches, and one most requests exceed), on this run's Redis.
if want redis; then
  load redis-commands
  ERRATA=$ERRATA REDIS_URL=$REDIS DUR=$DUR CONNS=$CONNS SERVER_CPU=$SERVER_CPU WRK_CPU=$WRK_CPU \
    OUT=$OUT/redis-commands "$HERE/redis-commands.sh"
fi

# Instructions per request of errata itself in both modes (PARTS=instructions):
# bench/instructions.sh's rows CG_ROWS with the rate limit on, on SQLite,
# then on a fresh PostgreSQL database with this run's Redis.
if want instructions; then
  load instructions
  createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB_CG"
  ROWS=$CG_ROWS N=$CG_N LIMIT=1000000/s OUT=$OUT/instructions-sqlite "$HERE/instructions.sh"
  ERRATA_REDIS_PREFIX="$TAG:cg:" DATABASE=$PG/$DB_CG REDIS_URL=$REDIS ROWS=$CG_ROWS N=$CG_N LIMIT=1000000/s \
    OUT=$OUT/instructions-postgres "$HERE/instructions.sh"
  join -t $'\t' <(tail -n +2 "$OUT/instructions-sqlite/summary.tsv" | cut -f1,2 | sort) \
    <(tail -n +2 "$OUT/instructions-postgres/summary.tsv" | cut -f1,2 | sort) |
    awk -F'\t' 'BEGIN { print "row\tsqlite\tpostgres_redis\tratio" } { printf "%s\t%s\t%s\t%.3f\n", $1, $2, $3, $2 / $3 }' |
    tee "$OUT/instructions.tsv"
fi

# Two instances on one fresh database and one Redis.
want two || { load end; echo "results in $OUT"; exit 0; }
load two-instances
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB_TWO"
TWO=$PG/$DB_TWO
DA=$SCRATCH/a; DB_DIR=$SCRATCH/b; mkdir -m 700 "$DA" "$DB_DIR"
"$ERRATA" users create --data "$DA" --database "$TWO" --email bench@example.com --password 'bench password 1' --admin > /dev/null
two() { # rate prefix: A and B, each one worker on SERVER_CPU
  start a 8115 "$SERVER_CPU" env ERRATA_REDIS_PREFIX="$TAG:$2:" "$ERRATA" serve --addr 127.0.0.1:8115 --data "$DA" \
    --database "$TWO" --redis "$REDIS" --workers 1 --rate-limit "$1"
  start b 8116 "$SERVER_CPU" env ERRATA_REDIS_PREFIX="$TAG:$2:" "$ERRATA" serve --addr 127.0.0.1:8116 --data "$DB_DIR" \
    --database "$TWO" --redis "$REDIS" --workers 1 --rate-limit "$1"
}
two 1000000/s i
A=http://127.0.0.1:8115 B=http://127.0.0.1:8116 EMAIL=bench@example.com PASSWORD='bench password 1' \
  TRIALS=$TRIALS TRIALS_TSV=$OUT/invalidation-trials.tsv taskset -c "$WRK_CPU" "$INVALIDATION" | tee "$OUT/invalidation.tsv"
stop a; stop b

# One allowance for both: 200/s with a burst of 200, the small query sent
# to A and B at once from one address for DUR seconds. Separate limits
# would admit about twice what one allowance does.
RATE=200
two "$RATE/s" r
taskset -c "$WRK_CPU" wrk -t1 -c10 -d"$DUR"s -s "$LUA/small.lua" http://127.0.0.1:8115/graphql > "$OUT/raw/shared_a.txt" &
WA=$!
taskset -c "$WRK_CPU" wrk -t1 -c10 -d"$DUR"s -s "$LUA/small.lua" http://127.0.0.1:8116/graphql > "$OUT/raw/shared_b.txt"
wait "$WA"
stop a; stop b
admitted() { awk '/requests in/{r=$1} /Non-2xx/{n=$NF} END{print r-n}' "$1"; }
elapsed() { awk '/requests in/{sub(/s,$/, "", $4); print $4}' "$1"; }
# The allowance over the longer of the two runs as wrk timed them (a run
# of 10 s takes 10.1 s), with 1% for the two starting a moment apart.
{
  printf 'rate\tseconds\tadmitted_a\tadmitted_b\tadmitted_total\tone_allowance\tkept_to_one\n'
  awk -v rate="$RATE" -v da="$(elapsed "$OUT/raw/shared_a.txt")" -v db="$(elapsed "$OUT/raw/shared_b.txt")" \
    -v a="$(admitted "$OUT/raw/shared_a.txt")" -v b="$(admitted "$OUT/raw/shared_b.txt")" \
    'BEGIN { d = (da > db ? da : db); one = rate + rate * d
             printf "%d/s\t%.2f\t%d\t%d\t%d\t%.0f\t%s\n", rate, d, a, b, a + b, one, (a + b <= one * 1.01 ? "yes" : "no") }'
} | tee "$OUT/shared-limit.tsv"
load end
echo "results in $OUT"
