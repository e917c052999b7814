"""WSGI middleware: answers /livez /readyz /startupz /health /metrics (and their per-check
forms) from the C++ handler before the application sees the request.

    app.wsgi_app = vitals.wsgi.middleware(app.wsgi_app, svc)          # Flask
    application = vitals.wsgi.middleware(get_wsgi_application(), svc)  # any WSGI app
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Callable, Iterable, Optional
from urllib.parse import quote

from . import Handler, Service

_REASONS = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


def status_line(code: int) -> str:
    return _REASONS.get(code) or f"{code} Unknown"


def request_target(environ: dict) -> str:
    """The path and query as sent (percent-encoded): gunicorn's RAW_URI, uWSGI's REQUEST_URI,
    else PATH_INFO re-encoded (WSGI decodes it as latin-1)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return raw
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
                 safe="/:@!$&'()*+,;=-._~")
    qs = environ.get("QUERY_STRING", "")
    return path + ("?" + qs if qs else "")


def respond(handler: Handler, environ: dict, start_response: Callable) -> list[bytes]:
    """Answers one WSGI request from ``handler``."""
    status, headers, body, length = handler.handle(
        environ.get("REQUEST_METHOD", "GET"), request_target(environ),
        environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_ACCEPT", ""))
    headers.append(("Content-Length", str(length)))
    start_response(status_line(status), headers)
    return [body]


def middleware(app: Callable, service: Service, *, prefix: str = "", token: Optional[str] = None,
               details: str = "authorized", metrics: str = "details",
               status_codes: Optional[dict] = None) -> Callable:
    """Wraps a WSGI application. ``prefix`` serves the endpoints under a path ("/_health");
    ``token`` (default $VITALS_TOKEN) unlocks details; ``details`` is 'authorized' (default),
    'everyone' or 'nobody'; ``metrics`` is 'details', 'everyone', 'authorized' or 'off'."""
    handler = service.handler(prefix=prefix, token=token, details=details, metrics=metrics,
                              status_codes=status_codes)
    owns = handler.owns

    def vitals_middleware(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if owns(path):
            return respond(handler, environ, start_response)
        return app(environ, start_response)

    vitals_middleware.vitals_handler = handler  # type: ignore[attr-defined]
    vitals_middleware.wrapped = app  # type: ignore[attr-defined]
    return vitals_middleware

