#!/usr/bin/env bash
# What a /readyz flood costs the dependencies: vitals (postgres + redis checks at a 1 s interval,
# one kept connection each) next to a naive aiohttp endpoint (new connection and one query per
# request). wrk floods each endpoint in turn (loopback); PostgreSQL (pg_stat_statements,
# pg_stat_database.sessions) and Redis (INFO commandstats, total_connections_received) say what
# reached them. Writes bench/deps/RESULTS.md.
#
#   scripts/test-servers.sh start
#   bench/deps/run.sh [build-dir]       # DURATION=30 CONNECTIONS=50 THREADS=2 by default
#
# Needs: wrk, python3-aiohttp, python3-psycopg2, and the servers of scripts/test-servers.sh.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${1:-$ROOT/build}
DIR=${VITALS_TEST_DIR:-/tmp/vitals-test-servers}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-2}
VITALS_PORT=${VITALS_PORT:-18391}
NAIVE_PORT=${NAIVE_PORT:-18392}
SERVER=${VITALS_DEPS_BENCH_SERVER:-$BUILD/bench/deps/vitals_deps_bench_server}
OUT=${RESULTS:-$HERE/RESULTS.md}

[[ -f $DIR/env.sh ]] || { echo "start scripts/test-servers.sh first" >&2; exit 1; }
set -a; . "$DIR/env.sh"; set +a
[[ -x $SERVER ]] || { echo "build vitals_deps_bench_server first ($SERVER)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }

PG_BIN=/usr/lib/postgresql/$(ls -1 /usr/lib/postgresql | sort -n | tail -n1)/bin
PG_PORT=${VITALS_TEST_PG_URL##*@*:}; PG_PORT=${PG_PORT%%/*}
REDIS_HOSTPORT=${VITALS_TEST_REDIS_PASSWORD_URL#*@}; REDIS_HOSTPORT=${REDIS_HOSTPORT%%/*}
REDIS_PW=${VITALS_TEST_REDIS_PASSWORD_URL#redis://:}; REDIS_PW=${REDIS_PW%%@*}

# Admin queries go to the `postgres` database over the Unix socket, so they count neither in the
# `vitals` database's statements nor in its sessions.
pg_admin() {
  runuser -u postgres -- "$PG_BIN/psql" -h "$DIR/pg/run" -p "$PG_PORT" -U postgres -d postgres \
    -qAtX -c "$1"
}
pg_statements() {
  pg_admin "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s
            JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'vitals'"
}
pg_sessions() { pg_admin "SELECT sessions FROM pg_stat_database WHERE datname = 'vitals'"; }
redis_info() {
  REDISCLI_AUTH=$REDIS_PW redis-cli --no-auth-warning -h "${REDIS_HOSTPORT%:*}" \
    -p "${REDIS_HOSTPORT##*:}" info "$1" | tr -d '\r'
}
redis_pings() { redis_info commandstats | sed -n 's/^cmdstat_ping:calls=\([0-9]*\).*/\1/p' | grep . || echo 0; }
redis_conns() { redis_info stats | sed -n 's/^total_connections_received://p'; }

wait_http() {  # wait_http <port> <path>: until it answers 200, at most 10 s
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
for _ in range(100):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}{sys.argv[2]}", timeout=1) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(f"endpoint on port {sys.argv[1]} never answered 200")
PY
}

PID=
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=; }
trap cleanup EXIT

declare -A R
measure() {  # measure <name> <url>
  local name=$1 url=$2
  sleep 2  # let start-up connections settle
  local s0 c0 p0 r0
  s0=$(pg_statements); c0=$(pg_sessions); p0=$(redis_pings); r0=$(redis_conns)
  local out; out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
  sleep 1.5  # backends report their session at exit, stats are flushed about once a second
  local s1 c1 p1 r1
  s1=$(pg_statements); c1=$(pg_sessions); p1=$(redis_pings); r1=$(redis_conns)
  local secs=$((DURATION + 1))  # wrk run plus the flush pause
  R[$name.rps]=$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")
  R[$name.p99]=$(awk '$1 == "99%" {print $2}' <<<"$out")
  R[$name.non2xx]=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); R[$name.non2xx]=${R[$name.non2xx]:-0}
  # The second snapshot's pg_stat_statements query is not in `vitals`; the first redis-cli call
  # of the second snapshot is one connection of ours: subtract the two redis-cli connections.
  R[$name.pgq]=$(awk -v a="$s0" -v b="$s1" -v t="$secs" 'BEGIN {printf "%.2f", (b - a) / t}')
  R[$name.pgc]=$(awk -v a="$c0" -v b="$c1" -v t="$secs" 'BEGIN {printf "%.2f", (b - a) / t}')
  R[$name.rq]=$(awk -v a="$p0" -v b="$p1" -v t="$secs" 'BEGIN {printf "%.2f", (b - a) / t}')
  R[$name.rc]=$(awk -v a="$r0" -v b="$r1" -v t="$secs" 'BEGIN {printf "%.2f", (b - a - 2) / t}')
  echo "$name: ${R[$name.rps]} req/s, p99 ${R[$name.p99]}, pg ${R[$name.pgq]} stmt/s" \
       "${R[$name.pgc]} conn/s, redis ${R[$name.rq]} ping/s ${R[$name.rc]} conn/s" >&2
}

echo "vitals: $SERVER" >&2
"$SERVER" "$VITALS_PORT" >/dev/null &
PID=$!
wait_http "$VITALS_PORT" /readyz
measure vitals "http://127.0.0.1:$VITALS_PORT/readyz"
cleanup

echo "naive: aiohttp + psycopg2 + raw redis socket" >&2
# The Debian interpreter: python3-aiohttp and python3-psycopg2 are Debian packages.
"${PYTHON:-/usr/bin/python3}" "$HERE/naive_aiohttp.py" "$NAIVE_PORT" &
PID=$!
wait_http "$NAIVE_PORT" /health
measure naive "http://127.0.0.1:$NAIVE_PORT/health"
cleanup

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f×", a / b; else print "∞"}'; }
{
  echo "# Dependency cost of a probe flood (bench/deps/run.sh)"
  echo
  echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on loopback, one endpoint at a time; PostgreSQL"
  echo "15 and Redis 7 from scripts/test-servers.sh on the same host. Rates are what the servers"
  echo "counted during the flood (statements: pg_stat_statements, all statements in the database;"
  echo "connections: pg_stat_database.sessions; Redis: INFO commandstats / total_connections_received)."
  echo "Host: $(nproc) cores, $(uname -r), $(date -u +%Y-%m-%d)."
  echo
  echo "| endpoint | req/s | p99 | non-2xx | PG statements/s | PG new connections/s | Redis PING/s | Redis new connections/s |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for n in vitals naive; do
    label=$n
    [[ $n == vitals ]] && label='vitals `/readyz` (postgres + redis checks, 1 s interval)'
    [[ $n == naive ]] && label='naive aiohttp `/health` (connect + `SELECT 1` + redis PING per request)'
    echo "| $label | ${R[$n.rps]} | ${R[$n.p99]} | ${R[$n.non2xx]} | ${R[$n.pgq]} | ${R[$n.pgc]} | ${R[$n.rq]} | ${R[$n.rc]} |"
  done
  echo
  echo "Bar: at most one query per check interval (here 1/s per dependency) and no new connection"
  echo "per probe, whatever the probe rate. vitals served $(ratio "${R[vitals.rps]}" "${R[naive.rps]}") the naive"
  echo "endpoint's requests while sending the database $(ratio "${R[naive.pgq]}" "${R[vitals.pgq]}") fewer statements."
  echo "The naive endpoint is bound by connection set-up (SCRAM-SHA-256 authentication and a forked"
  echo "backend per PostgreSQL connection, plus BEGIN/SELECT per request): its cost to the"
  echo "dependencies grows with the probe rate, while vitals' stays at one query per check interval"
  echo "on one kept connection. The machine is shared (other builds running), so req/s and p99 are"
  echo "indicative; the per-dependency counts are exact."
} >"$OUT"
cat "$OUT"
