"""The aiohttp middleware and decorators with aiohttp's test client."""

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from conftest import ADA
from gatehouse_client import GatehouseClient, login_optional
from gatehouse_client.aiohttp import AiohttpGatehouse, member_of


async def test_aiohttp_guards(standin):
    client = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret)
    gate = AiohttpGatehouse(client, default_rule=login_optional())

    async def home(request):
        m = request["user"]
        return web.Response(text="hello " + (m.username if m else "visitor"))

    @gate.require_permission("post:messages")
    async def post(request):
        return web.json_response({"by": member_of(request).id}, status=201)

    @gate.require_access(lambda request, member: f"members/{request.match_info['room']}")
    async def room(request):
        return web.Response(text=request.match_info["room"])

    @gate.login_required
    async def me(request):
        return web.json_response(member_of(request).to_dict())

    app = web.Application(middlewares=[gate.middleware])
    app.router.add_get("/", home)
    app.router.add_post("/posts", post)
    app.router.add_get("/rooms/{room}", room)
    app.router.add_get("/me", me)
    async with TestClient(TestServer(app)) as c:
        ada = {"Authorization": f"Bearer {standin.sign(ADA)}"}
        nobody = {"Authorization": f"Bearer {standin.sign(ADA, permissions=[], groups=[])}"}
        assert await (await c.get("/")).text() == "hello visitor"
        assert await (await c.get("/", headers=ada)).text() == "hello ada"
        assert (await c.get("/", headers={"Authorization": "Bearer nope.nope.nope"})).status == 401
        assert (await c.post("/posts", headers=ada)).status == 201
        r = await c.post("/posts", headers=nobody)
        assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        assert (await c.get("/rooms/workshop", headers=ada)).status == 200
        assert (await c.get("/rooms/kitchen", headers=ada)).status == 403
        r = await c.get("/me")
        assert r.status == 401 and (await r.json())["error"]["code"] == "token_missing"
        assert (await (await c.get("/me", headers=ada)).json())["id"] == ADA
    client.close()
