"""HTTP with the standard library: small JSON requests with a time-out, and one streaming GET
for the event stream. No connection reuse is needed: Gatehouse is asked rarely (keys, leases)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple


class HttpResponse:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None


class Transport:
    """What the client uses to reach Gatehouse. ``proxy`` (e.g. ``http://127.0.0.1:3128``)
    sends every call through an HTTP proxy; otherwise no proxy is used (environment variables
    are ignored, so a service's egress is what it configured)."""

    def __init__(self, timeout: float = 5.0, proxy: Optional[str] = None) -> None:
        self.timeout = timeout
        proxies = {"http": proxy, "https": proxy} if proxy else {}
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler(proxies), _NoRedirect()
        )

    def request(
        self,
        method: str,
        url: str,
        headers: Optional[Dict[str, str]] = None,
        body: Optional[bytes] = None,
        max_bytes: int = 1 << 20,
    ) -> HttpResponse:
        """One request; raises ``OSError`` when Gatehouse cannot be reached."""
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self._opener.open(req, timeout=self.timeout) as res:
                return HttpResponse(res.status, dict(res.headers), res.read(max_bytes))
        except urllib.error.HTTPError as err:
            data = err.read(max_bytes) if err.fp else b""
            return HttpResponse(err.code, dict(err.headers or {}), data)

    def open_stream(self, url: str, headers: Dict[str, str], timeout: float) -> Tuple[int, Any]:
        """A streaming GET; returns the status and the response (read it line by line)."""
        req = urllib.request.Request(url, method="GET", headers=headers)
        try:
            res = self._opener.open(req, timeout=timeout)
        except urllib.error.HTTPError as err:
            err.close()
            return err.code, None
        return res.status, res
