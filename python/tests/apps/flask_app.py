"""Flask under gunicorn: ``gunicorn flask_app:app``."""

import os
import time

import flask

import vitals.flask
from common import svc

app = flask.Flask(__name__)


@app.get("/")
def index():
    return "flask app"


@app.get("/slow")
def slow():
    time.sleep(float(flask.request.args.get("s", "1")))
    return f"ready={svc.status('ready')} live={svc.status('live')}"


vitals.flask.init_app(app, svc, start=os.environ.get("VITALS_APP_START", "1") == "1")
