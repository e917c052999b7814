"""aiohttp's own server: ``python3 aiohttp_app.py PORT``."""

import asyncio
import sys

from aiohttp import web

import vitals.aiohttp
from common import svc


async def index(_request):
    return web.Response(text="aiohttp app")


async def slow(request):
    await asyncio.sleep(float(request.query.get("s", "1")))
    return web.Response(text=f"ready={svc.status('ready')} live={svc.status('live')}")


app = web.Application()
app.router.add_get("/", index)
app.router.add_get("/slow", slow)
vitals.aiohttp.setup(app, svc)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, shutdown_timeout=10)
