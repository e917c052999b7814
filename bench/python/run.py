#!/usr/bin/env python3
"""vitals in Python web services vs the peers, side by side in one run (bench/python/README.md).

    source /tmp/vitals-test-servers/env.sh       # scripts/test-servers.sh start: PostgreSQL, Redis
    PYTHONPATH=build/release/python bench/python/run.py [--seconds 5] [--rounds 5]

Every app runs under the same gunicorn (1 worker, gthread, 4 threads) pinned to CPU 0, wrk on
CPU 1 (-t1 -c8). 1. One app alive at a time, one flood: the queries PostgreSQL and the PINGs
Redis received over the server's life (read before it starts and after its connections have
closed: a backend's counters are final when it exits). 2. Every app alive, interleaved rounds of
floods: req/s and latency (medians; ratios are medians of per-round ratios, so the machine's
drift hits every app alike). 3. PostgreSQL frozen (SIGSTOP): one flood per app.
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


def wrk(url: str, seconds: float, connections: int = 8) -> dict:
    out = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}",
                          f"-d{int(seconds)}s", "--latency",
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


class Server:
    """One app under gunicorn (1 worker, gthread×4) pinned to CPU 0, stopped by its PID."""

    def __init__(self, module: str, path: str, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", PY, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w",
             "1", "-k", "gthread", "--threads", "4", "--chdir", str(HERE / "apps"),
             "--log-level", "warning", module], env=env, start_new_session=True)
        self.started = time.monotonic()
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if urllib.request.urlopen(self.url, timeout=1).status == 200:
                    break
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{module} did not become ready")
            time.sleep(0.1)

    def stop(self) -> float:
        os.killpg(self.proc.pid, signal.SIGTERM)  # only what this script started
        self.proc.wait(30)
        return time.monotonic() - self.started


@contextlib.contextmanager
def frozen(pg_pid: int):
    pids = pg_children(pg_pid)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5, help="length of one flood")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of every app")
    args = ap.parse_args()
    pg_url, redis_url = os.environ["VITALS_TEST_PG_URL"], os.environ["VITALS_TEST_REDIS_URL"]
    pg_pid = int(os.environ["VITALS_TEST_PG_PID"])
    env = dict(os.environ, BENCH_INTERVAL="1")
    subprocess.run([PY, str(HERE / "apps" / "dhc_site.py")], env=env, check=True)  # migrate
    counters = Counters(pg_url, redis_url)

    # 1. What the dependencies see under a flood: one app alive at a time.
    load = {}
    for name, module, path in APPS:
        print(f"== queries: {name}", file=sys.stderr)
        x0, p0 = counters.read()
        srv = Server(module, path, env)
        flood = wrk(srv.url, args.seconds)
        lifetime = srv.stop()
        time.sleep(1.0)  # the app's backends exit and flush their counters
        x1, p1 = counters.read()
        load[name] = {"queries": x1 - x0 - 2, "pings": p1 - p0, "lifetime": lifetime,
                      "requests": flood["requests"]}

    # 2. Throughput, every app alive, interleaved rounds (the machine's drift hits all alike).
    servers = {name: Server(module, path, env) for name, module, path in APPS}
    for srv in servers.values():
        wrk(srv.url, 1)  # warm-up
    rounds: dict[str, list[dict]] = {name: [] for name in servers}
    for r in range(args.rounds):
        print(f"== round {r + 1}/{args.rounds}", file=sys.stderr)
        for name, srv in servers.items():
            rounds[name].append(wrk(srv.url, args.seconds))
    # 3. PostgreSQL frozen: a flood per app, then its latency as a prober sees it (2 connections).
    stalled, probed = {}, {}
    with frozen(pg_pid):
        for name, srv in servers.items():
            print(f"== frozen: {name}", file=sys.stderr)
            stalled[name] = wrk(srv.url, args.seconds)
            probed[name] = wrk(srv.url, args.seconds, connections=2)
    for srv in servers.values():
        srv.stop()

    bare, dhc = APPS[0][0], APPS[-1][0]
    print(f"\n{args.rounds} interleaved rounds of {args.seconds} s per app (medians); gunicorn 1 "
          "worker gthread×4 on CPU 0, wrk -t1 -c8 on CPU 1; checks every 1 s\n")
    print("| app | req/s | × bare | × django-health-check | p50 ms | p99 ms | flood alone: "
          "requests | PostgreSQL queries | Redis PINGs | PostgreSQL frozen: req/s | p99 ms, 2 "
          "connections |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in servers:
        rs = rounds[name]
        ratio_bare = median([a["rps"] / b["rps"] for a, b in zip(rs, rounds[bare])])
        ratio_dhc = median([a["rps"] / b["rps"] for a, b in zip(rs, rounds[dhc])])
        f, q = stalled[name], load[name]
        frozen_rps = f"{f['rps']:,.0f}" if f["requests"] else "0 (every request hung)"
        c2 = probed[name]
        frozen_p99 = f"{c2['p99']:.2f}" if c2["requests"] else "—"
        print(f"| {name} | {median([x['rps'] for x in rs]):,.0f} | {ratio_bare:.2f} | "
              f"{ratio_dhc:.1f} | {median([x['p50'] for x in rs]):.2f} | "
              f"{median([x['p99'] for x in rs]):.2f} | {q['requests']:,} | "
              f"{max(q['queries'], 0):,} in {q['lifetime']:.1f} s | {q['pings']:,} | "
              f"{frozen_rps} | {frozen_p99} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
