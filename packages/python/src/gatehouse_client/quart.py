"""Quart adapter: the Flask adapter's decorators for async views (``quart.g.member``).

    gate = QuartGatehouse(GatehouseClient(...), app)

    @app.post("/users")
    @gate.login_required(allow_unknown=True)   # Send A Hug's POST /users
    async def create_user(): ...

``is_known_user`` may be a coroutine function here. Quart is imported with this module.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional

import quart

from ._decorators import access_rule, permission_rule, rule_and_target
from .guards import Answer, RequestInfo, Rule, acheck, ahandle_auth_route, werkzeug_request_info
from .member import Member

_COOKIES = "_gatehouse_cookies"


def request_info() -> RequestInfo:
    return werkzeug_request_info(quart.request)


def to_response(answer: Answer, cookies: List[str]) -> quart.Response:
    return quart.Response(answer.body, status=answer.status, headers=answer.headers_with(cookies))


class QuartGatehouse:
    def __init__(self, client: Any, app: Optional[quart.Quart] = None) -> None:
        self.client = client
        if app is not None:
            self.init_app(app)

    def init_app(self, app: quart.Quart) -> None:
        app.before_request(self._auth_routes)
        app.after_request(self._flush_cookies)
        app.extensions["gatehouse"] = self

    async def _auth_routes(self) -> Optional[quart.Response]:
        outcome = await ahandle_auth_route(self.client, request_info())
        if outcome is None:
            return None
        return to_response(outcome.answer, outcome.cookies)

    @staticmethod
    async def _flush_cookies(response: quart.Response) -> quart.Response:
        for c in quart.g.pop(_COOKIES, []):
            response.headers.add("Set-Cookie", c)
        return response

    @property
    def member(self) -> Optional[Member]:
        return quart.g.get("member")

    async def _run(self, rule: Rule) -> Optional[quart.Response]:
        outcome = await acheck(self.client, request_info(), rule, quart.request)
        if not outcome.ok:
            return to_response(outcome.answer, outcome.cookies)
        quart.g.setdefault(_COOKIES, []).extend(outcome.cookies)
        quart.g.member = outcome.member
        quart.g.user = outcome.member
        return None

    def guard(self, rule: Rule, kw: Optional[str] = None) -> Callable[[Any], Any]:
        def decorate(target: Any) -> Any:
            if isinstance(target, quart.Blueprint):
                async def before() -> Any:
                    return await self._run(rule)

                target.before_request(before)
                return target

            @functools.wraps(target)
            async def view(*args: Any, **kwargs: Any) -> Any:
                refused = await self._run(rule)
                if refused is not None:
                    return refused
                if kw is not None:
                    kwargs[kw] = quart.g.member
                return await target(*args, **kwargs)

            return view

        return decorate

    def login_required(self, *args: Any, allow_unknown: bool = False, kw: Optional[str] = None) -> Any:
        rule, target = rule_and_target("login", args, allow_unknown)
        decorate = self.guard(rule, kw)
        return decorate(target) if target is not None else decorate

    def login_optional(self, *args: Any, kw: Optional[str] = None) -> Any:
        rule, target = rule_and_target("optional", args, True)
        decorate = self.guard(rule, kw)
        return decorate(target) if target is not None else decorate

    def require_permission(self, *permissions: str, kw: Optional[str] = None) -> Any:
        return self.guard(permission_rule(permissions), kw)

    def require_access(self, expression: Any, allow_unknown: bool = False, kw: Optional[str] = None) -> Any:
        return self.guard(access_rule(expression, allow_unknown), kw)
