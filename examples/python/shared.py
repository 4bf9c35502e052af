"""What the Python examples share: the client built from the environment, and their pages (the
same pages as examples/shared/example.ts, so one contract tests them all)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

# Run from the repository without installing the package (pip install gatehouse-client does it
# for a real service).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packages" / "python" / "src"))

from gatehouse_client import GatehouseClient, Member, SessionOptions  # noqa: E402

WORKSHOP = "members/workshop"
READ = "upload:read"
WRITE = "upload:write"


def example_client(port: int, host: str = "127.0.0.1") -> GatehouseClient:
    env = os.environ
    base = f"http://{host}:{port}"
    resource = env.get("GATEHOUSE_RESOURCE") or None
    secret = env.get("CLIENT_SECRET", "")
    return GatehouseClient(
        issuer=env.get("GATEHOUSE_ISSUER", "http://localhost:8000"),
        client_id=env.get("CLIENT_ID", "example"),
        client_secret=secret,
        audience=resource,
        # An egress proxy, if the service must use one (the tests use it to cut off the JWKS).
        proxy=env.get("GATEHOUSE_HTTP_PROXY") or None,
        session=SessionOptions(
            secret=env.get("SESSION_SECRET") or f"{secret}-example-session-secret-padding",
            redirect_uri=f"{base}/auth/callback",
            resource=resource,
        ),
    )


def escape(s: str) -> str:
    return "".join(f"&#{ord(c)};" if c in "&<>\"'" else c for c in s)


def page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<main>{body}</main></html>"
    )


def home_page(member: Optional[Member]) -> str:
    if member:
        return page(
            "Home",
            f"<h1>Hello, {escape(member.name or member.username)}</h1>"
            '<form method="post" action="/auth/logout"><button>Sign out</button></form>',
        )
    return page("Home", '<h1>Welcome</h1><p><a href="/auth/login">Sign in with Gatehouse</a></p>')


def workshop_page(member: Member) -> str:
    return page("Workshop", f"<h1>Workshop</h1><p>Welcome, {escape(member.username)}.</p>")


def test_hooks() -> bool:
    """Only the tests turn these on: a route that waits for the event stream."""
    return os.environ.get("EXAMPLE_TEST_HOOKS") == "1"
