"""The mounts, in process: WSGI and ASGI middleware, the Flask, Django, FastAPI and aiohttp
helpers. Every one answers the endpoints from the C++ handler before the application, passes
every other path to it, shows details only with the token and never a secret."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

import vitals
import vitals.wsgi

TOKEN = "t0ken-for-tests"
SECRET = "hunter2-secret"


def make_registry() -> vitals.Registry:
    reg = vitals.Registry()
    reg.add("db", lambda: vitals.fail(f"auth failed for {SECRET}"), secrets=[SECRET],
            critical=False)
    reg.add("cache", lambda: vitals.ok().observe(3, "ms"), probes=["ready", "startup"])
    reg.add("loop", lambda: True, probes=["live"])
    return reg


def make_service() -> vitals.Service:
    svc = vitals.Service(make_registry(), service_id="orders").start()
    deadline = 50
    while any(c["runs"] == 0 for c in svc.checks()) and deadline:
        svc.wait_for_update(0.2)
        deadline -= 1
    return svc


@pytest.fixture(scope="module")
def svc():
    s = make_service()
    yield s
    s.stop()


def app_404(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"app: " + environ["PATH_INFO"].encode()]


def call_wsgi(app, path, method="GET", token="", query=""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "SCRIPT_NAME": "", "wsgi.input": io.BytesIO(), "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return int(got["status"].split()[0]), got["headers"], body


def test_wsgi_endpoints_and_passthrough(svc):
    app = vitals.wsgi.middleware(app_404, svc, token=TOKEN)
    status, headers, body = call_wsgi(app, "/readyz")
    assert (status, body) == (200, b"ok") and headers["Content-Length"] == "2"
    status, _, body = call_wsgi(app, "/readyz", query="verbose")
    assert status == 200 and b"[+]cache ok" in body and b"[+]db ok (warn" in body
    assert call_wsgi(app, "/livez")[0] == 200
    assert call_wsgi(app, "/readyz/cache")[0] == 200
    assert call_wsgi(app, "/readyz/nope")[0] == 404
    assert call_wsgi(app, "/readyz", method="POST")[0] == 405
    status, headers, body = call_wsgi(app, "/readyz", method="HEAD")
    assert status == 200 and body == b"" and headers["Content-Length"] == "2"
    # anything else is the application's
    assert call_wsgi(app, "/orders")[2] == b"app: /orders"
    assert call_wsgi(app, "/readyzz")[2] == b"app: /readyzz"
    # details: only with the token, never a secret
    anon = json.loads(call_wsgi(app, "/health")[2])
    assert "output" not in json.dumps(anon) and anon["status"] == "warn"
    status, headers, body = call_wsgi(app, "/health", token=TOKEN)
    assert status == 200 and headers["Content-Type"].startswith("application/health+json")
    assert b"auth failed for ***" in body and SECRET.encode() not in body
    assert call_wsgi(app, "/metrics")[0] == 401
    metrics = call_wsgi(app, "/metrics", token=TOKEN)[2]
    assert b'vitals_check_status{check="cache"' in metrics or b"vitals_check" in metrics
    assert SECRET.encode() not in metrics


def test_wsgi_prefix(svc):
    app = vitals.wsgi.middleware(app_404, svc, prefix="/_health")
    assert call_wsgi(app, "/_health/readyz")[0] == 200
    assert call_wsgi(app, "/readyz")[2] == b"app: /readyz"
    with pytest.raises(ValueError, match="prefix"):
        vitals.wsgi.middleware(app_404, svc, prefix="_health/")


def test_shutdown_through_the_middleware():
    s = make_service()
    try:
        app = vitals.wsgi.middleware(app_404, s)
        s.begin_shutdown()
        assert call_wsgi(app, "/readyz")[0] == 503
        assert call_wsgi(app, "/livez")[0] == 200
    finally:
        s.stop()


async def call_asgi(app, path, query=b"", headers=()):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": query, "headers": list(headers), "root_path": ""}
    await app(scope, receive, send)
    start = sent[0]
    return start["status"], dict(start["headers"]), b"".join(m.get("body", b"") for m in sent[1:])


async def inner_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"inner"})


def test_asgi_endpoints_and_passthrough(svc):
    app = vitals.asgi.middleware(inner_app, svc, token=TOKEN)
    status, headers, body = asyncio.run(call_asgi(app, "/readyz"))
    assert (status, body, headers[b"content-length"]) == (200, b"ok", b"2")
    assert asyncio.run(call_asgi(app, "/other"))[0] == 418
    status, _, body = asyncio.run(call_asgi(app, "/health", headers=[
        (b"authorization", f"Bearer {TOKEN}".encode())]))
    assert b"auth failed for ***" in body and SECRET.encode() not in body


def test_asgi_lifespan_starts_binds_and_drains():
    reg = vitals.Registry()
    loops = []

    async def on_app_loop():
        loops.append(asyncio.get_running_loop())
        return True

    reg.add("a", on_app_loop, interval=0.2, timeout=0.1)
    s = vitals.Service(reg)

    async def lifespan_app(scope, receive, send):
        assert scope["type"] == "lifespan"
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    app = vitals.asgi.middleware(lifespan_app, s)

    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        await queue.put({"type": "lifespan.startup"})
        sent = []

        async def send(m):
            sent.append(m["type"])

        task = asyncio.create_task(app({"type": "lifespan"}, queue.get, send))
        while "lifespan.startup.complete" not in sent:
            await asyncio.sleep(0.01)
        assert s.started
        for _ in range(300):
            if loops:
                break
            await asyncio.sleep(0.01)
        assert loops and loops[0] is asyncio.get_running_loop()
        await queue.put({"type": "lifespan.shutdown"})
        await task
        return sent

    assert asyncio.run(main())[-1] == "lifespan.shutdown.complete"
    assert s.shutting_down and not s.started


def test_asgi_app_without_lifespan_support_still_serves():
    async def no_lifespan(scope, receive, send):
        if scope["type"] == "lifespan":
            raise RuntimeError("lifespan not supported")  # servers log it and go on without
        await inner_app(scope, receive, send)

    s = vitals.Service(make_registry())
    app = vitals.asgi.middleware(no_lifespan, s)

    async def main():
        with pytest.raises(RuntimeError):
            await app({"type": "lifespan"}, asyncio.Queue().get, lambda m: None)
        assert not s.shutting_down
        await call_asgi(app, "/readyz")  # the first request starts the service
        for _ in range(250):
            if all(c["runs"] > 0 for c in s.checks()):
                break
            await asyncio.sleep(0.02)
        return await call_asgi(app, "/readyz")

    try:
        assert asyncio.run(main())[0] == 200 and s.started
    finally:
        s.stop()


def test_flask_init_app_and_blueprint(svc):
    flask = pytest.importorskip("flask")
    import vitals.flask

    app = flask.Flask("t1")
    app.get("/hello")(lambda: "hello")
    vitals.flask.init_app(app, svc, token=TOKEN)
    c = app.test_client()
    assert c.get("/readyz").status_code == 200 and c.get("/hello").data == b"hello"
    assert b"***" in c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).data

    app2 = flask.Flask("t2")
    app2.register_blueprint(vitals.flask.blueprint(svc, url_prefix="/_health"))
    c2 = app2.test_client()
    r = c2.get("/_health/readyz?verbose")
    assert r.status_code == 200 and b"[+]cache ok" in r.data
    assert c2.get("/_health/readyz/cache").status_code == 200
    assert c2.get("/_health/readyz/nope").status_code == 404
    assert c2.get("/readyz").status_code == 404


def test_django_middleware_and_urls(svc):
    pytest.importorskip("django")
    import sys
    import types

    import django
    from django.conf import settings
    from django.http import HttpResponse
    from django.test import Client, override_settings
    from django.urls import include, path

    urls = types.ModuleType("vitals_test_urls")
    urls.urlpatterns = [path("orders", lambda r: HttpResponse(b"orders")),
                        path("", include("vitals.django.urls"))]
    sys.modules["vitals_test_urls"] = urls
    settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF="vitals_test_urls",
                       MIDDLEWARE=["vitals.django.HealthCheckMiddleware"], SECRET_KEY="x" * 50,
                       VITALS={"SERVICE": svc, "TOKEN": TOKEN})
    django.setup()
    c = Client()
    assert c.get("/readyz").status_code == 200 and c.get("/orders").content == b"orders"
    r = c.get("/health", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert b"auth failed for ***" in r.content and SECRET.encode() not in r.content
    # a 503 from a probe is an answer: not logged by Django as a server error (mail_admins)
    import logging
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("django.request").addHandler(handler)
    try:
        assert c.get("/readyz/db").status_code == 503
    finally:
        logging.getLogger("django.request").removeHandler(handler)
    assert records == []
    with override_settings(MIDDLEWARE=[]):  # the URL include alone
        r = c.get("/readyz?verbose")
        assert r.status_code == 200 and b"[+]cache ok" in r.content
        assert c.get("/readyz/cache").status_code == 200
        assert c.get("/readyz/nope").status_code == 404
        assert c.get("/health").status_code == 200


def test_fastapi_install_and_router():
    # the lifespan ends with the shutdown of the service: one of its own
    svc = make_service()
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    import vitals.fastapi

    app = fastapi.FastAPI()
    app.get("/items")(lambda: {"items": []})
    vitals.fastapi.install(app, svc, token=TOKEN)
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200
        assert c.get("/items").json() == {"items": []}
        assert b"***" in c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"}).content

    assert svc.shutting_down and not svc.started
    svc = make_service()
    app2 = fastapi.FastAPI()
    app2.include_router(vitals.fastapi.router(svc, prefix="/_health"), prefix="/_health")
    with TestClient(app2) as c:
        r = c.get("/_health/readyz", params={"verbose": ""})
        assert r.status_code == 200 and b"[+]cache ok" in r.content
        assert c.get("/_health/health/cache").status_code == 200
        assert c.get("/readyz").status_code == 404
    svc.stop()


def test_fastapi_on_event_handlers():
    fastapi = pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    import vitals.fastapi

    loops = []

    async def on_loop():
        loops.append(asyncio.get_running_loop())
        return True

    svc = vitals.Service(vitals.Registry().add("a", on_loop, interval=0.2, timeout=0.1))
    app = fastapi.FastAPI()
    app_loop = []

    async def remember_loop():
        app_loop.append(asyncio.get_running_loop())

    app.add_event_handler("startup", remember_loop)
    app.add_event_handler("startup", svc.start)
    app.add_event_handler("shutdown", svc.begin_shutdown)
    vitals.fastapi.install(app, svc, lifespan=False)
    with TestClient(app) as c:
        assert svc.started
        for _ in range(100):
            if c.get("/readyz").status_code == 200:
                break
            svc.wait_for_update(0.1)
        assert c.get("/readyz").status_code == 200
        assert loops and all(lp is app_loop[0] for lp in loops)  # the app's loop ran them
    assert svc.shutting_down
    svc.stop()


def test_aiohttp_setup():
    pytest.importorskip("aiohttp")
    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    import vitals.aiohttp

    svc = vitals.Service(make_registry())  # not started: on_startup starts it
    svc2 = vitals.Service(make_registry())

    async def hi(_request):
        return web.Response(text="hi")

    async def main():
        app = web.Application()
        app.router.add_get("/hi", hi)
        vitals.aiohttp.setup(app, svc, token=TOKEN)
        async with TestClient(TestServer(app)) as c:
            assert (await c.get("/readyz")).status == 503 or svc.checks()[1]["runs"] > 0
            for _ in range(250):  # no pass before the first result: wait for them
                if all(x["runs"] > 0 for x in svc.checks()):
                    break
                await asyncio.sleep(0.02)
            r = await c.get("/readyz")
            assert r.status == 200 and await r.text() == "ok"
            assert await (await c.get("/hi")).text() == "hi"
            r = await c.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
            body = await r.read()
            assert b"***" in body and SECRET.encode() not in body
            assert (await c.get("/readyz/nope")).status == 404
            assert svc.started
        # the same as a sub-application under a prefix
        app2 = web.Application()
        app2.router.add_get("/hi", hi)
        vitals.aiohttp.mount(app2, svc2, "/_health")
        async with TestClient(TestServer(app2)) as c:
            for _ in range(250):
                if all(x["runs"] > 0 for x in svc2.checks()):
                    break
                await asyncio.sleep(0.02)
            r = await c.get("/_health/readyz?verbose")
            assert r.status == 200 and "[+]cache ok" in await r.text()
            assert (await c.get("/_health/health/cache")).status == 200
            assert (await c.get("/readyz")).status == 404
            assert await (await c.get("/hi")).text() == "hi"
            assert svc2.started
        assert svc2.shutting_down and not svc2.started
        assert svc.shutting_down and not svc.started  # on_shutdown, on_cleanup

    asyncio.run(main())
