"""The issuer's signing keys, fetched from its ``jwks_uri`` and kept in memory. Never fetched per
request: a token whose ``kid`` is unknown causes one refresh (at most once per cool-down), a
background refresh runs when the set is older than ``max_age``, and when the endpoint is down
the keys already held keep working while an unknown ``kid`` fails closed."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from jwt.algorithms import get_default_algorithms

from .errors import GatehouseError

# Which key types may carry which algorithm; HS* and "none" are absent on purpose.
KTY_FOR_ALG: Dict[str, Dict[str, Optional[str]]] = {
    "RS256": {"kty": "RSA", "crv": None},
    "RS384": {"kty": "RSA", "crv": None},
    "RS512": {"kty": "RSA", "crv": None},
    "PS256": {"kty": "RSA", "crv": None},
    "PS384": {"kty": "RSA", "crv": None},
    "PS512": {"kty": "RSA", "crv": None},
    "ES256": {"kty": "EC", "crv": "P-256"},
    "ES384": {"kty": "EC", "crv": "P-384"},
    "ES512": {"kty": "EC", "crv": "P-521"},
    "EdDSA": {"kty": "OKP", "crv": "Ed25519"},
}
ASYMMETRIC_ALGORITHMS = tuple(KTY_FOR_ALG)


class KeySet:
    def __init__(
        self,
        jwks_uri: Callable[[], str],
        fetch_json: Callable[[str], Any],
        cooldown: float = 30.0,
        max_age: float = 600.0,
        on_error: Optional[Callable[[BaseException], None]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks_uri = jwks_uri
        self._fetch_json = fetch_json
        self._cooldown = cooldown
        self._max_age = max_age
        self._on_error = on_error
        self._clock = clock
        self._keys: List[Dict[str, Any]] = []  # {"jwk": …, "imported": {alg: key}}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = threading.Lock()
        self._attempt_lock = threading.Lock()
        self._event_refresh_at = float("-inf")
        self._algorithms = get_default_algorithms()

    @property
    def size(self) -> int:
        return len(self._keys)

    def refresh(self) -> None:
        """Fetches the set now (one at a time); on failure the held keys stay."""
        with self._lock:
            self._load()

    def refresh_soon(self) -> bool:
        """A background refresh (a ``keys`` event), at most once per cool-down, as for an
        unknown ``kid``: a flood of events costs one thread and one fetch. Whether one started."""
        with self._attempt_lock:
            now = self._clock()
            if now - self._event_refresh_at < self._cooldown:
                return False
            self._event_refresh_at = now
        threading.Thread(target=self._background_refresh, daemon=True).start()
        return True

    def _load(self) -> None:
        self._attempted_at = self._clock()
        try:
            body = self._fetch_json(self._jwks_uri())
            if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
                raise GatehouseError("issuer_unavailable", "The jwks_uri did not return a JWK set.")
        except Exception as err:
            if self._on_error:
                self._on_error(err)
            raise
        previous = {_thumb(k["jwk"]): k for k in self._keys}
        keys = []
        for jwk in body["keys"]:
            if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str) or "d" in jwk:
                continue
            if jwk.get("use") not in (None, "sig"):
                continue
            keys.append(previous.get(_thumb(jwk)) or {"jwk": jwk, "imported": {}})
        self._keys = keys
        self._fetched_at = self._clock()

    def _find(self, alg: str, kid: Optional[str]) -> Optional[Dict[str, Any]]:
        want = KTY_FOR_ALG.get(alg)
        if not want:
            return None
        match, matches = None, 0
        for k in self._keys:
            jwk = k["jwk"]
            if jwk.get("kty") != want["kty"]:
                continue
            if want["crv"] is not None and jwk.get("crv") != want["crv"]:
                continue
            if jwk.get("alg") is not None and jwk.get("alg") != alg:
                continue
            if kid is not None:
                if jwk.get("kid") == kid:
                    return k
                continue
            match, matches = k, matches + 1
        # No kid: only unambiguous when the set holds a single matching key.
        return match if matches == 1 else None

    def get_key(self, alg: str, kid: Optional[str]) -> Any:
        """The public key for a token header, refreshing once for an unknown ``kid``."""
        now = self._clock()
        if now - self._fetched_at > self._max_age and now - self._attempted_at >= self._cooldown:
            # Stale: refresh in the background (one thread, not one per request); the held keys
            # answer meanwhile.
            self._attempted_at = now
            threading.Thread(target=self._background_refresh, daemon=True).start()
        held = self._find(alg, kid)
        if held is None:
            with self._lock:
                held = self._find(alg, kid)
                if held is None and self._clock() - self._attempted_at >= self._cooldown:
                    try:
                        self._load()
                    except Exception:
                        pass  # fail closed below
                    held = self._find(alg, kid)
        if held is None:
            raise GatehouseError(
                "token_invalid", "The access token is signed with a key this service does not know."
            )
        key = held["imported"].get(alg)
        if key is None:
            try:
                key = self._algorithms[alg].from_jwk(json.dumps(held["jwk"]))
            except Exception as err:
                raise GatehouseError("token_invalid", "The issuer's key cannot be used.") from err
            held["imported"][alg] = key
        return key

    def _background_refresh(self) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._load()
        except Exception:
            pass
        finally:
            self._lock.release()


def _thumb(jwk: Dict[str, Any]) -> str:
    return "|".join(str(jwk.get(k, "")) for k in ("kid", "kty", "n", "x", "y", "alg"))
