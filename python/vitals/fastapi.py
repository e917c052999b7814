"""FastAPI and Starlette: the ASGI middleware (it follows the app's lifespan), or a router.

    app = FastAPI()
    vitals.fastapi.install(app, svc)          # /livez /readyz /startupz /health, start and drain

    app = FastAPI(lifespan=vitals.fastapi.lifespan(svc))
    app.include_router(vitals.fastapi.router(svc), prefix="/_health")
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router

from . import Handler, Service, asgi

_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def install(app: Any, service: Service, **options: Any) -> Any:
    """Adds vitals.asgi.Middleware to a Starlette or FastAPI app (options: see it)."""
    app.add_middleware(asgi.Middleware, service=service, **options)
    return app


def lifespan(service: Service) -> Callable[[Any], contextlib.AbstractAsyncContextManager]:
    """A lifespan for ``FastAPI(lifespan=...)``: binds the app's loop and starts the engine;
    at shutdown readiness fails at once, then the engine stops."""

    @contextlib.asynccontextmanager
    async def span(_app: Any) -> AsyncIterator[None]:
        service.bind_loop(asyncio.get_running_loop())
        service.start()
        try:
            yield
        finally:
            service.begin_shutdown()
            service.stop()

    return span


def router(service: Service, *, prefix: str = "", **options: Any) -> Router:
    """The endpoints as routes. ``prefix`` must be the prefix the router is included under."""
    handler = service.handler(prefix=prefix, **options)

    async def endpoint(request: Request) -> Response:
        raw = request.scope.get("raw_path")
        target = (raw.decode("latin-1") if raw else request.url.path)
        if request.url.query:
            target += "?" + request.url.query
        status, headers, body, length = handler.handle(
            request.method, target, request.headers.get("authorization", ""),
            request.headers.get("accept", ""))
        resp = Response(body, status_code=status, headers=dict(headers))
        resp.headers["content-length"] = str(length)
        return resp

    routes = []
    for root in Handler._roots:
        routes.append(Route(root, endpoint, methods=_METHODS, include_in_schema=False))
        routes.append(Route(root + "/{name:path}", endpoint, methods=_METHODS,
                            include_in_schema=False))
    return Router(routes=routes)
