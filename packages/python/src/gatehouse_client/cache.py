"""A bounded cache of verified tokens: each entry lives until its expiry, and every entry of a
subject can be dropped at once (a revocation event)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Dict, Optional, Set, Tuple

_MISS = object()


class LeaseCache:
    def __init__(self, max_size: int = 10_000) -> None:
        self._max = max_size
        self._entries: "OrderedDict[str, Tuple[Any, float, Optional[str]]]" = OrderedDict()
        self._by_subject: Dict[str, Set[str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str, now: float) -> Any:
        """The value, or the module's ``MISS`` sentinel."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return _MISS
            value, expires, sub = entry
            if expires <= now:
                self._drop(key, sub)
                return _MISS
            return value

    def set(self, key: str, value: Any, expires: float, sub: Optional[str]) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._unindex(key, old[2])
            self._entries[key] = (value, expires, sub)
            if sub is not None:
                self._by_subject.setdefault(sub, set()).add(key)
            while len(self._entries) > self._max:
                k, (_, _, s) = self._entries.popitem(last=False)
                self._unindex(k, s)

    def evict_subject(self, sub: str) -> None:
        with self._lock:
            for key in self._by_subject.pop(sub, set()):
                self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_subject.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str, sub: Optional[str]) -> None:
        self._entries.pop(key, None)
        self._unindex(key, sub)

    def _unindex(self, key: str, sub: Optional[str]) -> None:
        if sub is None:
            return
        keys = self._by_subject.get(sub)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._by_subject[sub]


MISS = _MISS
