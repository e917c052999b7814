"""Where a Python check runs: on a Python thread of its own, never on an engine thread.

The C++ check only posts each run to a JobBox; the check's thread waits in ``box.next()`` with
the GIL released, calls the check, and completes the run (``job.finish``) with the GIL released
again. The engine never takes the GIL, so interpreter exit (which ends with pthread_exit any
thread that then asks for it) never unwinds through the engine. Runs never overlap (the engine's
guarantee): a check that never returns holds its own thread and nothing else.

An ``async def`` check runs on an event loop with its deadline enforced twice: the loop cancels
the coroutine (``asyncio.wait_for``), and the check's thread stops waiting at the deadline even
if the loop is too stalled to cancel anything.
"""

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


def describe(e: BaseException) -> str:
    """ "TypeName: message" (no traceback: outputs are short; the engine redacts them)."""
    text = str(e)
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def worker(box: "_vitals.JobBox", fn: Callable[[], Any], loop: Optional[LoopProvider],
           name: str) -> threading.Thread:
    """The check's thread (not started): runs each posted job until the box is closed."""
    provider = loop or private_loop

    def work() -> None:
        while True:
            job = box.next()
            if job is None:
                return
            try:
                value = fn()
                if inspect.isawaitable(value):
                    value = _await_on(provider(), value, job.remaining)
            except BaseException as e:  # noqa: BLE001 (whatever a check raises is its result)
                job.raised(describe(e))
                continue
            job.finish(value)

    return threading.Thread(target=work, name=f"vitals-check-{name}", daemon=True)
