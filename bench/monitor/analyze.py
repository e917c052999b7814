#!/usr/bin/env python3
"""Per-target gaps between consecutive checks, for bench/monitor/run.sh.

    analyze.py nginx ACCESS_LOG T0 T1 N   # http: lines "$msec $request_uri $status", /t/<i>
    analyze.py health DIR T0 T1 N         # tcp: DIR/health.*.json, the `time` of each check

T0, T1: the measured window (epoch seconds); only pairs of consecutive checks of a target
that both fall in it count. N: how many targets there are. Prints one line of key=value:
lag = gap - 10 s (p50 / p99 / max in ms; the interval is counted from the end of a run, so a
gap also holds the run's own duration), how many targets were seen, the fewest runs a target
had in the window, and how many requests were not answered 200 (nginx) or checks not passing
(last /health).
"""
import datetime
import glob
import json
import sys

INTERVAL = 10.0


def pct(sorted_values, q):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[k]


def report(times, t0, t1, n, extra):
    lags = []
    fewest = None
    seen = 0
    for key in range(n):
        ts = sorted(t for t in times.get(key, ()) if t0 <= t <= t1)
        if ts:
            seen += 1
        runs = len(ts)
        fewest = runs if fewest is None else min(fewest, runs)
        lags.extend((b - a - INTERVAL) * 1000.0 for a, b in zip(ts, ts[1:]))
    lags.sort()
    expected = int((t1 - t0) // INTERVAL)
    fields = {
        "targets": n,
        "seen": seen,
        "fewest_runs": fewest,
        "expected_runs": expected,
        "gaps": len(lags),
        "lag_min_ms": round(lags[0], 1) if lags else "nan",
        "lag_p50_ms": round(pct(lags, 0.50), 1),
        "lag_p99_ms": round(pct(lags, 0.99), 1),
        "lag_max_ms": round(lags[-1], 1) if lags else "nan",
    }
    fields.update(extra)
    print(" ".join(f"{k}={v}" for k, v in fields.items()))


def nginx(path, t0, t1, n):
    times = {}
    bad = 0
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or not parts[1].startswith("/t/"):
                continue
            t = float(parts[0])
            if parts[2] != "200" and t0 <= t <= t1:
                bad += 1
            times.setdefault(int(parts[1][3:]), []).append(t)
    report(times, t0, t1, n, {"non_200": bad})


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def health(directory, t0, t1, n):
    times = {}
    failing = None
    files = sorted(glob.glob(f"{directory}/health.*.json"))
    for path in files:
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        failing = 0
        for key, entries in doc.get("checks", {}).items():
            name = key.split(":", 1)[0]
            if not name.startswith("t"):
                continue
            e = entries[0]
            if e.get("status") != "pass":
                failing += 1
            if "time" in e:
                times.setdefault(int(name[1:].lstrip(".")), set()).add(parse_time(e["time"]))
    report(times, t0, t1, n, {"polls": len(files), "not_pass_last_poll": failing})


if __name__ == "__main__":
    mode, src, t0, t1, n = sys.argv[1:6]
    {"nginx": nginx, "health": health}[mode](src, float(t0), float(t1), int(n))
