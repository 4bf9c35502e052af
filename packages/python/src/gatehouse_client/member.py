"""The member a verified token or session stands for, built from Gatehouse's claim names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple


@dataclass(frozen=True)
class Member:
    """A member of Gatehouse, as a service sees them.

    ``id`` is the ``sub`` claim (a UUID): stable, so key your own records on it.
    """

    id: str
    username: str
    name: Optional[str] = None
    email: Optional[str] = None
    picture: Optional[str] = None
    groups: Tuple[str, ...] = field(default_factory=tuple)
    permissions: Tuple[str, ...] = field(default_factory=tuple)

    def has_permission(self, *permissions: str) -> bool:
        """Whether the member holds every one of ``permissions``."""
        return all(p in self.permissions for p in permissions)

    def in_group(self, path: str) -> bool:
        """Whether the member is in ``path`` or a group above it (membership flows down)."""
        if path in self.groups:
            return True
        i = path.rfind("/")
        while i > 0:
            if path[:i] in self.groups:
                return True
            i = path.rfind("/", 0, i)
        return False

    def to_dict(self) -> Dict[str, Any]:
        """The member as JSON (the same shape as the TypeScript SDK's ``GatehouseUser``)."""
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "email": self.email,
            "picture": self.picture,
            "groups": list(self.groups),
            "permissions": list(self.permissions),
        }

    def claims(self) -> Dict[str, Any]:
        """Back to claim names (what :func:`member_from_claims` reads)."""
        return {
            "sub": self.id,
            "preferred_username": self.username,
            "name": self.name,
            "email": self.email,
            # A member holds only a verified address (member_from_claims keeps no other);
            # None is "unsaid".
            "email_verified": True if self.email is not None else None,
            "picture": self.picture,
            "groups": list(self.groups),
            "permissions": list(self.permissions),
        }

    # Flask Modular Login handed views a dict with id, name and picture; this keeps
    # `user["id"]` working during a migration.
    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]


def _str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) and v != "" else None


def _strings(v: Any) -> Tuple[str, ...]:
    if isinstance(v, (list, tuple)):
        return tuple(x for x in v if isinstance(x, str))
    if isinstance(v, str):  # some issuers send space-separated strings
        return tuple(x for x in re.split(r"[\s,]+", v) if x)
    return ()


def member_from_claims(claims: Mapping[str, Any]) -> Member:
    """Builds a :class:`Member` from token, introspection or userinfo claims."""
    sub = _str(claims.get("sub"))
    if not sub:
        raise TypeError("claims have no sub")
    return Member(
        id=sub,
        username=_str(claims.get("preferred_username")) or _str(claims.get("username")) or sub,
        name=_str(claims.get("name")),
        # Only an address the issuer says it has verified (JSON true) is the member's to rely on.
        email=_str(claims.get("email")) if claims.get("email_verified") is True else None,
        picture=_str(claims.get("picture")),
        groups=_strings(claims.get("groups")),
        permissions=_strings(claims.get("permissions")),
    )
