"""gatehouse_client: trust Gatehouse from a Python service.

Local JWT verification against the published keys, introspection with a short lease for
opaque and API tokens, the revocation event stream, :class:`Member` with groups and
permissions, the access-expression language, browser sign-in, and adapters (in submodules,
importing their framework lazily): ``gatehouse_client.flask``, ``.quart``, ``.aiohttp``,
``.fastapi`` (FastAPI and Starlette) and ``.django``.
"""

from .client import GatehouseClient, basic_authorization
from .errors import GATEHOUSE_ERRORS, GatehouseError
from .expression import (
    ExpressionError,
    evaluate_expression,
    expression_terms,
    format_expression,
    is_group_path,
    parse_expression,
)
from .guards import (
    Answer,
    Outcome,
    RequestInfo,
    Rule,
    acheck,
    ahandle_auth_route,
    check,
    handle_auth_route,
    login_optional,
    login_required,
    require_access,
    require_permission,
)
from .member import Member, member_from_claims
from .session import SessionOptions

__version__ = "0.1.0"

__all__ = [
    "GATEHOUSE_ERRORS",
    "Answer",
    "ExpressionError",
    "GatehouseClient",
    "GatehouseError",
    "Member",
    "Outcome",
    "RequestInfo",
    "Rule",
    "SessionOptions",
    "acheck",
    "ahandle_auth_route",
    "basic_authorization",
    "check",
    "evaluate_expression",
    "expression_terms",
    "format_expression",
    "handle_auth_route",
    "is_group_path",
    "login_optional",
    "login_required",
    "member_from_claims",
    "parse_expression",
    "require_access",
    "require_permission",
]
