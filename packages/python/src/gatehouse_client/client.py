"""GatehouseClient: everything a service needs to trust Gatehouse, built per instance (no module
state, so two clients for two issuers live side by side). Signed access tokens are verified
locally against the published keys; opaque tokens (API tokens, sessions) through introspection
with a short lease; both are cached until ``exp``, the lease, or a revocation event for their
subject. The Python counterpart of packages/client/src/client.ts."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
import urllib.parse
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

import jwt

from ._http import Transport
from .cache import MISS, LeaseCache
from .errors import GatehouseError
from .events import EventStream
from .expression import AccessEvaluator
from .keys import ASYMMETRIC_ALGORITHMS, KeySet
from .member import Member, member_from_claims

DEFAULT_ALGORITHMS = ("RS256", "PS256", "ES256", "ES384", "EdDSA")
MAX_TOKEN_LENGTH = 16 * 1024
MAX_MARKS = 50_000
NEGATIVE_LEASE = 5.0  # seconds "this token is not valid" is remembered


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The HTTP Basic value for client credentials (RFC 6749 §2.3.1: both parts form-encoded)."""

    def enc(s: str) -> str:
        return urllib.parse.quote_plus(s, safe="!*'()")

    raw = f"{enc(client_id)}:{enc(client_secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def normalized_typ(typ: Any) -> Optional[str]:
    """The JWT ``typ`` header without its optional ``application/`` prefix, lower-cased
    (RFC 8725 §3.11, RFC 9068 §4: ``at+jwt`` and ``application/at+jwt`` are the same type)."""
    if not isinstance(typ, str):
        return None
    t = typ.lower()
    return t[len("application/"):] if t.startswith("application/") else t


def _is_loopback(url: str) -> bool:
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError:
        return False
    return host in ("127.0.0.1", "::1", "localhost")


def is_bearer_token_type(token_type: Any) -> bool:
    """An introspection answer's ``token_type`` for a bearer credential (RFC 6749 §7.1: any
    case)."""
    if not isinstance(token_type, str):
        return False
    return token_type.lower() == "bearer" or token_type == "gatehouse_api_token"


def is_jwt(token: str) -> bool:
    """Exactly three dot-separated parts (a JWS); anything else is opaque."""
    parts = token.split(".")
    return len(parts) == 3 and parts[0] != "" and parts[1] != ""


class GatehouseClient:
    """A client for one Gatehouse issuer. Nothing is fetched until first use.

    >>> gatehouse = GatehouseClient(issuer="https://auth.example.org", client_id="uploads",
    ...                             client_secret=os.environ["GATEHOUSE_CLIENT_SECRET"])
    >>> member = gatehouse.verify(bearer_token)
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: Optional[str] = None,
        *,
        audience: Union[str, Sequence[str], None] = None,
        algorithms: Optional[Iterable[str]] = None,
        clock_tolerance: float = 5,
        cache_size: int = 10_000,
        lease_seconds: float = 60,
        jwks_cooldown_seconds: float = 30,
        jwks_max_age_seconds: float = 600,
        events: Optional[bool] = None,
        events_url: Optional[str] = None,
        timeout: float = 5.0,
        proxy: Optional[str] = None,
        session: Any = None,
        is_known_user: Optional[Callable[[Member], Any]] = None,
        unknown_user_redirect: Optional[str] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
        transport: Optional[Transport] = None,
        now: Optional[Callable[[], float]] = None,
        allow_insecure_issuer: bool = False,
    ) -> None:
        if not isinstance(issuer, str) or not issuer.startswith(("http://", "https://")):
            raise GatehouseError("configuration", "issuer must be an http(s) URL.")
        if issuer.startswith("http://") and not allow_insecure_issuer and not _is_loopback(issuer):
            # Keys, introspection answers and client credentials over plain HTTP can be read
            # and replaced on the way.
            raise GatehouseError(
                "configuration",
                "issuer must be https (http only for 127.0.0.1, ::1 or localhost, or with "
                "allow_insecure_issuer=True).",
            )
        if not isinstance(client_id, str) or client_id == "":
            raise GatehouseError("configuration", "client_id is required.")
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.audience = audience if audience is not None else client_id
        chosen = [a for a in (algorithms or DEFAULT_ALGORITHMS) if a in ASYMMETRIC_ALGORITHMS]
        if not chosen:
            raise GatehouseError("configuration", "algorithms must name asymmetric algorithms.")
        self._configured_algorithms = tuple(chosen)
        self.clock_tolerance = clock_tolerance
        self.lease_seconds = lease_seconds
        self.is_known_user = is_known_user
        self.unknown_user_redirect = unknown_user_redirect
        self.on_error = on_error
        self.now: Callable[[], float] = now or time.time
        self.transport = transport or Transport(timeout=timeout, proxy=proxy)
        self._want_events = bool(client_secret) if events is None else events
        if self._want_events and not client_secret:
            raise GatehouseError("configuration", "Revocation events need client_secret.")
        self._events_url = events_url or issuer.rstrip("/") + "/api/v1/events"
        self._metadata: Optional[Dict[str, Any]] = None
        self._metadata_lock = threading.Lock()
        self._algorithms: Optional[tuple] = None
        self.keys = KeySet(
            jwks_uri=lambda: self.metadata()["jwks_uri"],
            fetch_json=self._get_json,
            cooldown=jwks_cooldown_seconds,
            max_age=jwks_max_age_seconds,
            on_error=self._report,
        )
        self.cache = LeaseCache(cache_size)
        self._access = AccessEvaluator()
        self._marks: Dict[str, float] = {}
        self._mark_floor = float("-inf")
        self._gap_at = float("-inf")
        self._marks_lock = threading.Lock()
        self._recheck_listeners: List[Callable[[str], None]] = []
        self._stream: Optional[EventStream] = None
        self._stream_lock = threading.Lock()
        self.sessions = None
        if session is not None:
            from .session import SessionManager

            self.sessions = SessionManager(self, session)

    # ---- Gatehouse's endpoints -------------------------------------------------------------

    def _report(self, err: BaseException) -> None:
        if self.on_error:
            try:
                self.on_error(err)
            except Exception:
                pass

    def _get_json(self, url: str) -> Any:
        try:
            res = self.transport.request("GET", url, {"Accept": "application/json"})
        except OSError as err:
            raise GatehouseError("issuer_unavailable") from err
        body = res.json()
        if res.status != 200 or not isinstance(body, dict):
            raise GatehouseError("issuer_unavailable", f"{url} answered {res.status}.")
        return body

    def metadata(self) -> Dict[str, Any]:
        """The discovery document (``/.well-known/openid-configuration``), fetched once."""
        if self._metadata is not None:
            return self._metadata
        with self._metadata_lock:
            if self._metadata is None:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                meta = self._get_json(url)
                if meta.get("issuer") != self.issuer:
                    raise GatehouseError(
                        "configuration",
                        f"The discovery document names issuer {meta.get('issuer')!r}, not {self.issuer!r}.",
                    )
                if not isinstance(meta.get("jwks_uri"), str):
                    raise GatehouseError("configuration", "The issuer publishes no jwks_uri.")
                self._metadata = meta
        return self._metadata

    @property
    def algorithms(self) -> tuple:
        """The accepted algorithms: the configured asymmetric ones, narrowed to those the
        discovery document announces for signing (when it announces any)."""
        if self._algorithms is None:
            announced = set()
            for key, value in self.metadata().items():
                if key.endswith("_signing_alg_values_supported") and isinstance(value, list):
                    announced.update(v for v in value if isinstance(v, str))
            pinned = tuple(a for a in self._configured_algorithms if a in announced)
            self._algorithms = pinned if announced else self._configured_algorithms
            if not self._algorithms:
                raise GatehouseError(
                    "configuration", "The issuer announces none of the accepted algorithms."
                )
        return self._algorithms

    def client_authorization(self) -> Optional[str]:
        if not self.client_secret:
            return None
        return basic_authorization(self.client_id, self.client_secret)

    def post_form(self, url: str, params: Mapping[str, str]) -> Any:
        """A form POST with the client's credentials; the answer's status and JSON body."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        auth = self.client_authorization()
        body = dict(params)
        if auth:
            headers["Authorization"] = auth
        else:
            body["client_id"] = self.client_id
        try:
            res = self.transport.request(
                "POST", url, headers, urllib.parse.urlencode(body).encode()
            )
        except OSError as err:
            raise GatehouseError("issuer_unavailable") from err
        return res.status, res.json()

    def introspect(self, token: str, hint: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """RFC 7662 introspection: the active token's claims, or None when it is not active (or
        Gatehouse cannot vouch for it)."""
        if not self.client_secret:
            raise GatehouseError(
                "configuration",
                "Opaque tokens are checked through introspection, which needs client_secret.",
            )
        endpoint = self.metadata().get("introspection_endpoint")
        if not endpoint:
            raise GatehouseError("configuration", "The issuer publishes no introspection endpoint.")
        params = {"token": token}
        if hint:
            params["token_type_hint"] = hint
        status, body = self.post_form(endpoint, params)
        if status in (401, 403):
            raise GatehouseError("configuration", "Gatehouse refused this service's credentials.")
        if status != 200:
            # Gatehouse (oidc-provider) does not introspect its own JWT access tokens.
            if status == 400 and isinstance(body, dict) and body.get("error") == "unsupported_token_type":
                return None
            raise GatehouseError("issuer_unavailable")
        if not isinstance(body, dict):
            raise GatehouseError("issuer_unavailable")
        if body.get("active") is not True or not isinstance(body.get("sub"), str):
            return None
        if body.get("iss") is not None and body.get("iss") != self.issuer:
            return None
        # Only an access token (oidc-provider answers token_type Bearer) or a Gatehouse API token
        # is a bearer credential; a refresh token (no token_type) or a DPoP-bound one is not.
        if not is_bearer_token_type(body.get("token_type")):
            return None
        return body

    # ---- revocation ------------------------------------------------------------------------

    def _mark(self, sub: str) -> None:
        with self._marks_lock:
            self._marks.pop(sub, None)
            self._marks[sub] = self.now()
            while len(self._marks) > MAX_MARKS:
                oldest = next(iter(self._marks))
                self._mark_floor = max(self._mark_floor, self._marks.pop(oldest))

    def revoked_since(self, sub: str) -> float:
        return max(self._marks.get(sub, float("-inf")), self._mark_floor)

    def must_recheck(self, sub: str, checked_at: float) -> bool:
        """Whether a lease checked at ``checked_at`` (epoch seconds) must be checked again."""
        return checked_at <= self.revoked_since(sub) or checked_at <= self._gap_at

    def _revoked_while_asking(self, sub: str, asked: float) -> bool:
        return self.revoked_since(sub) >= asked or self._gap_at >= asked

    def _on_event(self, event: Dict[str, str]) -> None:
        if event["type"] == "keys":
            # One background fetch per cool-down, however many events arrive.
            self.keys.refresh_soon()
            return
        if event["type"] == "recheck-all":
            self._gap_at = self.now()
            self.cache.clear()
            return
        sub = event["sub"]
        self._mark(sub)
        self.cache.evict_subject(sub)
        for listener in list(self._recheck_listeners):
            try:
                listener(sub)
            except Exception as err:
                self._report(err)

    def _on_connected(self) -> None:
        # Events may have been missed while disconnected: every lease is checked again.
        self._gap_at = self.now()
        self.cache.clear()

    def ensure_events(self) -> None:
        if not self._want_events or self._stream is not None:
            return
        with self._stream_lock:
            if self._stream is None:
                self._stream = EventStream(
                    url=lambda: self._events_url,
                    authorization=self.client_authorization() or "",
                    transport=self.transport,
                    on_event=self._on_event,
                    on_connected=self._on_connected,
                    on_error=self._report,
                )

    def connect(self, timeout: float = 10.0) -> None:
        """Opens the event stream now and waits for it (otherwise it opens on first use)."""
        if not self._want_events:
            raise GatehouseError("configuration", "Events are off for this client.")
        self.ensure_events()
        assert self._stream is not None
        if not self._stream.wait_ready(timeout):
            raise GatehouseError("issuer_unavailable", "The event stream did not connect.")

    @property
    def events_connected(self) -> bool:
        return self._stream is not None and self._stream.connected

    def on_recheck(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Tells ``listener(sub)`` about every ``recheck``; returns a function removing it."""
        self._recheck_listeners.append(listener)
        return lambda: self._recheck_listeners.remove(listener)

    def close(self) -> None:
        """Closes the event stream and forgets cached tokens (call on shutdown)."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        self.cache.clear()

    # ---- verification ----------------------------------------------------------------------

    def verify(self, token: Optional[str]) -> Member:
        """The member a bearer token stands for; raises :class:`GatehouseError` otherwise."""
        if not isinstance(token, str) or token == "":
            raise GatehouseError("token_missing")
        self.ensure_events()
        hit = self.cache.get(token, self.now())
        if hit is not MISS:
            if hit is None:
                raise GatehouseError("token_invalid")
            return hit
        if len(token) > MAX_TOKEN_LENGTH:
            raise GatehouseError("token_invalid")
        return self._verify_jwt(token) if is_jwt(token) else self._verify_opaque(token)

    def cached(self, token: str) -> Optional[Member]:
        """The member for a token verified before and still leased, without any I/O."""
        hit = self.cache.get(token, self.now())
        return None if hit is MISS else hit

    async def averify(self, token: Optional[str]) -> Member:
        """:meth:`verify` for async code: a cached token answers at once, anything that may
        call Gatehouse runs on the default executor."""
        if isinstance(token, str) and token:
            member = self.cached(token)
            if member is not None:
                return member
        return await asyncio.get_running_loop().run_in_executor(None, self.verify, token)

    def decode_jwt(self, token: str, audience: Any, kind: str = "access") -> Dict[str, Any]:
        """Verifies a JWT's signature (a key from the published set, an allowed asymmetric
        algorithm whose key type matches), ``iss``, ``aud``, ``exp``, ``nbf`` and its kind:
        ``"access"`` requires ``typ`` ``at+jwt`` (RFC 9068), ``"id"`` refuses access and logout
        tokens. The header read here is the one the signature covers."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise GatehouseError("token_invalid") from err
        typ = normalized_typ(header.get("typ"))
        if kind == "access" and typ != "at+jwt":
            # An ID token (which leaks through id_token_hint) or a logout token signed by the
            # same keys for this audience is not a bearer credential.
            raise GatehouseError("token_invalid", "The token is not an access token.")
        if kind == "id" and typ in ("at+jwt", "logout+jwt"):
            raise GatehouseError("token_invalid", "The token is not an ID token.")
        alg = header.get("alg")
        kid = header.get("kid")
        if not isinstance(alg, str) or alg not in self.algorithms:
            # "none", HS256 (a public key used as an HMAC secret) and anything unannounced.
            raise GatehouseError("token_invalid", "The access token's algorithm is not accepted.")
        if kid is not None and not isinstance(kid, str):
            raise GatehouseError("token_invalid")
        key = self.keys.get_key(alg, kid)
        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=self.clock_tolerance,
                options={"require": ["exp", "sub"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError as err:
            raise GatehouseError("token_expired") from err
        except jwt.PyJWTError as err:
            raise GatehouseError("token_invalid") from err

    def _verify_jwt(self, token: str) -> Member:
        payload = self.decode_jwt(token, self.audience)
        sub = payload.get("sub")
        if not isinstance(sub, str) or not sub:
            raise GatehouseError("token_invalid")
        iat = payload.get("iat")
        issued_at = float(iat) if isinstance(iat, (int, float)) else 0.0
        claims: Dict[str, Any] = payload
        asked = self.now()
        if issued_at <= self.revoked_since(sub) + self.clock_tolerance:
            # Issued before a revocation for this member: only Gatehouse can say it stands.
            # ``iat`` is Gatehouse's clock and the mark this service's: the tolerance covers
            # their skew.
            live = self.introspect(token, "access_token") if self.client_secret else None
            if not live:
                self.cache.set(token, None, self.now() + NEGATIVE_LEASE, sub)
                raise GatehouseError("token_revoked")
            claims = {**payload, **live, "sub": sub}
        member = member_from_claims(claims)
        if not self._revoked_while_asking(sub, asked):
            self.cache.set(token, member, float(payload["exp"]), sub)
        return member

    def _verify_opaque(self, token: str) -> Member:
        asked = self.now()
        claims = self.introspect(token)
        at = self.now()
        if not claims:
            self.cache.set(token, None, at + NEGATIVE_LEASE, None)
            raise GatehouseError("token_invalid")
        member = member_from_claims(claims)
        exp = claims.get("exp")
        expires = float(exp) if isinstance(exp, (int, float)) else float("inf")
        if not self._revoked_while_asking(member.id, asked):
            self.cache.set(token, member, min(expires, at + self.lease_seconds), member.id)
        return member

    # ---- access ----------------------------------------------------------------------------

    def allows(self, expression: str, member: Member) -> bool:
        """Whether ``member`` passes an access expression (parsed once per distinct text)."""
        return self._access.allows(expression, member)
