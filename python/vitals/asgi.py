"""ASGI middleware: answers /livez /readyz /startupz /health /metrics from the C++ handler
before the application sees the request, and follows the server's lifespan:

    app = vitals.asgi.middleware(app, svc)        # any ASGI app (FastAPI, Starlette, Quart, ...)
    app.add_middleware(vitals.asgi.Middleware, service=svc)   # Starlette / FastAPI style

lifespan.startup binds the application's event loop (``async def`` checks run on it) and starts
the engine; lifespan.shutdown fails readiness at once; the engine stops when the lifespan ends.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

from . import Service

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class Middleware:
    """``Middleware(app, service=svc, prefix="", token=None, details="authorized", ...)``."""

    def __init__(self, app: Callable, service: Service, *, prefix: str = "",
                 token: Optional[str] = None, details: str = "authorized",
                 metrics: str = "details", status_codes: Optional[dict] = None,
                 lifespan: bool = True) -> None:
        self.app = app
        self.service = service
        self.handler = service.handler(prefix=prefix, token=token, details=details,
                                       metrics=metrics, status_codes=status_codes)
        self.lifespan = lifespan
        self._owns = self.handler.owns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and self._owns(scope.get("root_path", "") + scope["path"]):
            await self._respond(scope, send)
            return
        if kind == "lifespan" and self.lifespan:
            await self._lifespan(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _respond(self, scope: Scope, send: Send) -> None:
        authorization = accept = ""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        qs = scope.get("query_string", b"")
        target = path + ("?" + qs.decode("latin-1") if qs else "")
        status, headers, body, length = self.handler.handle(scope.get("method", "GET"), target,
                                                            authorization, accept)
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw_headers.append((b"content-length", str(length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        svc = self.service
        shutdown = False

        async def lifespan_receive() -> dict:
            nonlocal shutdown
            message = await receive()
            if message["type"] == "lifespan.startup":
                svc.bind_loop(asyncio.get_running_loop())
                svc.start()
            elif message["type"] == "lifespan.shutdown":
                shutdown = True
                svc.begin_shutdown()
            return message

        try:
            await self.app(scope, lifespan_receive, send)
        finally:
            # Only a lifespan that reached its shutdown ends the service: an app that refuses
            # the lifespan scope (the server then goes on without one) keeps it, and its first
            # request starts it.
            if shutdown:
                svc.stop()


def middleware(app: Callable, service: Service, **options: Any) -> Middleware:
    """Wraps an ASGI application (see Middleware for the options)."""
    return Middleware(app, service, **options)
