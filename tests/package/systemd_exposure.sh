#!/usr/bin/env bash
# The unit's exposure as systemd scores it must be <= 2.0 ("OK"): systemd-analyze security
# --offline=yes (systemd >= 252) reads the file without a running systemd. Exit 77 (skipped)
# without systemd-analyze or with one too old for --offline.
# Usage: systemd_exposure.sh <unit file>
set -euo pipefail
unit=$1
command -v systemd-analyze >/dev/null || { echo "SKIPPED: no systemd-analyze (apt-get install systemd)"; exit 77; }
if ! systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  echo "SKIPPED: $(systemd-analyze --version | head -1) has no 'security --offline'"; exit 77
fi
status=0
out=$(systemd-analyze security --offline=yes --threshold=20 --no-pager "$unit" 2>&1) || status=$?
line=$(grep 'Overall exposure level' <<<"$out" || true)
[[ -n $line ]] || { echo "$out" >&2; echo "FAIL: no exposure level in the output" >&2; exit 1; }
echo "$line"
score=$(sed -E 's/.*: ([0-9]+\.[0-9]+).*/\1/' <<<"$line")
if [[ $status -ne 0 ]] || ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
  grep '✗' <<<"$out" >&2 || true
  echo "FAIL: exposure $score > 2.0 (systemd-analyze exit $status)" >&2
  exit 1
fi
