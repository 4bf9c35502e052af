"""Browser sign-in through a framework's test client and the stand-in's /auth page."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Callable, Dict, Tuple
from urllib.parse import urlsplit

# A test client's GET: (path with query, headers) → (status, headers as a dict of lists).
Get = Callable[[str, Dict[str, str]], Tuple[int, Dict[str, list]]]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def location_of(headers: Dict[str, list]) -> str:
    return headers["location"][0]


def cookies_from(headers: Dict[str, list], jar: Dict[str, str]) -> None:
    for c in headers.get("set-cookie", []):
        name, _, rest = c.partition("=")
        value = rest.split(";", 1)[0]
        if "Max-Age=0" in c:
            jar.pop(name, None)
        else:
            jar[name] = value


def cookie_header(jar: Dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def sign_in(get: Get, jar: Dict[str, str], return_to: str = "/") -> str:
    """Follows /auth/login → the issuer → /auth/callback; returns where the service sends the
    browser at the end. The session cookie lands in ``jar``."""
    status, headers = get(f"/auth/login?returnTo={return_to}", {"Cookie": cookie_header(jar)})
    assert status == 303, status
    cookies_from(headers, jar)
    authorize = location_of(headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    try:
        opener.open(authorize)
        raise AssertionError("the issuer did not redirect")
    except urllib.error.HTTPError as err:
        assert err.code == 302
        callback = err.headers["Location"]
    parts = urlsplit(callback)
    status, headers = get(f"{parts.path}?{parts.query}", {"Cookie": cookie_header(jar)})
    assert status == 303, status
    cookies_from(headers, jar)
    return location_of(headers)
