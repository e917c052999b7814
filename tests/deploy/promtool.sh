#!/usr/bin/env bash
# promtool over deploy/prometheus: `check-rules` (syntax and PromQL of every rule file),
# `test-rules` (the unit tests in deploy/prometheus/tests), `check-config` (the static scrape
# example; the Kubernetes one needs Kubernetes discovery, which Debian's promtool lacks:
# kubernetes_relabel.py covers it). Exit 77 (skip) if promtool is not installed.
set -euo pipefail
mode=${1:?usage: promtool.sh check-rules|test-rules|check-config}
root=$(cd "$(dirname "$0")/../.." && pwd)
promtool=${PROMTOOL:-promtool}
command -v "$promtool" >/dev/null || { echo "SKIP: $promtool not found"; exit 77; }
cd "$root/deploy/prometheus"
shopt -s nullglob
case $mode in
  check-rules)
    files=(rules/*.yml rules/*.yaml)
    (( ${#files[@]} )) || { echo "no rule files in deploy/prometheus/rules"; exit 1; }
    exec timeout 60 "$promtool" check rules "${files[@]}" ;;
  test-rules)
    files=(tests/*.yml tests/*.yaml)
    (( ${#files[@]} )) || { echo "no rule tests in deploy/prometheus/tests"; exit 1; }
    exec timeout 60 "$promtool" test rules "${files[@]}" ;;
  check-config)
    exec timeout 60 "$promtool" check config prometheus-static.yml ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
