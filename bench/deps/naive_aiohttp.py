#!/usr/bin/python3
"""The naive health endpoint bench/deps/run.sh compares vitals with: Python aiohttp, and per
request a new PostgreSQL connection (psycopg2) running `SELECT 1` and a new Redis connection
(raw socket: AUTH + PING). Blocking calls run on the default thread pool so the event loop is
not serialised (the common "good enough" fix); this is still what a probe flood does to the
dependencies of most services.

    VITALS_TEST_PG_URL=... VITALS_TEST_REDIS_URL=... naive_aiohttp.py [port]
"""
import asyncio
import os
import socket
import sys
from urllib.parse import unquote, urlparse

import psycopg2
from aiohttp import web

PG_URL = os.environ["VITALS_TEST_PG_URL"]
REDIS = urlparse(os.environ["VITALS_TEST_REDIS_URL"])


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def check_postgres():
    conn = psycopg2.connect(PG_URL, application_name="naive-bench")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    finally:
        conn.close()


def check_redis():
    with socket.create_connection((REDIS.hostname, REDIS.port or 6379), timeout=2) as s:
        cmds = b""
        expected = 1
        if REDIS.password:
            user = unquote(REDIS.username or "")
            pw = unquote(REDIS.password)
            cmds += resp("AUTH", user, pw) if user else resp("AUTH", pw)
            expected += 1
        cmds += resp("PING")
        s.sendall(cmds)
        data = b""
        while data.count(b"\r\n") < expected:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("redis closed")
            data += chunk
        if not data.endswith(b"+PONG\r\n"):
            raise RuntimeError("unexpected redis reply")


async def health(_request):
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(loop.run_in_executor(None, check_postgres),
                             loop.run_in_executor(None, check_redis))
    except Exception:  # noqa: BLE001 - a health endpoint reports, it does not crash
        return web.Response(status=503, text="fail")
    return web.Response(text="ok")


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8092
    app = web.Application()
    app.router.add_get("/health", health)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
