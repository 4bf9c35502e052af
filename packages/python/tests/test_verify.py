"""Local verification, introspection leases and revocation events against the stand-in: the
same hostile-token table as the TypeScript SDK's tests."""

import base64
import hashlib
import hmac
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import ADA
from standin import stranger_key
from gatehouse_client import GatehouseClient, GatehouseError, Member
from gatehouse_client.member import member_from_claims


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, payload: dict, sign=None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    sig = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64(sig)}"


def code_of(client, token) -> str:
    with pytest.raises(GatehouseError) as info:
        client.verify(token)
    return info.value.code


def test_verifies_a_signed_access_token_into_a_member(standin, client):
    member = client.verify(standin.sign(ADA, name="Ada", email="ada@example.org", email_verified=True))
    assert isinstance(member, Member)
    assert member.id == ADA
    assert member.username == "ada"
    assert member.groups == ("members/workshop",)
    assert member.permissions == ("post:messages",)
    assert member.in_group("members/workshop/laser") and not member.in_group("members")
    assert member["id"] == ADA  # Flask Modular Login's user["id"]


def test_the_email_is_the_members_only_when_gatehouse_verified_it(standin, client):
    def email(**claims):
        return client.verify(standin.sign(ADA, email="ada@example.org", **claims)).email

    assert email(email_verified=True) == "ada@example.org"
    assert email() is None  # not said
    assert email(email_verified=False) is None
    for not_json_true in ("true", 1, None, [True]):
        assert email(email_verified=not_json_true) is None, not_json_true
    # Introspection answers (API tokens) follow the same rule.
    standin.opaque["gth_api_v"] = {"sub": ADA, "email": "ada@example.org", "email_verified": True}
    standin.opaque["gth_api_m"] = {"sub": ADA, "email": "ada@example.org"}
    assert client.verify("gth_api_v").email == "ada@example.org"
    assert client.verify("gth_api_m").email is None
    # A member's claims carry the verification along (sessions rebuild members from them).
    m = client.verify("gth_api_v")
    assert member_from_claims(m.claims()).email == "ada@example.org"
    assert client.verify("gth_api_m").claims()["email_verified"] is None


def test_hostile_token_table(standin, client):
    now = int(time.time())
    good = standin.sign(ADA)
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    stranger = stranger_key()
    pem = standin.public_pem
    table = {
        "expired": (standin.sign(ADA, exp=now - 600, iat=now - 1200), "token_expired"),
        "wrong audience": (standin.sign(ADA, aud="someone-else"), "token_invalid"),
        "wrong issuer": (standin.sign(ADA, iss="https://evil.example"), "token_invalid"),
        "unknown kid": (
            jwt.encode({**claims}, stranger, algorithm="RS256", headers={"typ": "at+jwt", "kid": "not-published"}),
            "token_invalid",
        ),
        "alg none": (forge({"typ": "at+jwt", "alg": "none"}, claims), "token_invalid"),
        "alg none, kid": (
            forge({"typ": "at+jwt", "alg": "none", "kid": standin.keys[0]["kid"]}, claims),
            "token_invalid",
        ),
        "HS256 with the public key as secret": (
            forge(
                {"typ": "at+jwt", "alg": "HS256", "kid": standin.keys[0]["kid"]},
                claims,
                lambda data: hmac.new(pem, data, hashlib.sha256).digest(),
            ),
            "token_invalid",
        ),
        "HS256 with the JWK's n as secret": (
            forge(
                {"typ": "at+jwt", "alg": "HS256"},
                claims,
                lambda data: hmac.new(standin.keys[0]["jwk"]["n"].encode(), data, hashlib.sha256).digest(),
            ),
            "token_invalid",
        ),
        "tampered payload": (
            f"{header}.{b64(json.dumps({**claims, 'permissions': ['admin:all']}).encode())}.{signature}",
            "token_invalid",
        ),
        "bad signature": (f"{good}x", "token_invalid"),
        "not yet valid": (standin.sign(ADA, nbf=now + 600), "token_invalid"),
        "no exp": (standin.sign(ADA, exp=None), "token_invalid"),
        "ES256 header on an RSA key": (
            forge({"typ": "at+jwt", "alg": "ES256", "kid": standin.keys[0]["kid"]}, claims, lambda d: b"x" * 64),
            "token_invalid",
        ),
        "malformed": ("not.a.token", "token_invalid"),
        # Signed by the issuer for this audience, but not access tokens (RFC 9068 typ).
        "an ID token (typ JWT) as a bearer": (
            standin.sign(ADA, typ="JWT", nonce="n", auth_time=now), "token_invalid"
        ),
        "an ID token (no typ) as a bearer": (standin.sign(ADA, typ=None), "token_invalid"),
        "a logout token": (
            standin.sign(
                ADA,
                typ="logout+jwt",
                events={"http://schemas.openid.net/event/backchannel-logout": {}},
                sid="s",
            ),
            "token_invalid",
        ),
    }
    for name, (token, expected) in table.items():
        if name == "no exp":
            parts = token.split(".")
            body = json.loads(base64.urlsafe_b64decode(parts[1] + "=="))
            body.pop("exp", None)
            token = jwt.encode(body, standin.keys[0]["private"], algorithm="RS256",
                               headers={"typ": "at+jwt", "kid": standin.keys[0]["kid"]})
        assert code_of(client, token) == expected, name
    # The good one still works after all that.
    assert client.verify(good).id == ADA
    # RFC 9068: the media type, in any case, is the same type.
    assert client.verify(standin.sign(ADA, typ="application/AT+JWT")).id == ADA
    assert client.verify(standin.sign(ADA, typ="At+Jwt")).id == ADA


def test_the_sign_in_refuses_an_access_or_logout_token_as_its_id_token(standin, client):
    assert client.decode_jwt(standin.sign(ADA, typ="JWT"), client.client_id, kind="id")["sub"] == ADA
    assert client.decode_jwt(standin.sign(ADA, typ=None), client.client_id, kind="id")["sub"] == ADA
    for typ in ("at+jwt", "application/at+jwt", "logout+jwt"):
        with pytest.raises(GatehouseError):
            client.decode_jwt(standin.sign(ADA, typ=typ), client.client_id, kind="id")


def test_an_es256_key_cannot_verify_an_rs256_claim(standin):
    # A client limited to ES256 refuses RS256 tokens outright.
    c = GatehouseClient(standin.issuer, standin.client_id, algorithms=["ES256"], events=False)
    assert code_of(c, standin.sign(ADA)) == "token_invalid"


def test_symmetric_algorithms_cannot_be_configured(standin):
    with pytest.raises(GatehouseError) as info:
        GatehouseClient(standin.issuer, standin.client_id, algorithms=["HS256", "none"])
    assert info.value.code == "configuration"


def test_algorithms_are_pinned_to_those_the_issuer_announces(standin):
    c = GatehouseClient(standin.issuer, standin.client_id, events=False,
                        algorithms=["RS256", "ES384"])
    assert c.algorithms == ("RS256",)


def test_missing_and_oversized_tokens(client):
    assert code_of(client, "") == "token_missing"
    assert code_of(client, None) == "token_missing"
    assert code_of(client, "a." + "b" * 20000 + ".c") == "token_invalid"


def test_unknown_kid_refreshes_once_per_cooldown_then_fails_closed(standin, client):
    client.verify(standin.sign(ADA))
    fetches = standin.jwks_fetches
    stranger = stranger_key()
    forged = [
        jwt.encode({"sub": ADA, "iss": standin.issuer, "aud": "svc", "exp": int(time.time()) + 60},
                   stranger, algorithm="RS256", headers={"typ": "at+jwt", "kid": f"k{i}"})
        for i in range(20)
    ]
    for t in forged:
        assert code_of(client, t) == "token_invalid"
    assert standin.jwks_fetches - fetches <= 1


def test_key_rotation_is_picked_up_for_a_new_kid(standin, client):
    client.verify(standin.sign(ADA))
    standin.rotate()
    time.sleep(0.25)  # the cool-down
    assert client.verify(standin.sign(ADA)).id == ADA


def test_cached_keys_keep_working_while_the_jwks_endpoint_is_down(standin, client):
    client.verify(standin.sign(ADA))
    standin.jwks_down = True
    assert client.verify(standin.sign(ADA, jti="second")).id == ADA
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"sub": ADA, "iss": standin.issuer, "aud": "svc", "exp": int(time.time()) + 60},
                       stranger, algorithm="ES256", headers={"typ": "at+jwt", "kid": "unknown"})
    time.sleep(0.25)
    assert code_of(client, token) == "token_invalid"


def test_opaque_api_tokens_are_introspected_and_leased(standin, client):
    client.connect(timeout=5)  # a (re)connection clears the leases: connect first
    standin.opaque["gth_api_abc"] = {"sub": ADA, "preferred_username": "ada",
                                     "permissions": ["post:messages"], "exp": int(time.time()) + 3600}
    assert client.verify("gth_api_abc").permissions == ("post:messages",)
    assert client.verify("gth_api_abc").id == ADA
    assert standin.introspections == 1  # the second answer came from the lease
    assert code_of(client, "gth_api_nope") == "token_invalid"
    assert code_of(client, "gth_api_nope") == "token_invalid"
    assert standin.introspections == 2  # a refusal is remembered briefly too


def test_only_access_and_api_tokens_are_accepted_through_introspection(standin, client):
    claims = {"sub": ADA, "preferred_username": "ada", "exp": int(time.time()) + 3600}
    accepted = {"gth_api_t": "gatehouse_api_token", "at_bearer": "Bearer", "at_lower": "bearer"}
    refused = {
        # oidc-provider answers a refresh token with no token_type.
        "rt_refresh": None,
        "rt_named": "refresh_token",
        "at_dpop": "DPoP",  # sender-constrained: not usable as a plain bearer
        "x_other": "urn:ietf:params:oauth:token-type:id_token",
    }
    for token, token_type in {**accepted, **refused}.items():
        standin.opaque[token] = {**claims, "token_type": token_type}
    for token in accepted:
        assert client.verify(token).id == ADA, token
    for token in refused:
        assert code_of(client, token) == "token_invalid", token


def test_opaque_lease_ends(standin):
    c = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret, lease_seconds=0.2, events=False)
    standin.opaque["gth_api_x"] = {"sub": ADA}
    c.verify("gth_api_x")
    del standin.opaque["gth_api_x"]
    assert c.verify("gth_api_x").id == ADA
    time.sleep(0.3)
    assert code_of(c, "gth_api_x") == "token_invalid"


def test_opaque_tokens_need_a_client_secret(standin):
    c = GatehouseClient(standin.issuer, standin.client_id)
    assert code_of(c, "gth_api_x") == "configuration"


def wait_for(predicate, timeout=1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_a_recheck_event_revokes_a_cached_jwt_within_a_second(standin, client):
    client.connect(timeout=5)
    old = standin.sign(ADA, iat=int(time.time()) - 5)
    assert client.verify(old).id == ADA
    heard = []
    client.on_recheck(heard.append)
    standin.push({"type": "recheck", "sub": ADA})
    started = time.monotonic()

    def refused():
        try:
            client.verify(old)
            return False
        except GatehouseError as err:
            return err.code == "token_revoked"

    assert wait_for(refused, 1.0)
    assert time.monotonic() - started < 1.0
    assert heard == [ADA]
    # A token issued after the revocation (beyond the clock tolerance) is served: see the
    # skewed-clock test below (PyJWT itself refuses an iat more than the tolerance ahead).


def test_a_token_issued_before_a_recheck_is_refused_when_the_issuers_clock_is_ahead(standin):
    # The service's clock is 3 s behind Gatehouse's: a token issued just before the revocation
    # carries an iat later than the service's own time of the event.
    c = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret,
                        now=lambda: time.time() - 3)
    try:
        c.connect(timeout=5)
        token = standin.sign(ADA, iat=int(time.time()))
        heard = []
        c.on_recheck(heard.append)
        standin.push({"type": "recheck", "sub": ADA})
        assert wait_for(lambda: heard == [ADA], 1.0)
        assert code_of(c, token) == "token_revoked"
        # One issued beyond the tolerance after the revocation is served, not asked about.
        asked = standin.introspections
        assert c.verify(standin.sign(ADA, iat=int(time.time()) + 4)).id == ADA
        assert standin.introspections == asked
    finally:
        c.close()


def test_a_recheck_event_revokes_a_leased_api_token(standin, client):
    client.connect(timeout=5)
    standin.opaque["gth_api_r"] = {"sub": ADA}
    client.verify("gth_api_r")
    del standin.opaque["gth_api_r"]
    standin.push({"type": "recheck", "sub": ADA})

    def refused():
        try:
            client.verify("gth_api_r")
            return False
        except GatehouseError:
            return True

    assert wait_for(refused, 1.0)


def test_a_flood_of_keys_events_costs_one_fetch_per_cooldown(standin):
    c = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret,
                        jwks_cooldown_seconds=30)
    try:
        c.connect(timeout=5)
        c.verify(standin.sign(ADA))
        fetches = standin.jwks_fetches
        threads = threading.active_count()
        for _ in range(20):
            standin.push({"type": "keys"})
        assert wait_for(lambda: standin.jwks_fetches > fetches, 1.0)
        time.sleep(0.3)
        assert standin.jwks_fetches == fetches + 1
        assert threading.active_count() <= threads + 1
    finally:
        c.close()


def test_an_http_issuer_is_refused_except_on_loopback(standin):
    for url in ("http://auth.example.org", "http://10.0.0.5:3000", "http://127.0.0.1.evil.example"):
        with pytest.raises(GatehouseError) as info:
            GatehouseClient(url, "svc")
        assert info.value.code == "configuration", url
    for url in ("https://auth.example.org", "http://127.0.0.1:3000", "http://[::1]:3000",
                "http://localhost:3000"):
        GatehouseClient(url, "svc", events=False)
    GatehouseClient("http://auth.example.org", "svc", events=False, allow_insecure_issuer=True)


def test_a_keys_event_refreshes_the_key_set(standin, client):
    client.connect(timeout=5)
    client.verify(standin.sign(ADA))
    fetches = standin.jwks_fetches
    standin.push({"type": "keys"})
    assert wait_for(lambda: standin.jwks_fetches > fetches, 1.0)


def test_the_stream_reconnects_and_rechecks_every_lease(standin):
    c = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret)
    try:
        c.connect(timeout=5)
        standin.opaque["gth_api_g"] = {"sub": ADA}
        c.verify("gth_api_g")
        assert len(c.cache) == 1
        standin.drop_streams()
        assert wait_for(lambda: standin.stream_count == 0 or not c.events_connected, 2)
        assert wait_for(lambda: c.events_connected and standin.stream_count == 1, 3)
        assert len(c.cache) == 0  # the lease is checked again after the gap
    finally:
        c.close()


def test_events_with_wrong_credentials_do_not_connect(standin):
    errors = []
    c = GatehouseClient(standin.issuer, standin.client_id, "wrong" * 8, on_error=errors.append)
    try:
        with pytest.raises(GatehouseError):
            c.connect(timeout=0.5)
        assert errors and "401" in str(errors[0])
    finally:
        c.close()


def test_discovery_must_name_the_configured_issuer(standin):
    c = GatehouseClient(standin.issuer + "/", standin.client_id, events=False)
    assert code_of(c, standin.sign(ADA)) == "configuration"


def test_unreachable_issuer():
    c = GatehouseClient("http://127.0.0.1:9", "svc", events=False, timeout=1)
    key = stranger_key()
    assert code_of(c, jwt.encode({"sub": ADA}, key, algorithm="RS256", headers={"typ": "at+jwt"})) == "issuer_unavailable"


async def test_averify_answers_from_the_cache(standin, client):
    token = standin.sign(ADA)
    assert (await client.averify(token)).id == ADA
    assert client.cached(token) is not None
    assert (await client.averify(token)).id == ADA
