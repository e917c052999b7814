#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds three ways and runs
# every test against real servers started on loopback.
#   1. TSan build: the engine and the HTTP layer (labels `engine` and `unit`; without gRPC, whose
#      library is not built with TSan)
#   2. ASan+UBSan build: every C++ test (the Python package is tested in the plain build: a
#      sanitized module would need the sanitizer preloaded into python3)
#   3. fuzz smoke: the libFuzzer targets of fuzz/ (clang, ASan+UBSan), a few seconds each
#   4. plain build (RelWithDebInfo): every test, examples and benchmarks built, the Python
#      package (python/) and its pytest suites (label `python`); ends with ctest's summary.
#      Its tests labelled `package` include the Debian package: package.deb_build runs cpack
#      (build/release/vitals_<version>_amd64.deb), package.deb installs it with apt-get (as root),
#      runs it and purges it (tests/package/deb.sh).
# Environment: JOBS (parallel build jobs, default nproc), VITALS_TEST_DIR (server data, default
# /tmp/vitals-test-servers), VITALS_SKIP_SANITIZERS=1 to run only the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
JOBS=${JOBS:-$(nproc)}

scripts/install-deps.sh build test python

export VITALS_TEST_DIR=${VITALS_TEST_DIR:-/tmp/vitals-test-servers}
cleanup() { "$root/scripts/test-servers.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
scripts/test-servers.sh start
# shellcheck disable=SC1091
source "$VITALS_TEST_DIR/env.sh"
export VITALS_REQUIRE_SERVERS=1

configure() {  # dir, extra args... (every option explicit: a cache left by an earlier
  local dir=$1; shift  # configuration of the same directory never turns the tests off)
  cmake -S "$root" -B "$dir" -G Ninja -DVITALS_WERROR=ON -DVITALS_BUILD_TESTS=ON "$@" >/dev/null
}

if [[ "${VITALS_SKIP_SANITIZERS:-0}" != 1 ]]; then
  echo "== TSan: engine and HTTP layer"
  configure build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITALS_SANITIZE=thread \
    -DVITALS_BUILD_CHECKS=OFF -DVITALS_BUILD_APPS=OFF -DVITALS_BUILD_BENCH=OFF \
    -DVITALS_BUILD_EXAMPLES=OFF -DVITALS_BUILD_GRPC=OFF -DVITALS_BUILD_PYTHON=OFF
  cmake --build build/tsan -j"$JOBS"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    ctest --test-dir build/tsan -L "engine|unit" -j"$JOBS" --output-on-failure --timeout 300 \
      --no-tests=error

  echo "== ASan+UBSan: every test"
  configure build/asan -DCMAKE_BUILD_TYPE=Debug -DVITALS_SANITIZE=address,undefined \
    -DVITALS_BUILD_CHECKS=ON -DVITALS_BUILD_APPS=ON -DVITALS_BUILD_BENCH=OFF \
    -DVITALS_BUILD_EXAMPLES=OFF -DVITALS_BUILD_PYTHON=OFF
  cmake --build build/asan -j"$JOBS"
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
    ctest --test-dir build/asan -LE "package|soak" -j"$JOBS" --output-on-failure --timeout 300 \
      --no-tests=error

  echo "== Fuzz smoke: every libFuzzer target over its seed corpus (docs/fuzzing.md)"
  CC=clang CXX=clang++ cmake -S "$root" -B build/fuzz -G Ninja -DVITALS_WERROR=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITALS_SANITIZE= -DVITALS_BUILD_FUZZ=ON \
    -DVITALS_BUILD_TESTS=OFF -DVITALS_BUILD_CHECKS=ON -DVITALS_BUILD_APPS=OFF \
    -DVITALS_BUILD_BENCH=OFF -DVITALS_BUILD_EXAMPLES=OFF -DVITALS_INSTALL=OFF \
    -DVITALS_BUILD_GRPC=OFF -DVITALS_BUILD_PYTHON=OFF >/dev/null
  cmake --build build/fuzz --target vitals_fuzz -j"$JOBS"
  ctest --test-dir build/fuzz -L fuzz -j"$JOBS" --output-on-failure --no-tests=error
fi

echo "== Release build: every test"
configure build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVITALS_SANITIZE= \
  -DVITALS_BUILD_CHECKS=ON -DVITALS_BUILD_APPS=ON -DVITALS_BUILD_BENCH=ON -DVITALS_BUILD_EXAMPLES=ON \
  -DVITALS_BUILD_PYTHON=ON
cmake --build build/release -j"$JOBS"
# The Python package is optional to CMake (left out with a warning without pybind11): here its
# tests must exist, or the summary would pass without them.
python_tests=$(ctest --test-dir build/release -N -L python | tail -n 1)
if [[ ! $python_tests =~ ^Total\ Tests:\ [1-9] ]]; then
  echo "test.sh: no Python tests in build/release (pybind11-dev, python3-dev missing?)" >&2
  exit 1
fi
ctest --test-dir build/release -j"$JOBS" --output-on-failure --timeout 300 --no-tests=error
