#!/usr/bin/env bash
# Installs what is missing, builds, and starts vitalsd on its embedded default configuration
# (checks of this host: disk, memory, load, and vitalsd itself) at http://127.0.0.1:8081.
#   curl -s localhost:8081/readyz?verbose ; curl -s localhost:8081/health
# Extra arguments go to vitalsd, e.g. scripts/run.sh --config examples/configs/host.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
# A build directory of its own: the test command's builds (build/release, ...) keep their options
# whichever of the two commands runs first.
cmake -S . -B build/run -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVITALS_BUILD_TESTS=OFF -DVITALS_BUILD_BENCH=OFF -DVITALS_BUILD_EXAMPLES=OFF \
  -DVITALS_BUILD_PYTHON=OFF >/dev/null
cmake --build build/run -j"${JOBS:-$(nproc)}" --target vitalsd
exec build/run/apps/vitalsd/vitalsd "$@"
