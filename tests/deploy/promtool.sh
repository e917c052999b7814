#!/usr/bin/env bash
# promtool over deploy/prometheus: `check_rules` (syntax and PromQL of every rule file),
# `test_rules` (the unit tests in deploy/prometheus/tests), `check_config` (the static scrape
# example; the Kubernetes one needs Kubernetes discovery, which Debian's promtool lacks:
# kubernetes_relabel.py covers it). Exit 77 (skip) if promtool is not installed.
set -euo pipefail
mode=${1:?usage: promtool.sh check_rules|test_rules|check_config}
root=$(cd "$(dirname "$0")/../.." && pwd)
promtool=${PROMTOOL:-promtool}
command -v "$promtool" >/dev/null || { echo "SKIP: $promtool not found"; exit 77; }
cd "$root/deploy/prometheus"
shopt -s nullglob
case $mode in
  check_rules)
    files=(rules/*.yml rules/*.yaml)
    (( ${#files[@]} )) || { echo "no rule files in deploy/prometheus/rules"; exit 1; }
    exec timeout 60 "$promtool" check rules "${files[@]}" ;;
  test_rules)
    files=(tests/*.yml tests/*.yaml)
    (( ${#files[@]} )) || { echo "no rule tests in deploy/prometheus/tests"; exit 1; }
    exec timeout 60 "$promtool" test rules "${files[@]}" ;;
  check_config)
    exec timeout 60 "$promtool" check config prometheus-static.yml ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
