"""`pip install --no-build-isolation ./python` as a user does it: into a virtual environment
that sees Debian's packages (setuptools, the frameworks), with no index (no network). The
module is built by the repository's CMake build (reused from this build tree: only the module
target, already up to date, so the test checks the packaging, not the compiler's speed)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conftest import PYTHON

SOURCE = Path(os.environ.get("VITALS_SOURCE_DIR", Path(__file__).resolve().parents[2]))

SMOKE = r"""
import os, sys, vitals, vitals.wsgi, vitals.checks
assert "site-packages" in vitals.__file__, vitals.__file__
assert os.path.exists(os.path.join(os.path.dirname(vitals.__file__), "checks.pyi"))
reg = vitals.Registry().add("disk", vitals.checks.disk(path="/"), probes=["live", "ready"])
svc = vitals.Service(reg).start()
while svc.checks()[0]["runs"] == 0:
    svc.wait_for_update(1)
app = vitals.wsgi.middleware(lambda e, s: [], svc)
got = []
body = app({"REQUEST_METHOD": "GET", "PATH_INFO": "/livez"}, lambda st, h: got.append(st))
print(got[0], b"".join(body).decode())
"""


def test_pip_install_into_a_venv(tmp_path):
    build = os.environ.get("VITALS_BUILD_DIR")
    if not build:
        pytest.skip("VITALS_BUILD_DIR not set (run through ctest)")
    venv = tmp_path / "venv"
    r = subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"python3 -m venv failed (Debian: python3-venv): {r.stderr}")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["VITALS_CMAKE_BUILD_DIR"] = str(Path(build).resolve())
    r = subprocess.run([str(venv / "bin" / "pip"), "install", "--no-build-isolation", "--no-index",
                        "--no-cache-dir", "--no-deps", str(SOURCE / "python")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = subprocess.run([str(venv / "bin" / "python"), "-c", SMOKE], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "200 OK ok", r.stdout
