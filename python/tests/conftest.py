"""Shared fixtures: the real servers of scripts/test-servers.sh (skipped without them, failed
when VITALS_REQUIRE_SERVERS=1), freezing a server, and application servers started as real
processes on loopback, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable


def _server_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        if os.environ.get("VITALS_REQUIRE_SERVERS") == "1":
            pytest.fail(f"{name} is not set: start scripts/test-servers.sh")
        pytest.skip(f"{name} not set (scripts/test-servers.sh start; source its env.sh)")
    return value


@pytest.fixture
def pg_url() -> str:
    return _server_env("VITALS_TEST_PG_URL")


@pytest.fixture
def pg_pid() -> int:
    return int(_server_env("VITALS_TEST_PG_PID"))


@pytest.fixture
def redis_url() -> str:
    return _server_env("VITALS_TEST_REDIS_URL")


def secret_of(url: str) -> str:
    """The password of a URL like postgres://user:secret@host/db."""
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


@contextlib.contextmanager
def frozen(pid: int):
    """SIGSTOPs a process (and the children of a postmaster) for the block, SIGCONTs after."""
    pids = [pid] + children_of(pid)
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    try:
        yield
    finally:
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, signal.SIGCONT)


def children_of(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (d / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def threads_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise RuntimeError("no Threads line")


def get(url: str, token: str = "", timeout: float = 5.0, method: str = "GET"):
    """(status, headers, body) of one request; never raises on HTTP errors."""
    req = urllib.request.Request(url, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class AppServer:
    """An application server (gunicorn, uvicorn, aiohttp) as a real process on a free port."""

    def __init__(self, argv: list[str], port: int, env: dict, cwd: Path):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = open(cwd / f"server-{port}.log", "w+b")
        self.proc = subprocess.Popen(argv, env=env, cwd=str(cwd), stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path: str = "/livez", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.output()}")
            with contextlib.suppress(OSError):
                status, _, _ = get(self.base + path, timeout=1)
                if status in (200, 503):
                    return
            time.sleep(0.05)
        raise RuntimeError(f"server not up after {timeout}s:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: only what we started
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@pytest.fixture
def serve(tmp_path):
    started: list[AppServer] = []

    def start(argv: list[str], env: dict | None = None, wait: str = "/livez") -> AppServer:
        port = free_port()
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = os.pathsep.join(
            [str(APPS), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        argv = [a.replace("{port}", str(port)) for a in argv]
        srv = AppServer(argv, port, full_env, tmp_path)
        started.append(srv)
        srv.wait_ready(wait)
        return srv

    yield start
    for srv in started:
        srv.stop()
        srv.log.close()
