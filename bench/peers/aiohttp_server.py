"""Python aiohttp peer for bench/run.sh: the same "ok" body on /readyz."""
import sys

from aiohttp import web


async def readyz(_request):
    return web.Response(text="ok", headers={"Cache-Control": "no-store"})


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8093
    app = web.Application()
    app.router.add_get("/readyz", readyz)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main()
