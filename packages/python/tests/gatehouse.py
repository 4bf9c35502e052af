"""A real Gatehouse for pytest: tools/serve-gatehouse.ts run with the project's Node 24, driven
one JSON line at a time."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
NODE = REPO / "node_modules" / ".bin" / "node"
SCRIPT = REPO / "packages" / "python" / "tools" / "serve-gatehouse.ts"


class ServedGatehouse:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(NODE), "--conditions=gatehouse-source", str(SCRIPT)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None,  # Gatehouse's own errors show in pytest's output
            env=os.environ.copy(),
            text=True,
            bufsize=1,
        )
        first = self._read(timeout=180)
        self.issuer: str = first["issuer"]
        self._lock = threading.Lock()

    def _read(self, timeout: float) -> Any:
        result: list = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.close()
            raise RuntimeError("the served Gatehouse did not answer")
        return json.loads(result[0])

    def call(self, op: str, **args: Any) -> Any:
        with self._lock:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
            answer = self._read(timeout=60)
        if not answer.get("ok"):
            raise RuntimeError(answer.get("error"))
        return answer["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except Exception:
                self.proc.kill()
