"""Flask + vitals: /readyz from the C++ handler; PostgreSQL and Redis checked in the background."""
import os

import flask

import vitals
import vitals.flask

interval = float(os.environ.get("BENCH_INTERVAL", "1"))
reg = vitals.Registry()
reg.add("postgres", vitals.checks.postgres(url=os.environ["VITALS_TEST_PG_URL"]),
        interval=interval, timeout=0.5)
reg.add("redis", vitals.checks.redis(url=os.environ["VITALS_TEST_REDIS_URL"]),
        interval=interval, timeout=0.5)
svc = vitals.Service(reg)
app = flask.Flask(__name__)
vitals.flask.init_app(app, svc)
