#!/usr/bin/env python3
"""/metrics end to end, on loopback, bounded in time:

  promtool   every example config (and the built-in one) is run by the real vitalsd; a real
             scrape of each, in both formats, is linted by `promtool check metrics` (nothing
             reported) and the OpenMetrics one ends with `# EOF`.
  prometheus a real Prometheus (Debian `prometheus`, started by tests/deploy/prometheus_server.py)
             scrapes vitalsd every second; a TCP
             dependency (a listener this test owns) is closed: Prometheus' HTTP API then
             returns the failing status of that check and a rising failure counter.

Usage: metrics_test.py <vitalsd> <examples/configs dir> {promtool|prometheus}
Exit 77 (skipped) when promtool / prometheus is not installed.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy"))
import prometheus_server  # noqa: E402  (tests/deploy/prometheus_server.py)

TOKEN = "metrics-test-token-5f1c"
DEADLINE = 60.0  # seconds, for any single wait


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, timeout=3.0):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def status_of(url):
    try:
        return get(url)[0]
    except urllib.error.HTTPError as e:
        return e.code


def wait_for(what, probe, limit=DEADLINE):
    end = time.monotonic() + limit
    last = None
    while time.monotonic() < end:
        try:
            value = probe()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 — the server may not be up yet
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


class Process:
    """A child we started, stopped by PID whatever happens."""

    def __init__(self, argv, log, env=None):
        self.log = open(log, "wb")
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.log.close()


def vitalsd_config(text, port):
    """An example config on a free loopback port, with a token to scrape it."""
    text = re.sub(r"(?m)^listen:.*$", f"listen: 127.0.0.1:{port}", text)
    if not re.search(r"(?m)^auth:", text):
        text += f"\nauth:\n  token: {TOKEN}\n"
    return text


def start_vitalsd(vitalsd, config_text, tmp, name):
    port = free_port()
    path = os.path.join(tmp, f"{name}.yaml")
    with open(path, "w") as f:
        f.write(vitalsd_config(config_text, port))
    env = dict(os.environ, VITALS_TOKEN=TOKEN)
    proc = Process([vitalsd, "-c", path], os.path.join(tmp, f"{name}.log"), env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"vitalsd ({name}) to listen", lambda: get(base + "/livez")[0] == 200)
    except AssertionError:
        proc.stop()
        with open(os.path.join(tmp, f"{name}.log")) as f:
            sys.stderr.write(f.read())
        raise
    return proc, base


def lint(body, what):
    r = subprocess.run(["promtool", "check", "metrics"], input=body.encode(),
                       capture_output=True, timeout=30)
    report = (r.stdout + r.stderr).decode().strip()
    assert r.returncode == 0 and not report, f"promtool check metrics on {what}:\n{report}"


def test_promtool(vitalsd, configs, names_file):
    if shutil.which("promtool") is None:
        return 77
    tmp = tempfile.mkdtemp(prefix="vitals-metrics-")
    try:
        default = subprocess.run([vitalsd, "--print-default"], capture_output=True, text=True,
                                 timeout=10, check=True).stdout
        cases = [("built-in", default)]
        for name in sorted(os.listdir(configs)):
            if name.endswith(".yaml"):
                with open(os.path.join(configs, name)) as f:
                    cases.append((name, f.read()))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        seen = set()
        for name, text in cases:
            proc, base = start_vitalsd(vitalsd, text, tmp, name.replace(".yaml", ""))
            try:
                # Wait for every check's first result, so that every family has samples.
                def settled():
                    for probe in ("/livez", "/readyz", "/startupz"):  # on-demand checks run
                        status_of(base + probe)
                    body = get(base + "/metrics", auth)[2]
                    return 'status="unknown"} 1' not in body and body
                body = wait_for(f"first results of {name}", settled)
                if "details: everyone" not in text:
                    assert status_of(base + "/metrics") == 401, f"{name}: anonymous scrape"
                lint(body, f"{name} (text 0.0.4)")
                status, ctype, om = get(base + "/metrics", dict(
                    auth, Accept="application/openmetrics-text;version=1.0.0"))
                assert status == 200 and ctype.startswith("application/openmetrics-text"), ctype
                assert om.endswith("# EOF\n"), f"{name}: OpenMetrics without # EOF"
                assert TOKEN not in body and TOKEN not in om, f"{name}: token in /metrics"
                seen.update(re.findall(r"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]", body))
                print(f"ok {name}: {body.count(chr(10))} lines, promtool clean")
            finally:
                proc.stop()
        # The names the shipped rules and dashboard may use (tests/deploy/metric_names.txt) are
        # all served; the notifiers' and HTTPS's appear only with those configured.
        with open(names_file) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                metric = line.split()[-1]
                if "_notifier_" in metric or "_tls_" in metric:
                    continue
                if line.startswith("histogram "):
                    metric += "_bucket"
                assert metric in seen, f"{metric} (tests/deploy/metric_names.txt) never served"
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def query(prom, expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    data = json.loads(get(url)[2])
    assert data["status"] == "success", data
    return data["data"]["result"]


def scalar(prom, expr):
    r = query(prom, expr)
    return float(r[0]["value"][1]) if r else None


def test_prometheus(vitalsd):
    if shutil.which("prometheus") is None:
        return 77
    tmp = tempfile.mkdtemp(prefix="vitals-prom-")
    dep = socket.socket()
    dep.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    dep.bind(("127.0.0.1", 0))
    dep.listen(64)
    dep_port = dep.getsockname()[1]
    procs = []
    try:
        # Prometheus scrapes the metrics listener: anonymous there, while the main port keeps
        # the default rule (details and /metrics need the token).
        metrics_port = free_port()
        config = f"""listen: 127.0.0.1:0
metrics_listen: 127.0.0.1:{metrics_port}
service:
  id: metrics-test
checks:
  - name: dependency
    type: tcp
    host: 127.0.0.1
    port: {dep_port}
    interval: 500ms
    timeout: 200ms
"""
        vd, base = start_vitalsd(vitalsd, config, tmp, "vitalsd")
        procs.append(vd)
        target = f"127.0.0.1:{metrics_port}"
        assert status_of(base + "/metrics") == 401, "main port: anonymous scrape"
        assert status_of(f"http://{target}/readyz") == 404, "metrics port serves /metrics only"
        scrape = f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vitals
    static_configs:
      - targets: ["{target}"]
"""
        # The deploy tests' real Prometheus: a free port, a temporary TSDB, stopped by PID.
        with prometheus_server.prometheus(scrape) as prom:
            p = prom.base
            wait_for("the target to be up", lambda: scalar(p, 'up{job="vitals"}') == 1)
            wait_for("a passing dependency", lambda: scalar(
                p, 'vitals_check_status{check="dependency",status="pass"}') == 1)
            # Prometheus negotiated OpenMetrics: the info family is kept as vitals_build_info.
            assert scalar(p, 'vitals_build_info{job="vitals"}') == 1

            dep.close()  # the dependency goes away: connections to it are refused
            wait_for("the failing status in Prometheus", lambda: scalar(
                p, 'vitals_check_status{check="dependency",status="fail"}') == 1)
            expr = 'vitals_check_failures_total{check="dependency",kind="refused"}'
            first = wait_for("a failure counter", lambda: scalar(p, expr))
            wait_for("the failure counter to rise", lambda: (scalar(p, expr) or 0) > first)
            assert scalar(p, 'vitals_probe_status{probe="ready",status="fail"}') == 1
            assert scalar(p, 'vitals_probe_http_code{probe="ready"}') == 503
        print(f"ok: Prometheus sees the dependency failing, failures {first} and rising")
        return 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        try:
            dep.close()
        except OSError:
            pass
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    vitalsd, configs, which = sys.argv[1], sys.argv[2], sys.argv[3]
    if which == "promtool":
        names = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                             "metric_names.txt")
        return test_promtool(vitalsd, configs, names)
    if which == "prometheus":
        return test_prometheus(vitalsd)
    print(f"unknown test {which}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
