"""What the decorator-style adapters (Flask, Quart, Django, aiohttp) share: turning the several
ways of calling ``login_required`` into one rule."""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

from .guards import Rule, login_optional, login_required, require_access, require_permission


def rule_and_target(
    kind: str, args: Tuple[Any, ...], allow_unknown: bool
) -> Tuple[Rule, Optional[Any]]:
    """``@login_required`` (target given) or ``@login_required(...)`` (rule only)."""
    if kind == "login":
        if len(args) == 1 and _is_target(args[0]):
            return login_required(allow_unknown), args[0]
        return login_required(allow_unknown), None
    if kind == "optional":
        if len(args) == 1 and _is_target(args[0]):
            return login_optional(), args[0]
        return login_optional(), None
    raise ValueError(kind)


def _is_target(value: Any) -> bool:
    """A view function, or a blueprint (which has before_request)."""
    return callable(value) or hasattr(value, "before_request")


def access_rule(expression: Any, allow_unknown: bool) -> Rule:
    return require_access(expression, allow_unknown=allow_unknown)


def permission_rule(permissions: Tuple[str, ...]) -> Rule:
    if not permissions:
        raise TypeError("require_permission needs at least one permission")
    return require_permission(*permissions)


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
