#!/usr/bin/env bash
# The Debian package, for real: installs build/<dir>/vitals_<version>_<arch>.deb with apt-get
# (as CI does, root on Debian 12), runs the installed /usr/bin/vitalsd on its shipped
# configuration (moved to a free loopback port) until /readyz answers 200, builds and runs
# tests/package/consumer against the installed CMake package (find_package from /usr), then
# purges the package and checks that every file it installed is gone.
# Usage: deb.sh <build dir> <consumer source dir> <version>. Exit 77 (ctest: skipped) when not
# root, without apt-get, or when a vitals package is already installed (never touched).
set -euo pipefail
build=$1
consumer=$2
version=$3

skip() { echo "SKIPPED: $*"; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "installing a .deb needs root (CI runs as root)"
{ command -v apt-get && command -v dpkg-query; } >/dev/null || skip "no apt-get/dpkg"
if dpkg-query -W -f='${Status}' vitals 2>/dev/null | grep -q "ok installed"; then
  skip "a vitals package is already installed on this machine; not replacing it"
fi
shopt -s nullglob
debs=("$build"/vitals_"$version"_*.deb)
[[ ${#debs[@]} -eq 1 ]] || { echo "want one $build/vitals_${version}_*.deb, found ${#debs[@]}" >&2; exit 1; }
deb=$(realpath "${debs[0]}")

# dpkg-shlibdeps computed the Depends from the executables and the modules.
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libstdc++6 libpq5 libmariadb3 libhiredis libsqlite3-0 libssl3 libcurl4; do
  grep -q "\b$lib" <<<"$depends" || { echo "FAIL: $lib is not in Depends" >&2; exit 1; }
done

dir=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if dpkg-query -W -f='${Status}' vitals 2>/dev/null | grep -q "installed"; then
    echo "cleanup: purging vitals" >&2
    timeout 120 apt-get remove --purge -y -qq vitals >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

echo "== apt-get install $deb"
timeout 300 apt-get install -y -qq --no-install-recommends "$deb" >"$dir/apt.log" 2>&1 ||
  { cat "$dir/apt.log" >&2; fail "apt-get install"; }
dpkg-query -W -f='${Package} ${Version} ${Status}\n' vitals
[[ $(dpkg-query -W -f='${Version}' vitals) == "$version" ]] || fail "installed version is not $version"
dpkg-query -L vitals >"$dir/files"

for f in /usr/bin/vitalsd /usr/bin/vitals /usr/libexec/vitals/vitals-tool \
         /usr/lib/vitals/vitals_check_tcp.so /usr/lib/vitals/vitals_check_postgres.so \
         /lib/systemd/system/vitalsd.service /etc/vitals/vitalsd.yaml \
         /usr/share/doc/vitals/copyright /usr/share/doc/vitals/README.md \
         /usr/include/vitals/vitals.hpp /usr/lib/cmake/vitals/vitals-config.cmake; do
  grep -qx "$f" "$dir/files" || fail "$f is not in the package"
  [[ -f $f ]] || fail "$f is not installed"
done
dpkg-query -W -f='${Conffiles}\n' vitals | grep -q '^ /etc/vitals/vitalsd.yaml ' ||
  fail "/etc/vitals/vitalsd.yaml is not a conffile"
[[ $(stat -c '%a %U' /etc/vitals/token) == "600 root" ]] || fail "postinst made no root-only /etc/vitals/token"
[[ -s /etc/vitals/token ]] || fail "/etc/vitals/token is empty"

link=/etc/systemd/system/multi-user.target.wants/vitalsd.service
if command -v systemctl >/dev/null; then
  # The unit as installed: valid (its ExecStart binary exists), and enableable (no running
  # systemd needed); postrm purge must remove the link again.
  systemd-analyze verify /lib/systemd/system/vitalsd.service || fail "systemd-analyze verify"
  systemctl enable vitalsd.service >/dev/null 2>&1 || fail "systemctl enable vitalsd.service"
  [[ -L $link ]] || fail "systemctl enable made no $link"
fi

echo "== the shipped configuration"
# The unit's own ExecStartPre (vitalsd --check-config on the conffile), read from the installed
# unit; its ExecStart runs the same file. And the file is the built-in configuration.
pre=$(sed -n 's/^ExecStartPre=//p' /lib/systemd/system/vitalsd.service)
grep -q -- '--config /etc/vitals/vitalsd.yaml$' <<<"$pre" || fail "ExecStartPre is '$pre'"
grep -qx 'ExecStart=/usr/bin/vitalsd --config /etc/vitals/vitalsd.yaml' \
  /lib/systemd/system/vitalsd.service || fail "ExecStart does not run /etc/vitals/vitalsd.yaml"
read -ra pre_cmd <<<"$pre"
"${pre_cmd[@]}" || fail "the unit's ExecStartPre failed: $pre"
diff <(grep -v '^#' /etc/vitals/vitalsd.yaml) <(/usr/bin/vitalsd --print-default | grep -v '^#') ||
  fail "/etc/vitals/vitalsd.yaml differs from vitalsd --print-default"
grep -q '^listen: 127.0.0.1:8081$' /etc/vitals/vitalsd.yaml || fail "unexpected listen line"

echo "== /usr/bin/vitalsd on it, on a free loopback port, plus a tcp check (a module)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/^listen: 127.0.0.1:8081$/listen: 127.0.0.1:$port/" /etc/vitals/vitalsd.yaml >"$dir/vitalsd.yaml"
cat >>"$dir/vitalsd.yaml" <<YAML
  - name: self
    type: tcp
    host: 127.0.0.1
    port: $port
    interval: 200ms
    timeout: 100ms
YAML
/usr/bin/vitalsd --config "$dir/vitalsd.yaml" >"$dir/vitalsd.log" 2>&1 &
pid=$!
code=""
for _ in $(seq 1 100); do
  code=$(curl -s --max-time 2 -o "$dir/readyz" -w '%{http_code}' "http://127.0.0.1:$port/readyz?verbose" || true)
  [[ $code == 200 ]] && grep -q '^\[+\]self ok' "$dir/readyz" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ $code != 200 ]] || ! grep -q '^\[+\]self ok' "$dir/readyz"; then
  cat "$dir/vitalsd.log" "$dir/readyz" >&2 || true
  fail "/usr/bin/vitalsd: /readyz answered '$code', not 200 with the tcp module's check passing"
fi
cat "$dir/readyz"
kill "$pid"
wait "$pid" || fail "vitalsd did not exit 0 on SIGTERM"
pid=""

echo "== consumer project against the installed package"
timeout 300 cmake -S "$consumer" -B "$dir/consumer" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$dir/consumer.log" 2>&1 ||
  { cat "$dir/consumer.log" >&2; fail "consumer: configure"; }
grep -qx 'vitals_DIR:PATH=/usr/lib/cmake/vitals' "$dir/consumer/CMakeCache.txt" ||
  fail "consumer did not find the installed package: $(grep vitals_DIR "$dir/consumer/CMakeCache.txt")"
timeout 300 cmake --build "$dir/consumer" >>"$dir/consumer.log" 2>&1 ||
  { cat "$dir/consumer.log" >&2; fail "consumer: build"; }
"$dir/consumer/consumer"

echo "== apt-get remove --purge vitals"
timeout 120 apt-get remove --purge -y -qq vitals >"$dir/apt.log" 2>&1 ||
  { cat "$dir/apt.log" >&2; fail "apt-get remove --purge"; }
if dpkg-query -L vitals >/dev/null 2>&1; then fail "dpkg still lists files of vitals"; fi
left=()
while read -r f; do
  [[ -e $f && ! -d $f ]] && left+=("$f")
done <"$dir/files"
[[ ${#left[@]} -eq 0 ]] || fail "left behind: ${left[*]}"
[[ ! -e /usr/bin/vitalsd ]] || fail "/usr/bin/vitalsd is still there"
[[ ! -e /etc/vitals ]] || fail "/etc/vitals is still there"
[[ ! -e /usr/lib/vitals ]] || fail "/usr/lib/vitals is still there"
[[ ! -L $link ]] || fail "$link (systemctl enable) survived the purge"
echo "package vitals $version: installed, ran, consumed and purged cleanly"
