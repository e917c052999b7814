"""The engine from Python: registration, Python checks (sync and async), the contract (deadline
enforced, never two runs in parallel, no pass before the first result, redaction), shutdown,
SIGTERM and fork. No external server: waits are on the engine's own updates, bounded."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import threading
import time

import pytest

import vitals
from conftest import threads_of


def wait_until(svc: vitals.Service, pred, timeout: float = 5.0):
    """Waits for engine updates (not sleeps) until pred() is true; fails after timeout."""
    deadline = time.monotonic() + timeout
    while not pred():
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"condition not reached in {timeout}s: {svc.checks()}")
        svc.wait_for_update(min(left, 0.5))


def state(svc: vitals.Service, name: str) -> dict:
    return next(c for c in svc.checks() if c["name"] == name)


def ran(svc, name):
    return lambda: state(svc, name)["runs"] > 0


# -- registration -------------------------------------------------------------------------------

def test_registry_validates_at_add():
    reg = vitals.Registry()
    reg.add("a", lambda: True)
    with pytest.raises(ValueError, match="duplicate"):
        reg.add("a", lambda: True)
    with pytest.raises(ValueError, match="timeout"):
        reg.add("b", lambda: True, interval=1, timeout=2)
    with pytest.raises(ValueError, match="name"):
        reg.add("no spaces", lambda: True)
    with pytest.raises(ValueError, match="probe"):
        reg.add("c", lambda: True, probes="readiness")
    with pytest.raises(TypeError, match="callable"):
        reg.add("d", 42)
    with pytest.raises(TypeError, match="timedelta"):
        reg.add("e", lambda: True, interval="10s")
    # a dependency is refused in the live probe unless allowed
    with pytest.raises(ValueError, match="live"):
        reg.add("f", lambda: True, probes=vitals.LIVE, dependency=True)
    reg.add("g", lambda: True, probes=vitals.LIVE, dependency=True, allow_in_live=True)
    reg.add("h", lambda: True, probes=["ready", "startup"], interval=datetime.timedelta(seconds=5),
            timeout=datetime.timedelta(milliseconds=1500))
    assert reg.names == ["a", "g", "h"] and len(reg) == 3


def test_unknown_before_first_result_never_pass():
    reg = vitals.Registry().add("slow", lambda: True, initial_delay=60)
    svc = vitals.Service(reg).start()
    try:
        assert svc.status(vitals.READY) == vitals.Status.UNKNOWN
        assert svc.status(vitals.LIVE) == vitals.Status.PASS  # a young process is alive
        h = svc.handler()
        assert h.handle("GET", "/readyz")[0] == 503
        assert h.handle("GET", "/livez")[0] == 200
    finally:
        svc.stop()


# -- what a Python check returns ----------------------------------------------------------------

def test_return_values_and_exceptions():
    def boom():
        raise RuntimeError("connect to postgres://app:hunter2@db:5432/x failed")

    reg = vitals.Registry()
    reg.add("none", lambda: None)
    reg.add("true", lambda: True)
    reg.add("false", lambda: False)
    reg.add("warned", lambda: vitals.warn("backlog 12000").observe(12000, "jobs"))
    reg.add("failed", lambda: vitals.fail("no leader", vitals.FailureKind.PROTOCOL))
    reg.add("raises", boom)
    reg.add("secret", lambda: vitals.fail("token s3cr3t-v4lue rejected"), secrets=["s3cr3t-v4lue"])
    reg.add("wrong", lambda: "fine")
    svc = vitals.Service(reg).start()
    try:
        wait_until(svc, lambda: all(c["runs"] > 0 for c in svc.checks()))
        s = {c["name"]: c for c in svc.checks()}
        assert s["none"]["status"] == s["true"]["status"] == vitals.Status.PASS
        assert (s["false"]["status"], s["false"]["kind"]) == (vitals.Status.FAIL,
                                                              vitals.FailureKind.ASSERTION)
        assert s["warned"]["status"] == vitals.Status.WARN and s["warned"]["output"] == "backlog 12000"
        assert s["failed"]["kind"] == vitals.FailureKind.PROTOCOL
        assert s["raises"]["kind"] == vitals.FailureKind.INTERNAL
        assert s["raises"]["output"].startswith("RuntimeError: connect to postgres://app:***@db")
        assert "hunter2" not in s["raises"]["output"]
        assert "s3cr3t-v4lue" not in s["secret"]["output"] and "***" in s["secret"]["output"]
        assert s["wrong"]["kind"] == vitals.FailureKind.INTERNAL and "str" in s["wrong"]["output"]
        body = svc.handler(details="everyone").handle("GET", "/health")[2]
        assert b"hunter2" not in body and b"s3cr3t-v4lue" not in body and b"12000" in body
        stats = svc.stats()
        assert stats["checks"] == 8 and stats["results"] >= 8 and stats["events_dropped"] == 0
    finally:
        svc.stop()


def test_result_objects():
    r = vitals.warn("disk 91%").observe(91.5, "percent").detail("mount", "/")
    assert r.status == vitals.Status.WARN and r.observed == 91.5 and r.unit == "percent"
    assert r.details == [("mount", "/")]
    assert vitals.ok().status == vitals.Status.PASS
    assert vitals.fail("x").kind == vitals.FailureKind.ASSERTION
    assert "warn" in repr(r) and str(vitals.Status.FAIL) == "fail"


# -- the contract -------------------------------------------------------------------------------

def test_hung_check_times_out_once_never_runs_twice_threads_flat():
    calls = []
    never = threading.Event()

    def hangs():
        calls.append(time.monotonic())
        never.wait()  # never returns (until the test releases it)

    reg = vitals.Registry().add("hang", hangs, interval=0.3, timeout=0.1)
    svc = vitals.Service(reg).start()
    try:
        wait_until(svc, lambda: state(svc, "hang")["kind"] == vitals.FailureKind.TIMEOUT)
        t0 = time.monotonic()
        s = state(svc, "hang")
        assert s["status"] == vitals.Status.FAIL and "timed out" in s["output"]
        threads = threads_of(os.getpid())
        # three intervals later: still one call in flight, no new thread
        while time.monotonic() - t0 < 1.0:
            svc.wait_for_update(0.2)
        assert len(calls) == 1
        assert threads_of(os.getpid()) == threads
        assert svc.status() == vitals.Status.FAIL
        # /readyz answers at once while the check hangs
        h = svc.handler()
        t = time.perf_counter()
        for _ in range(100):
            assert h.handle("GET", "/readyz")[0] == 503
        assert (time.perf_counter() - t) / 100 < 0.01
    finally:
        never.set()
        svc.stop()


def test_gil_released_while_the_engine_waits():
    """A Python thread keeps running while another waits on the engine and checks run."""
    reg = vitals.Registry().add("sleepy", lambda: time.sleep(0.05), interval=0.2, timeout=0.1)
    svc = vitals.Service(reg).start()
    count = 0
    stop = threading.Event()

    def spin():
        nonlocal count
        while not stop.is_set():
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = count
        svc._engine.wait_for_update(2**62, 0.3)  # no such generation: waits the full 0.3 s
        assert count - before > 10_000
    finally:
        stop.set()
        t.join()
        svc.stop()


class LoopThread:
    """An application event loop on its own thread (as uvicorn's or aiohttp's would be)."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def test_async_check_runs_on_the_bound_loop_with_its_deadline():
    app = LoopThread()
    seen = {}
    cancelled = threading.Event()

    async def on_loop():
        seen["loop"] = asyncio.get_running_loop()
        await asyncio.sleep(0)
        return vitals.ok().observe(1, "x")

    async def forever():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    reg = vitals.Registry()
    reg.add("async", on_loop, interval=0.5, timeout=0.2)
    reg.add("forever", forever, interval=0.5, timeout=0.2)
    svc = vitals.Service(reg, loop=app.loop).start()
    try:
        wait_until(svc, lambda: state(svc, "async")["runs"] > 0 and state(svc, "forever")["runs"] > 0)
        assert state(svc, "async")["status"] == vitals.Status.PASS
        assert seen["loop"] is app.loop
        f = state(svc, "forever")
        assert (f["status"], f["kind"]) == (vitals.Status.FAIL, vitals.FailureKind.TIMEOUT)
        assert cancelled.wait(2), "the coroutine was not cancelled at its deadline"
    finally:
        svc.stop()
        app.stop()


def test_a_stalled_application_loop_shows_as_a_timeout():
    app = LoopThread()

    async def ping():
        return True

    reg = vitals.Registry().add("loop", ping, interval=0.3, timeout=0.1)
    svc = vitals.Service(reg, loop=app.loop).start()
    try:
        wait_until(svc, lambda: state(svc, "loop")["status"] == vitals.Status.PASS)
        app.loop.call_soon_threadsafe(time.sleep, 1.0)  # blocks the loop: a stall
        wait_until(svc, lambda: state(svc, "loop")["kind"] == vitals.FailureKind.TIMEOUT)
        wait_until(svc, lambda: state(svc, "loop")["status"] == vitals.Status.PASS, timeout=5)
    finally:
        svc.stop()
        app.stop()


def test_async_check_without_a_bound_loop_runs_on_vitals_loop():
    async def check():
        await asyncio.sleep(0.01)
        return threading.current_thread().name

    def ok_on_private():
        name = asyncio.run_coroutine_threadsafe(check(), vitals._runner.private_loop()).result(1)
        return name == "vitals-asyncio"

    reg = vitals.Registry().add("a", check, interval=1, timeout=0.5)
    svc = vitals.Service(reg).start()
    try:
        wait_until(svc, ran(svc, "a"))
        # it returned a str (the thread's name): reported as a wrong return type, which tells
        # us the coroutine did run and its value came back
        assert "str" in state(svc, "a")["output"]
        assert ok_on_private()
    finally:
        svc.stop()


# -- shutdown, SIGTERM --------------------------------------------------------------------------

def test_begin_shutdown_fails_readiness_keeps_liveness():
    reg = vitals.Registry().add("a", lambda: True, probes=["live", "ready"])
    svc = vitals.Service(reg).start()
    try:
        wait_until(svc, ran(svc, "a"))
        assert svc.status("ready") == vitals.Status.PASS
        svc.begin_shutdown()
        assert svc.status("ready") == vitals.Status.FAIL
        assert svc.status("live") == vitals.Status.PASS
        h = svc.handler()
        assert h.handle("GET", "/readyz")[0] == 503 and h.handle("GET", "/livez")[0] == 200
    finally:
        svc.stop()


def test_sigterm_begins_shutdown_then_calls_the_previous_handler():
    got = []
    previous = signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
    try:
        reg = vitals.Registry().add("a", lambda: True)
        svc = vitals.Service(reg).start(handle_sigterm=True)
        wait_until(svc, ran(svc, "a"))
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 2
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)  # the signal is delivered between bytecodes of this thread
        assert got == [signal.SIGTERM]
        assert svc.shutting_down and svc.status("ready") == vitals.Status.FAIL
        svc.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- fork ---------------------------------------------------------------------------------------

def test_forked_child_gets_its_own_engine():
    calls_r, calls_w = os.pipe()

    def check():
        os.write(calls_w, f"{os.getpid()}\n".encode())
        return True

    reg = vitals.Registry().add("p", check, interval=0.2, timeout=0.1)
    svc = vitals.Service(reg).start()
    h = svc.handler()
    wait_until(svc, ran(svc, "p"))
    pid = os.fork()
    if pid == 0:  # the child: its own engine, its own runs, a handler rebound to it
        code = 1
        try:
            deadline = time.monotonic() + 5
            while state(svc, "p")["runs"] == 0 and time.monotonic() < deadline:
                svc.wait_for_update(0.5)
            ok_child = (state(svc, "p")["runs"] > 0 and h.handle("GET", "/readyz")[0] == 200
                        and svc.status() == vitals.Status.PASS)
            code = 0 if ok_child else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    svc.stop()
    os.close(calls_w)
    pids = {int(x) for x in os.read(calls_r, 1 << 16).split()}
    os.close(calls_r)
    assert os.waitstatus_to_exitcode(status) == 0
    assert pid in pids and os.getpid() in pids  # both processes checked, each on its own engine


def test_a_service_started_after_fork_in_the_child_only():
    reg = vitals.Registry().add("a", lambda: True, interval=0.2, timeout=0.1)
    svc = vitals.Service(reg)  # created before the fork (an app module imported by the master)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            svc.start()
            deadline = time.monotonic() + 5
            while state(svc, "a")["runs"] == 0 and time.monotonic() < deadline:
                svc.wait_for_update(0.5)
            code = 0 if svc.status() == vitals.Status.PASS else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not svc.started and state(svc, "a")["runs"] == 0  # the parent never checked


EXIT_SCRIPT = r"""
import asyncio, threading, time, vitals
never = threading.Event()

async def forever():
    await asyncio.Event().wait()

def spins():  # pure Python holding the GIL most of the time
    while True:
        sum(range(10_000))

reg = vitals.Registry()
reg.add("waits", never.wait, interval=0.3, timeout=0.1)
reg.add("spins", spins, interval=0.3, timeout=0.1)
reg.add("coroutine", forever, interval=0.3, timeout=0.1)
svc = vitals.Service(reg).start()
h = svc.handler()
# daemon threads inside the engine's calls, GIL released, when the interpreter exits
threading.Thread(target=lambda: svc._engine.wait_for_update(2**62, 60), daemon=True).start()
threading.Thread(target=lambda: [h.handle("GET", "/readyz") for _ in iter(int, 1)],
                 daemon=True).start()
while any(c["runs"] == 0 for c in svc.checks()):
    svc.wait_for_update(1)
time.sleep(0.3)
print(sorted((c["name"], str(c["kind"])) for c in svc.checks()))
"""


def test_interpreter_exit_with_hung_checks_and_busy_threads_is_clean():
    """At exit Python ends daemon threads that ask for the GIL with pthread_exit(): no engine
    thread may be one of them, and none of our frames may stop the unwinding (abort)."""
    import subprocess
    import sys
    for _ in range(3):
        r = subprocess.run([sys.executable, "-X", "dev", "-c", EXIT_SCRIPT], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "('coroutine', 'timeout'), ('spins', 'timeout'), ('waits', 'timeout')" in r.stdout
