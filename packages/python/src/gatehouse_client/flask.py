"""Flask adapter: decorators for views (and blueprints), browser sign-in paths, and the member
in ``flask.g.member``.

    from gatehouse_client import GatehouseClient
    from gatehouse_client.flask import FlaskGatehouse

    gate = FlaskGatehouse(GatehouseClient(...), app)

    @app.post("/messages")
    @gate.require_permission("post:messages")
    def post_message():
        return {"by": gate.member.id}

    @app.get("/workshop")
    @gate.require_access("members/workshop & !perm:banned")
    def workshop(): ...

    @app.post("/users")                       # authenticated, not yet a user
    @gate.login_required(allow_unknown=True)
    def create_my_account(): ...

Flask is imported when this module is, never by ``gatehouse_client`` itself.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional

import flask

from ._decorators import access_rule, permission_rule, rule_and_target
from .guards import Answer, Outcome, RequestInfo, Rule, check, handle_auth_route, werkzeug_request_info
from .member import Member

_COOKIES = "_gatehouse_cookies"


def request_info() -> RequestInfo:
    return werkzeug_request_info(flask.request)


def to_response(answer: Answer, cookies: List[str]) -> flask.Response:
    return flask.Response(answer.body, status=answer.status, headers=answer.headers_with(cookies))


class FlaskGatehouse:
    """Guards for one :class:`~gatehouse_client.GatehouseClient` in a Flask app."""

    def __init__(self, client: Any, app: Optional[flask.Flask] = None) -> None:
        self.client = client
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Answers /auth/login, /auth/callback and /auth/logout (with sign-in configured) and
        adds the cookies a guard renewed to every response."""
        app.before_request(self._auth_routes)
        app.after_request(self._flush_cookies)
        app.extensions["gatehouse"] = self

    def _auth_routes(self) -> Optional[flask.Response]:
        outcome = handle_auth_route(self.client, request_info())
        if outcome is None:
            return None
        return to_response(outcome.answer, outcome.cookies)

    @staticmethod
    def _flush_cookies(response: flask.Response) -> flask.Response:
        for c in flask.g.pop(_COOKIES, []):
            response.headers.add("Set-Cookie", c)
        return response

    @property
    def member(self) -> Optional[Member]:
        """The member of the current request (set by a guard), or None."""
        return flask.g.get("member")

    def _run(self, rule: Rule) -> Optional[flask.Response]:
        outcome: Outcome = check(self.client, request_info(), rule, flask.request)
        if not outcome.ok:
            return to_response(outcome.answer, outcome.cookies)
        flask.g.setdefault(_COOKIES, []).extend(outcome.cookies)
        flask.g.member = outcome.member
        # Flask Modular Login's name for it, to ease a migration.
        flask.g.user = outcome.member
        return None

    def guard(self, rule: Rule, kw: Optional[str] = None) -> Callable[[Any], Any]:
        """A decorator for a view or a blueprint enforcing ``rule``. With ``kw``, the member is
        also passed to the view as that keyword argument."""

        def decorate(target: Any) -> Any:
            if isinstance(target, flask.Blueprint):
                target.before_request(lambda: self._run(rule))
                return target

            @functools.wraps(target)
            def view(*args: Any, **kwargs: Any) -> Any:
                refused = self._run(rule)
                if refused is not None:
                    return refused
                if kw is not None:
                    kwargs[kw] = flask.g.member
                return target(*args, **kwargs)

            return view

        return decorate

    def login_required(self, *args: Any, allow_unknown: bool = False, kw: Optional[str] = None) -> Any:
        """``@gate.login_required``, ``@gate.login_required()``,
        ``@gate.login_required(allow_unknown=True)`` or ``gate.login_required(blueprint)``."""
        rule, target = rule_and_target("login", args, allow_unknown)
        decorate = self.guard(rule, kw)
        return decorate(target) if target is not None else decorate

    def login_optional(self, *args: Any, kw: Optional[str] = None) -> Any:
        rule, target = rule_and_target("optional", args, True)
        decorate = self.guard(rule, kw)
        return decorate(target) if target is not None else decorate

    def require_permission(self, *permissions: str, kw: Optional[str] = None) -> Any:
        return self.guard(permission_rule(permissions), kw)

    def require_access(
        self, expression: Any, allow_unknown: bool = False, kw: Optional[str] = None
    ) -> Any:
        """An access expression, or ``lambda request, member: "…"`` computing one (the request
        is ``flask.request``; its ``view_args`` hold the URL's variables)."""
        return self.guard(access_rule(expression, allow_unknown), kw)
