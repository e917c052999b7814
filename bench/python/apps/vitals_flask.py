"""Flask + vitals: /readyz from the C++ handler; PostgreSQL and Redis checked in the background."""
import flask

import vitals.flask
from bench_service import svc

app = flask.Flask(__name__)
vitals.flask.init_app(app, svc)
