"""The practical limit of the stack: Flask answering "ok", no check at all."""
import flask

app = flask.Flask(__name__)


@app.get("/readyz")
def readyz():
    return "ok"
