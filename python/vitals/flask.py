"""Flask: the WSGI middleware on the app (fastest: Flask never sees a probe), or a blueprint.

    vitals.flask.init_app(app, svc)                          # /livez /readyz /startupz /health
    app.register_blueprint(vitals.flask.blueprint(svc, url_prefix="/_health"))
"""

from __future__ import annotations

from typing import Any

import flask

from . import Handler, Service, wsgi

_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def init_app(app: flask.Flask, service: Service, *, start: bool = True,
             **options: Any) -> flask.Flask:
    """Mounts the endpoints in front of ``app`` (options: see vitals.wsgi.middleware) and starts
    the service. ``start=False`` leaves it to the first request in each process: under
    ``gunicorn --preload`` the app is imported by the master, which then checks nothing."""
    app.wsgi_app = wsgi.middleware(app.wsgi_app, service, **options)  # type: ignore[method-assign]
    app.extensions["vitals"] = service
    if start:
        service.start()
    return app


def blueprint(service: Service, *, name: str = "vitals", url_prefix: str = "",
              **options: Any) -> flask.Blueprint:
    """The endpoints as a blueprint, under ``url_prefix`` ("" = the root)."""
    handler = service.handler(prefix=url_prefix, **options)
    bp = flask.Blueprint(name, __name__, url_prefix=url_prefix or None)

    def endpoint(**_: Any) -> flask.Response:
        req = flask.request
        status, headers, body, length = handler.handle(
            req.method, wsgi.request_target(req.environ), req.headers.get("Authorization", ""),
            req.headers.get("Accept", ""))
        resp = flask.Response(body, status=status, headers=headers)
        resp.headers["Content-Length"] = str(length)
        return resp

    for root in Handler._roots:
        rule = root.replace("/", "_").strip("_")
        bp.add_url_rule(root, rule, endpoint, methods=_METHODS, provide_automatic_options=False)
        bp.add_url_rule(root + "/<path:name>", rule + "_child", endpoint, methods=_METHODS,
                        provide_automatic_options=False)

    @bp.record_once
    def _start(_state: Any) -> None:
        service.start()

    return bp
