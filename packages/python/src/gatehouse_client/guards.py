"""Framework-neutral guards. A rule says who may pass (anyone, any member, members satisfying an
access expression or holding permissions); :func:`check` authenticates the request, checks the
rule and, on failure, says how to answer: a redirect to sign in for a browser navigation,
otherwise JSON ``{"error": {"code", "message"}}`` with 401 or 403. Adapters turn a
:class:`RequestInfo` in and an :class:`Outcome` out into their framework's objects."""

from __future__ import annotations

import asyncio
import html
import inspect
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .errors import GatehouseError
from .member import Member

AccessSpec = Union[str, Callable[[Any, Member], str]]


@dataclass(frozen=True)
class Rule:
    """Who may pass a guard; build one with :func:`login_required`, :func:`login_optional`,
    :func:`require_access` or :func:`require_permission`."""

    login: str = "required"  # or "optional"
    allow_unknown: bool = False
    access: Optional[AccessSpec] = None
    permissions: Tuple[str, ...] = ()


def login_required(allow_unknown: bool = False) -> Rule:
    """Any signed-in member. ``allow_unknown=True``: also members ``is_known_user`` does not
    know yet ("authenticated, not yet a user": a create-my-account route)."""
    return Rule("required", allow_unknown=allow_unknown)


def login_optional() -> Rule:
    """Anyone; the member when signed in (a bad token is still refused)."""
    return Rule("optional", allow_unknown=True)


def require_access(expression: AccessSpec, allow_unknown: bool = False) -> Rule:
    """Members satisfying an access expression, given as text or computed from the request
    and member (``lambda request, member: f"teams/{request.view_args['team']}"``)."""
    if not isinstance(expression, str) and not callable(expression):
        raise TypeError("require_access needs an expression or a function returning one")
    return Rule("required", allow_unknown=allow_unknown, access=expression)


def require_permission(permission: str, *more: str) -> Rule:
    """Members holding every one of these permissions."""
    return Rule("required", permissions=(permission, *more))


class RequestInfo:
    """What the guards read from a request: method, path with query, headers, cookies."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        cookies: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.method = method.upper()
        self.url = url or "/"
        self._headers = {k.lower(): v for k, v in headers.items()}
        self._cookies = cookies

    def header(self, name: str) -> Optional[str]:
        return self._headers.get(name.lower())

    def cookie(self, name: str) -> Optional[str]:
        if self._cookies is None:
            parsed: Dict[str, str] = {}
            raw = self.header("cookie")
            if raw:
                for part in raw.split(";"):
                    k, sep, v = part.strip().partition("=")
                    if sep and k and k not in parsed:
                        parsed[k] = v
            self._cookies = parsed
        return self._cookies.get(name)

    @property
    def path(self) -> str:
        return self.url.split("?", 1)[0]


@dataclass
class Answer:
    """A response a guard or sign-in path decided on."""

    status: int
    body: bytes = b""
    content_type: Optional[str] = None
    location: Optional[str] = None

    @property
    def headers(self) -> List[Tuple[str, str]]:
        h = []
        if self.content_type:
            h.append(("Content-Type", self.content_type))
        if self.location:
            h.append(("Location", self.location))
        return h

    def headers_with(self, cookies: List[str]) -> List[Tuple[str, str]]:
        """The answer's headers and a Set-Cookie for each cookie a guard set or renewed."""
        return self.headers + [("Set-Cookie", c) for c in cookies]


@dataclass
class Outcome:
    """What a guard decided: ``ok`` with the member (None for an anonymous optional login), or
    the ``answer`` to send. ``cookies`` are Set-Cookie values to add to whatever is sent."""

    ok: bool
    member: Optional[Member] = None
    answer: Optional[Answer] = None
    cookies: List[str] = field(default_factory=list)


_BEARER = re.compile(r"^Bearer +(\S+)\s*$", re.IGNORECASE)


def werkzeug_request_info(r: Any) -> RequestInfo:
    """What a guard reads of a Flask or Quart request (the same Werkzeug-shaped API)."""
    query = r.query_string.decode("latin-1")
    return RequestInfo(r.method, r.path + (f"?{query}" if query else ""), dict(r.headers), r.cookies)


def bearer_token(req: RequestInfo) -> Optional[str]:
    header = req.header("authorization")
    if not header:
        return None
    m = _BEARER.match(header)
    return m.group(1) if m else None


def is_browser_navigation(req: RequestInfo) -> bool:
    if req.method not in ("GET", "HEAD"):
        return False
    if req.header("authorization"):
        return False
    mode = req.header("sec-fetch-mode")
    if mode:
        return mode == "navigate"
    return "text/html" in (req.header("accept") or "")


def authenticate(client: Any, req: RequestInfo, cookies: List[str]) -> Optional[Member]:
    """The member of the request (bearer token, else the service session), or None."""
    token = bearer_token(req)
    if token:
        return client.verify(token)
    if re.match(r"^bearer\b", req.header("authorization") or "", re.IGNORECASE):
        raise GatehouseError("token_invalid", "The Authorization header is malformed.")
    return client.sessions.read(req, cookies) if client.sessions else None


def _error_page(err: GatehouseError, login_path: Optional[str]) -> str:
    title = "Not allowed" if err.status == 403 else "Something went wrong"
    nxt = (
        f'<p><a href="{html.escape(login_path)}">Sign in again</a></p>'
        if err.code == "login_failed" and login_path
        else '<p><a href="/">Go to the home page</a></p>'
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><main><h1>{title}</h1><p>{html.escape(err.message)}</p>{nxt}</main></body></html>"
    )


def error_answer(client: Any, req: RequestInfo, err: GatehouseError) -> Answer:
    """How to answer a failure: a redirect to sign in (a browser, sign-in configured), to
    ``unknown_user_redirect``, a page for a browser, or JSON."""
    browser = is_browser_navigation(req)
    paths = client.sessions.paths if client.sessions else None
    if err.status == 401 and browser and paths:
        return Answer(303, location=f"{paths['login']}?returnTo={urllib.parse.quote(req.url, safe='')}")
    if err.code == "unknown_user" and browser and client.unknown_user_redirect:
        return Answer(303, location=client.unknown_user_redirect)
    if err.status >= 500:
        # The detail of a server-side failure is for the operator, not the visitor.
        client._report(err)
        err = GatehouseError(err.code)
    if browser:
        page = _error_page(err, paths["login"] if paths else None)
        return Answer(err.status, page.encode(), "text/html; charset=utf-8")
    return Answer(err.status, json.dumps(err.to_json()).encode(), "application/json")


def _authorize(client: Any, member: Member, rule: Rule, request: Any, known: Optional[bool]) -> None:
    if known is False and not rule.allow_unknown:
        raise GatehouseError("unknown_user")
    for p in rule.permissions:
        if p not in member.permissions:
            raise GatehouseError("forbidden", f"This needs the permission {p}.")
    if rule.access is not None:
        expression = rule.access(request, member) if callable(rule.access) else rule.access
        if not client.allows(expression, member):
            raise GatehouseError("forbidden")


def check(client: Any, req: RequestInfo, rule: Rule, request: Any = None) -> Outcome:
    """Authenticates and checks ``rule`` (blocking: may call Gatehouse)."""
    cookies: List[str] = []
    try:
        member = authenticate(client, req, cookies)
        if member is None:
            if rule.login == "optional":
                return Outcome(True, None, cookies=cookies)
            raise GatehouseError("login_required" if client.sessions else "token_missing")
        known = None
        if client.is_known_user and not rule.allow_unknown:
            result = client.is_known_user(member)
            if inspect.isawaitable(result):
                raise GatehouseError("configuration", "is_known_user is async: use an async adapter.")
            known = bool(result)
        _authorize(client, member, rule, request, known)
        return Outcome(True, member, cookies=cookies)
    except GatehouseError as err:
        return Outcome(False, None, error_answer(client, req, err), cookies)


async def acheck(client: Any, req: RequestInfo, rule: Rule, request: Any = None) -> Outcome:
    """:func:`check` for async frameworks: anything that may call Gatehouse runs on the
    default executor; ``is_known_user`` may be a coroutine function."""
    cookies: List[str] = []
    try:
        token = bearer_token(req)
        member = client.cached(token) if token else None
        if member is None:
            loop = asyncio.get_running_loop()
            member = await loop.run_in_executor(None, authenticate, client, req, cookies)
        if member is None:
            if rule.login == "optional":
                return Outcome(True, None, cookies=cookies)
            raise GatehouseError("login_required" if client.sessions else "token_missing")
        known = None
        if client.is_known_user and not rule.allow_unknown:
            result = client.is_known_user(member)
            known = bool(await result) if inspect.isawaitable(result) else bool(result)
        _authorize(client, member, rule, request, known)
        return Outcome(True, member, cookies=cookies)
    except GatehouseError as err:
        return Outcome(False, None, error_answer(client, req, err), cookies)


def handle_auth_route(client: Any, req: RequestInfo) -> Optional[Outcome]:
    """Answers the sign-in paths (login, callback, logout); None for any other request."""
    sessions = client.sessions
    if sessions is None:
        return None
    path, method = req.path, req.method
    paths = sessions.paths
    cookies: List[str] = []
    try:
        if path == paths["login"] and method == "GET":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.url).query)
            return_to = (query.get("returnTo") or [None])[0]
            return Outcome(True, answer=Answer(303, location=sessions.login(return_to, cookies)), cookies=cookies)
        if path == paths["callback"] and method == "GET":
            return Outcome(True, answer=Answer(303, location=sessions.callback(req, cookies)), cookies=cookies)
        if path == paths["logout"] and method in ("GET", "POST"):
            # Cross-site requests cannot sign a member out (logout CSRF).
            if req.header("sec-fetch-site") == "cross-site":
                raise GatehouseError("forbidden", "Sign out from this service's own pages.")
            return Outcome(True, answer=Answer(303, location=sessions.logout(req, cookies)), cookies=cookies)
    except GatehouseError as err:
        return Outcome(False, answer=error_answer(client, req, err), cookies=cookies)
    return None


async def ahandle_auth_route(client: Any, req: RequestInfo) -> Optional[Outcome]:
    if client.sessions is None:
        return None
    paths = client.sessions.paths
    if req.path not in (paths["login"], paths["callback"], paths["logout"]):
        return None
    return await asyncio.get_running_loop().run_in_executor(None, handle_auth_route, client, req)
