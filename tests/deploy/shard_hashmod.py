#!/usr/bin/env python3
"""vitalsd --shard i/N against Prometheus itself, and four shards on loopback.

1. A real Prometheus relabels 300 static targets, each labelled check=<name>, with
   `action: hashmod` (modulus 4) into a `shard` label; `vitalsd --shard i/4 --print-targets`
   must list exactly the names Prometheus put in shard i, for every i.
2. Four real vitalsd, one per shard, run the same configuration of 40 http checks against one
   loopback HTTP server (a path per check): every path is requested, and every check is run by
   exactly one instance (each instance's /metrics has run counts for its own checks only).
Skips (77) if prometheus is not installed. Everything listens on 127.0.0.1 and is stopped by PID."""
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml

import deploy_common as dc
import prometheus_server as ps

VITALSD = os.environ["VITALSD"]
BUDGET_S = 100


def names(n):
    # The registry's alphabet (A-Z a-z 0-9 _ . -), varied lengths.
    out = []
    for i in range(n):
        out.append(["web-%d" % i, "db_%d.example" % i, "Q%dz" % i, "x" * (1 + i % 40) + str(i)][i % 4])
    return out


def vitalsd_config(checks, port, url_of):
    lines = [f"listen: 127.0.0.1:{port}", "log: {format: text, level: info}",
             "http: {metrics: everyone}", "checks:"]
    for c in checks:
        lines.append(f"  - {{name: {c}, type: http, url: \"{url_of(c)}\", interval: 1s, timeout: 500ms}}")
    return "\n".join(lines) + "\n"


def print_targets(cfg, shard):
    out = subprocess.run([VITALSD, "--config", cfg, "--shard", shard, "--print-targets"],
                         capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(f"--print-targets {shard}: exit {out.returncode}: {out.stderr}")
    return out.stdout.split()


def against_prometheus(tmp):
    checks = names(300)
    static = [{"targets": [f"192.0.2.{1 + i % 250}:{9000 + i}"], "labels": {"check": c}}
              for i, c in enumerate(checks)]
    config = {
        "global": {"scrape_interval": "1h", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "shards",
            "static_configs": static,
            "relabel_configs": [
                {"source_labels": ["check"], "modulus": 4, "target_label": "__tmp_hash",
                 "action": "hashmod"},
                {"source_labels": ["__tmp_hash"], "target_label": "shard", "action": "replace"},
            ],
        }],
    }
    by_prometheus = {}
    with ps.prometheus(json.dumps(config)) as prom:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            active = prom.get("/api/v1/targets", state="active")["data"]["activeTargets"]
            if len(active) == len(checks):
                break
            time.sleep(0.2)
        for t in active:
            by_prometheus.setdefault(t["labels"]["shard"], set()).add(t["labels"]["check"])
    assert sum(len(v) for v in by_prometheus.values()) == len(checks), by_prometheus.keys()
    cfg = os.path.join(tmp, "prom.yaml")
    with open(cfg, "w") as f:
        f.write(vitalsd_config(checks, 9, lambda c: "http://127.0.0.1:9/"))
    for i in range(4):
        got = set(print_targets(cfg, f"{i}/4"))
        want = by_prometheus.get(str(i), set())
        assert got == want, f"shard {i}: vitalsd and Prometheus disagree on {sorted(got ^ want)[:10]}"
        print(f"shard {i}/4: {len(got)} checks, same as Prometheus' hashmod")
    assert set(print_targets(cfg, "0/1")) == set(checks)


class Recorder(http.server.BaseHTTPRequestHandler):
    paths = set()
    lock = threading.Lock()

    def do_GET(self):
        with Recorder.lock:
            Recorder.paths.add(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def runs_by_check(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    runs = {}
    for m in re.finditer(r'^vitals_check_runs_total\{check="([^"]+)",type="http",result="pass"\} (\d+)',
                         text, re.M):
        runs[m.group(1)] = int(m.group(2))
    return runs


def four_shards(tmp):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = server.server_address[1]
    checks = names(40)
    procs = []
    try:
        ports = []
        for i in range(4):
            port = ps.free_port()
            ports.append(port)
            cfg = os.path.join(tmp, f"shard{i}.yaml")
            with open(cfg, "w") as f:
                f.write(vitalsd_config(checks, port, lambda c: f"http://127.0.0.1:{target}/t/{c}"))
            log = open(os.path.join(tmp, f"shard{i}.log"), "w")
            procs.append(subprocess.Popen([VITALSD, "--config", cfg, "--shard", f"{i}/4"],
                                          stdout=log, stderr=subprocess.STDOUT,
                                          preexec_fn=ps._die_with_parent))
        want = {f"/t/{c}" for c in checks}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not want <= Recorder.paths:
            time.sleep(0.1)
        assert want <= Recorder.paths, f"never requested: {sorted(want - Recorder.paths)[:10]}"
        time.sleep(1.5)  # at least one more round each
        owners = {}
        for i, port in enumerate(ports):
            for c, n in runs_by_check(port).items():
                assert n >= 1, (i, c, n)
                owners.setdefault(c, []).append(i)
        assert set(owners) == set(checks), sorted(set(checks) - set(owners))[:10]
        twice = {c: o for c, o in owners.items() if len(o) != 1}
        assert not twice, f"checked by more than one shard: {twice}"
        for i in range(4):
            with open(os.path.join(tmp, f"shard{i}.log")) as f:
                started = [l for l in f if "vitalsd started" in l]
            assert started and f"shard={i}/4" in started[0], started
        print(f"4 shards: each of {len(checks)} targets checked by exactly one "
              f"({', '.join(str(sum(1 for o in owners.values() if o == [i])) for i in range(4))})")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)   # our children, by PID
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        server.shutdown()


def shipped_statefulset(tmp):
    """deploy/kubernetes/monitor-sharded.yaml: its configuration loads, --shard takes the pod
    ordinal over `replicas`, and the shards partition its targets."""
    path = os.path.join(dc.ROOT, "deploy", "kubernetes", "monitor-sharded.yaml")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["vitalsd.yaml"]
    sts = next(d for d in docs if d["kind"] == "StatefulSet")
    replicas = sts["spec"]["replicas"]
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--shard") + 1] == f"$(POD_INDEX)/{replicas}", args
    cfg = os.path.join(tmp, "sts.yaml")
    with open(cfg, "w") as f:
        f.write(config)
    # The Secret's value, as the pod's environment has it (only checked, never connected to).
    os.environ["HISTORY_URL"] = "postgresql://vitals:from-the-secret@postgres:5432/monitor"
    ok = subprocess.run([VITALSD, "--check-config", "--config", cfg], capture_output=True,
                        text=True, timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    everything = print_targets(cfg, "0/1")
    parts = [print_targets(cfg, f"{i}/{replicas}") for i in range(replicas)]
    assert sorted(sum(parts, [])) == sorted(everything), parts
    print(f"{os.path.relpath(path, dc.ROOT)}: {len(everything)} targets over {replicas} shards "
          f"({', '.join(str(len(p)) for p in parts)})")


def main():
    if (skip := ps.skip_or_arm(BUDGET_S, dc.SKIP)) is not None:
        return skip
    tmp = tempfile.mkdtemp(prefix="vitals-shard-")
    try:
        against_prometheus(tmp)
        four_shards(tmp)
        shipped_statefulset(tmp)
        bad = subprocess.run([VITALSD, "--shard", "4/4", "--print-targets"], capture_output=True,
                             text=True, timeout=30)
        assert bad.returncode == 2 and "i must be below N" in bad.stderr, bad
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
