#!/usr/bin/env python3
"""vitals in Python web services vs the peers, side by side in one run (bench/python/README.md).

    source /tmp/vitals-test-servers/env.sh       # scripts/test-servers.sh start: PostgreSQL, Redis
    PYTHONPATH=build/release/python bench/python/run.py [--seconds 10]

Every app runs under the same gunicorn (1 worker, gthread, 4 threads) pinned to CPU 0, wrk on
CPU 1 (-t1 -c8). Per app: req/s and latency of its readiness endpoint; the queries PostgreSQL
and the PINGs Redis received during the flood (read before the server starts and after its
connections have closed: a backend's counters are final when it exits); then the same flood
with PostgreSQL frozen (SIGSTOP) for its whole length.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import redis

HERE = Path(__file__).resolve().parent
PY = "/usr/bin/python3"
APPS = [  # name, gunicorn app, readiness path
    ("bare Flask (return 200)", "bare_flask:app", "/readyz"),
    ("vitals in Flask", "vitals_flask:app", "/readyz"),
    ("seed pattern (Flask, SELECT 1 + PING per request)", "seed_flask:app", "/readyz"),
    ("vitals in Django", "vitals_django:application", "/readyz"),
    ("django-health-check 3.17 (db + redis)", "dhc_site:application", "/readyz/?format=json"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_children(pid: int) -> list[int]:
    out = [pid]
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
    return out


def wrk(url: str, seconds: float) -> dict:
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c8", f"-d{int(seconds)}s", "--latency",
                          "--timeout", "2s", url], capture_output=True, text=True).stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "raw": out}

    def ms(label):
        m = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v

    res["p50"], res["p99"] = ms("50"), ms("99")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["timeouts"] = int(m.group(4)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    res["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    return res


class Counters:
    def __init__(self, pg_url: str, redis_url: str):
        self.pg = psycopg2.connect(pg_url)
        self.pg.autocommit = True
        self.redis = redis.Redis.from_url(redis_url)

    def read(self) -> tuple[int, int]:
        with self.pg.cursor() as cur:
            cur.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database "
                        "WHERE datname = current_database()")
            x = cur.fetchone()[0]
        pings = self.redis.info("commandstats").get("cmdstat_ping", {}).get("calls", 0)
        return x, pings


def run_app(module: str, path: str, seconds: float, counters: Counters, pg_pid: int,
            env: dict) -> dict:
    port = free_port()
    x0, p0 = counters.read()
    t0 = time.monotonic()
    proc = subprocess.Popen(
        ["taskset", "-c", "0", PY, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "1", "-k",
         "gthread", "--threads", "4", "--chdir", str(HERE / "apps"), "--log-level", "warning",
         module], env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}{path}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(url, timeout=1).status == 200:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{module} did not become ready")
            time.sleep(0.1)
        wrk(url, 2)  # warm-up
        normal = wrk(url, seconds)
        # frozen PostgreSQL for a whole flood
        pids = pg_children(pg_pid)
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        try:
            frozen = wrk(url, seconds)
        finally:
            for p in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGCONT)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # only what this script started
        proc.wait(30)
    lifetime = time.monotonic() - t0
    time.sleep(1.0)  # the backends of the app's connections exit and flush their counters
    x1, p1 = counters.read()
    return {"normal": normal, "frozen": frozen, "queries": x1 - x0 - 2, "pings": p1 - p0,
            "lifetime": lifetime}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--only", help="substring of the app names to run")
    args = ap.parse_args()
    pg_url, redis_url = os.environ["VITALS_TEST_PG_URL"], os.environ["VITALS_TEST_REDIS_URL"]
    pg_pid = int(os.environ["VITALS_TEST_PG_PID"])
    env = dict(os.environ, BENCH_INTERVAL="1")
    subprocess.run([PY, str(HERE / "apps" / "dhc_site.py")], env=env, check=True)  # migrate
    counters = Counters(pg_url, redis_url)
    results = {}
    for name, module, path in APPS:
        if args.only and args.only not in name:
            continue
        print(f"== {name}", file=sys.stderr)
        results[name] = run_app(module, path, args.seconds, counters, pg_pid, env)
    bare = results.get(APPS[0][0], {}).get("normal", {}).get("rps")
    dhc = results.get(APPS[-1][0], {}).get("normal", {}).get("rps")
    print(f"\n{args.seconds:g} s per flood; gunicorn 1 worker gthread×4 on CPU 0, wrk -t1 -c8 on "
          "CPU 1; checks every 1 s\n")
    print("| app | req/s | × bare | × django-health-check | p50 ms | p99 ms | PostgreSQL queries "
          "(per s) | Redis PINGs | frozen PostgreSQL: req/s | p99 ms | timeouts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        n, f = r["normal"], r["frozen"]
        print(f"| {name} | {n['rps']:,.0f} | {n['rps'] / bare:.2f} | "
              f"{n['rps'] / dhc:.1f} | {n['p50']:.2f} | {n['p99']:.2f} | "
              f"{r['queries']:,} ({r['queries'] / r['lifetime']:,.1f}) | {r['pings']:,} | "
              f"{f['rps']:,.0f} | {f['p99']:.2f} | {f['timeouts']:,} |"
              if bare and dhc else f"| {name} | {n['rps']:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
