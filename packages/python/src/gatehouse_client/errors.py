"""Every failure the client reports: a stable code, the HTTP status a guard answers with, and a
message a person can act on. The same table as the TypeScript SDK (packages/client/src/errors.ts)."""

from __future__ import annotations

from typing import Any, Dict, Optional

GATEHOUSE_ERRORS: Dict[str, Dict[str, Any]] = {
    "token_missing": {"status": 401, "message": "Sign in, or send an access token as Bearer."},
    "token_invalid": {"status": 401, "message": "The access token is not valid for this service."},
    "token_expired": {"status": 401, "message": "The access token has expired; get a new one."},
    "token_revoked": {"status": 401, "message": "The access token or session has been revoked."},
    "login_required": {"status": 401, "message": "Sign in to continue."},
    "forbidden": {"status": 403, "message": "You do not have access to this."},
    "unknown_user": {
        "status": 403,
        "message": "You are signed in, but not yet registered with this service.",
    },
    "login_failed": {"status": 400, "message": "Sign-in did not complete; try again."},
    "issuer_unavailable": {
        "status": 503,
        "message": "Gatehouse cannot be reached right now; try again shortly.",
    },
    "configuration": {"status": 500, "message": "The service is misconfigured."},
}


class GatehouseError(Exception):
    """An error with a stable ``code`` and the HTTP ``status`` to answer with.

    >>> GatehouseError("forbidden").status
    403
    """

    def __init__(self, code: str, message: Optional[str] = None) -> None:
        if code not in GATEHOUSE_ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status: int = GATEHOUSE_ERRORS[code]["status"]
        self.message: str = message or GATEHOUSE_ERRORS[code]["message"]
        super().__init__(self.message)

    def to_json(self) -> Dict[str, Dict[str, str]]:
        """The JSON body guards answer with: ``{"error": {"code", "message"}}``."""
        return {"error": {"code": self.code, "message": self.message}}
