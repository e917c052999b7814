#!/usr/bin/env bash
# Loading a monitor's configuration: N tcp targets written as one `targets:` group (a line per
# target) against the same N written as `checks:` (a mapping per check), timed by hyperfine
# over `vitalsd --print-targets` (load, validate, build every check; starts nothing).
#   bench/monitor/config_load.sh [VITALSD] [N...]     (default build/dev, 10000 50000)
# The checks form of 50,000 exceeds the loader's 4 MiB limit and is left out above 40,000.
set -euo pipefail
cd "$(dirname "$0")/../.."
vitalsd=${1:-build/dev/apps/vitalsd/vitalsd}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(10000 50000)
command -v hyperfine >/dev/null || { echo "hyperfine is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmds=()
for n in "${sizes[@]}"; do
  python3 - "$tmp" "$n" <<'PY'
import sys
tmp, n = sys.argv[1], int(sys.argv[2])
addr = lambda i: f"127.0.{(i // 250) % 256}.{i % 250 + 1}"
with open(f"{tmp}/targets-{n}.yaml", "w") as f:
    f.write("listen: 127.0.0.1:0\ntargets:\n  - group: tcp\n    type: tcp\n"
            "    interval: 10s\n    timeout: 2s\n    targets:\n")
    f.writelines(f'      - "{addr(i)}:{8000 + i // 64000}"\n' for i in range(n))
with open(f"{tmp}/checks-{n}.yaml", "w") as f:
    f.write("listen: 127.0.0.1:0\ndefaults: {probes: []}\nchecks:\n")
    f.writelines(f"  - {{name: tcp.t{i}, type: tcp, host: {addr(i)}, port: 8000, "
                 f"interval: 10s, timeout: 2s}}\n" for i in range(n))
PY
  stat -c "%s %n" "$tmp/targets-$n.yaml" "$tmp/checks-$n.yaml" >&2
  cmds+=("$vitalsd --print-targets -c $tmp/targets-$n.yaml")
  ((n <= 40000)) && cmds+=("$vitalsd --print-targets -c $tmp/checks-$n.yaml")
done
hyperfine -N -w 1 -r 10 ${EXPORT:+--export-markdown "$EXPORT"} "${cmds[@]}"
