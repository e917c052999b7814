"""How the engine's pool runs a Python check: sync in the pool thread, ``async def`` on an
event loop with the deadline enforced in both places (the loop cancels the coroutine; the pool
thread stops waiting even if the loop is stalled and never gets to cancel it)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
import threading
from typing import Any, Awaitable, Callable, Optional

from . import _vitals

LoopProvider = Callable[[], asyncio.AbstractEventLoop]

_private: Optional[asyncio.AbstractEventLoop] = None
_private_pid = 0
_private_lock = threading.Lock()


def private_loop() -> asyncio.AbstractEventLoop:
    """vitals' own event loop, on a daemon thread started on first use (again after fork)."""
    global _private, _private_pid
    with _private_lock:
        if _private is None or _private_pid != os.getpid() or _private.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="vitals-asyncio", daemon=True).start()
            _private, _private_pid = loop, os.getpid()
        return _private


def _timed_out(remaining: float) -> _vitals.Result:
    return _vitals.fail(f"timed out after {remaining:.3g}s", _vitals.FailureKind.TIMEOUT)


async def _bounded(awaitable: Awaitable[Any], remaining: float) -> Any:
    return await asyncio.wait_for(awaitable, timeout=remaining)


def _await_on(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[Any], remaining: float) -> Any:
    try:
        fut = asyncio.run_coroutine_threadsafe(_bounded(awaitable, remaining), loop)
    except RuntimeError:
        if inspect.iscoroutine(awaitable):
            awaitable.close()
        raise
    try:
        return fut.result(timeout=remaining)
    except (concurrent.futures.TimeoutError, asyncio.TimeoutError):
        fut.cancel()
        return _timed_out(remaining)
    except concurrent.futures.CancelledError:
        return _vitals.fail("cancelled", _vitals.FailureKind.INTERNAL)


def make_runner(fn: Callable[[], Any], loop: Optional[LoopProvider]) -> Callable[[float], Any]:
    """The callable the C++ check calls with the seconds left before its deadline."""
    provider = loop or private_loop

    def run(remaining: float) -> Any:
        r = fn()
        if inspect.isawaitable(r):
            return _await_on(provider(), r, remaining)
        return r

    return run
