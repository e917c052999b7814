#!/usr/bin/env bash
# The engine at scale (issue 7, section 2): vitalsd watching thousands of targets on loopback.
#
#   bench/monitor/run.sh tcp  N [JITTER]   # N tcp checks against nginx, interval 10 s, timeout 2 s
#   bench/monitor/run.sh http N [JITTER]   # N http checks (kept connections), GET /t/<i>
#   bench/monitor/run.sh ulimit [N]        # N (5,000) http checks under `ulimit -n 1024`
#   bench/monitor/run.sh flap [N]          # /readyz under wrk while N (10,000) checks flap
#   bench/monitor/run.sh all               # all of the above at 10,000 and 50,000
#   bench/monitor/run.sh rest              # tcp 10,000 without polling, http 3,000, ulimit, flap
#   bench/monitor/run.sh peer tcp|http [N] [INTERVAL] [CONC]
#                                          # probes per CPU-second vs blackbox_exporter (issue 11)
#
# vitalsd (and flap_server) run pinned to core 1, nginx and wrk to core 0. After WARMUP seconds
# (default 20: the first runs are spread over the first interval, then one interval) figures are
# taken over WINDOW seconds (default 60): CPU % of one core from /proc/<pid>/stat, RSS, HWM, fds,
# threads; per-target gaps between consecutive checks from nginx's access log (http, one path per
# target) or from vitalsd's /health polled every POLL seconds (tcp; default 3; POLL=0: no polling,
# so the CPU figure holds no /health rendering, and no gaps). Every process is
# started by this script, bounded in time, and stopped by its PID. One summary line per run is
# appended to $OUT/summary.txt (OUT defaults to a new /tmp/vitals-monitor.* directory).
#
# Environment: VITALSD, VITALS_MODULE_DIR, FLAP_SERVER (binaries; default build/dev), WARMUP,
# WINDOW, POLL, OUT, BASE_PORT (nginx ports from here, default 18100), VITALSD_PORT (18900),
# NOFILE (a hard fd limit to raise to first, as root: `NOFILE=200000 ... http 50000`),
# MAX_REDIRECTS=0 (http checks follow no redirect: one descriptor each instead of two),
# STORAGE=1 (vitalsd keeps its history in $OUT/<run>/history.db).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
VITALSD=${VITALSD:-$root/build/dev/apps/vitalsd/vitalsd}
export VITALS_MODULE_DIR=${VITALS_MODULE_DIR:-$root/build/dev/lib/vitals}
FLAP_SERVER=${FLAP_SERVER:-$root/build/dev/bench/monitor/vitals_bench_flap_server}
WARMUP=${WARMUP:-20}
WINDOW=${WINDOW:-60}
POLL=${POLL:-3}
BASE_PORT=${BASE_PORT:-18100}
VITALSD_PORT=${VITALSD_PORT:-18900}
FLAP_PORT=${FLAP_PORT:-18950}
OUT=${OUT:-$(mktemp -d /tmp/vitals-monitor.XXXXXX)}
# NOFILE: raise the hard RLIMIT_NOFILE of this script (hence of nginx and vitalsd) to this first;
# needs root (CAP_SYS_RESOURCE), up to fs.nr_open. For 10,000 http checks and beyond.
NOFILE=${NOFILE:-}
mkdir -p "$OUT"
TOKEN=monitor-bench-token
TICK=$(getconf CLK_TCK)

# ---- processes we started, stopped by PID only ------------------------------------------------
pids=()
track() { pids+=("$1"); }
stop_pid() {  # stop_pid PID [SIGNAL]: TERM (or SIGNAL), then KILL after 10 s
  local pid=$1 sig=${2:-TERM} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
  pids=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_bounded SECONDS CORE LOG CMD...: CMD pinned to CORE under `timeout` (TERM after SECONDS,
# KILL 10 s later). Sets bpid (the timeout process, which ends with CMD) and cpid (CMD itself).
bpid= cpid=
start_bounded() {
  local secs=$1 core=$2 log=$3 i
  shift 3
  taskset -c "$core" timeout -k 10 "$secs" "$@" >"$log" 2>&1 &
  bpid=$!
  track "$bpid"
  cpid=
  for i in $(seq 100); do
    cpid=$(pgrep -P "$bpid" | head -1)   # the child of our own timeout process
    [[ -n $cpid ]] && break
    sleep 0.02
  done
}

now() { date +%s.%N; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
cpu_pct() {  # cpu_pct TICKS0 TICKS1 T0 T1
  awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$TICK" \
    'BEGIN {printf "%.2f", (b - a) / hz / (t1 - t0) * 100}'
}
wait_http() {  # wait_http URL SECONDS: until it answers at all
  local i
  for i in $(seq $(($2 * 10))); do
    curl -s -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}
machine() {
  echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')," \
    "nofile hard $(ulimit -Hn), tree at $(git -C "$root" rev-parse --short HEAD)," \
    "vitalsd $VITALSD built $(date -r "$VITALSD" '+%F %T')"
}

# fd_limits TAG: the hard fd limit raised to NOFILE first (if set; root with CAP_SYS_RESOURCE),
# then the soft one to the hard one, for this script and what it starts.
fd_limits() {
  if [[ -n $NOFILE ]] && (( NOFILE > $(ulimit -Hn) )); then
    ulimit -Hn "$NOFILE" || { echo "$1: cannot raise the hard fd limit to $NOFILE (root?)"; return 1; }
  fi
  ulimit -n "$(ulimit -Hn)"
}

# ---- nginx ------------------------------------------------------------------------------------
nginx_pid= nginx_bpid=
nginx_start() {  # nginx_start DIR NPORTS CONNS
  local dir=$1 nports=$2 conns=$3 listen="" p nofile
  mkdir -p "$dir"
  for ((p = 0; p < nports; p++)); do
    listen+="    listen 127.0.0.1:$((BASE_PORT + p)) backlog=4096;\\n"
  done
  nofile=$(( conns + 1024 ))
  (( nofile > $(ulimit -Hn) )) && nofile=$(ulimit -Hn)
  sed -e "s#@PREFIX@#$dir#g" -e "s#@LISTEN@#$listen#" -e "s#@CONNS@#$conns#" \
    -e "s#@NOFILE@#$nofile#" "$here/nginx.conf.in" > "$dir/nginx.conf"
  start_bounded 900 0 "$dir/stdout" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  nginx_pid=$cpid nginx_bpid=$bpid
  wait_http "http://127.0.0.1:$BASE_PORT/up" 10 || { echo "nginx did not start"; cat "$dir/error.log"; return 1; }
}
nginx_worker() { pgrep -P "$nginx_pid" | head -1; }  # children of our own master only

# ---- vitalsd against nginx --------------------------------------------------------------------
run_vitalsd() {  # run_vitalsd tcp|http N [JITTER]
  local kind=$1 n=$2 jitter=${3:-0.1}
  local tag="$kind-$n-j$jitter"
  [[ $kind == tcp && $POLL == 0 ]] && tag+="-nopoll"
  local dir="$OUT/$tag"
  local nports=$(( (n + 2499) / 2500 )) ports="" p
  (( nports < 2 )) && nports=2
  mkdir -p "$dir"
  fd_limits "$tag" || return 1
  for ((p = 0; p < nports; p++)); do ports+="${ports:+,}$((BASE_PORT + p))"; done
  echo "== $tag: $n $kind checks, jitter $jitter, nginx on $nports ports; $(machine)" | tee "$dir/info"
  echo "$TOKEN" > "$dir/token"
  python3 "$here/gen_config.py" "$kind" "$n" "$ports" "127.0.0.1:$VITALSD_PORT" "$dir/token" \
    "$jitter" > "$dir/vitalsd.yaml"
  # STORAGE=1: the same run with the SQLite history (docs/history.md) in the run's directory.
  [[ -n ${STORAGE:-} ]] && echo "storage: {sqlite: {path: $dir/history.db}}" >> "$dir/vitalsd.yaml"
  nginx_start "$dir/nginx" "$nports" $(( n + 4096 )) || return 1

  local t_start t_ready="" code rc
  t_start=$(now)
  start_bounded $(( WARMUP + WINDOW + 120 )) 1 "$dir/vitalsd.log" \
    "$VITALSD" -c "$dir/vitalsd.yaml"
  local vpid=$cpid vb=$bpid
  local base="http://127.0.0.1:$VITALSD_PORT"
  wait_http "$base/livez" 30 || { echo "vitalsd did not start:"; tail -5 "$dir/vitalsd.log"; }
  # Time until every check has passed once (readyz 200), then the rest of the warm-up.
  local deadline=$(( ${t_start%.*} + WARMUP ))
  while (( $(date +%s) < deadline )); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base/readyz")
    if [[ -z $t_ready && $code == 200 ]]; then t_ready=$(now); fi
    kill -0 "$vpid" 2>/dev/null || break
    sleep 0.5
  done
  if ! kill -0 "$vpid" 2>/dev/null; then
    wait "$vb"; rc=$?
    echo "$tag: vitalsd exited during warm-up, rc=$rc"; tail -5 "$dir/vitalsd.log"
    echo "$tag crashed-or-refused rc=$rc msg=$(grep -m1 -iE 'error|refus|descriptor' "$dir/vitalsd.log")" >> "$OUT/summary.txt"
    stop_pid "$nginx_pid" QUIT; wait "$nginx_bpid" 2>/dev/null
    return 1
  fi

  # ---- the window ----
  local ngw t0 t1 c0 c1 n0 n1 i samples="$dir/samples.tsv" k=0
  ngw=$(nginx_worker)
  printf 't\trss_kb\thwm_kb\tfds\tthreads\tngx_fds\n' > "$samples"
  t0=$(now); c0=$(ticks "$vpid"); n0=$(ticks "$ngw")
  local end=$(( ${t0%.*} + WINDOW )) next_sample=0
  while (( $(date +%s) < end )); do
    if [[ $kind == tcp && $POLL != 0 ]]; then
      taskset -c 0 curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "$base/health" \
        -o "$dir/health.$(printf %04d $k).json"
      k=$((k + 1))
    fi
    if (( $(date +%s) >= next_sample )); then
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date +%s)" "$(status_kb "$vpid" VmRSS)" \
        "$(status_kb "$vpid" VmHWM)" "$(fds "$vpid")" "$(status_kb "$vpid" Threads)" \
        "$(fds "$ngw")" >> "$samples"
      next_sample=$(( $(date +%s) + 10 ))
    fi
    sleep "${POLL/#0/3}"
  done
  t1=$(now); c1=$(ticks "$vpid"); n1=$(ticks "$ngw")
  local cpu ngcpu
  cpu=$(cpu_pct "$c0" "$c1" "$t0" "$t1"); ngcpu=$(cpu_pct "$n0" "$n1" "$t0" "$t1")

  # ---- after the window: state, lag, cost of one /health rendering ----
  local rcode failing hc0 hc1 ht
  rcode=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$base/readyz")
  failing=$(curl -s --max-time 10 "$base/readyz?verbose" | grep -c '^\[-\]')
  hc0=$(ticks "$vpid")
  ht=$(taskset -c 0 curl -s -o /dev/null -w '%{time_total}' --max-time 10 \
    -H "Authorization: Bearer $TOKEN" "$base/health")
  hc1=$(ticks "$vpid")
  local rss hwm nfd thr
  rss=$(status_kb "$vpid" VmRSS); hwm=$(status_kb "$vpid" VmHWM)
  nfd=$(fds "$vpid"); thr=$(status_kb "$vpid" Threads)
  local t_stop=$(now)
  stop_pid "$vpid"
  wait "$vb" 2>/dev/null; rc=$?
  local stop_s; stop_s=$(awk -v a="$t_stop" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
  sleep 1.5   # nginx writes its buffered access log every second
  stop_pid "$nginx_pid" QUIT; wait "$nginx_bpid" 2>/dev/null

  local gaps
  if [[ $kind == http ]]; then
    gaps=$(python3 "$here/analyze.py" nginx "$dir/nginx/access.log" "$t0" "$t1" "$n")
  elif [[ $POLL == 0 ]]; then
    gaps="(no /health polling: CPU without its renderings; gaps not measured)"
  else
    gaps=$(python3 "$here/analyze.py" health "$dir" "$t0" "$t1" "$n")
  fi
  local ready_s="never"
  [[ -n $t_ready ]] && ready_s=$(awk -v a="$t_start" -v b="$t_ready" 'BEGIN {printf "%.1f", b - a}')
  local line="$tag cpu=${cpu}% rss_kb=$rss hwm_kb=$hwm fds=$nfd threads=$thr readyz=$rcode failing=$failing ready_after_s=$ready_s $gaps nginx_cpu=${ngcpu}% health_render_cpu_ms=$(( (hc1 - hc0) * 1000 / TICK )) health_time_s=$ht exit_rc=$rc stop_s=$stop_s"
  echo "$line" | tee -a "$OUT/summary.txt"
  grep -iE 'descriptor budget|warn|error' "$dir/vitalsd.log" | head -3 | sed 's/^/   log: /'
  rm -f "$dir"/health.*.json  # large; the gaps are in the summary
}

# ---- ulimit -n 1024 ---------------------------------------------------------------------------
run_ulimit() {  # run_ulimit [N]: hard and soft limit 1024 (bash's ulimit -n sets both)
  local n=${1:-5000} rc
  local dir="$OUT/ulimit-http-$n"
  mkdir -p "$dir"
  echo "== ulimit-http-$n: $n http checks, ulimit -n 1024; $(machine)" | tee "$dir/info"
  echo "$TOKEN" > "$dir/token"
  python3 "$here/gen_config.py" http "$n" "$BASE_PORT,$((BASE_PORT + 1))" \
    "127.0.0.1:$VITALSD_PORT" "$dir/token" 0.1 > "$dir/vitalsd.yaml"
  nginx_start "$dir/nginx" 2 $(( n + 4096 )) || return 1
  for variant in hard soft; do
    local lim="ulimit -n 1024"
    [[ $variant == soft ]] && lim="ulimit -Sn 1024"
    ( eval "$lim"; exec taskset -c 1 timeout -k 5 60 "$VITALSD" -c "$dir/vitalsd.yaml" ) \
      >"$dir/vitalsd-$variant.log" 2>&1 &
    local vb=$! vpid= i
    track "$vb"
    for i in $(seq 100); do vpid=$(pgrep -P "$vb" | head -1); [[ -n $vpid ]] && break; sleep 0.02; done
    [[ -z $vpid ]] && vpid=$vb
    # A refusal exits at once; a start that fits runs until the probe below, then TERM.
    for i in $(seq 150); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
    local state="running" readyz="-"
    if kill -0 "$vpid" 2>/dev/null; then
      sleep 15
      readyz=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$VITALSD_PORT/readyz")
      stop_pid "$vpid"
    else
      state="exited"
    fi
    wait "$vb" 2>/dev/null; rc=$?
    local msg; msg=$(grep -m1 -iE 'refus|cannot|descriptor' "$dir/vitalsd-$variant.log")
    echo "ulimit-http-$n-$variant ($lim) state=$state rc=$rc readyz=$readyz msg=$msg" | tee -a "$OUT/summary.txt"
    [[ $rc -ge 128 && $rc -ne 143 ]] && echo "   CRASH: signal $((rc - 128))"
  done
  # Also what --check-config says (it does not open descriptors).
  ( ulimit -n 1024; timeout 20 "$VITALSD" --check-config -c "$dir/vitalsd.yaml" ) \
    > "$dir/check-config.log" 2>&1
  echo "ulimit-http-$n check-config rc=$? $(tail -1 "$dir/check-config.log")" | tee -a "$OUT/summary.txt"
  stop_pid "$nginx_pid" QUIT; wait "$nginx_bpid" 2>/dev/null
}

# ---- /readyz while checks flap ----------------------------------------------------------------
run_flap() {  # run_flap [N]: flapping N, passing N (same runs, no change), 3 passing checks
  local n=${1:-10000} mode count
  local dir="$OUT/flap"
  mkdir -p "$dir"
  echo "== flap: /readyz under wrk -t1 -c50 -d30s; $(machine)" | tee "$dir/info"
  for spec in "flap $n" "pass $n" "pass 3"; do
    read -r mode count <<< "$spec"
    local tag="flap-$mode-$count"
    start_bounded 120 1 "$dir/$tag.log" "$FLAP_SERVER" "$FLAP_PORT" "$count" 1000 0.1 "$mode"
    local fpid=$cpid fb=$bpid
    wait_http "http://127.0.0.1:$FLAP_PORT/readyz" 20 || { echo "flap_server did not start"; continue; }
    sleep 5   # every check has run a few times
    local c0 t0 c1 t1
    c0=$(ticks "$fpid"); t0=$(now)
    taskset -c 0 timeout 60 wrk -t1 -c50 -d30s --latency "http://127.0.0.1:$FLAP_PORT/readyz" \
      > "$dir/$tag.wrk" 2>&1
    c1=$(ticks "$fpid"); t1=$(now)
    local body; body=$(curl -s --max-time 2 "http://127.0.0.1:$FLAP_PORT/readyz")
    stop_pid "$fpid"
    wait "$fb" 2>/dev/null
    local rps p50 p99 max non2xx
    rps=$(awk '/Requests\/sec/ {print $2}' "$dir/$tag.wrk")
    p50=$(awk '$1 == "50%" {print $2}' "$dir/$tag.wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$dir/$tag.wrk")
    max=$(awk '$1 == "Latency" {print $4}' "$dir/$tag.wrk")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$dir/$tag.wrk")
    echo "$tag req_s=$rps p50=$p50 p99=$p99 max=$max non2xx=${non2xx:-0} body=$body server_cpu=$(cpu_pct "$c0" "$c1" "$t0" "$t1")% | $(grep '^flap_server:' "$dir/$tag.log")" \
      | tee -a "$OUT/summary.txt"
  done
}

# ---- probes per CPU-second: vitalsd vs Prometheus' blackbox_exporter (issue 11) ---------------
# blackbox_exporter (Debian prometheus-blackbox-exporter) on core 1, driven through its
# /probe?module=&target= endpoint by wrk at a fixed concurrency from core 0: probes = requests
# wrk completed (each answered 200 with probe_success 1, checked once before). vitalsd on core 1
# with N checks at INTERVAL: probes = the growth of the sum of vitals_check_runs_total (read from
# /metrics just before and after the window). Both: CPU-seconds of the process from /proc.
BLACKBOX=${BLACKBOX:-prometheus-blackbox-exporter}
BB_PORT=${BB_PORT:-18990}
run_peer() {  # run_peer tcp|http [N] [INTERVAL] [CONCURRENCY]
  local kind=$1 n=${2:-5000} ival=${3:-1s} conc=${4:-16}
  local dir="$OUT/peer-$kind-$n-$ival" module target url
  mkdir -p "$dir"
  fd_limits "peer-$kind" || return 1
  echo "== peer-$kind: blackbox_exporter (wrk -c$conc) vs vitalsd ($n checks every $ival); $(machine), $("$BLACKBOX" --version 2>&1 | head -1)" | tee "$dir/info"
  nginx_start "$dir/nginx" 2 $(( n + 4096 )) || return 1
  cat > "$dir/blackbox.yml" <<YML
modules:
  tcp_connect: {prober: tcp, timeout: 2s, tcp: {preferred_ip_protocol: ip4}}
  http_2xx: {prober: http, timeout: 2s, http: {preferred_ip_protocol: ip4}}
YML
  if [[ $kind == tcp ]]; then
    module=tcp_connect target=127.0.0.1:$BASE_PORT
  else
    module=http_2xx target=http://127.0.0.1:$BASE_PORT/t/0
  fi
  url="http://127.0.0.1:$BB_PORT/probe?module=$module&target=$target"
  start_bounded $(( WINDOW + 60 )) 1 "$dir/blackbox.log" "$BLACKBOX" \
    --config.file="$dir/blackbox.yml" --web.listen-address="127.0.0.1:$BB_PORT"
  local bbpid=$cpid bbb=$bpid
  wait_http "http://127.0.0.1:$BB_PORT/" 20 || { echo "blackbox_exporter did not start"; cat "$dir/blackbox.log"; return 1; }
  local success; success=$(curl -s --max-time 5 "$url" | awk '$1 == "probe_success" {print $2}')
  taskset -c 0 wrk -t1 -c"$conc" -d5s "$url" > /dev/null 2>&1   # warm-up
  local c0 c1 t0 t1
  c0=$(ticks "$bbpid"); t0=$(now)
  taskset -c 0 wrk -t1 -c"$conc" -d"${WINDOW}s" "$url" > "$dir/blackbox.wrk" 2>&1
  c1=$(ticks "$bbpid"); t1=$(now)
  stop_pid "$bbpid"; wait "$bbb" 2>/dev/null
  local bb_probes bb_cpu bb_rate bb_errors
  bb_probes=$(awk '/requests in/ {print $1}' "$dir/blackbox.wrk")
  bb_errors=$(awk '/Non-2xx|Socket errors/ {print}' "$dir/blackbox.wrk" | tr '\n' ' ')
  bb_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$TICK" 'BEGIN {printf "%.2f", (b - a) / hz}')
  bb_rate=$(awk -v p="$bb_probes" -v c="$bb_cpu" 'BEGIN {printf "%.0f", (c > 0 ? p / c : 0)}')
  echo "peer-$kind blackbox probe_success=$success probes=$bb_probes cpu_s=$bb_cpu probes_per_cpu_s=$bb_rate probes_per_s=$(awk -v p="$bb_probes" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", p / (b - a)}') $bb_errors" | tee -a "$OUT/summary.txt"

  echo "$TOKEN" > "$dir/token"
  python3 "$here/gen_config.py" "$kind" "$n" "$BASE_PORT,$((BASE_PORT + 1))" \
    "127.0.0.1:$VITALSD_PORT" "$dir/token" 0.1 "$ival" > "$dir/vitalsd.yaml"
  start_bounded $(( WARMUP + WINDOW + 60 )) 1 "$dir/vitalsd.log" "$VITALSD" -c "$dir/vitalsd.yaml"
  local vpid=$cpid vb=$bpid base="http://127.0.0.1:$VITALSD_PORT"
  wait_http "$base/livez" 30 || { echo "vitalsd did not start"; tail -5 "$dir/vitalsd.log"; return 1; }
  sleep "$WARMUP"
  runs() {
    taskset -c 0 curl -s --max-time 20 -H "Authorization: Bearer $TOKEN" "$base/metrics" |
      awk '/^vitals_check_runs_total\{/ {s += $NF} END {printf "%.0f", s}'
  }
  local r0 r1 failing
  r0=$(runs); c0=$(ticks "$vpid"); t0=$(now)
  sleep "$WINDOW"
  c1=$(ticks "$vpid"); t1=$(now); r1=$(runs)
  failing=$(curl -s --max-time 10 "$base/readyz?verbose" | grep -c '^\[-\]')
  local rss; rss=$(status_kb "$vpid" VmRSS)
  local lag; lag=$(taskset -c 0 curl -s --max-time 20 -H "Authorization: Bearer $TOKEN" "$base/metrics" |
    awk '/^vitals_engine_start_lag_p99_seconds/ {print $2}')
  stop_pid "$vpid"; wait "$vb" 2>/dev/null
  stop_pid "$nginx_pid" QUIT; wait "$nginx_bpid" 2>/dev/null
  local v_probes v_cpu v_rate
  v_probes=$(( r1 - r0 ))
  v_cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$TICK" 'BEGIN {printf "%.2f", (b - a) / hz}')
  v_rate=$(awk -v p="$v_probes" -v c="$v_cpu" 'BEGIN {printf "%.0f", (c > 0 ? p / c : 0)}')
  echo "peer-$kind vitalsd checks=$n interval=$ival probes=$v_probes cpu_s=$v_cpu probes_per_cpu_s=$v_rate probes_per_s=$(awk -v p="$v_probes" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", p / (b - a)}') core_pct=$(cpu_pct "$c0" "$c1" "$t0" "$t1") failing=$failing lag_p99_s=$lag rss_kb=$rss ratio=$(awk -v a="$v_rate" -v b="$bb_rate" 'BEGIN {printf "%.1f", (b > 0 ? a / b : 0)}')x" | tee -a "$OUT/summary.txt"
}

case "${1:-}" in
  tcp|http) run_vitalsd "$1" "${2:-10000}" "${3:-0.1}" ;;
  peer) run_peer "${2:-tcp}" "${3:-5000}" "${4:-1s}" "${5:-16}" ;;
  rest)  # what was measured in a second sitting (see RESULTS.md)
    POLL=0 run_vitalsd tcp 10000 0
    run_vitalsd http 3000 0
    run_ulimit 5000
    run_flap 10000
    ;;
  ulimit) run_ulimit "${2:-5000}" ;;
  flap) run_flap "${2:-10000}" ;;
  all)
    # With a hard limit of 20,000 descriptors (the container this was written on), 10,000 http
    # checks (2 descriptors each in vitalsd's budget) and 50,000 of either are refused at start;
    # HTTP_FIT / TCP_FIT are the largest round sizes that fit, measured as well.
    for j in 0 0.1; do
      run_vitalsd tcp 10000 "$j"
      run_vitalsd http 10000 "$j"
      run_vitalsd http "${HTTP_FIT:-9000}" "$j"
    done
    POLL=0 run_vitalsd tcp 10000 0
    run_vitalsd http 3000 0
    # 50,000 (and 18,000) checks do not fit in a configuration file (1 MiB, 100,000 nodes).
    run_vitalsd tcp 50000 0
    run_vitalsd http 50000 0
    run_vitalsd tcp "${TCP_FIT:-18000}" 0
    run_ulimit 5000
    run_flap 10000
    ;;
  *) sed -n '2,20p' "$0"; exit 64 ;;
esac
echo "results in $OUT/summary.txt"
