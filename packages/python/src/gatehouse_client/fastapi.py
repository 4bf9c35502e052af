"""FastAPI / Starlette adapter: dependencies that return the member (or answer 401/403), and the
sign-in paths as routes.

    gate = FastAPIGatehouse(GatehouseClient(...))
    gate.install(app)          # /auth/login, /auth/callback, /auth/logout; error answers

    @app.post("/messages")
    async def post(member: Member = Depends(gate.require_permission("post:messages"))): ...

    @app.post("/users")
    async def create(member: Member = Depends(gate.login_required(allow_unknown=True))): ...

Starlette without FastAPI: ``await gate.check(request, rule)`` returns the member or raises
:class:`GatehouseRefusal`, whose ``response`` is the answer. Imports Starlette with this module.
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from starlette.requests import Request
from starlette.responses import Response

from .guards import (
    Answer,
    RequestInfo,
    Rule,
    acheck,
    ahandle_auth_route,
    login_optional,
    login_required,
    require_access,
    require_permission,
)
from .member import Member


def request_info(request: Request) -> RequestInfo:
    query = request.url.query
    return RequestInfo(
        request.method, request.url.path + (f"?{query}" if query else ""), dict(request.headers), request.cookies
    )


def to_response(answer: Answer, cookies: List[str]) -> Response:
    res = Response(content=answer.body, status_code=answer.status, media_type=None)
    for name, value in answer.headers_with(cookies):
        res.headers.append(name, value)
    return res


class GatehouseRefusal(Exception):
    """A guard said no; ``response`` is the answer (install's handler sends it)."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused by a Gatehouse guard")
        self.response = response


class FastAPIGatehouse:
    def __init__(self, client: Any) -> None:
        self.client = client

    def install(self, app: Any) -> None:
        """Adds the sign-in routes and the handler turning refusals into answers."""

        async def refused(_request: Request, exc: GatehouseRefusal) -> Response:
            return exc.response

        app.add_exception_handler(GatehouseRefusal, refused)
        if self.client.sessions is not None:
            paths = self.client.sessions.paths

            async def auth_route(request: Request) -> Response:
                outcome = await ahandle_auth_route(self.client, request_info(request))
                if outcome is None:
                    return Response(status_code=404)
                return to_response(outcome.answer, outcome.cookies)

            app.add_route(paths["login"], auth_route, methods=["GET"])
            app.add_route(paths["callback"], auth_route, methods=["GET"])
            app.add_route(paths["logout"], auth_route, methods=["GET", "POST"])

    async def check(self, request: Request, rule: Rule, response: Optional[Response] = None) -> Optional[Member]:
        outcome = await acheck(self.client, request_info(request), rule, request)
        if not outcome.ok:
            raise GatehouseRefusal(to_response(outcome.answer, outcome.cookies))
        if response is not None:
            for c in outcome.cookies:
                response.headers.append("set-cookie", c)
        request.state.member = outcome.member
        return outcome.member

    def dependency(self, rule: Rule) -> Callable[..., Any]:
        async def dependency(request: Request, response: Response) -> Optional[Member]:
            return await self.check(request, rule, response)

        return dependency

    def login_required(self, allow_unknown: bool = False) -> Callable[..., Any]:
        return self.dependency(login_required(allow_unknown))

    def login_optional(self) -> Callable[..., Any]:
        return self.dependency(login_optional())

    def require_permission(self, *permissions: str) -> Callable[..., Any]:
        return self.dependency(require_permission(*permissions))

    def require_access(self, expression: Any, allow_unknown: bool = False) -> Callable[..., Any]:
        """An access expression, or ``lambda request, member: "…"`` (``request.path_params``)."""
        return self.dependency(require_access(expression, allow_unknown=allow_unknown))


StarletteGatehouse = FastAPIGatehouse
