"""The client end of Gatehouse's revocation events: one long-lived server-sent-events connection
to ``<issuer>/api/v1/events`` (HTTP Basic with the client credentials), read on a daemon thread.
It reconnects with exponential back-off and equal jitter (250 ms doubling to 30 s), treats a
connection silent for 45 s as dead (Gatehouse pings every 15 s), and reports every
(re)connection so the caller re-checks the leases it held while blind."""

from __future__ import annotations

import json
import random
import socket
import threading
from typing import Any, Callable, Dict, Optional

from ._http import Transport


def backoff_delay(attempt: int, initial: float, maximum: float, rnd: Callable[[], float]) -> float:
    ceiling = min(maximum, initial * 2 ** min(attempt, 30))
    # Never less than half the ceiling, so retries do not hammer, and spread out.
    return ceiling / 2 + rnd() * ceiling / 2


def parse_event(text: str) -> Optional[Dict[str, str]]:
    """One ``data:`` payload as an event Gatehouse sends, or None for anything else."""
    try:
        e = json.loads(text)
    except ValueError:
        return None
    if not isinstance(e, dict):
        return None
    if e.get("type") == "recheck" and isinstance(e.get("sub"), str):
        return {"type": "recheck", "sub": e["sub"]}
    if e.get("type") in ("keys", "recheck-all"):
        return {"type": e["type"]}
    return None


class EventStream:
    def __init__(
        self,
        url: Callable[[], str],
        authorization: str,
        transport: Transport,
        on_event: Callable[[Dict[str, str]], None],
        on_connected: Callable[[], None],
        on_error: Optional[Callable[[BaseException], None]] = None,
        initial_delay: float = 0.25,
        max_delay: float = 30.0,
        idle_timeout: float = 45.0,
    ) -> None:
        self._url = url
        self._authorization = authorization
        self._transport = transport
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_error = on_error
        self._initial = initial_delay
        self._max = max_delay
        self._idle = idle_timeout
        self._closed = threading.Event()
        self._ready = threading.Event()
        self._connected = False
        self._response: Any = None
        self._attempt = 0
        self._thread = threading.Thread(target=self._loop, name="gatehouse-events", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self._connected

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Waits for the first connection; True once connected."""
        return self._ready.wait(timeout)

    def close(self) -> None:
        self._closed.set()
        res = self._response
        if res is not None:
            try:
                # Unblocks the reading thread at once.
                res.fp.raw._sock.shutdown(socket.SHUT_RDWR)  # type: ignore[attr-defined]
            except Exception:
                pass
            try:
                res.close()
            except Exception:
                pass

    def _loop(self) -> None:
        while not self._closed.is_set():
            try:
                self._connect_once()
            except Exception as err:  # the stream ended or could not be opened
                if self._closed.is_set():
                    return
                if self._on_error:
                    try:
                        self._on_error(err)
                    except Exception:
                        pass
            finally:
                self._connected = False
                self._response = None
            delay = backoff_delay(self._attempt, self._initial, self._max, random.random)
            self._attempt += 1
            self._closed.wait(delay)

    def _connect_once(self) -> None:
        url = self._url()
        status, res = self._transport.open_stream(
            url,
            {
                "Accept": "text/event-stream",
                "Authorization": self._authorization,
                "Cache-Control": "no-cache",
            },
            timeout=self._idle,  # a socket read silent this long raises: the connection is dead
        )
        if status != 200 or res is None:
            if res is not None:
                res.close()
            raise ConnectionError(f"{url} answered {status}")
        self._response = res
        if self._closed.is_set():
            res.close()
            return
        self._connected = True
        self._attempt = 0
        self._on_connected()
        self._ready.set()
        data: list = []
        with res:
            while not self._closed.is_set():
                line = res.readline(64 * 1024 + 1)
                if not line:
                    raise ConnectionError("event stream ended")
                if len(line) > 64 * 1024:
                    raise ConnectionError("event stream line too long")
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text == "":
                    if data:
                        event = parse_event("\n".join(data))
                        if event is not None:
                            self._on_event(event)
                    data = []
                elif text.startswith("data:"):
                    data.append(text[6:] if text[5:6] == " " else text[5:])
                # Comments (": ping"), event:, id: and retry: need nothing here.
