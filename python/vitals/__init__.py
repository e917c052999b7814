"""vitals for Python: the vitals health-check engine (C++) inside a Python web service.

    import vitals
    reg = vitals.Registry()
    reg.add("db", vitals.checks.postgres(url=DATABASE_URL), probes=vitals.READY | vitals.STARTUP,
            interval=5, timeout=2)
    reg.add("queue", lambda: len(jobs) < 10_000)
    svc = vitals.Service(reg)
    svc.start()
    app.wsgi_app = vitals.wsgi.middleware(app.wsgi_app, svc)   # /livez /readyz /startupz /health

Checks run in the background on the engine's threads, on their own schedule; an endpoint reads
the latest result and never runs a check. See docs/python.md.
"""

from __future__ import annotations

import asyncio
import atexit
import datetime
import enum
import inspect
import logging
import os
import signal
import threading
import weakref
from typing import Any, Callable, Iterable, Optional, Union

from . import _vitals
from ._vitals import FailureKind, Result, Status, fail, ok, warn
from ._runner import private_loop, worker

__all__ = [
    "Registry", "Service", "Probe", "Status", "FailureKind", "Result", "ok", "warn", "fail",
    "LIVE", "READY", "STARTUP", "checks", "wsgi", "asgi",
]
__version__ = "0.1.0"

# "pass", "fail", "timeout", ...: the words of the endpoints and of vitalsd's logs.
Status.__str__ = FailureKind.__str__ = lambda self: self.name.lower()  # type: ignore

Seconds = Union[int, float, datetime.timedelta]
_log = logging.getLogger("vitals")


class Probe(enum.IntFlag):
    """The probes a check counts in: ``vitals.READY | vitals.STARTUP``."""

    LIVE = 1
    READY = 2
    STARTUP = 4


LIVE, READY, STARTUP = Probe.LIVE, Probe.READY, Probe.STARTUP
_PROBE_NAMES = {"live": Probe.LIVE, "ready": Probe.READY, "startup": Probe.STARTUP}


def _probe_bits(probes: Union[Probe, str, Iterable[Union[Probe, str]]]) -> int:
    if isinstance(probes, (Probe, int)) and not isinstance(probes, bool):
        return int(probes)
    if isinstance(probes, str):
        probes = [probes]
    bits = 0
    for p in probes:
        if isinstance(p, str):
            if p not in _PROBE_NAMES:
                raise ValueError(f"probes: unknown probe {p!r} (live, ready, startup)")
            p = _PROBE_NAMES[p]
        bits |= int(p)
    return bits


class _Entry:
    """One registered check, as a recipe: a new process (after fork) rebuilds it from this."""

    __slots__ = ("name", "make", "options")

    def __init__(self, name: str, make: Callable[[], Any], options: dict):
        self.name, self.make, self.options = name, make, options


class Registry:
    """The checks a service runs. ``add`` validates at once (ValueError with a clear text)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._check = _vitals.Registry()  # validates names, options and uniqueness as we go

    def add(
        self,
        name: str,
        check: Any,
        *,
        probes: Union[Probe, str, Iterable[Union[Probe, str]]] = Probe.READY,
        critical: bool = True,
        interval: Seconds = 10,
        timeout: Seconds = 2,
        initial_delay: Seconds = 0,
        jitter: float = 0.1,
        on_demand: bool = False,
        ttl_pass: Seconds = 0,
        ttl_fail: Seconds = 0,
        max_staleness: Seconds = 0,
        failure_threshold: int = 1,
        success_threshold: int = 1,
        allow_in_live: bool = False,
        component_type: str = "",
        measurement: str = "",
        dependency: bool = False,
        secrets: Iterable[str] = (),
    ) -> "Registry":
        """Registers ``check``: a built-in (``vitals.checks.postgres(url=...)``) or a callable.

        A callable (sync or ``async def``, with no argument) returns ``None``/``True`` (pass),
        ``False`` (fail), a result (``vitals.warn("...")``), or raises (``fail/internal``).
        ``dependency=True`` marks a callable that reaches outside the process (refused in the
        ``live`` probe unless ``allow_in_live``); ``secrets`` are strings never shown.
        Durations are ``datetime.timedelta`` or seconds.
        """
        if isinstance(check, _vitals.Check):
            raise TypeError("add(): pass the vitals.checks.<type>(...) object itself")
        if isinstance(check, _BuiltinSpec):
            make = check.build
        elif callable(check):
            fn, deps, hidden = check, bool(dependency), [str(s) for s in secrets]
            kind = "python-async" if _is_async(fn) else "python"

            def make(loop=None, threads=None, fn=fn, deps=deps, hidden=hidden, kind=kind,
                     name=name):
                box = _vitals.JobBox()
                if threads is not None:  # a real engine's (not add()'s validation): its thread
                    threads.append((box, worker(box, fn, loop, name)))
                return _vitals.python_check(box, kind, "component", deps, hidden)

        else:
            raise TypeError(
                f"add(): check must be a callable or a vitals.checks object, not "
                f"{type(check).__name__}")
        options = dict(
            probes=_probe_bits(probes), critical=bool(critical), on_demand=bool(on_demand),
            interval=interval, timeout=timeout, initial_delay=initial_delay, jitter=float(jitter),
            ttl_pass=ttl_pass, ttl_fail=ttl_fail, max_staleness=max_staleness,
            failure_threshold=int(failure_threshold), success_threshold=int(success_threshold),
            allow_in_live=bool(allow_in_live), component_type=component_type,
            measurement=measurement)
        self._check.add(name, make(), **options)
        self._entries.append(_Entry(name, make, options))
        return self

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def _build(self, loop: Optional[Callable[[], asyncio.AbstractEventLoop]] = None,
               threads: Optional[list] = None) -> "_vitals.Registry":
        reg = _vitals.Registry()
        for e in self._entries:
            reg.add(e.name, e.make(loop, threads), **e.options)
        return reg


def _is_async(fn: Callable) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None))


class _BuiltinSpec:
    """A built-in check type with its keys (``vitals.checks.redis(url=...)``): built per process."""

    __slots__ = ("type", "kwargs", "url")

    def __init__(self, type_: str, kwargs: Optional[dict] = None, url: Optional[str] = None):
        self.type, self.kwargs, self.url = type_, kwargs or {}, url
        self.build()  # errors now, not at start()

    def build(self, loop: Any = None, threads: Any = None) -> "_vitals.Check":
        if self.url is not None:
            return _vitals.make_from_url(self.url)
        return _vitals.make_builtin(self.type, self.kwargs)

    def __repr__(self) -> str:  # never the keys: they may hold a password
        return f"<vitals.checks.{self.type}>"


def _log_event(what: str, check: str, before: Status, after: Status, kind: FailureKind,
               message: str) -> None:
    if what == "transition":
        level = logging.INFO if after in (Status.PASS, Status.WARN) else logging.WARNING
    elif what == "error":
        level = logging.ERROR
    elif what in ("timeout", "late_result"):
        level = logging.WARNING
    else:
        level = logging.INFO
    _log.log(level, "%s%s", f"{check}: " if check else "", message)


_services: "weakref.WeakSet[Service]" = weakref.WeakSet()


class Service:
    """The engine: runs the registry's checks in the background and serves their results.

        svc = vitals.Service(reg, service_id="orders", version="1.4.2")
        svc.start()            # threads start here (and again in each forked worker)
        svc.begin_shutdown()   # readiness fails at once, liveness stays up

    Fork-safe: a process forked from one where the engine runs (gunicorn and uWSGI workers)
    gets an engine of its own, started in the child, with its own connections; the parent's is
    never touched by the child. ``on_event(what, check, before, after, kind, message)`` receives
    transitions and timeouts (default: the ``vitals`` logger).
    """

    def __init__(
        self,
        registry: Registry,
        *,
        service_id: str = "",
        version: str = "",
        description: str = "",
        max_threads: int = 0,
        on_event: Optional[Callable[..., None]] = None,
        self_check: bool = False,
        loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        if not isinstance(registry, Registry):
            raise TypeError("Service(): expected a vitals.Registry")
        self._registry = registry
        self._engine_args = dict(service_id=service_id, version=version,
                                 description=description, max_threads=int(max_threads),
                                 self_check=bool(self_check))
        self._on_event = on_event or _log_event
        self._lock = threading.RLock()
        self._pid = os.getpid()
        self._loop = loop
        self._new_engine()
        self._started = False
        self._stopped = False
        self._shutdown = False
        self._handlers: "weakref.WeakSet[Handler]" = weakref.WeakSet()
        self._sigterm_installed = False
        _services.add(self)

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, *, handle_sigterm: bool = True) -> "Service":
        """Starts the engine's threads in this process. Idempotent. Called from a running event
        loop, that loop runs the ``async def`` checks (else see ``bind_loop``). With
        ``handle_sigterm`` (default), SIGTERM fails readiness at once, then goes on to the
        handler installed before (the server's own drain, or the default: exit); only from
        the main thread, and never twice for one service."""
        with self._lock:
            self._own_process()
            if self._loop is None:
                try:
                    self._loop = asyncio.get_running_loop()
                except RuntimeError:
                    pass
            if not self._started and not self._stopped:
                self._start_engine()
        if (handle_sigterm and not self._sigterm_installed
                and threading.current_thread() is threading.main_thread()):
            self.install_sigterm()
        return self

    def stop(self) -> None:
        """Stops the engine (runs in flight are cancelled) and its threads. Idempotent; a
        stopped service does not start again."""
        with self._lock:
            if os.getpid() == self._pid:
                if self._started:
                    self._engine.stop()
                self._engine.close_events()
                for box, _ in self._threads:
                    box.close()
            self._started = False
            self._stopped = True

    def _new_engine(self) -> None:
        self._threads: list = []  # (JobBox, thread) of each Python check, started with it
        self._engine = _vitals.Engine(self._registry._build(self._check_loop, self._threads),
                                      **self._engine_args)

    def _start_engine(self) -> None:
        for _, t in self._threads:
            t.start()
        engine, on_event = self._engine, self._on_event

        def pump() -> None:  # the engine's events, delivered on a Python thread of its own
            while (e := engine.next_event()) is not None:
                try:
                    on_event(*e)
                except Exception:  # a logging callback must not stop the others
                    _log.exception("vitals: on_event raised")

        threading.Thread(target=pump, name="vitals-events", daemon=True).start()
        self._engine.start()
        self._started = True

    def begin_shutdown(self) -> None:
        """Readiness fails from now on (also in workers forked later); liveness is unaffected."""
        with self._lock:
            self._shutdown = True
            self._own_process()
            self._engine.begin_shutdown()

    @property
    def shutting_down(self) -> bool:
        return self._shutdown

    @property
    def started(self) -> bool:
        return self._started and os.getpid() == self._pid

    def _ensure_started(self) -> None:
        """A mount's first request in a process starts the service there (never after stop())."""
        if not self.started and not self._stopped:
            self.start()

    def bind_loop(self, loop: Optional[asyncio.AbstractEventLoop] = None) -> None:
        """Runs ``async def`` checks on ``loop`` (default: the running loop), so that a stalled
        application loop shows as a failing check. Until a loop is bound they run on a loop of
        vitals' own thread."""
        self._loop = loop or asyncio.get_running_loop()

    def install_sigterm(self) -> None:
        """SIGTERM → ``begin_shutdown()``, then the handler that was installed before (the
        server's own drain, or the default: exit). Main thread only."""
        previous = signal.getsignal(signal.SIGTERM)
        if getattr(previous, "_vitals_service", None) is self:
            return

        def on_sigterm(signum, frame):
            self.begin_shutdown()
            if callable(previous):
                previous(signum, frame)
            elif previous in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        on_sigterm._vitals_service = self  # type: ignore[attr-defined]
        signal.signal(signal.SIGTERM, on_sigterm)
        self._sigterm_installed = True

    # -- reading ------------------------------------------------------------------------------
    def status(self, probe: Union[Probe, str] = Probe.READY) -> Status:
        """The aggregated status of one probe, from the latest snapshot (never runs a check)."""
        self._own_process()
        return self._engine.probe_status(_probe_bits(probe))

    def health(self) -> Status:
        """The overall status (``/health``'s)."""
        self._own_process()
        return self._engine.overall_status()

    def checks(self) -> list[dict]:
        """Every check's reported state: name, type, status, kind, output (redacted), runs,
        timeouts, transitions, in_flight, duration (s)."""
        self._own_process()
        return self._engine.checks()

    def wait_for_update(self, timeout: Seconds = 1.0) -> bool:
        """Waits (GIL released) until a newer snapshot is published, at most ``timeout``."""
        self._own_process()
        gen = self._engine.generation
        t = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
        return self._engine.wait_for_update(gen, float(t))

    def stats(self) -> dict:
        """The engine's figures (checks, in_flight, pool_threads, pool_max_threads, results) and
        events_dropped: events the on_event thread did not take before 10,000 queued up."""
        self._own_process()
        return {**self._engine.stats(), "events_dropped": self._engine.events_dropped}

    def handler(self, *, prefix: str = "", token: Optional[str] = None, details: str = "authorized",
                metrics: str = "details", status_codes: Optional[dict] = None) -> "Handler":
        """The C++ handler for this service: what the WSGI/ASGI middlewares and the framework
        helpers call. ``token`` (default: $VITALS_TOKEN) unlocks details."""
        h = Handler(self, prefix=prefix, token=token, details=details, metrics=metrics,
                    status_codes=status_codes)
        self._handlers.add(h)
        return h

    def _check_loop(self) -> asyncio.AbstractEventLoop:
        """Where an ``async def`` check runs: the bound application loop while it is open,
        else vitals' own loop thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed() and loop.is_running():
            return loop
        return private_loop()

    # -- processes ----------------------------------------------------------------------------
    def _own_process(self) -> None:
        if self._pid != os.getpid():
            self._after_fork()

    def _after_fork(self) -> None:
        """In a forked child: the inherited engine belongs to the parent's threads. Leave it
        untouched and build this process's own, with new check objects (new connections)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            was_started = self._started
            self._engine.abandon()
            self._pid = os.getpid()
            self._new_engine()
            if self._shutdown:
                self._engine.begin_shutdown()
            for h in list(self._handlers):
                h._rebind(self._engine)
            self._started = self._stopped = False
            if isinstance(self._loop, asyncio.AbstractEventLoop):
                self._loop = None  # the parent's loop does not run here
            if was_started:
                self._start_engine()

    def __repr__(self) -> str:
        return f"<vitals.Service {len(self._registry)} checks pid={self._pid}>"


class Handler:
    """Serves /livez /readyz /startupz /health /metrics from a service (request in, response
    out). ``owns(path)`` says whether a path is one of them."""

    _roots = tuple(_vitals.route_roots())

    def __init__(self, service: Service, *, prefix: str = "", token: Optional[str] = None,
                 details: str = "authorized", metrics: str = "details",
                 status_codes: Optional[dict] = None) -> None:
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise ValueError("prefix: must start with '/' and not end with it (e.g. '/_health')")
        codes = {"pass": 200, "warn": 200, "fail": 503, "unknown": 503, **(status_codes or {})}
        if token is None:
            token = os.environ.get("VITALS_TOKEN", "")
        self.prefix = prefix
        self._service = service
        service._own_process()
        self._h = _vitals.Handler(service._engine, token, details, prefix, metrics,
                                  (codes["pass"], codes["warn"], codes["fail"], codes["unknown"]))
        self._exact = frozenset(prefix + r for r in self._roots)
        self._below = tuple(prefix + r + "/" for r in self._roots)

    def owns(self, path: str) -> bool:
        return path in self._exact or path.startswith(self._below)

    def handle(self, method: str, target: str, authorization: str = "",
               accept: str = "") -> tuple[int, list[tuple[str, str]], bytes, int]:
        """(status, headers, body, content_length) for one request; ``target`` is the path and
        query as sent (percent-encoded). The first request in a process starts the service
        there if nothing did (a worker forked from a master that never started it)."""
        svc = self._service
        if not svc._started or svc._pid != os.getpid():
            svc._ensure_started()
        return self._h.handle(method, target, authorization, accept)

    def _rebind(self, engine: "_vitals.Engine") -> None:
        self._h.rebind(engine)


def _after_fork_in_child() -> None:
    for svc in list(_services):
        if svc._started:
            try:
                svc._after_fork()
            except Exception:  # never break the fork of the host application
                _log.exception("vitals: restarting the engine in the forked process failed")


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _stop_all() -> None:
    # Before the interpreter finalizes: no engine thread may call into Python after this.
    for svc in list(_services):
        try:
            svc.stop()
        except Exception:
            pass


from . import asgi, checks, wsgi  # noqa: E402  (they use the names above)
