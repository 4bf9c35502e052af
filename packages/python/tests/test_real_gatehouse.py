"""Against a REAL served Gatehouse (tools/serve-gatehouse.ts, Node 24): discovery, local JWT
verification with its published keys, API tokens through introspection, and revocation through
``/api/v1/events`` within one second (sign-out everywhere, a revoked API token, a key rotation).
"""

import time

import pytest

from gatehouse import NODE, ServedGatehouse
from gatehouse_client import GatehouseClient, GatehouseError

pytestmark = pytest.mark.skipif(not NODE.exists(), reason="node_modules/.bin/node is missing (npm ci)")

SERVICE = "http://127.0.0.1:5999"


@pytest.fixture(scope="module")
def gh():
    served = ServedGatehouse()
    yield served
    served.close()


@pytest.fixture(scope="module")
def creds(gh):
    return gh.call("client", name="python-tests", redirectUris=[f"{SERVICE}/auth/callback"])


@pytest.fixture
def client(gh, creds):
    c = GatehouseClient(gh.issuer, creds["clientId"], creds["clientSecret"], audience=f"{SERVICE}/")
    c.connect(timeout=10)
    yield c
    c.close()


def refused_within(client, token, seconds):
    """Polls until the token is refused; returns (code, elapsed)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            client.verify(token)
        except GatehouseError as err:
            return err.code, time.monotonic() - started
        time.sleep(0.01)
    return None, time.monotonic() - started


def test_discovery_and_pinned_algorithms(client, gh):
    meta = client.metadata()
    assert meta["issuer"] == gh.issuer
    assert client.algorithms
    assert not any(a.startswith("HS") or a == "none" for a in client.algorithms)


def test_verifies_gatehouse_jwts_locally_and_refuses_hostile_ones(gh, client):
    ada = gh.call("member", username="ada-py", groups=["members/workshop"], permissions=["post:messages"])
    token = gh.call("sign", sub=ada["id"], aud=f"{SERVICE}/")
    member = client.verify(token)
    assert member.username == "ada-py"
    assert member.permissions == ("post:messages",)
    assert client.allows("members/workshop & !perm:banned", member)
    now = int(time.time())
    for claims, code in [
        ({"exp": now - 600, "iat": now - 1200}, "token_expired"),
        ({"aud": "https://someone-else.example/"}, "token_invalid"),
        ({"iss": "https://evil.example"}, "token_invalid"),
    ]:
        bad = gh.call("sign", sub=ada["id"], aud=f"{SERVICE}/", claims=claims)
        with pytest.raises(GatehouseError) as info:
            client.verify(bad)
        assert info.value.code == code, claims


def test_an_api_token_is_refused_within_a_second_of_its_revocation(gh, client):
    bob = gh.call("member", username="bob-py", permissions=["upload:read"])
    api = gh.call("apiToken", sub=bob["id"], scopes=["upload:read"])
    member = client.verify(api["token"])
    assert member.id == bob["id"] and member.permissions == ("upload:read",)
    assert client.verify(api["token"]).id == bob["id"]  # from the lease
    assert gh.call("revokeApiToken", id=api["id"]) is True
    code, elapsed = refused_within(client, api["token"], 1.0)
    assert code == "token_invalid", f"still accepted after {elapsed:.2f}s"


def test_a_jwt_is_refused_within_a_second_of_signing_out_everywhere(gh, client):
    carol = gh.call("member", username="carol-py", groups=["members"], permissions=["upload:read"])
    # Gatehouse tells a service about the members it concerns: one whose token it introspected.
    api = gh.call("apiToken", sub=carol["id"], scopes=["upload:read"])
    client.verify(api["token"])
    gh.call("session", sub=carol["id"])  # signed in at Gatehouse, so signing out ends something
    # A token from the same second as an event about Carol may be suspect: mint until accepted.
    old = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        old = gh.call("sign", sub=carol["id"], aud=f"{SERVICE}/")
        try:
            client.verify(old)
            break
        except GatehouseError:
            time.sleep(0.2)
    assert client.verify(old).id == carol["id"]
    gh.call("signOut", sub=carol["id"])
    code, elapsed = refused_within(client, old, 1.0)
    assert code in ("token_revoked", "token_invalid"), f"still accepted after {elapsed:.2f}s"
    # A token issued after the sign-out (by more than the clock tolerance, which covers skew
    # between Gatehouse's iat and the service's clock) is served.
    time.sleep(client.clock_tolerance + 1.1)
    fresh = gh.call("sign", sub=carol["id"], aud=f"{SERVICE}/")
    assert client.verify(fresh).id == carol["id"]


def test_keys_rotate_without_refusing_anyone(gh, client):
    dave = gh.call("member", username="dave-py")
    before = gh.call("sign", sub=dave["id"], aud=f"{SERVICE}/")
    assert client.verify(before).id == dave["id"]
    gh.call("rotateKeys")
    after = gh.call("sign", sub=dave["id"], aud=f"{SERVICE}/")
    assert client.verify(after).id == dave["id"]
    assert client.verify(before).id == dave["id"]


def test_wrong_client_credentials_are_refused_by_the_event_stream(gh, creds):
    errors = []
    c = GatehouseClient(gh.issuer, creds["clientId"], "gth_cs_wrong" + "x" * 40, on_error=errors.append)
    try:
        with pytest.raises(GatehouseError):
            c.connect(timeout=2)
        assert any("401" in str(e) for e in errors)
    finally:
        c.close()
