#!/usr/bin/env bash
# Interleaved rounds of engine benchmark binaries, in one run: medians per binary, mode and size,
# and the 100,000 ÷ 10 ratio of each mode (the bar of issue 7: ≤ 1.5×).
#
#   bench/engine/compare.sh BINARY...            # e.g. an older build's and build/dev's
#
# Environment: ROUNDS (3), FILTER ('bm_(spread|burst|observed|flapping)'), CORE (1), MIN_TIME (1).
# A shared VM drifts by tens of percent from one minute to the next: compare binaries only
# within one run of this script, never across runs.
set -euo pipefail
[[ $# -ge 1 ]] || { sed -n '2,9p' "$0"; exit 64; }
ROUNDS=${ROUNDS:-3}
FILTER=${FILTER:-'bm_(spread|burst|observed|flapping)'}
CORE=${CORE:-1}
MIN_TIME=${MIN_TIME:-1}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for ((r = 1; r <= ROUNDS; r++)); do
  for b in "$@"; do
    taskset -c "$CORE" "$b" --benchmark_min_time="$MIN_TIME" --benchmark_filter="$FILTER" 2>&1 |
      awk -v b="$b" '/^bm_/ {
        v = $0; sub(/.*cpu_per_result=/, "", v); sub(/ .*/, "", v)
        if (v ~ /us$/) { sub(/us$/, "", v); v *= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v); v *= 1e6 } else { sub(/ns$/, "", v) }
        split($1, a, "/"); print b, a[1], a[2], v }' >> "$raw"
  done
done
awk '{ k = $1 " " $2 " " $3; x[k] = x[k] " " $4 }
  END {
    for (k in x) { c = split(x[k], v, " "); asort(v); m[k] = v[int((c + 1) / 2)] }
    for (k in m) {
      split(k, p, " "); printf "%-60s %-12s %7s  %8.0f ns\n", p[1], p[2], p[3], m[k]
      if (p[3] == 100000 && (p[1] " " p[2] " 10") in m) r[p[1] " " p[2]] = m[k] / m[p[1] " " p[2] " 10"]
    }
    for (k in r) printf "ratio 100000/10  %-60s %.2fx\n", k, r[k]
  }' "$raw" | sort
