import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from standin import StandIn  # noqa: E402

from gatehouse_client import GatehouseClient  # noqa: E402

ADA = "6f1c8a52-6f36-4a49-9d4b-3a2f1f3c0d11"


@pytest.fixture
def standin():
    s = StandIn()
    yield s
    s.close()


@pytest.fixture
def client(standin):
    c = GatehouseClient(
        issuer=standin.issuer,
        client_id=standin.client_id,
        client_secret=standin.client_secret,
        jwks_cooldown_seconds=0.2,
    )
    yield c
    c.close()
