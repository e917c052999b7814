"""Django: a middleware that answers the endpoints before URL resolution, or URL patterns.

    # settings.py
    VITALS = {"SERVICE": "myproject.health.service"}   # a vitals.Service (dotted path)
    MIDDLEWARE = ["vitals.django.HealthCheckMiddleware", ...]     # either this (fastest) ...
    # urls.py
    urlpatterns = [path("", include("vitals.django.urls")), ...]  # ... or this

Optional keys: TOKEN (default $VITALS_TOKEN), PREFIX ("/_health"; with the URL include, give
the same prefix to both), DETAILS, METRICS, STATUS_CODES, START (default True: the service starts
when Django loads the middleware, or on the first request of the URL include; False: on the
first request in each process, for ``gunicorn --preload``, whose master imports the app and
must not check).
"""

from __future__ import annotations

from typing import Any, Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from .. import Handler, Service

_handler: Handler | None = None


def service() -> Service:
    conf = getattr(settings, "VITALS", {})
    svc = conf.get("SERVICE")
    if isinstance(svc, str):
        svc = import_string(svc)
    if not isinstance(svc, Service):
        raise RuntimeError("settings.VITALS['SERVICE'] must be a vitals.Service or its dotted path")
    return svc


def handler() -> Handler:
    """The handler the settings describe (one per process), its service started."""
    global _handler
    if _handler is None:
        conf = getattr(settings, "VITALS", {})
        svc = service()
        _handler = svc.handler(prefix=conf.get("PREFIX", ""), token=conf.get("TOKEN"),
                               details=conf.get("DETAILS", "authorized"),
                               metrics=conf.get("METRICS", "details"),
                               status_codes=conf.get("STATUS_CODES"))
        if conf.get("START", True):
            svc.start()
    return _handler


def respond(h: Handler, request: HttpRequest) -> HttpResponse:
    status, headers, body, length = h.handle(
        request.method or "GET", request.get_full_path(),
        request.META.get("HTTP_AUTHORIZATION", ""), request.META.get("HTTP_ACCEPT", ""))
    resp = HttpResponse(body, status=status)
    for name, value in headers:
        resp[name] = value
    resp["Content-Length"] = str(length)
    # A 503 from /readyz is an answer, not a server error: Django would otherwise log every one
    # to django.request at ERROR (mail_admins builds an error report per probe: ~8x slower).
    resp._has_been_logged = True  # Django's own flag (django.utils.log.log_response)
    return resp


class HealthCheckMiddleware:
    """Answers /livez /readyz /startupz /health /metrics before Django resolves the URL."""

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.handler = handler()

    def __call__(self, request: HttpRequest) -> Any:
        if self.handler.owns(request.path):
            return respond(self.handler, request)
        return self.get_response(request)


def view(request: HttpRequest, **_: Any) -> HttpResponse:
    """The view behind vitals.django.urls."""
    return respond(handler(), request)
