"""aiohttp adapter: one middleware (sign-in paths, renewed cookies, and optionally one rule for
every route) plus decorators for handlers. The member is ``request["member"]`` (and
``request["user"]``, Flask Modular Login's name).

    gate = AiohttpGatehouse(GatehouseClient(...))
    app = web.Application(middlewares=[gate.middleware])

    @gate.require_permission("upload:write")
    async def upload(request): ...

aiohttp is imported with this module.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, List, Optional

from aiohttp import web

from ._decorators import access_rule, permission_rule, rule_and_target
from .guards import Answer, RequestInfo, Rule, acheck, ahandle_auth_route
from .member import Member

_COOKIES = "gatehouse_cookies"


def request_info(request: web.Request) -> RequestInfo:
    return RequestInfo(request.method, request.rel_url.raw_path_qs if hasattr(request.rel_url, "raw_path_qs") else str(request.rel_url), dict(request.headers), request.cookies)


def to_response(answer: Answer, cookies: List[str]) -> web.Response:
    return web.Response(body=answer.body, status=answer.status, headers=answer.headers_with(cookies))


def member_of(request: web.Request) -> Optional[Member]:
    """The member a guard found for this request, or None."""
    return request.get("member")


class AiohttpGatehouse:
    def __init__(self, client: Any, default_rule: Optional[Rule] = None) -> None:
        """``default_rule`` (e.g. ``login_optional()``) is applied to every request by the
        middleware, so ``request["member"]`` is always set."""
        self.client = client
        self.default_rule = default_rule

        @web.middleware
        async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
            info = request_info(request)
            outcome = await ahandle_auth_route(client, info)
            if outcome is not None:
                return to_response(outcome.answer, outcome.cookies)
            request[_COOKIES] = []
            if self.default_rule is not None:
                refused = await self._run(request, self.default_rule)
                if refused is not None:
                    return refused
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                for c in request.get(_COOKIES, []):
                    exc.headers.add("Set-Cookie", c)
                raise
            for c in request.get(_COOKIES, []):
                response.headers.add("Set-Cookie", c)
            return response

        self.middleware = middleware

    async def _run(self, request: web.Request, rule: Rule) -> Optional[web.Response]:
        outcome = await acheck(self.client, request_info(request), rule, request)
        if not outcome.ok:
            return to_response(outcome.answer, outcome.cookies)
        request.setdefault(_COOKIES, []).extend(outcome.cookies)
        request["member"] = outcome.member
        request["user"] = outcome.member
        return None

    def guard(self, rule: Rule) -> Callable[[Any], Any]:
        def decorate(handler: Any) -> Any:
            @functools.wraps(handler)
            async def guarded(request: web.Request) -> Any:
                refused = await self._run(request, rule)
                if refused is not None:
                    return refused
                return await handler(request)

            return guarded

        return decorate

    def login_required(self, *args: Any, allow_unknown: bool = False) -> Any:
        rule, target = rule_and_target("login", args, allow_unknown)
        decorate = self.guard(rule)
        return decorate(target) if target is not None else decorate

    def login_optional(self, *args: Any) -> Any:
        rule, target = rule_and_target("optional", args, True)
        decorate = self.guard(rule)
        return decorate(target) if target is not None else decorate

    def require_permission(self, *permissions: str) -> Any:
        return self.guard(permission_rule(permissions))

    def require_access(self, expression: Any, allow_unknown: bool = False) -> Any:
        """An access expression, or ``lambda request, member: "…"`` (``request.match_info``
        holds the URL's variables)."""
        return self.guard(access_rule(expression, allow_unknown))
