"""Browser sign-in (code flow with PKCE, state, nonce) and the service session, through the
Flask, FastAPI and Django adapters: sign in, the member from the cookie, a forged cookie, the
session ended within a second by a recheck event, sign-out, and a callback without its
transaction."""

import asyncio
import threading
import time

import flask
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from conftest import ADA
from signin import cookie_header, cookies_from, sign_in
from gatehouse_client import GatehouseClient, GatehouseError, Member, SessionOptions
from gatehouse_client.fastapi import FastAPIGatehouse
from gatehouse_client.flask import FlaskGatehouse

SERVICE = "http://service.test"


def make_client(standin):
    standin.login_as = ADA
    standin.login_claims = {"name": "Ada <L>", "email": "ada@example.org", "email_verified": True}
    return GatehouseClient(
        standin.issuer, standin.client_id, standin.client_secret,
        session=SessionOptions(secret="x" * 40, redirect_uri=f"{SERVICE}/auth/callback"),
    )


def flask_get(standin):
    client = make_client(standin)
    app = flask.Flask(__name__)
    gate = FlaskGatehouse(client, app)

    @app.get("/api/me")
    @gate.login_required
    def me():
        return gate.member.to_dict()

    @app.get("/page")
    @gate.login_required
    def page():
        return "page"

    c = app.test_client(use_cookies=False)  # the tests keep the cookies

    def get(path, headers, method="GET"):
        r = c.open(path, method=method, headers=headers)
        return r.status_code, {k.lower(): r.headers.getlist(k) for k in set(r.headers.keys())}

    return client, get


def fastapi_get(standin):
    client = make_client(standin)
    gate = FastAPIGatehouse(client)
    app = FastAPI()
    gate.install(app)

    @app.get("/api/me")
    async def me(member: Member = Depends(gate.login_required())):
        return member.to_dict()

    @app.get("/page")
    async def page(member: Member = Depends(gate.login_required())):
        return "page"

    c = TestClient(app, base_url=SERVICE)

    def get(path, headers, method="GET"):
        c.cookies.clear()  # the tests keep the cookies
        r = c.request(method, path, headers=headers, follow_redirects=False)
        return r.status_code, {k: r.headers.get_list(k) for k in set(r.headers.keys())}

    return client, get


def django_get(standin):
    import django_site
    from django.test import Client

    client = make_client(standin)
    django_site.CLIENT = client

    def get(path, headers, method="GET"):
        c = Client(HTTP_HOST="service.test")  # a fresh client: the tests keep the cookies
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        r = c.generic(method, path, **meta)
        out = {k.lower(): [v] for k, v in r.items()}
        out["set-cookie"] = [m.OutputString() for m in r.cookies.values()]
        return r.status_code, out

    return client, get


@pytest.fixture(params=["flask", "fastapi", "django"])
def service(request, standin):
    makers = {"flask": flask_get, "fastapi": fastapi_get, "django": django_get}
    client, get = makers[request.param](standin)
    yield client, get
    client.close()


def test_sign_in_then_the_member_from_the_session(service, standin):
    client, get = service
    jar = {}
    assert sign_in(get, jar, "/page") == "/page"
    assert "gatehouse_service_session" in jar
    status, headers = get("/api/me", {"Cookie": cookie_header(jar), "Accept": "application/json"})
    assert status == 200
    cookies_from(headers, jar)  # re-checked once the event stream connected
    # The verified address survives the session cookie (read back within the lease).
    member = client.sessions.read(_Req(jar), [])
    assert member is not None and member.email == "ada@example.org"


def test_an_email_gatehouse_has_not_verified_does_not_reach_the_session(standin):
    for claims in ({"email": "ada@example.org"}, {"email": "ada@example.org", "email_verified": False}):
        client = make_client(standin)
        standin.login_claims = claims
        app = flask.Flask(__name__)
        gate = FlaskGatehouse(client, app)

        @app.get("/api/me")
        @gate.login_required
        def me():
            return gate.member.to_dict()

        c = app.test_client(use_cookies=False)

        def get(path, headers):
            r = c.get(path, headers=headers)
            return r.status_code, {k.lower(): r.headers.getlist(k) for k in set(r.headers.keys())}

        jar = {}
        sign_in(get, jar)
        r = c.get("/api/me", headers={"Cookie": cookie_header(jar)})
        assert r.status_code == 200 and r.get_json()["email"] is None, claims
        client.close()


class _Req:
    """The little of a request SessionManager.read looks at."""

    def __init__(self, jar):
        self._jar = jar

    def cookie(self, name):
        value = self._jar.get(name)
        return value.strip('"') if value else value  # a test client may quote it


def test_browser_is_sent_to_sign_in_and_api_gets_401(service):
    _, get = service
    status, headers = get("/page", {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"})
    assert status == 303 and headers["location"] == ["/auth/login?returnTo=%2Fpage"]
    status, _ = get("/api/me", {})
    assert status == 401


def test_no_open_redirect_and_no_callback_without_transaction(service):
    _, get = service
    jar = {}
    assert sign_in(get, jar, "//evil.example/") == "/"
    status, _ = get("/auth/callback?code=abc&state=xyz", {})
    assert status == 400


def test_forged_cookies_are_refused(service):
    _, get = service
    jar = {}
    sign_in(get, jar)
    value = jar["gatehouse_service_session"]
    flipped = value[:60] + ("A" if value[60] != "A" else "B") + value[61:]
    for cookie in [f"gatehouse_service_session={flipped}", "gatehouse_service_session=garbage",
                   "gatehouse_service_session=" + "A" * 9000]:
        assert get("/api/me", {"Cookie": cookie})[0] == 401


def test_a_recheck_ends_the_session_within_a_second(service, standin):
    client, get = service
    jar = {}
    sign_in(get, jar)
    client.connect(timeout=5)
    assert get("/api/me", {"Cookie": cookie_header(jar)})[0] == 200
    standin.sign_out(ADA)
    started = time.monotonic()
    status = 200
    while time.monotonic() - started < 1.0 and status == 200:
        status, headers = get("/api/me", {"Cookie": cookie_header(jar)})
        time.sleep(0.01)
    assert status == 401
    cookies_from(headers, jar)
    assert "gatehouse_service_session" not in jar


def test_a_lease_renews_with_the_refresh_token(standin):
    client = make_client(standin)
    client.lease_seconds = 0  # every request asks Gatehouse
    app = flask.Flask(__name__)
    gate = FlaskGatehouse(client, app)

    @app.get("/api/me")
    @gate.login_required
    def me():
        return gate.member.to_dict()

    c = app.test_client(use_cookies=False)

    def get(path, headers):
        r = c.get(path, headers=headers)
        return r.status_code, {k.lower(): r.headers.getlist(k) for k in set(r.headers.keys())}

    jar = {}
    sign_in(get, jar)
    for _ in range(3):  # each renewal rotates the refresh token
        status, headers = get("/api/me", {"Cookie": cookie_header(jar)})
        assert status == 200
        assert client.sessions.open(jar["gatehouse_service_session"])["u"]["email"] == "ada@example.org"
        cookies_from(headers, jar)
    standin.refresh_tokens.clear()  # Gatehouse ended the grant
    assert get("/api/me", {"Cookie": cookie_header(jar)})[0] == 401
    client.close()


def test_sign_out_goes_to_the_end_session_endpoint(service, standin):
    _, get = service
    jar = {}
    sign_in(get, jar)
    status, headers = get("/auth/logout", {"Cookie": cookie_header(jar)})
    assert status == 303
    assert headers["location"][0].startswith(f"{standin.issuer}/session/end?client_id=svc")
    assert "id_token_hint=" in headers["location"][0]
    cookies_from(headers, jar)
    assert "gatehouse_service_session" not in jar
    status, _ = get("/auth/logout", {"Sec-Fetch-Site": "cross-site"})
    assert status == 403


def test_a_signed_in_browser_gets_pages_and_an_unknown_member_the_register_page(standin):
    client = make_client(standin)
    known = set()
    client.is_known_user = lambda m: m.id in known
    client.unknown_user_redirect = "/register"
    app = flask.Flask(__name__)
    gate = FlaskGatehouse(client, app)

    @app.get("/workshop")
    @gate.require_access("members/kitchen")
    def workshop():
        return "kitchen"

    @app.get("/register")
    @gate.login_required(allow_unknown=True)
    def register():
        known.add(gate.member.id)
        return "registered"

    c = app.test_client(use_cookies=False)

    def get(path, headers):
        r = c.get(path, headers=headers)
        return r.status_code, {k.lower(): r.headers.getlist(k) for k in set(r.headers.keys())}

    # The event stream's first connection clears every lease: let it happen before signing in.
    client.ensure_events()
    deadline = time.monotonic() + 10
    while not client.events_connected and time.monotonic() < deadline:
        time.sleep(0.02)
    jar = {}
    sign_in(get, jar)
    # As a browser, the jar keeps the cookie a re-check renews (the event stream connecting
    # after the sign-in makes the first read re-check, which rotates the refresh token).
    def nav():
        return {"Cookie": cookie_header(jar), "Accept": "text/html", "Sec-Fetch-Mode": "navigate"}

    status, headers = get("/workshop", nav())
    cookies_from(headers, jar)
    assert status == 303 and headers["location"] == ["/register"]
    status, headers = get("/register", nav())
    cookies_from(headers, jar)
    assert status == 200
    r = c.get("/workshop", headers=nav())
    cookies_from({"set-cookie": r.headers.getlist("Set-Cookie")}, jar)
    assert r.status_code == 403 and r.headers["Content-Type"].startswith("text/html")
    assert b"You do not have access to this." in r.data
    r = c.get("/workshop", headers={"Cookie": cookie_header(jar)})  # a script: JSON
    assert r.status_code == 403 and r.json["error"]["code"] == "forbidden"
    client.close()


def _due_session(standin):
    """A client whose every session read re-checks, and a signed-in cookie jar."""
    client = make_client(standin)
    client.lease_seconds = 0
    app = flask.Flask(__name__)
    FlaskGatehouse(client, app)
    c = app.test_client(use_cookies=False)

    def get(path, headers):
        r = c.get(path, headers=headers)
        return r.status_code, {k.lower(): r.headers.getlist(k) for k in set(r.headers.keys())}

    jar = {}
    sign_in(get, jar)
    return client, jar


def _slow_token_requests(client, delay=0.3):
    calls = []
    real = client.sessions._token_request

    def slow(params):
        calls.append(params.get("grant_type"))
        time.sleep(delay)
        return real(params)

    client.sessions._token_request = slow
    return calls


def test_concurrent_rechecks_of_one_cookie_share_one_refresh(standin):
    client, jar = _due_session(standin)
    calls = _slow_token_requests(client)
    results, cookies = [], [[], []]

    def read(i):
        results.append(client.sessions.read(_Req(jar), cookies[i]))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    # One refresh: a second one with the rotated refresh token would be reuse.
    assert calls == ["refresh_token"]
    assert [m and m.id for m in results] == [ADA, ADA]
    assert client.sessions._rechecks == {}
    client.close()


def test_concurrent_async_rechecks_share_one_refresh(standin):
    client, jar = _due_session(standin)
    calls = _slow_token_requests(client)

    async def both():
        loop = asyncio.get_running_loop()
        return await asyncio.gather(
            *(loop.run_in_executor(None, client.sessions.read, _Req(jar), []) for _ in range(2))
        )

    members = asyncio.run(both())
    assert calls == ["refresh_token"]
    assert [m and m.id for m in members] == [ADA, ADA]
    client.close()


def test_a_failing_recheck_is_shared_and_released(standin):
    client, jar = _due_session(standin)
    started = threading.Event()

    def down(params):
        started.set()
        time.sleep(0.3)
        raise GatehouseError("issuer_unavailable")

    client.sessions._token_request = down
    errors = []

    def read():
        try:
            client.sessions.read(_Req(jar), [])
        except GatehouseError as err:
            errors.append(err.code)

    first = threading.Thread(target=read)
    first.start()
    started.wait(2)
    second = threading.Thread(target=read)
    second.start()
    first.join(5)
    second.join(5)
    assert errors == ["issuer_unavailable", "issuer_unavailable"]
    assert client.sessions._rechecks == {}  # not left behind for the cookie
    client.close()
