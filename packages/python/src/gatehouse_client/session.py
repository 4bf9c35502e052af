"""Browser sign-in for server-rendered services: the authorization code flow with PKCE (S256),
``state`` and ``nonce``, and a service session in a sealed cookie with a lease. The cookie format
is the TypeScript SDK's (compact JWE, ``dir`` + ``A256GCM``, key derived with HKDF-SHA256 from
the secret), so a Python and a TypeScript service of one client can read each other's sessions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import GatehouseError
from .member import Member, member_from_claims

if TYPE_CHECKING:
    from .client import GatehouseClient
    from .guards import RequestInfo

MAX_COOKIE = 3900  # browsers drop cookies above 4096 bytes, name included
_JWE_HEADER = base64.urlsafe_b64encode(b'{"alg":"dir","enc":"A256GCM"}').rstrip(b"=")


@dataclass
class SessionOptions:
    """Options of the browser sign-in (``GatehouseClient(session=SessionOptions(...))``)."""

    secret: str
    redirect_uri: str
    post_logout_redirect_uri: Optional[str] = None
    scope: str = "openid profile email groups"
    resource: Optional[str] = None
    cookie_name: Optional[str] = None
    secure_cookies: Optional[bool] = None
    max_age_seconds: int = 7 * 24 * 3600
    login_path: str = "/auth/login"
    callback_path: Optional[str] = None
    logout_path: str = "/auth/logout"
    default_return_to: str = "/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def safe_return_to(value: Optional[str], fallback: str) -> str:
    """Only same-site paths: an attacker's absolute URL must not survive the round trip."""
    if not value or len(value) > 2000:
        return fallback
    if not value.startswith("/") or value.startswith("//") or value.startswith("/\\"):
        return fallback
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return fallback
    return value


def serialize_cookie(name: str, value: str, max_age: int, secure: bool) -> str:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max(0, int(max_age))}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class SessionManager:
    def __init__(self, client: "GatehouseClient", options: Any) -> None:
        if isinstance(options, dict):
            options = SessionOptions(**options)
        if not isinstance(options.secret, str) or len(options.secret) < 32:
            raise GatehouseError("configuration", "session.secret must be at least 32 characters.")
        redirect = urllib.parse.urlsplit(options.redirect_uri)
        if redirect.scheme not in ("http", "https") or not redirect.netloc:
            raise GatehouseError("configuration", "session.redirect_uri must be an absolute URL.")
        self.client = client
        self.options = options
        self.secure = (
            options.secure_cookies if options.secure_cookies is not None else redirect.scheme == "https"
        )
        base = options.cookie_name or "gatehouse_service_session"
        # Secure cookies keep the __Host- prefix, a custom name too (as the TypeScript SDK): no
        # subdomain or path can set them.
        self.cookie_name = f"__Host-{base}" if self.secure and not base.startswith("__Host-") else base
        self.tx_cookie_name = f"{self.cookie_name}_tx"
        self._key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b"gatehouse-client",
            info=f"session:{client.client_id}".encode(),
        ).derive(options.secret.encode())
        self.paths = {
            "login": options.login_path,
            "callback": options.callback_path or (redirect.path or "/"),
            "logout": options.logout_path,
        }
        # One re-check per cookie at a time; requests arriving meanwhile share its result.
        self._rechecks: Dict[str, "_InFlight"] = {}
        self._rechecks_lock = threading.Lock()

    # ---- sealing (compact JWE, dir + A256GCM) ----------------------------------------------

    def seal(self, payload: Dict[str, Any], expires_at_ms: float) -> str:
        body = dict(payload, exp=int(expires_at_ms // 1000))
        iv = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(iv, json.dumps(body, separators=(",", ":")).encode(), _JWE_HEADER)
        return ".".join([_JWE_HEADER.decode(), "", _b64(iv), _b64(sealed[:-16]), _b64(sealed[-16:])])

    def open(self, value: Optional[str]) -> Optional[Dict[str, Any]]:
        if not value or len(value) > 8192:
            return None
        try:
            header, key, iv, ciphertext, tag = value.split(".")
            if key != "" or json.loads(_unb64(header)) != {"alg": "dir", "enc": "A256GCM"}:
                return None
            plain = AESGCM(self._key).decrypt(_unb64(iv), _unb64(ciphertext) + _unb64(tag), header.encode())
            payload = json.loads(plain)
        except Exception:
            return None
        if not isinstance(payload, dict):
            return None
        exp = payload.get("exp")
        if not isinstance(exp, (int, float)) or exp <= self.client.now():
            return None
        return payload

    # ---- the session -----------------------------------------------------------------------

    def _write(self, s: Dict[str, Any], cookies: List[str]) -> None:
        s = dict(s)
        value = self.seal(s, s["end"])
        for field in ("idt", "at"):
            if len(value) <= MAX_COOKIE:
                break
            s.pop(field, None)
            value = self.seal(s, s["end"])
        max_age = (s["end"] - self._now_ms()) / 1000
        cookies.append(serialize_cookie(self.cookie_name, value, int(max_age), self.secure))

    def clear(self, cookies: List[str], name: Optional[str] = None) -> None:
        cookies.append(serialize_cookie(name or self.cookie_name, "", 0, self.secure))

    def _now_ms(self) -> float:
        return self.client.now() * 1000

    def _token_request(self, params: Dict[str, str]) -> Optional[Dict[str, Any]]:
        endpoint = self.client.metadata().get("token_endpoint")
        if not endpoint:
            raise GatehouseError("configuration", "The issuer has no token endpoint.")
        status, body = self.client.post_form(endpoint, params)
        if status >= 500:
            raise GatehouseError("issuer_unavailable")
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            return None
        return body

    def _verify_id_token(self, id_token: str, nonce: Optional[str]) -> Dict[str, Any]:
        payload = self.client.decode_jwt(id_token, self.client.client_id, kind="id")
        if not isinstance(payload.get("iat"), (int, float)):
            raise GatehouseError("login_failed", "The ID token has no iat.")
        if nonce is not None and not hmac.compare_digest(str(payload.get("nonce", "")), nonce):
            raise GatehouseError("login_failed", "Nonce mismatch.")
        return payload

    def _member_from(self, id_claims: Dict[str, Any], access_token: str) -> Member:
        """The member from the ID token, completed by the access token's claims when readable."""
        from_access: Dict[str, Any] = {}
        try:
            m = self.client.verify(access_token)
            if m.id == id_claims.get("sub"):
                from_access = m.claims()
        except GatehouseError:
            pass  # an opaque or foreign access token: the ID token's claims are what we have
        merged = dict(id_claims)
        for k, v in from_access.items():
            if v is not None and not (isinstance(v, list) and not v and isinstance(merged.get(k), list)):
                merged[k] = v
        return member_from_claims(merged)

    def _recheck(self, s: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        t = self._now_ms()
        member = member_from_claims(_claims_of(s["u"]))
        if s.get("at") and self.client.client_secret:
            live = self.client.introspect(s["at"], "access_token")
            if live and live.get("sub") == member.id:
                exp = live.get("exp")
                if not isinstance(exp, (int, float)) or exp * 1000 > t:
                    u = member_from_claims(_overlay(member.claims(), live))
                    return {**s, "u": u.to_dict(), "chk": t, "lease": min(t + self.client.lease_seconds * 1000, s["end"])}
        if not s.get("rt"):
            return None
        tokens = self._token_request({"grant_type": "refresh_token", "refresh_token": s["rt"]})
        if not tokens:
            return None
        id_claims = member.claims()
        if tokens.get("id_token"):
            try:
                payload = self._verify_id_token(tokens["id_token"], None)
            except GatehouseError:
                return None
            if payload.get("sub") != member.id:
                return None
            id_claims = _overlay(id_claims, payload)
        u = self._member_from(id_claims, tokens["access_token"])
        return {
            **s,
            "u": u.to_dict(),
            "at": tokens["access_token"],
            "rt": tokens.get("refresh_token") or s.get("rt"),
            "idt": tokens.get("id_token") or s.get("idt"),
            "chk": t,
            "lease": min(t + self.client.lease_seconds * 1000, s["end"]),
        }

    def _shared_recheck(self, raw: str, s: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """One re-check per cookie at a time, its result shared by every request that arrives
        while it runs (as the TypeScript SDK's promise map): a second refresh with the refresh
        token the first one rotated would be reuse, which makes Gatehouse revoke the grant."""
        with self._rechecks_lock:
            flight = self._rechecks.get(raw)
            leader = flight is None
            if flight is None:
                flight = self._rechecks[raw] = _InFlight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = self._recheck(s)
        except BaseException as err:
            flight.error = err
            raise
        finally:
            with self._rechecks_lock:
                self._rechecks.pop(raw, None)
            flight.done.set()
        return flight.result

    def read(self, req: "RequestInfo", cookies: List[str]) -> Optional[Member]:
        """The member of a valid session cookie (re-checked with Gatehouse when due), or None."""
        raw = req.cookie(self.cookie_name)
        if not raw:
            return None
        s = self.open(raw)
        t = self._now_ms()
        u = s.get("u") if s else None
        if not s or not isinstance(u, dict) or not isinstance(u.get("id"), str) or not (
            isinstance(s.get("end"), (int, float)) and s["end"] > t
        ):
            self.clear(cookies)
            return None
        self.client.ensure_events()
        if t < s.get("lease", 0) and not self.client.must_recheck(u["id"], s.get("chk", 0) / 1000):
            return member_from_claims(_claims_of(u))
        renewed = self._shared_recheck(raw, s)
        if not renewed:
            self.clear(cookies)
            return None
        self._write(renewed, cookies)
        return member_from_claims(_claims_of(renewed["u"]))

    # ---- the three paths -------------------------------------------------------------------

    def login(self, return_to: Optional[str], cookies: List[str]) -> str:
        """Starts the sign-in; returns the URL to redirect the browser to."""
        meta = self.client.metadata()
        endpoint = meta.get("authorization_endpoint")
        if not endpoint:
            raise GatehouseError("configuration", "The issuer has no authorization endpoint.")
        tx = {
            "state": _b64(secrets.token_bytes(24)),
            "nonce": _b64(secrets.token_bytes(24)),
            "verifier": _b64(secrets.token_bytes(32)),
            "returnTo": safe_return_to(return_to, self.options.default_return_to),
        }
        params = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.options.redirect_uri,
            "scope": self.options.scope,
            "state": tx["state"],
            "nonce": tx["nonce"],
            "code_challenge": _b64(hashlib.sha256(tx["verifier"].encode()).digest()),
            "code_challenge_method": "S256",
        }
        if self.options.resource:
            params["resource"] = self.options.resource
        if "offline_access" in self.options.scope.split(" "):
            params["prompt"] = "consent"
        cookies.append(
            serialize_cookie(self.tx_cookie_name, self.seal(tx, self._now_ms() + 15 * 60_000), 15 * 60, self.secure)
        )
        sep = "&" if "?" in endpoint else "?"
        return endpoint + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)

    def callback(self, req: "RequestInfo", cookies: List[str]) -> str:
        """Completes the sign-in; sets the session and returns where to send the browser."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.url).query)

        def q(name: str) -> Optional[str]:
            v = query.get(name)
            return v[0] if v else None

        tx = self.open(req.cookie(self.tx_cookie_name))
        self.clear(cookies, self.tx_cookie_name)
        if not tx:
            raise GatehouseError("login_failed", "The sign-in took too long or was started elsewhere; start again.")
        if not hmac.compare_digest((q("state") or "").encode(), str(tx.get("state")).encode()):
            raise GatehouseError("login_failed", "The sign-in answer does not match; start again.")
        if q("error"):
            raise GatehouseError("login_failed", "Gatehouse did not sign you in; start again.")
        code = q("code")
        if not code or len(code) > 2048:
            raise GatehouseError("login_failed", "The sign-in answer has no code; start again.")
        params = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.options.redirect_uri,
            "code_verifier": tx["verifier"],
        }
        tokens = self._token_request(params)
        if not tokens or not tokens.get("id_token"):
            raise GatehouseError("login_failed", "Gatehouse did not confirm the sign-in; start again.")
        try:
            id_claims = self._verify_id_token(tokens["id_token"], tx["nonce"])
        except GatehouseError as err:
            raise GatehouseError("login_failed", "The sign-in could not be verified.") from err
        member = self._member_from(id_claims, tokens["access_token"])
        t = self._now_ms()
        self._write(
            {
                "u": member.to_dict(),
                "at": tokens["access_token"],
                "rt": tokens.get("refresh_token"),
                "idt": tokens["id_token"],
                "chk": t,
                "lease": t + self.client.lease_seconds * 1000,
                "end": t + self.options.max_age_seconds * 1000,
            },
            cookies,
        )
        return tx["returnTo"]

    def logout(self, req: "RequestInfo", cookies: List[str]) -> str:
        """Ends the service session; returns Gatehouse's end-session URL (or the page after)."""
        s = self.open(req.cookie(self.cookie_name))
        self.clear(cookies)
        after = self.options.post_logout_redirect_uri or urllib.parse.urljoin(self.options.redirect_uri, "/")
        try:
            endpoint = self.client.metadata().get("end_session_endpoint")
        except GatehouseError:
            endpoint = None
        if not endpoint:
            return after
        params = {"client_id": self.client.client_id, "post_logout_redirect_uri": after}
        if s and s.get("idt"):
            params["id_token_hint"] = s["idt"]
        sep = "&" if "?" in endpoint else "?"
        return endpoint + sep + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)


class _InFlight:
    """A re-check under way: its result (or error), and an event set once it is there."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Optional[Dict[str, Any]] = None
        self.error: Optional[BaseException] = None


def _overlay(held: Dict[str, Any], fresh: Dict[str, Any]) -> Dict[str, Any]:
    """``fresh`` over ``held``; an ``email`` in ``fresh`` is verified only if ``fresh`` says so."""
    merged = {**held, **fresh}
    if "email" in fresh and "email_verified" not in fresh:
        merged.pop("email_verified", None)
    return merged


def _claims_of(u: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "sub": u.get("id"),
        "preferred_username": u.get("username"),
        "name": u.get("name"),
        "email": u.get("email"),
        # The session holds only a verified address (member_from_claims kept no other).
        "email_verified": True if isinstance(u.get("email"), str) else None,
        "picture": u.get("picture"),
        "groups": u.get("groups") or [],
        "permissions": u.get("permissions") or [],
    }
