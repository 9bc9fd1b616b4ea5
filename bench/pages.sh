#!/usr/bin/env bash
# Pages and search (issue 10's performance targets), with run.sh's method:
# the server pinned to SERVER_CPU with one tokio worker, wrk -t1 --latency on
# WRK_CPU, every response checked with curl before it is timed, a warm-up,
# then RUNS runs of DUR seconds, medians. On each backend in BACKENDS (a
# SQLite file, and a PostgreSQL database this run creates and drops), with N
# pages seeded by `errata bench-seed` (the time it took is reported):
#
#   s1 s2   the small query (run.sh's) as a guest, and with a session JWT of
#           an editor (a user given write:pages by a group of its own)
#   p1 p2   pages.singleByPath(path, locale) { title render toc } of seeded
#           page MEASURED, as a guest and as the editor; response cache on,
#           as shipped
#   p3      the same as the administrator with the response cache off
#   w1      pages.update as the administrator, each request another page
#           and new content (update.lua checks every answer succeeded);
#           UPDATE_CONNS connections
#   q*      pages.search on each engine the backend has (db, and sqlite or
#           postgres, switched with updateSearchEngines), pages.list with
#           limit 50 and with the default limit, pages.tree by path and by
#           parent: SLOW_CONNS connections, the response cache off, every
#           request other variables picked from lists of words, tags, paths
#           and folders the seed has (varied.lua checks every answer), as
#           the editor
#
# and, once (after the first backend), Wiki.js 2.5 serving the same page's
# pages.single(id) { id title render toc } to its administrator (k1), pinned
# the same way (all its threads moved to SERVER_CPU for the row, then back),
# CONNS connections. Wiki.js runs beside this script, on the machine's
# PostgreSQL (shared/bench-anchors/wikijs/README.md says how); its rows are
# skipped, saying so, when it does not answer at WIKIJS. The page is made
# there, or brought up to date, from errata's seeded page (same path,
# title, description, content and tags). On PostgreSQL, Wiki.js 2.5 answers
# `toc` of a page with headings with an error ("String cannot represent
# value": its resolver returns the stored JSON unserialised) and the rest
# of the data; k2, without `toc`, is the same read answered whole, shown
# beside it.
#
# wrk's timeout is WRK_TIMEOUT (10 s rather than wrk's 2 s), so that slow
# answers (Wiki.js's p99 is over a second) count in the latencies instead
# of being dropped as socket errors.
#
# At the end, a table of the targets and whether each is met
# (targets.tsv). Results in bench/results/<date>-pages/: summary.tsv, seed.tsv,
# targets.tsv, checks.txt, versions.txt, load.txt, server logs and wrk's raw
# output in raw/.
#
# Needs: cargo (unless ERRATA is given), wrk (installed with apt-get when
# missing and run as root), curl, jq, taskset, createdb, dropdb, psql, ss.
# Usage: bench/pages.sh  (ERRATA=path to a built binary to skip building;
# N, MEASURED, WARM, DUR, RUNS, CONNS, SLOW_CONNS, UPDATE_CONNS, BACKENDS,
# PG, REDIS (optional: the PostgreSQL backend's server then uses it),
# WIKIJS, WIKIJS_EMAIL, WIKIJS_PASSWORD, WIKIJS_PID, SERVER_CPU, WRK_CPU,
# WRK_TIMEOUT, OUT)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/errata-target}
WARM=${WARM:-3}; DUR=${DUR:-10}; RUNS=${RUNS:-3}; CONNS=${CONNS:-50}
SLOW_CONNS=${SLOW_CONNS:-10}; UPDATE_CONNS=${UPDATE_CONNS:-$CONNS}; WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
N=${N:-100000}; MEASURED=${MEASURED:-1234}
BACKENDS=${BACKENDS:-"sqlite postgres"}
SERVER_CPU=${SERVER_CPU:-0}; WRK_CPU=${WRK_CPU:-1}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-}
WIKIJS=${WIKIJS:-http://127.0.0.1:3999}
WIKIJS_EMAIL=${WIKIJS_EMAIL:-admin@example.com}; WIKIJS_PASSWORD=${WIKIJS_PASSWORD:-'Admin123!pass'}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%dT%H%M%SZ)-pages}
LUA=$HERE/lua
ADMIN=bench@example.com; ADMIN_PASSWORD='bench password 1'
EDITOR=editor@example.com; EDITOR_PASSWORD='editor password 1'
PORT_CACHED=8121; PORT_UNCACHED=8122
[ "$MEASURED" -lt "$N" ] || { echo "MEASURED ($MEASURED) must be a seeded page: below N ($N)" >&2; exit 2; }
mkdir -p "$OUT/raw"

if ! command -v wrk > /dev/null; then
  [ "$(id -u)" = 0 ] || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
  apt-get install -y -qq wrk > /dev/null || { apt-get update -qq && apt-get install -y -qq wrk > /dev/null; }
fi
if [ -z "${ERRATA:-}" ]; then
  ( cd "$ROOT" && cargo build --release --locked -p errata )
  ERRATA=$CARGO_TARGET_DIR/release/errata
fi

TAG=errata_pages_$$
PG_HOST=$(echo "$PG" | sed -E 's#^postgres(ql)?://([^@/]*@)?([^:/]*).*#\3#')
PG_PORT=$(echo "$PG" | sed -nE 's#^postgres(ql)?://([^@/]*@)?[^:/]*:([0-9]+).*#\3#p'); PG_PORT=${PG_PORT:-5432}
PG_USER=$(echo "$PG" | sed -nE 's#^postgres(ql)?://([^:@/]*)(:[^@]*)?@.*#\2#p'); PG_USER=${PG_USER:-postgres}
SCRATCH=$(mktemp -d)
SPID=""; WIKI_PID=""; WIKI_MASK=""

stop_server() {
  [ -z "$SPID" ] && return 0
  kill "$SPID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  SPID=""
}
unpin_wikijs() {
  [ -z "$WIKI_MASK" ] && return 0
  taskset -a -p "$WIKI_MASK" "$WIKI_PID" > /dev/null 2>&1 || true
  WIKI_MASK=""
}
cleanup() {
  stop_server
  unpin_wikijs
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists --force "$TAG" 2>/dev/null || true
  rm -rf "$SCRATCH"
}
trap cleanup EXIT

start_server() { # name port args...
  local name=$1 port=$2; shift 2
  taskset -c "$SERVER_CPU" "$@" > "$OUT/$name.server.log" 2>&1 &
  SPID=$!
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)" = 200 ] && return 0
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start: $(tail -5 "$OUT/$name.server.log")" >&2
  exit 1
}

load() { echo "$(date -u +%H:%M:%S) $1: $(cat /proc/loadavg)" >> "$OUT/load.txt"; }

# check label url body status pattern [token]: one request, its answer kept
# in checks.txt; the run stops when the status or the pattern is wrong.
check() {
  local label=$1 url=$2 body=$3 status=$4 pattern=$5 token=${6:-} code
  local auth=(); [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  code=$(curl -s -o "$OUT/check.body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    "${auth[@]}" --data-binary "$body" "$url")
  printf '%s  HTTP %s  %s\n' "$label" "$code" "$(head -c 300 "$OUT/check.body")" >> "$OUT/checks.txt"
  [ "$code" = "$status" ] && grep -qE -- "$pattern" "$OUT/check.body" ||
    { echo "CHECK FAILED for $label: HTTP $code $(head -c 400 "$OUT/check.body")" >&2; exit 1; }
}

# check_all label url file pattern token: check every body of a varied row.
check_all() {
  local label=$1 url=$2 file=$3 pattern=$4 token=$5 body i=0
  while IFS= read -r body; do
    i=$((i + 1))
    check "$label#$i" "$url" "$body" 200 "$pattern" "$token"
    if grep -q '"errors"' "$OUT/check.body"; then
      echo "CHECK FAILED for $label#$i: $(head -c 400 "$OUT/check.body")" >&2; exit 1
    fi
  done < "$file"
}

# gql url token query [variables-json]: the answer's body.
gql() {
  local url=$1 token=$2 query=$3 vars=${4:-'{}'}
  local auth=(); [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  jq -nc --arg q "$query" --argjson v "$vars" '{query: $q, variables: $v}' |
    curl -s -X POST -H 'Content-Type: application/json' "${auth[@]}" --data-binary @- "$url"
}

login() { # url email password
  gql "$1" "" 'mutation($u: String!, $p: String!) { authentication { login(username: $u, password: $p, strategy: "local") { responseResult { succeeded message } jwt } } }' \
    "$(jq -nc --arg u "$2" --arg p "$3" '{u: $u, p: $p}')" | jq -r '.data.authentication.login.jwt // empty'
}

to_us() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v+0} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v*1000} else if (v ~ /s$/) {sub(/s$/,"",v); print v*1000000} }'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

{
  echo "date: $(date -u)"; echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"; echo "load: $(cat /proc/loadavg)"
  echo "errata: $ERRATA ($(stat -c %y "$ERRATA"))"; "$ERRATA" --version
  wrk -v 2>&1 | head -1 || true
  psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -At -c 'SHOW server_version' postgres | sed 's/^/postgresql /'
  git -C "$ROOT" rev-parse --short HEAD
  echo "N=$N MEASURED=$MEASURED WARM=$WARM DUR=$DUR RUNS=$RUNS CONNS=$CONNS SLOW_CONNS=$SLOW_CONNS UPDATE_CONNS=$UPDATE_CONNS WRK_TIMEOUT=$WRK_TIMEOUT"
} > "$OUT/versions.txt"
load start

printf 'row\tbackend\tserver\tworkload\tconns\trps_med\tp50_us_med\tp99_us_med\trps_runs\tnon2xx_last\tsocket_errors_last\tchecked\tbad\n' > "$OUT/summary.tsv"
printf 'backend\tpages\tseconds\tpages_per_s\n' > "$OUT/seed.tsv"

# bench row backend server workload conns lua url env...: the warm-up, then
# RUNS runs; one summary line. `checked` and `bad` add up what the Lua
# scripts that check answers counted over the timed runs (- otherwise).
bench() {
  local row=$1 backend=$2 server=$3 workload=$4 conns=$5 lua=$6 url=$7 i f rps="" p50="" p99="" n2 sock
  local checked=0 bad=0 counted=no
  shift 7
  load "$row-$backend"
  env "$@" taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"$WARM"s --timeout "$WRK_TIMEOUT" -s "$lua" "$url" > "$OUT/raw/${row}_${backend}_warmup.txt"
  for i in $(seq "$RUNS"); do
    f="$OUT/raw/${row}_${backend}_run$i.txt"
    env "$@" taskset -c "$WRK_CPU" wrk -t1 -c"$conns" -d"$DUR"s --timeout "$WRK_TIMEOUT" --latency -s "$lua" "$url" > "$f"
    rps+=" $(awk '/^Requests\/sec:/{print $2}' "$f")"
    p50+=" $(awk '$1=="50%"{print $2}' "$f" | to_us)"
    p99+=" $(awk '$1=="99%"{print $2}' "$f" | to_us)"
    if grep -q '^checked:' "$f"; then
      counted=yes
      checked=$((checked + $(awk '/^checked:/{print $2}' "$f")))
      bad=$((bad + $(awk '/^checked:/{print $4}' "$f")))
    fi
  done
  n2=$(awk '/Non-2xx/{print $NF}' "$f"); n2=${n2:-0}
  sock=$(awk '/Socket errors/{gsub(",", ""); print $4+$6+$8+$10}' "$f"); sock=${sock:-0}
  [ "$counted" = yes ] || { checked=-; bad=-; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$backend" "$server" "$workload" "$conns" \
    "$(echo "$rps" | median)" "$(echo "$p50" | median)" "$(echo "$p99" | median)" "$(echo $rps | tr ' ' ',')" \
    "$n2" "$sock" "$checked" "$bad" | tee -a "$OUT/summary.tsv"
}

seeded_path() { echo "section-$(($1 % 100))/topic-$(($1 / 100 % 100))/page-$1"; }
# The words the seed puts in titles (crates/errata-pages/src/seed.rs): a
# title is WORDS[7i mod 37], then WORDS[(7i + 13) mod 37].
WORDS=(alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa
  quebec romeo sierra tango uniform victor whiskey xray yankee zulu install configure deploy backup restore
  upgrade network storage security search editor)
MEASURED_PATH=$(seeded_path "$MEASURED")
SBP='query($path: String!, $locale: String!) { pages { singleByPath(path: $path, locale: $locale) { title render toc } } }'
SBP_BODY=$(jq -nc --arg q "$SBP" --arg p "$MEASURED_PATH" '{query: $q, variables: {path: $p, locale: "en"}}')
SMALL_BODY=$(cat "$LUA/small.json")

# The varied rows' inputs, the same on both backends: search words (each
# word, pairs as they stand in titles, prefixes), list orders and tags, and
# tree paths of pages that exist (folders of sections, of topics, pages).
V=$SCRATCH/varied; mkdir -p "$V"
SEARCH='query($q: String!) { pages { search(query: $q, locale: "en") { results { id title path } suggestions totalHits } } }'
for i in "${!WORDS[@]}"; do
  w=${WORDS[$i]}
  for q in "$w" "$w ${WORDS[$(((i + 13) % 37))]}" "${w:0:4}"; do
    jq -nc --arg d "$SEARCH" --arg q "$q" '{query: $d, variables: {q: $q}}'
  done
done > "$V/search"
LIST='query($limit: Int, $order: PageOrderBy, $dir: PageOrderByDirection, $tags: [String!]) { pages { list(limit: $limit, orderBy: $order, orderByDirection: $dir, tags: $tags) { id path title tags updatedAt } } }'
for limit in 50 null; do
  for order in CREATED ID PATH TITLE UPDATED; do
    for dir in ASC DESC; do
      for tag in "" tag-$((RANDOM % 50)) topic-$((RANDOM % 7)); do
        jq -nc --arg d "$LIST" --argjson l "$limit" --arg o "$order" --arg r "$dir" --arg t "$tag" \
          '{query: $d, variables: ({limit: $l, order: $o, dir: $r} + (if $t == "" then {} else {tags: [$t]} end))}'
      done
    done
  done > "$V/list-$limit"
done
TREE_PATH='query($path: String) { pages { tree(path: $path, mode: ALL, locale: "en") { id path title isFolder parent pageId } } }'
for _ in $(seq 100); do
  i=$(( (RANDOM * 32768 + RANDOM) % N ))
  p=$(seeded_path "$i")
  for path in "${p%%/*}" "${p%/*}" "$p"; do
    jq -nc --arg d "$TREE_PATH" --arg p "$path" '{query: $d, variables: {path: $p}}'
  done
done > "$V/tree-path"
TREE_PARENT='query($parent: Int) { pages { tree(parent: $parent, mode: ALL, locale: "en") { id path title isFolder parent pageId } } }'

WIKIJS_DONE=no
# wikijs: Wiki.js 2.5's pages.single of the same page, as its administrator.
# $1 is errata's page as JSON (path, title, description, content, tags).
wikijs() {
  local page=$1 url=$WIKIJS/graphql token id found want have
  load wikijs
  if [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      --data '{"query":"{ __typename }"}' "$url" || true)" != 200 ]; then
    echo "Wiki.js row skipped: nothing answers at $WIKIJS (see shared/bench-anchors/wikijs/README.md)" | tee -a "$OUT/checks.txt"
    return 0
  fi
  WIKI_PID=${WIKIJS_PID:-$(ss -ltnpH "sport = :${WIKIJS##*:}" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1)}
  if [ -z "$WIKI_PID" ]; then
    echo "Wiki.js row skipped: its process is not known (set WIKIJS_PID), so it cannot be pinned" | tee -a "$OUT/checks.txt"
    return 0
  fi
  token=$(login "$url" "$WIKIJS_EMAIL" "$WIKIJS_PASSWORD")
  [ -n "$token" ] || { echo "CHECK FAILED: no Wiki.js session for $WIKIJS_EMAIL" >&2; exit 1; }
  found=$(gql "$url" "$token" 'query($p: String!) { pages { singleByPath(path: $p, locale: "en") { id title description content tags { tag } } } }' \
    "$(jq -nc --argjson page "$page" '{p: $page.path}')")
  id=$(echo "$found" | jq -r '.data.pages.singleByPath.id // empty')
  want=$(echo "$page" | jq -S '{title, description, content, tags: (.tags | sort)}')
  if [ -z "$id" ]; then
    id=$(gql "$url" "$token" 'mutation($content: String!, $description: String!, $path: String!, $tags: [String]!, $title: String!) { pages { create(content: $content, description: $description, editor: "markdown", isPublished: true, isPrivate: false, locale: "en", path: $path, tags: $tags, title: $title) { responseResult { succeeded message } page { id } } } }' \
      "$page" | tee -a "$OUT/checks.txt" | jq -r '.data.pages.create.page.id // empty')
    [ -n "$id" ] || { echo "CHECK FAILED: Wiki.js did not create $(echo "$page" | jq -r .path)" >&2; exit 1; }
  else
    have=$(echo "$found" | jq -S '.data.pages.singleByPath | {title, description, content, tags: ([.tags[].tag] | sort)}')
    if [ "$have" != "$want" ]; then
      gql "$url" "$token" 'mutation($id: Int!, $content: String, $description: String, $tags: [String], $title: String) { pages { update(id: $id, content: $content, description: $description, tags: $tags, title: $title) { responseResult { succeeded message } } } }' \
        "$(echo "$page" | jq -c --argjson id "$id" '. + {id: $id} | del(.path)')" | tee -a "$OUT/checks.txt" |
        grep -q '"succeeded":true' || { echo "CHECK FAILED: Wiki.js did not update page $id" >&2; exit 1; }
    fi
  fi
  local body body2 title
  body=$(jq -nc --argjson id "$id" '{query: "query($id: Int!) { pages { single(id: $id) { id title render toc } } }", variables: {id: $id}}')
  body2=$(jq -nc --argjson id "$id" '{query: "query($id: Int!) { pages { single(id: $id) { id title render } } }", variables: {id: $id}}')
  title=$(echo "$page" | jq '.title')
  # Wiki.js renders in the background after a write: wait for the render.
  for _ in $(seq 60); do
    gql "$url" "$token" "$(echo "$body2" | jq -r .query)" "{\"id\":$id}" | grep -q '"render":"<' && break
    sleep 1
  done
  check wikijs-single "$url" "$body" 200 "\"title\":$title,\"render\":\"<" "$token"
  check wikijs-single-without-toc "$url" "$body2" 200 "^\\{\"data\":.*\"title\":$title,\"render\":\"<" "$token"
  WIKI_MASK=$(taskset -p "$WIKI_PID" | awk '{print $NF}')
  taskset -a -p -c "$SERVER_CPU" "$WIKI_PID" > /dev/null
  for child in $(pgrep -P "$WIKI_PID" || true); do taskset -a -p -c "$SERVER_CPU" "$child" > /dev/null || true; done
  bench k1 postgresql wikijs-2.5 single-admin "$CONNS" "$LUA/page.lua" "$url" "BODY=$body" "TOKEN=$token"
  bench k2 postgresql wikijs-2.5 single-admin-without-toc "$CONNS" "$LUA/page.lua" "$url" "BODY=$body2" "TOKEN=$token"
  unpin_wikijs
}

# backend name: seed, serve, run every row on one backend.
backend() {
  local b=$1 dir=$SCRATCH/$1 where=() redis=() c=http://127.0.0.1:$PORT_CACHED/graphql u=http://127.0.0.1:$PORT_UNCACHED/graphql
  local t0 t1 editor_id group_id ajwt ejwt page title
  mkdir -m 700 "$dir"
  if [ "$b" = postgres ]; then
    createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$TAG"
    where=(--database "$PG/$TAG")
    [ -n "$REDIS" ] && redis=(--redis "$REDIS")
  fi
  "$ERRATA" users create --data "$dir" "${where[@]}" --email "$ADMIN" --password "$ADMIN_PASSWORD" --admin > /dev/null
  editor_id=$("$ERRATA" users create --data "$dir" "${where[@]}" --email "$EDITOR" --password "$EDITOR_PASSWORD" | jq -r .id)
  load "seed-$b"
  t0=$(date +%s.%N)
  "$ERRATA" bench-seed --data "$dir" "${where[@]}" --pages "$N" --author "$ADMIN" > "$OUT/seed-$b.json"
  t1=$(date +%s.%N)
  awk -v b="$b" -v n="$N" -v t0="$t0" -v t1="$t1" 'BEGIN { s = t1 - t0; printf "%s\t%d\t%.1f\t%.0f\n", b, n, s, n / s }' | tee -a "$OUT/seed.tsv"
  local serve=(serve --data "$dir" "${where[@]}" "${redis[@]}" --workers 1 --rate-limit off)

  # As shipped: the response cache on.
  start_server "$b-cached" "$PORT_CACHED" env ERRATA_REDIS_PREFIX="$TAG:" "$ERRATA" "${serve[@]}" --addr 127.0.0.1:$PORT_CACHED
  ajwt=$(login "$c" "$ADMIN" "$ADMIN_PASSWORD")
  [ -n "$ajwt" ] || { echo "CHECK FAILED: no session for $ADMIN" >&2; exit 1; }
  group_id=$(gql "$c" "$ajwt" 'mutation { groups { create(name: "Bench editors") { responseResult { succeeded message } group { id } } } }' |
    jq -r '.data.groups.create.group.id // empty')
  [ -n "$group_id" ] || { echo "CHECK FAILED: no editors' group" >&2; exit 1; }
  gql "$c" "$ajwt" 'mutation($id: Int!) { groups { update(id: $id, permissions: ["read:pages", "write:pages"]) { responseResult { succeeded message } } } }' \
    "{\"id\":$group_id}" | grep -q '"succeeded":true' || { echo "CHECK FAILED: editors' permissions" >&2; exit 1; }
  gql "$c" "$ajwt" 'mutation($g: Int!, $u: Int!) { groups { assignUser(groupId: $g, userId: $u) { responseResult { succeeded message } } } }' \
    "{\"g\":$group_id,\"u\":$editor_id}" | grep -q '"succeeded":true' || { echo "CHECK FAILED: editor's group" >&2; exit 1; }
  ejwt=$(login "$c" "$EDITOR" "$EDITOR_PASSWORD")
  [ -n "$ejwt" ] || { echo "CHECK FAILED: no session for $EDITOR" >&2; exit 1; }
  page=$(gql "$c" "$ajwt" "$(echo "$SBP_BODY" | jq -r .query | sed 's/{ title render toc }/{ path title description content tags { tag } }/')" \
    "$(echo "$SBP_BODY" | jq -c .variables)" | jq -c '.data.pages.singleByPath | {path, title, description, content, tags: [.tags[].tag]}')
  title=$(echo "$page" | jq '.title')
  echo "$page" > "$OUT/page-$b.json"

  check "$b-small" "$c" "$SMALL_BODY" 200 '"name":"errata"'
  bench s1 "$b" errata small-guest "$CONNS" "$LUA/small.lua" "$c"
  check "$b-small-jwt" "$c" "$SMALL_BODY" 200 '"name":"errata"' "$ejwt"
  bench s2 "$b" errata small-editor-jwt "$CONNS" "$LUA/small-bearer.lua" "$c" "TOKEN=$ejwt"
  check "$b-page-guest" "$c" "$SBP_BODY" 200 "\"title\":$title,\"render\":\"<.*\"toc\":"
  bench p1 "$b" errata singleByPath-guest "$CONNS" "$LUA/page.lua" "$c" "BODY=$SBP_BODY"
  check "$b-page-editor" "$c" "$SBP_BODY" 200 "\"title\":$title,\"render\":\"<.*\"toc\":" "$ejwt"
  bench p2 "$b" errata singleByPath-editor-jwt "$CONNS" "$LUA/page.lua" "$c" "BODY=$SBP_BODY" "TOKEN=$ejwt"
  stop_server

  # The response cache off: every request executes.
  start_server "$b-uncached" "$PORT_UNCACHED" env ERRATA_REDIS_PREFIX="$TAG:" "$ERRATA" "${serve[@]}" \
    --addr 127.0.0.1:$PORT_UNCACHED --response-cache 0
  check "$b-page-admin" "$u" "$SBP_BODY" 200 "\"title\":$title,\"render\":\"<.*\"toc\":" "$ajwt"
  bench p3 "$b" errata-uncached singleByPath-admin "$CONNS" "$LUA/page.lua" "$u" "BODY=$SBP_BODY" "TOKEN=$ajwt"

  if [ "$WIKIJS_DONE" = no ]; then
    stop_server
    wikijs "$page"
    start_server "$b-uncached-2" "$PORT_UNCACHED" env ERRATA_REDIS_PREFIX="$TAG:" "$ERRATA" "${serve[@]}" \
      --addr 127.0.0.1:$PORT_UNCACHED --response-cache 0
    WIKIJS_DONE=yes
  fi

  # Updates: pages other than the measured one, from both ends of the ids.
  local ids=$SCRATCH/ids-$b measured_id
  measured_id=$(gql "$u" "$ajwt" 'query($p: String!) { pages { singleByPath(path: $p, locale: "en") { id } } }' \
    "$(jq -nc --arg p "$MEASURED_PATH" '{p: $p}')" | jq -r '.data.pages.singleByPath.id')
  for dir in ASC DESC; do
    gql "$u" "$ajwt" "query { pages { list(limit: 1000, orderBy: ID, orderByDirection: $dir) { id } } }" |
      jq -r '.data.pages.list[].id'
  done | sort -un | grep -vx "$measured_id" > "$ids"
  check "$b-update" "$u" "$(jq -nc --argjson id "$(head -1 "$ids")" \
    '{query: "mutation($id: Int!) { pages { update(id: $id, content: \"# Checked\\n\\nFirst revision.\\n\") { responseResult { succeeded errorCode message } } } }", variables: {id: $id}}')" \
    200 '"succeeded":true' "$ajwt"
  bench w1 "$b" errata-uncached update-admin "$UPDATE_CONNS" "$LUA/update.lua" "$u" "IDS=$ids" "TOKEN=$ajwt"

  # Search on each engine the backend has.
  local engines=(db sqlite); [ "$b" = postgres ] && engines=(db postgres)
  for engine in "${engines[@]}"; do
    gql "$u" "$ajwt" 'mutation($k: String!) { search { updateSearchEngines(engines: [{ key: $k, isEnabled: true, config: [] }]) { responseResult { succeeded message } } } }' \
      "{\"k\":\"$engine\"}" | tee -a "$OUT/checks.txt" | grep -q '"succeeded":true' ||
      { echo "CHECK FAILED: search engine $engine on $b" >&2; exit 1; }
    echo >> "$OUT/checks.txt"
    check_all "$b-search-$engine" "$u" "$V/search" '"totalHits":[1-9]' "$ejwt"
    bench "q-search-$engine" "$b" errata-uncached "search-$engine" "$SLOW_CONNS" "$LUA/varied.lua" "$u" \
      "BODIES=$V/search" 'EXPECT="totalHits":[1-9]' "TOKEN=$ejwt"
  done

  check_all "$b-list-50" "$u" "$V/list-50" '"list":\[\{"id"' "$ejwt"
  bench q-list-50 "$b" errata-uncached list-limit-50 "$SLOW_CONNS" "$LUA/varied.lua" "$u" \
    "BODIES=$V/list-50" 'EXPECT="list":%[{"id"' "TOKEN=$ejwt"
  check_all "$b-list-default" "$u" "$V/list-null" '"list":\[\{"id"' "$ejwt"
  bench q-list-default "$b" errata-uncached list-default "$SLOW_CONNS" "$LUA/varied.lua" "$u" \
    "BODIES=$V/list-null" 'EXPECT="list":%[{"id"' "TOKEN=$ejwt"

  check_all "$b-tree-path" "$u" "$V/tree-path" '"tree":\[\{"id"' "$ejwt"
  bench q-tree-path "$b" errata-uncached tree-path "$SLOW_CONNS" "$LUA/varied.lua" "$u" \
    "BODIES=$V/tree-path" 'EXPECT="tree":%[{"id"' "TOKEN=$ejwt"
  # Folders to list by parent: every section, and the topics of ten of them.
  local sections
  sections=$(gql "$u" "$ajwt" 'query { pages { tree(mode: FOLDERS, locale: "en") { id } } }' | jq -r '.data.pages.tree[].id')
  {
    echo "$sections"
    for s in $(echo "$sections" | shuf -n 10); do
      gql "$u" "$ajwt" 'query($p: Int) { pages { tree(parent: $p, mode: FOLDERS, locale: "en") { id } } }' "{\"p\":$s}" |
        jq -r '.data.pages.tree[].id'
    done
  } | while read -r id; do
    jq -nc --arg d "$TREE_PARENT" --argjson p "$id" '{query: $d, variables: {parent: $p}}'
  done > "$SCRATCH/tree-parent-$b"
  check_all "$b-tree-parent" "$u" "$SCRATCH/tree-parent-$b" '"tree":\[\{"id"' "$ejwt"
  bench q-tree-parent "$b" errata-uncached tree-parent "$SLOW_CONNS" "$LUA/varied.lua" "$u" \
    "BODIES=$SCRATCH/tree-parent-$b" 'EXPECT="tree":%[{"id"' "TOKEN=$ejwt"
  grep -E '^(VmRSS|VmHWM)' "/proc/$SPID/status" | sed "s/^/$b uncached /" >> "$OUT/rss.txt"
  stop_server
  [ "$b" = postgres ] && dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --force "$TAG"
  rm -rf "$dir"
}

for b in $BACKENDS; do backend "$b"; done
load end

# The targets, from the medians of this run.
field() { awk -F'\t' -v r="$1" -v b="$2" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i } $1 == r && $2 == b { print $col[c] }' "$OUT/summary.tsv"; }
{
  printf 'target\tbackend\tmeasured\tneeded\tmet\n'
  wiki=$(field k1 postgresql rps_med); wiki2=$(field k2 postgresql rps_med)
  for b in $BACKENDS; do
    small=$(field s1 "$b" rps_med); small_jwt=$(field s2 "$b" rps_med)
    awk -v b="$b" -v s="$small" -v sj="$small_jwt" -v g="$(field p1 "$b" rps_med)" -v e="$(field p2 "$b" rps_med)" \
      -v a="$(field p3 "$b" rps_med)" -v w="$wiki" -v w2="$wiki2" 'BEGIN {
        printf "singleByPath as a guest / small query as a guest\t%s\t%.3f\t>= 0.9\t%s\n", b, g / s, (g / s >= 0.9 ? "yes" : "no")
        printf "singleByPath as the editor (JWT) / small query as a guest\t%s\t%.3f\t>= 0.8\t%s\n", b, e / s, (e / s >= 0.8 ? "yes" : "no")
        printf "(singleByPath as the editor / small query with the editor JWT)\t%s\t%.3f\t-\t-\n", b, e / sj
        if (w == "") printf "singleByPath as admin, cache off / Wiki.js single as admin\t%s\t-\t>= 100\tnot measured (no Wiki.js)\n", b
        else printf "singleByPath as admin, cache off / Wiki.js single as admin\t%s\t%.1f\t>= 100\t%s\n", b, a / w, (a / w >= 100 ? "yes" : "no")
        if (w2 != "") printf "(the same / Wiki.js single as admin without toc, answered whole)\t%s\t%.1f\t-\t-\n", b, a / w2
      }'
    awk -v b="$b" -v r="$(field w1 "$b" rps_med)" -v bad="$(field w1 "$b" bad)" 'BEGIN {
        printf "pages.update per second (%s answers failed)\t%s\t%.0f\t>= 500\t%s\n", bad, b, r, (r >= 500 && bad == 0 ? "yes" : "no") }'
    engines="db sqlite"; [ "$b" = postgres ] && engines="db postgres"
    rows=""; for e in $engines; do rows+=" q-search-$e"; done
    for row in $rows q-list-50 q-list-default q-tree-path q-tree-parent; do
      awk -v b="$b" -v w="$(field "$row" "$b" workload)" -v p="$(field "$row" "$b" p99_us_med)" -v r="$(field "$row" "$b" rps_med)" \
        -v bad="$(field "$row" "$b" bad)" 'BEGIN {
          printf "p99 of %s (ms; %.0f rps; %s bad answers)\t%s\t%.2f\t< 20\t%s\n", w, r, bad, b, p / 1000, (p < 20000 && bad == 0 ? "yes" : "no") }'
    done
  done
} > "$OUT/targets.tsv"
echo
column -t -s $'\t' "$OUT/seed.tsv"
echo
column -t -s $'\t' "$OUT/targets.tsv"
echo "results in $OUT"
