"""A real Prometheus for the tests of deploy/: started on 127.0.0.1 on a free port with its
TSDB in a temporary directory, stopped by PID and cleaned up on exit, whatever happens
(exception, SIGTERM from ctest, or the parent dying: PR_SET_PDEATHSIG)."""
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

PROMETHEUS = os.environ.get("PROMETHEUS", "prometheus")
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def skip_or_arm(budget_s, skip_code=77):
    """The start of every test that needs Prometheus: returns skip_code (printing why) if it is
    not installed; else arms a SIGALRM budget of budget_s seconds (below ctest's TIMEOUT, so the
    test finishes and cleans up on its own) and returns None."""
    if shutil.which(PROMETHEUS) is None:
        print(f"SKIP: {PROMETHEUS} not found")
        return skip_code
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("test budget")))
    signal.alarm(budget_s)
    return None


class Prometheus:
    def __init__(self, base, port, proc, log):
        self.base, self.port, self.proc, self.log = base, port, proc, log

    def get(self, path, timeout=10, **params):
        """GETs path with params; returns the decoded JSON body, also for an HTTP 4xx/5xx
        (the API answers errors with a JSON body and "status": "error")."""
        url = f"{self.base}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return json.loads(body)
            except ValueError:
                return {"status": "error", "error": f"HTTP {e.code}: {body[:200]!r}"}

    def query(self, expr, **params):
        return self.get("/api/v1/query", query=expr, **params)

    def log_tail(self, n=20):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])


def _wait_ready(base, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)   # our child, by PID (Popen.pid)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def prometheus(config_text, files=None, start_timeout=30, extra_args=()):
    """Yields a Prometheus serving config_text (YAML). files: {name: text} written next to
    the configuration (rule files). Tries another port if the chosen one was taken."""
    if shutil.which(PROMETHEUS) is None:
        raise FileNotFoundError(PROMETHEUS)
    tmp = tempfile.mkdtemp(prefix="vitals-deploy-prom-")
    proc = None
    previous = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    try:
        with open(os.path.join(tmp, "prometheus.yml"), "w", encoding="utf-8") as f:
            f.write(config_text)
        for name, text in (files or {}).items():
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        for attempt in range(3):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = os.path.join(tmp, f"prometheus-{attempt}.log")
            with open(log, "w") as logf:
                proc = subprocess.Popen(
                    [PROMETHEUS, f"--config.file={tmp}/prometheus.yml",
                     f"--storage.tsdb.path={tmp}/data", f"--web.listen-address=127.0.0.1:{port}",
                     "--log.level=warn", *extra_args],
                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                    cwd=tmp, preexec_fn=_die_with_parent)
            if _wait_ready(base, proc, time.monotonic() + start_timeout):
                yield Prometheus(base, port, proc, log)
                return
            _stop(proc)
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if "address already in use" not in text:
                raise RuntimeError(f"prometheus did not become ready:\n{text[-3000:]}")
        raise RuntimeError("prometheus: no free port after 3 attempts")
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
