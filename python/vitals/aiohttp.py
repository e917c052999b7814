"""aiohttp: the endpoints as routes of the application (or of a sub-application under a
prefix), and its lifecycle signals.

    app = web.Application()
    vitals.aiohttp.setup(app, svc)                  # /livez /readyz /startupz /health
    vitals.aiohttp.mount(app, svc, "/_health")      # or: a sub-app, /_health/readyz ...
    web.run_app(app)

on_startup binds the app's loop (``async def`` checks run on it) and starts the engine;
on_shutdown fails readiness at once (liveness stays); on_cleanup stops the engine.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

from aiohttp import web

from . import Handler, Service


def setup(app: web.Application, service: Service, *, prefix: str = "",
          register_routes_at: Optional[str] = None, **options: Any) -> web.Application:
    """Adds the routes (under ``prefix``) and the signals to ``app``."""
    handler = service.handler(prefix=prefix, **options)
    at = prefix if register_routes_at is None else register_routes_at  # a sub-app's are relative

    async def endpoint(request: web.Request) -> web.Response:
        status, headers, body, length = handler.handle(
            request.method, request.raw_path, request.headers.get("Authorization", ""),
            request.headers.get("Accept", ""))
        resp = web.Response(body=body, status=status, headers=headers)
        if request.method == "HEAD":
            resp.headers["Content-Length"] = str(length)
        return resp

    for root in Handler._roots:
        app.router.add_route("*", at + root, endpoint)
        app.router.add_route("*", at + root + "/{name:.+}", endpoint)

    async def on_startup(_app: web.Application) -> None:
        service.bind_loop(asyncio.get_running_loop())
        service.start()

    async def on_shutdown(_app: web.Application) -> None:
        service.begin_shutdown()

    async def on_cleanup(_app: web.Application) -> None:
        service.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app["vitals"] = service
    return app


def mount(app: web.Application, service: Service, prefix: str,
          **options: Any) -> web.Application:
    """The endpoints as a sub-application under ``prefix`` ("/_health"); its signals run with
    the parent's (start, readiness failing on shutdown, stop). Returns the sub-application."""
    sub = web.Application()
    setup(sub, service, prefix=prefix, register_routes_at="", **options)
    app.add_subapp(prefix, sub)
    return sub
