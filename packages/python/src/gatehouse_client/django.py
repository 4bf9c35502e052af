"""Django adapter: a middleware (sign-in paths, renewed cookies, ``request.gatehouse``) and view
decorators.

    # settings.py
    MIDDLEWARE = [..., "gatehouse_client.django.GatehouseMiddleware"]
    GATEHOUSE_CLIENT = "myproject.auth.gatehouse"   # dotted path to a GatehouseClient

    # views.py
    from gatehouse_client.django import login_required, require_access, require_permission

    @require_permission("post:messages")
    def post_message(request):
        return JsonResponse({"by": request.member.id})

``request.member`` is the member a guard found (``request.user`` is left to Django's auth).
Synchronous views; Django is imported with this module.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from ._decorators import access_rule, permission_rule, rule_and_target
from .guards import Answer, RequestInfo, Rule, check, handle_auth_route

_COOKIES = "_gatehouse_cookies"


def request_info(request: HttpRequest) -> RequestInfo:
    headers = {k: v for k, v in request.headers.items()}
    return RequestInfo(request.method or "GET", request.get_full_path(), headers, request.COOKIES)


def to_response(answer: Answer, cookies: List[str]) -> HttpResponse:
    res = HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
    if answer.location:
        res["Location"] = answer.location
    _add_cookies(res, cookies)
    return res


def _add_cookies(response: HttpResponse, cookies: List[str]) -> None:
    # Django keeps cookies in response.cookies (a SimpleCookie); parse our Set-Cookie values in.
    from http.cookies import SimpleCookie

    for c in cookies:
        jar: SimpleCookie = SimpleCookie()
        jar.load(c)
        for name, morsel in jar.items():
            response.cookies[name] = morsel


def _client() -> Any:
    configured = getattr(settings, "GATEHOUSE_CLIENT", None)
    if configured is None:
        raise RuntimeError("Set GATEHOUSE_CLIENT to a GatehouseClient or its dotted path.")
    return import_string(configured) if isinstance(configured, str) else configured


class GatehouseMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.client = _client()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.gatehouse = self.client  # type: ignore[attr-defined]
        outcome = handle_auth_route(self.client, request_info(request))
        if outcome is not None:
            return to_response(outcome.answer, outcome.cookies)
        response = self.get_response(request)
        _add_cookies(response, getattr(request, _COOKIES, []))
        return response


def _run(request: HttpRequest, rule: Rule) -> Optional[HttpResponse]:
    client = getattr(request, "gatehouse", None) or _client()
    outcome = check(client, request_info(request), rule, request)
    if not outcome.ok:
        return to_response(outcome.answer, outcome.cookies)
    setattr(request, _COOKIES, getattr(request, _COOKIES, []) + outcome.cookies)
    request.member = outcome.member  # type: ignore[attr-defined]
    return None


def guard(rule: Rule) -> Callable[[Any], Any]:
    def decorate(view: Any) -> Any:
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            refused = _run(request, rule)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def login_required(*args: Any, allow_unknown: bool = False) -> Any:
    rule, target = rule_and_target("login", args, allow_unknown)
    decorate = guard(rule)
    return decorate(target) if target is not None else decorate


def login_optional(*args: Any) -> Any:
    rule, target = rule_and_target("optional", args, True)
    decorate = guard(rule)
    return decorate(target) if target is not None else decorate


def require_permission(*permissions: str) -> Any:
    return guard(permission_rule(permissions))


def require_access(expression: Any, allow_unknown: bool = False) -> Any:
    """An access expression, or ``lambda request, member: "…"``."""
    return guard(access_rule(expression, allow_unknown))
