"""The session cookie has the TypeScript SDK's format: a cookie sealed here opens with jose's
jwtDecrypt under the key the TypeScript SDK derives, and one sealed there opens here."""

import json
import subprocess

import pytest

from gatehouse import NODE, REPO
from gatehouse_client import GatehouseClient, SessionOptions

SECRET = "a-session-secret-of-at-least-32-characters"



@pytest.mark.skipif(not NODE.exists(), reason="node_modules/.bin/node is missing (npm ci)")
def test_sessions_are_sealed_as_the_typescript_sdk_seals_them():
    client = GatehouseClient(
        "https://auth.example.org", "uploads", events=False,
        session=SessionOptions(secret=SECRET, redirect_uri="https://uploads.example.org/auth/callback"),
    )
    sessions = client.sessions
    assert sessions.cookie_name == "__Host-gatehouse_service_session"

    now_ms = client.now() * 1000
    sealed = sessions.seal({"u": {"id": "ada"}, "lease": now_ms, "chk": now_ms, "end": now_ms + 60_000}, now_ms + 60_000)
    script = REPO / "packages" / "python" / "tools" / "session-interop.ts"
    out = subprocess.run(
        [str(NODE), "--conditions=gatehouse-source", str(script), sealed, "uploads", SECRET],
        cwd=REPO, capture_output=True, check=True, timeout=60,
    ).stdout
    answer = json.loads(out)
    assert answer["payload"]["u"] == {"id": "ada"}
    opened = sessions.open(answer["back"])
    assert opened is not None and opened["from"] == "ts" and opened["u"] == {"id": "ada"}
    # Tampering is refused.
    assert sessions.open(answer["back"][:-3] + ("AAA" if not answer["back"].endswith("AAA") else "BBB")) is None


def test_a_custom_cookie_name_keeps_the_host_prefix_when_secure(standin):
    def name(**options):
        c = GatehouseClient(standin.issuer, standin.client_id, standin.client_secret, events=False,
                            session=SessionOptions(secret="x" * 40, **options))
        return c.sessions.cookie_name

    assert name(redirect_uri="https://svc.example/cb", cookie_name="uploads") == "__Host-uploads"
    assert name(redirect_uri="https://svc.example/cb", cookie_name="__Host-uploads") == "__Host-uploads"
    assert name(redirect_uri="http://127.0.0.1/cb", cookie_name="uploads") == "uploads"
