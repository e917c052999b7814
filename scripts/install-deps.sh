#!/usr/bin/env bash
# Installs the Debian packages vitals needs, only those missing (fast when all are there).
# Usage: scripts/install-deps.sh [build] [test] [python] [bench]   (default: build)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config g++ clang-format clang-tidy
  libboost-dev libboost-system-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libssl-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev libhiredis-dev libmariadb-dev libmemcached-dev libsqlite3-dev libcurl4-openssl-dev
  dpkg-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc libnghttp2-dev
)
# Real servers and tools the integration tests talk to; clang and its libFuzzer runtime for the
# fuzz smoke (fuzz/).
test_pkgs=(
  postgresql postgresql-contrib mariadb-server redis-server memcached
  openssl curl wget procps iproute2 python3 python3-jsonschema wrk
  systemd clang libclang-rt-14-dev prometheus prometheus-alertmanager python3-yaml
  python3-aiosmtpd python3-grpcio python3-grpc-tools python3-protobuf
)
# vitals for Python (python/): pybind11 and Python's headers for the module, pytest and the
# frameworks and servers its tests run (Debian's Python 3.11, /usr/bin/python3).
python_pkgs=(
  pybind11-dev python3-dev python3-setuptools python3-venv python3-pip python3-pytest
  python3-flask gunicorn python3-django python3-fastapi python3-starlette python3-uvicorn
  python3-aiohttp python3-httpx python3-psycopg2 python3-redis
)
# Peers and load tools for bench/.
bench_pkgs=(wrk nginx-light hyperfine golang-go python3-aiohttp python3-psycopg2 linux-perf
  gnuplot-nox python3-django-health-check "${python_pkgs[@]}")

groups=("$@")
[[ ${#groups[@]} -eq 0 ]] && groups=(build)
want=()
for g in "${groups[@]}"; do
  case "$g" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${test_pkgs[@]}") ;;
    python) want+=("${python_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    *) echo "install-deps: unknown group '$g' (build, test, python, bench)" >&2; exit 64 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# Package maintainer scripts must not start system-wide services we don't use (the tests
# start their own throw-away servers on unprivileged ports).
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
