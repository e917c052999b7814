#!/usr/bin/env bash
# deploy/docker/Dockerfile copies from an install into /usr/local: every path it copies must
# exist in a real install (here <prefix>, standing for the image's /stage/usr/local), and the
# check modules vitalsd loads on demand must be among them.
set -euo pipefail
dockerfile=$1
prefix=$2
mapfile -t paths < <(grep -oE '/stage/usr/local/[^ ]+' "$dockerfile" | sed 's|/$||' | sort -u)
[[ ${#paths[@]} -gt 0 ]] || { echo "no COPY --from=build /stage/usr/local/... in $dockerfile" >&2; exit 1; }
for p in "${paths[@]}"; do
  local_path=$prefix/${p#/stage/usr/local/}
  [[ -e "$local_path" ]] || { echo "the Dockerfile copies $p, but an install has no $local_path" >&2; exit 1; }
done
printf '%s\n' "${paths[@]}" | grep -qx '/stage/usr/local/lib/vitals' ||
  { echo "the Dockerfile does not ship lib/vitals (the lazily loaded check modules)" >&2; exit 1; }
ls "$prefix/lib/vitals"/vitals_check_*.so >/dev/null
echo "Dockerfile copies ${#paths[@]} paths, all present in an install"
