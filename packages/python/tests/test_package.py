"""The package's shape: the core imports no framework, and the public names are exported."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def test_the_core_imports_no_framework():
    code = (
        "import sys; import gatehouse_client; "
        "loaded = [m for m in ('flask', 'quart', 'aiohttp', 'starlette', 'fastapi', 'django', 'httpx') "
        "if m in sys.modules]; print(loaded); sys.exit(1 if loaded else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)},
                            capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_names():
    import gatehouse_client

    for name in gatehouse_client.__all__:
        assert hasattr(gatehouse_client, name), name
