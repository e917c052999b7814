"""The pattern most services write by hand: SELECT 1 and PING on every request."""
import os
import threading

import flask
import psycopg2
import redis

app = flask.Flask(__name__)
local = threading.local()
cache = redis.Redis.from_url(os.environ["VITALS_TEST_REDIS_URL"], socket_timeout=2)


def db():
    if getattr(local, "conn", None) is None:
        local.conn = psycopg2.connect(os.environ["VITALS_TEST_PG_URL"], connect_timeout=2)
        local.conn.autocommit = True
    return local.conn


@app.get("/readyz")
def readyz():
    try:
        with db().cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        cache.ping()
    except Exception as e:  # noqa: BLE001 (the pattern: any error is a 503)
        local.conn = None
        return f"unhealthy: {type(e).__name__}", 503
    return "ok"
