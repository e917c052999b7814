"""The C++ check types from Python, against the real PostgreSQL and Redis of
scripts/test-servers.sh: their keys, errors that never echo a secret, kept connections, a frozen
server (SIGSTOP) answered at once and reported fail/timeout at the deadline; and the stub."""

from __future__ import annotations

import ast
import datetime
import time
from pathlib import Path

import pytest

import vitals
import vitals.checks
from conftest import frozen, secret_of


def settle(svc: vitals.Service, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while any(c["runs"] == 0 for c in svc.checks()):
        assert time.monotonic() < deadline, svc.checks()
        svc.wait_for_update(0.5)
    return {c["name"]: c for c in svc.checks()}


def test_keys_are_checked_and_never_echoed():
    with pytest.raises(TypeError, match="unexpected keyword argument 'uri'.*keys: url"):
        vitals.checks.postgres(uri="postgres://u:pw@h/db")
    with pytest.raises(TypeError, match="missing required keyword argument 'host'"):
        vitals.checks.tcp(port=5432)
    with pytest.raises(TypeError, match=r"tcp\(port=...\): expected an int"):
        vitals.checks.tcp(host="localhost", port="5432")
    with pytest.raises(ValueError, match=r"port=...\): out of range"):
        vitals.checks.tcp(host="localhost", port=70000)
    with pytest.raises(ValueError, match="sslmode=...\\): must be one of disable"):
        vitals.checks.postgres(url="postgres://u:pw@h/db", sslmode="sometimes")
    with pytest.raises(ValueError, match="no check type for this URL"):
        vitals.checks.from_url("gopher://x")
    with pytest.raises(ValueError, match="unknown check type"):
        vitals._vitals.make_builtin("nosuch", {})
    try:
        vitals.checks.redis(url="redis://:pa55word-x@h:6379/0", nope=1)
    except TypeError as e:
        assert "pa55word-x" not in str(e)
    spec = vitals.checks.postgres(url="postgres://app:pa55word-y@db/x")
    assert "pa55word-y" not in repr(spec) and repr(spec) == "<vitals.checks.postgres>"
    assert vitals.checks.tcp(host="h", port=1, send=None)  # None = the key's default


def test_every_type_is_a_function_with_its_keys():
    names = set(vitals.checks.TYPES)
    assert {"postgres", "redis", "http", "tcp", "mysql", "grpc", "disk", "sqlite"} <= names
    import inspect
    sig = inspect.signature(vitals.checks.postgres)
    assert "url" in sig.parameters and "keep_connection" in sig.parameters
    assert "PostgreSQL" in vitals.checks.postgres.__doc__


def test_the_stub_names_every_type_and_key():
    """checks.pyi is what editors complete: it must list exactly the engine's types and keys."""
    stub = Path(vitals.checks.__file__).with_suffix(".pyi")
    tree = ast.parse(stub.read_text())
    funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    for name, desc in vitals.checks.TYPES.items():
        assert name in funcs, f"checks.pyi lacks {name}() (regenerate: python -m vitals._stub)"
        keys = [a.arg for a in funcs[name].args.kwonlyargs]
        assert keys == [k["name"] for k in desc["keys"]], f"checks.pyi: {name}() keys differ"
    assert set(funcs) - {"from_url"} == set(vitals.checks.TYPES)


def test_postgres_and_redis_pass_and_keep_one_connection(pg_url, redis_url):
    reg = vitals.Registry()
    reg.add("pg", vitals.checks.postgres(url=pg_url, application_name="vitals-py-keep"),
            interval=0.2, timeout=0.15)
    reg.add("redis", vitals.checks.redis(url=redis_url), interval=0.2, timeout=0.15)
    reg.add("url", vitals.checks.from_url(pg_url), interval=0.2, timeout=0.15)
    svc = vitals.Service(reg).start()
    try:
        s = settle(svc)
        assert all(c["status"] == vitals.Status.PASS for c in s.values()), s
        runs = s["pg"]["runs"]
        while state_runs(svc, "pg") < runs + 3:
            svc.wait_for_update(1)
        psycopg2 = pytest.importorskip("psycopg2")
        with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                        ("vitals-py-keep",))
            assert cur.fetchone()[0] == 1  # one kept connection for every run
        conn.close()
    finally:
        svc.stop()


def state_runs(svc, name):
    return next(c["runs"] for c in svc.checks() if c["name"] == name)


def test_wrong_password_is_auth_and_redacted(pg_url, redis_url):
    bad_pg = pg_url.replace(secret_of(pg_url), "wr0ng-pg-pass")
    bad_redis = redis_url.replace(secret_of(redis_url), "wr0ng-redis-pass")
    reg = vitals.Registry()
    reg.add("pg", vitals.checks.postgres(url=bad_pg), interval=1, timeout=0.9)
    reg.add("redis", vitals.checks.redis(url=bad_redis), interval=1, timeout=0.9)
    svc = vitals.Service(reg).start()
    try:
        s = settle(svc)
        for c in s.values():
            assert (c["status"], c["kind"]) == (vitals.Status.FAIL, vitals.FailureKind.AUTH), c
        h = svc.handler(details="everyone")
        for path in ("/health", "/readyz?verbose", "/metrics"):
            body = h.handle("GET", path)[2]
            assert b"wr0ng-pg-pass" not in body and b"wr0ng-redis-pass" not in body
    finally:
        svc.stop()


def test_frozen_postgres_answers_at_once_and_times_out_at_the_deadline(pg_url, pg_pid):
    reg = vitals.Registry()
    reg.add("pg", vitals.checks.postgres(url=pg_url), interval=datetime.timedelta(seconds=2),
            timeout=datetime.timedelta(milliseconds=500))
    svc = vitals.Service(reg).start()
    h = svc.handler()
    try:
        assert settle(svc)["pg"]["status"] == vitals.Status.PASS
        while state_runs(svc, "pg") < 2:  # the next run starts while frozen
            svc.wait_for_update(1)
        with frozen(pg_pid):
            t0 = time.monotonic()
            took = []
            timed_out_at = None
            while time.monotonic() - t0 < 3.0:
                t = time.perf_counter()
                status = h.handle("GET", "/readyz")[0]
                took.append(time.perf_counter() - t)
                c = svc.checks()[0]
                if timed_out_at is None and c["kind"] == vitals.FailureKind.TIMEOUT:
                    timed_out_at = time.monotonic()
                    assert status == 503
                time.sleep(0.005)
            took.sort()
            p95 = took[int(len(took) * 0.95) - 1]
            # never waits on the database (its timeout is 500 ms); the slowest few are the
            # scheduler's and the GIL's switch interval (5 ms) on a busy machine
            assert p95 < 0.010 and took[-1] < 0.100, (p95, took[-1])
            assert timed_out_at is not None, svc.checks()
            assert "timed out after 500ms" in svc.checks()[0]["output"]
        # thawed: passes again on the next runs
        deadline = time.monotonic() + 10
        while svc.checks()[0]["status"] != vitals.Status.PASS:
            assert time.monotonic() < deadline, svc.checks()
            svc.wait_for_update(1)
    finally:
        svc.stop()
