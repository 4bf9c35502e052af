"""A small issuer for the unit tests, served on loopback with the standard library: discovery,
a JWKS it can rotate or take down, introspection (RFC 7662) for opaque tokens, and the event
stream (``/api/v1/events``) it can push ``recheck`` and ``keys`` to."""

from __future__ import annotations

import base64
import hashlib
import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


_POOL: List[Any] = []


def rsa_key(i: int) -> Any:
    """The i-th RSA key of a pool shared by the tests (generating 2048-bit keys is slow)."""
    while len(_POOL) <= i:
        _POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _POOL[i]


def stranger_key() -> Any:
    """A key no issuer publishes."""
    return rsa_key(0)


class StandIn:
    def __init__(self, client_id: str = "svc", client_secret: str = "s" * 32) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.jwks_down = False
        self.jwks_fetches = 0
        self.introspections = 0
        self.opaque: Dict[str, Dict[str, Any]] = {}
        # Browser sign-in: who the next /auth request signs in, codes and refresh tokens.
        self.login_as: Optional[str] = None
        self.login_claims: Dict[str, Any] = {}
        self.codes: Dict[str, Dict[str, Any]] = {}
        self.refresh_tokens: Dict[str, str] = {}
        self.resource: Optional[str] = None
        self._streams: List["queue.Queue[Optional[bytes]]"] = []
        self._lock = threading.Lock()
        self.keys: List[Dict[str, Any]] = []
        self._rotations = 0
        self.rotate()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # keys and tokens
    def rotate(self) -> None:
        self._rotations += 1
        private = rsa_key(self._rotations)
        kid = uuid.uuid4().hex[:12]
        jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
        jwk.update(kid=kid, alg="RS256", use="sig")
        self.keys.insert(0, {"kid": kid, "private": private, "jwk": jwk})

    @property
    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.keys[0]["private"].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, sub: str, aud: Optional[str] = None, typ: Optional[str] = "at+jwt", **claims: Any) -> str:
        """An access token (``typ: at+jwt``, as Gatehouse signs them); ``typ`` mints another kind."""
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "sub": sub,
            "aud": aud or self.client_id,
            "iat": now,
            "exp": now + 600,
            "preferred_username": claims.pop("username", "ada"),
            "groups": ["members/workshop"],
            "permissions": ["post:messages"],
        }
        payload.update(claims)
        key = self.keys[0]
        headers = {"kid": key["kid"], **({"typ": typ} if typ else {})}
        return jwt.encode(payload, key["private"], algorithm="RS256", headers=headers)

    def sign_out(self, sub: str) -> None:
        """Ends the member's grants (their refresh tokens) and pushes a recheck."""
        for rt, owner in list(self.refresh_tokens.items()):
            if owner == sub:
                del self.refresh_tokens[rt]
        self.push({"type": "recheck", "sub": sub})

    def _tokens(self, sub: str, nonce: Optional[str], aud: Optional[str]) -> Dict[str, Any]:
        rt = "rt-" + uuid.uuid4().hex
        self.refresh_tokens[rt] = sub
        id_claims = {"aud": self.client_id, **({"nonce": nonce} if nonce else {})}
        return {
            "access_token": self.sign(sub, aud=aud or self.client_id, **self.login_claims),
            "id_token": self.sign(sub, typ="JWT", **{**self.login_claims, **id_claims}),
            "refresh_token": rt,
            "token_type": "Bearer",
            "expires_in": 600,
        }

    def push(self, event: Dict[str, Any]) -> None:
        data = f"data: {json.dumps(event)}\n\n".encode()
        with self._lock:
            for q in self._streams:
                q.put(data)

    def drop_streams(self) -> None:
        with self._lock:
            for q in self._streams:
                q.put(None)

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def close(self) -> None:
        self.drop_streams()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                expected = base64.b64encode(
                    f"{standin.client_id}:{standin.client_secret}".encode()
                ).decode()
                return self.headers.get("Authorization") == f"Basic {expected}"

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    i = standin.issuer
                    return self._json(
                        200,
                        {
                            "issuer": i,
                            "jwks_uri": f"{i}/jwks",
                            "introspection_endpoint": f"{i}/token/introspection",
                            "token_endpoint": f"{i}/token",
                            "authorization_endpoint": f"{i}/auth",
                            "end_session_endpoint": f"{i}/session/end",
                            "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
                        },
                    )
                if self.path.startswith("/auth?"):
                    q = {k: v[0] for k, v in parse_qs(self.path.split("?", 1)[1]).items()}
                    assert q["client_id"] == standin.client_id and q["response_type"] == "code"
                    assert q["code_challenge_method"] == "S256"
                    code = uuid.uuid4().hex
                    standin.codes[code] = {
                        "sub": standin.login_as,
                        "nonce": q.get("nonce"),
                        "challenge": q["code_challenge"],
                        "redirect_uri": q["redirect_uri"],
                        "resource": q.get("resource"),
                    }
                    sep = "&" if "?" in q["redirect_uri"] else "?"
                    self.send_response(302)
                    self.send_header(
                        "Location", f"{q['redirect_uri']}{sep}code={code}&state={q['state']}"
                    )
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/jwks":
                    standin.jwks_fetches += 1
                    if standin.jwks_down:
                        return self._json(503, {"error": "down"})
                    return self._json(200, {"keys": [k["jwk"] for k in standin.keys]})
                if self.path == "/api/v1/events":
                    if not self._authorized():
                        return self._json(401, {"error": {"code": "unauthorized"}})
                    q: "queue.Queue[Optional[bytes]]" = queue.Queue()
                    with standin._lock:
                        standin._streams.append(q)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    try:
                        self.wfile.write(b": connected\n\n")
                        self.wfile.flush()
                        while True:
                            try:
                                item = q.get(timeout=1)
                            except queue.Empty:
                                item = b": ping\n\n"
                            if item is None:
                                break
                            self.wfile.write(item)
                            self.wfile.flush()
                    except OSError:
                        pass
                    finally:
                        with standin._lock:
                            standin._streams.remove(q)
                        self.close_connection = True
                    return
                self._json(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token/introspection":
                    standin.introspections += 1
                    if not self._authorized():
                        return self._json(401, {"error": "invalid_client"})
                    token = form.get("token", "")
                    if token.count(".") == 2:
                        return self._json(400, {"error": "unsupported_token_type"})
                    claims = standin.opaque.get(token)
                    if not claims:
                        return self._json(200, {"active": False})
                    # As Gatehouse: API tokens are gatehouse_api_token (a test may say otherwise).
                    body = {"active": True, "iss": standin.issuer, "token_type": "gatehouse_api_token", **claims}
                    if body["token_type"] is None:  # as oidc-provider for a refresh token
                        del body["token_type"]
                    return self._json(200, body)
                if self.path == "/token":
                    if not self._authorized():
                        return self._json(401, {"error": "invalid_client"})
                    if form.get("grant_type") == "authorization_code":
                        grant = standin.codes.pop(form.get("code", ""), None)
                        verifier = form.get("code_verifier", "")
                        challenge = base64.urlsafe_b64encode(
                            hashlib.sha256(verifier.encode()).digest()
                        ).rstrip(b"=").decode()
                        if not grant or grant["challenge"] != challenge or grant["redirect_uri"] != form.get("redirect_uri"):
                            return self._json(400, {"error": "invalid_grant"})
                        return self._json(200, standin._tokens(grant["sub"], grant["nonce"], grant["resource"]))
                    if form.get("grant_type") == "refresh_token":
                        sub = standin.refresh_tokens.pop(form.get("refresh_token", ""), None)
                        if not sub:
                            return self._json(400, {"error": "invalid_grant"})
                        return self._json(200, standin._tokens(sub, None, standin.resource))
                    return self._json(400, {"error": "unsupported_grant_type"})
                self._json(404, {"error": "not_found"})

        return Handler
