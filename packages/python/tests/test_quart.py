"""The Quart adapter with Quart's test client (Send A Hug's framework), with an async
is_known_user as a service with an async database would have."""

import pytest
import quart

from conftest import ADA
from gatehouse_client import GatehouseClient
from gatehouse_client.quart import QuartGatehouse

BOB = "0b0b0b0b-0000-4000-8000-000000000000"


@pytest.fixture
def app(standin):
    known = {ADA}

    async def is_known(member):
        return member.id in known

    client = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret, is_known_user=is_known)
    app = quart.Quart(__name__)
    gate = QuartGatehouse(client, app)

    @app.post("/posts")
    @gate.require_permission("post:messages")
    async def post():
        return {"by": gate.member.id}, 201

    @app.get("/workshop")
    @gate.require_access("members/workshop & !perm:banned")
    async def workshop():
        return "workshop"

    @app.post("/users")
    @gate.login_required(allow_unknown=True)
    async def create_user():
        known.add(gate.member.id)
        return {"created": gate.member.id}, 201

    @app.get("/me")
    @gate.login_required(kw="user")
    async def me(user):
        return user.to_dict()

    yield app
    client.close()


async def test_quart_guards(app, standin):
    c = app.test_client()
    ada = {"Authorization": f"Bearer {standin.sign(ADA)}"}
    bob = {"Authorization": f"Bearer {standin.sign(BOB, username='bob', groups=[], permissions=[])}"}
    assert (await c.post("/posts", headers=ada)).status_code == 201
    r = await c.get("/me")
    assert r.status_code == 401 and (await r.get_json())["error"]["code"] == "token_missing"
    assert (await c.get("/workshop", headers=ada)).status_code == 200
    r = await c.get("/me", headers=bob)
    assert r.status_code == 403 and (await r.get_json())["error"]["code"] == "unknown_user"
    assert (await c.post("/users", headers=bob)).status_code == 201
    assert (await (await c.get("/me", headers=bob)).get_json())["username"] == "bob"
    assert (await c.post("/posts", headers=bob)).status_code == 403
    assert (await c.get("/workshop", headers=bob)).status_code == 403


async def test_quart_browser_sign_in_and_revocation(standin):
    """The code flow through Quart's test client, then a recheck ends the session."""
    import asyncio
    import urllib.request
    from urllib.parse import urlsplit

    from signin import _NoRedirect, cookie_header, cookies_from
    from gatehouse_client import SessionOptions

    standin.login_as = ADA
    client = GatehouseClient(
        standin.issuer, standin.client_id, standin.client_secret,
        session=SessionOptions(secret="q" * 40, redirect_uri="http://service.test/auth/callback"),
    )
    app = quart.Quart(__name__)
    gate = QuartGatehouse(client, app)

    @app.get("/api/me")
    @gate.login_required
    async def me():
        return gate.member.to_dict()

    c = app.test_client()
    jar = {}

    async def get(path):
        c.cookie_jar.clear() if c.cookie_jar is not None else None  # the test keeps the cookies
        r = await c.get(path, headers={"Cookie": cookie_header(jar)})
        cookies_from({"set-cookie": r.headers.get_all("Set-Cookie")}, jar)
        return r

    r = await get("/auth/login?returnTo=/api/me")
    assert r.status_code == 303
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        await asyncio.get_running_loop().run_in_executor(None, opener.open, r.headers["Location"])
    except urllib.error.HTTPError as err:
        callback = urlsplit(err.headers["Location"])
    r = await get(f"{callback.path}?{callback.query}")
    assert r.status_code == 303 and r.headers["Location"] == "/api/me"
    assert (await (await get("/api/me")).get_json())["id"] == ADA
    await asyncio.get_running_loop().run_in_executor(None, client.connect, 5)
    standin.sign_out(ADA)
    started = asyncio.get_running_loop().time()
    status = 200
    while status == 200 and asyncio.get_running_loop().time() - started < 1.0:
        status = (await get("/api/me")).status_code
        await asyncio.sleep(0.01)
    assert status == 401
    client.close()
