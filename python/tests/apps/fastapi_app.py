"""FastAPI under uvicorn: ``uvicorn fastapi_app:app``."""

import asyncio

import fastapi

import vitals
import vitals.fastapi
from common import reg, svc

app = fastapi.FastAPI()


async def on_app_loop():
    await asyncio.sleep(0)
    return True


# an async check on the application's own loop (bound at lifespan startup)
reg.add("app_loop", on_app_loop, probes=["live", "ready"], interval=0.5, timeout=0.2)
svc = vitals.Service(reg, service_id="pytest-fastapi")


@app.get("/")
async def index():
    return {"app": "fastapi"}


@app.get("/slow")
async def slow(s: float = 1.0):
    await asyncio.sleep(s)
    return {"ready": str(svc.status("ready")), "live": str(svc.status("live"))}


@app.get("/block")
def block(s: float = 1.0):
    import time
    time.sleep(s)
    return {}


@app.get("/stall")
async def stall(s: float = 1.0):
    import time
    time.sleep(s)  # blocks the event loop on purpose
    return {}


vitals.fastapi.install(app, svc)
