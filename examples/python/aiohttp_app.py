"""An aiohttp service protected by Gatehouse: the same routes as the Flask example.

    GATEHOUSE_ISSUER=… CLIENT_ID=… CLIENT_SECRET=… GATEHOUSE_RESOURCE=http://127.0.0.1:3002/ \\
      SESSION_SECRET=$(openssl rand -hex 32) PORT=3002 python3 examples/python/aiohttp_app.py
"""

import asyncio
import os

from aiohttp import web

from shared import READ, WORKSHOP, WRITE, example_client, home_page, test_hooks, workshop_page
from gatehouse_client.aiohttp import AiohttpGatehouse, member_of


def create_app(port: int) -> web.Application:
    gatehouse = example_client(port)
    gate = AiohttpGatehouse(gatehouse)
    # The middleware answers /auth/login, /auth/callback and /auth/logout.
    app = web.Application(middlewares=[gate.middleware])

    @gate.login_optional
    async def home(request):
        return web.Response(text=home_page(member_of(request)), content_type="text/html")

    @gate.require_access(WORKSHOP)
    async def workshop(request):
        return web.Response(text=workshop_page(member_of(request)), content_type="text/html")

    @gate.login_required
    async def me(request):
        return web.json_response(member_of(request).to_dict())

    @gate.require_permission(READ)
    async def uploads(request):
        return web.json_response({"uploads": []})

    @gate.require_permission(WRITE)
    async def upload(request):
        return web.json_response({"created": True, "owner": member_of(request).id}, status=201)

    app.router.add_get("/", home)
    app.router.add_get("/workshop", workshop)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/uploads", uploads)
    app.router.add_post("/api/uploads", upload)

    if test_hooks():

        async def events_connected(request):
            await asyncio.get_running_loop().run_in_executor(None, gatehouse.connect, 10)
            return web.Response(status=204)

        app.router.add_get("/_test/events", events_connected)

    async def close(_app):
        gatehouse.close()

    app.on_cleanup.append(close)
    return app


async def serve(port: int) -> None:
    # Header lines up to 16 KiB (aiohttp's default is 8 KiB), as Node's servers accept: an
    # oversized session cookie is then refused by the guard (401), not by the parser (400).
    runner = web.AppRunner(create_app(port), max_field_size=16 * 1024)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    try:
        asyncio.run(serve(int(os.environ.get("PORT", "3002"))))
    except KeyboardInterrupt:
        pass
