"""The access expression language shared with Gatehouse (client access rules, forward auth) and
the TypeScript SDK (packages/client/src/expression.ts): group paths, ``perm:<permission>``,
``user:<username>``, ``&``, ``|``, ``!`` and parentheses. One grammar::

    expression := or
    or         := and ( "|" and )*
    and        := unary ( "&" unary )*
    unary      := "!" unary | "(" expression ")" | term
    term       := path | "perm:" permission | "user:" username
    path       := segment ( "/" segment )*      segment    := [a-z0-9._-]+ (not only dots)
    permission := [A-Za-z0-9._:*-]+              username   := [A-Za-z0-9._-]+

``!`` binds tightest, then ``&``, then ``|``. A port of the TypeScript parser, kept in step by
shared test vectors (``vectors/expression.json``, generated from the TypeScript implementation
by ``tools/gen-vectors.ts``). Lengths and positions are counted in UTF-16 code units, as there.

A parsed expression is a tree of dicts with the TypeScript shape:
``{"type": "group", "path": …}``, ``{"type": "perm", "permission": …}``,
``{"type": "user", "username": …}``, ``{"type": "not", "operand": …}``,
``{"type": "and" | "or", "operands": [...]}``.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Union

MAX_EXPRESSION_LENGTH = 1024
MAX_EXPRESSION_DEPTH = 32

Expression = Dict[str, Any]

EXPRESSION_ERRORS = {
    "EXPRESSION_NOT_STRING": "An access expression must be text",
    "EXPRESSION_EMPTY": "The access expression is empty",
    "EXPRESSION_TOO_LONG": f"An access expression is at most {MAX_EXPRESSION_LENGTH} characters",
    "EXPRESSION_TOO_DEEP": f'Parentheses and "!" nest at most {MAX_EXPRESSION_DEPTH} deep',
    "UNEXPECTED_CHARACTER": "Unexpected character",
    "UNEXPECTED_TOKEN": 'Expected "&", "|" or ")"',
    "EXPECTED_TERM": 'Expected a group path, perm:…, user:…, "!" or "("',
    "UNCLOSED_PARENTHESIS": 'This "(" is never closed',
    "UNMATCHED_PARENTHESIS": 'This ")" has no matching "("',
    "INVALID_PATH": 'Group paths are segments of a–z, 0–9, ".", "_" or "-" separated by "/"',
    "INVALID_PERMISSION": 'Expected a permission after "perm:", such as perm:upload:write',
    "INVALID_USERNAME": 'Expected a username after "user:", such as user:alice',
    "UNKNOWN_PREFIX": "Unknown term prefix; use perm: or user:",
}


class ExpressionError(ValueError):
    """Why an expression was refused, and where: ``position`` is the 0-based offset (UTF-16
    code units, as in the TypeScript SDK) of the mistake; ``code`` is stable."""

    def __init__(self, code: str, position: int) -> None:
        self.code = code
        self.position = position
        super().__init__(f"{EXPRESSION_ERRORS[code]} (at position {position})")


_SEGMENT = re.compile(r"[a-z0-9._-]+")
_ONLY_DOTS = re.compile(r"\.+")
_PERMISSION = re.compile(r"[A-Za-z0-9._:*-]+")
_USERNAME = re.compile(r"[A-Za-z0-9._-]+")
_TERM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:*")
_SPACE = frozenset(" \t\n\r")


def _u16len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def is_group_path(path: Any) -> bool:
    """Whether ``path`` is a well-formed group path such as ``members/workshop/laser``."""
    if not isinstance(path, str) or path == "" or _u16len(path) > MAX_EXPRESSION_LENGTH:
        return False
    return all(
        _SEGMENT.fullmatch(seg) and not _ONLY_DOTS.fullmatch(seg) for seg in path.split("/")
    )


def _bad_path_offset(word: str) -> int:
    offset = 0
    for seg in word.split("/"):
        if not _SEGMENT.fullmatch(seg) or _ONLY_DOTS.fullmatch(seg):
            for i, ch in enumerate(seg):
                if not _SEGMENT.fullmatch(ch):
                    return offset + i
            return offset
        offset += len(seg) + 1
    return 0


def parse_expression(text: Any) -> Expression:
    """Parses an access expression into its tree; raises :class:`ExpressionError` naming the
    position of the first mistake."""
    if not isinstance(text, str):
        raise ExpressionError("EXPRESSION_NOT_STRING", 0)
    if _u16len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError("EXPRESSION_TOO_LONG", MAX_EXPRESSION_LENGTH)
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def fail(self, code: str, pos: int) -> ExpressionError:
        # Python indexes code points; report UTF-16 offsets like the TypeScript parser.
        return ExpressionError(code, _u16len(self.text[:pos]))

    def at(self, i: int) -> str:
        return self.text[i] if i < self.n else ""

    def skip_space(self) -> None:
        while self.pos < self.n and self.text[self.pos] in _SPACE:
            self.pos += 1

    def parse(self) -> Expression:
        expr = self.parse_or(0)
        self.skip_space()
        if self.pos < self.n:
            raise self.fail(
                "UNMATCHED_PARENTHESIS" if self.at(self.pos) == ")" else "UNEXPECTED_TOKEN",
                self.pos,
            )
        return expr

    def parse_or(self, depth: int) -> Expression:
        operands = [self.parse_and(depth)]
        self.skip_space()
        while self.at(self.pos) == "|":
            self.pos += 1
            operands.append(self.parse_and(depth))
            self.skip_space()
        return operands[0] if len(operands) == 1 else {"type": "or", "operands": operands}

    def parse_and(self, depth: int) -> Expression:
        operands = [self.parse_unary(depth)]
        self.skip_space()
        while self.at(self.pos) == "&":
            self.pos += 1
            operands.append(self.parse_unary(depth))
            self.skip_space()
        return operands[0] if len(operands) == 1 else {"type": "and", "operands": operands}

    def parse_unary(self, depth: int) -> Expression:
        self.skip_space()
        if self.pos >= self.n:
            # JavaScript's trim() and Python's strip() agree on what is blank.
            raise self.fail(
                "EXPRESSION_EMPTY" if self.text.strip() == "" else "EXPECTED_TERM", self.pos
            )
        ch = self.text[self.pos]
        if ch in ("!", "("):
            if depth >= MAX_EXPRESSION_DEPTH:
                raise self.fail("EXPRESSION_TOO_DEEP", self.pos)
            open_at = self.pos
            self.pos += 1
            if ch == "!":
                return {"type": "not", "operand": self.parse_unary(depth + 1)}
            inner = self.parse_or(depth + 1)
            self.skip_space()
            if self.at(self.pos) != ")":
                if self.pos >= self.n:
                    raise self.fail("UNCLOSED_PARENTHESIS", open_at)
                raise self.fail("UNEXPECTED_TOKEN", self.pos)
            self.pos += 1
            return inner
        return self.parse_term()

    def parse_term(self) -> Expression:
        start = self.pos
        while self.pos < self.n and self.text[self.pos] in _TERM_CHARS:
            self.pos += 1
        if self.pos == start:
            c = self.at(self.pos)
            if c == ")":
                raise self.fail("UNMATCHED_PARENTHESIS", self.pos)
            if c in ("&", "|"):
                raise self.fail("EXPECTED_TERM", self.pos)
            raise self.fail("UNEXPECTED_CHARACTER", self.pos)
        word = self.text[start : self.pos]
        colon = word.find(":")
        if colon >= 0:
            prefix, rest = word[:colon], word[colon + 1 :]
            if prefix == "perm":
                if not _PERMISSION.fullmatch(rest):
                    raise self.fail("INVALID_PERMISSION", start + 5)
                return {"type": "perm", "permission": rest}
            if prefix == "user":
                if not _USERNAME.fullmatch(rest):
                    raise self.fail("INVALID_USERNAME", start + 5)
                return {"type": "user", "username": rest.lower()}
            raise self.fail("UNKNOWN_PREFIX", start)
        if not is_group_path(word):
            raise self.fail("INVALID_PATH", start + _bad_path_offset(word))
        return {"type": "group", "path": word}


def _has_path(groups: frozenset, path: str) -> bool:
    if path in groups:
        return True
    i = path.rfind("/")
    while i > 0:
        if path[:i] in groups:
            return True
        i = path.rfind("/", 0, i)
    return False


def _evaluate(e: Expression, username: str, groups: frozenset, permissions: frozenset) -> bool:
    t = e["type"]
    if t == "group":
        return _has_path(groups, e["path"])
    if t == "perm":
        return e["permission"] in permissions
    if t == "user":
        return username == e["username"]
    if t == "not":
        return not _evaluate(e["operand"], username, groups, permissions)
    if t == "and":
        return all(_evaluate(x, username, groups, permissions) for x in e["operands"])
    if t == "or":
        return any(_evaluate(x, username, groups, permissions) for x in e["operands"])
    raise ValueError(f"not an expression node: {t!r}")


def evaluate_expression(
    expr: Union[Expression, str],
    username: str,
    groups: Iterable[str],
    permissions: Iterable[str],
) -> bool:
    """Whether a subject passes ``expr``. A group path is passed by members of that group or of
    any group above it: membership grants a node and everything below it."""
    tree = parse_expression(expr) if isinstance(expr, str) else expr
    return _evaluate(tree, username.lower(), frozenset(groups), frozenset(permissions))


def _format(e: Expression, parent: Union[str, None]) -> str:
    t = e["type"]
    if t == "group":
        return e["path"]
    if t == "perm":
        return f"perm:{e['permission']}"
    if t == "user":
        return f"user:{e['username']}"
    if t == "not":
        return "!" + _format(e["operand"], "not")
    if t == "and":
        s = " & ".join(_format(x, "and") for x in e["operands"])
        return f"({s})" if parent == "not" else s
    s = " | ".join(_format(x, "or") for x in e["operands"])
    return f"({s})" if parent in ("not", "and") else s


def format_expression(expr: Expression) -> str:
    """The canonical text: single spaces around operators, parentheses only where needed."""
    return _format(expr, None)


def expression_terms(expr: Expression) -> Dict[str, List[str]]:
    """The group paths, permissions and usernames an expression names, sorted, no repeats."""
    groups, permissions, users = set(), set(), set()
    stack = [expr]
    while stack:
        e = stack.pop()
        t = e["type"]
        if t == "group":
            groups.add(e["path"])
        elif t == "perm":
            permissions.add(e["permission"])
        elif t == "user":
            users.add(e["username"])
        elif t == "not":
            stack.append(e["operand"])
        else:
            stack.extend(e["operands"])
    return {"groups": sorted(groups), "permissions": sorted(permissions), "users": sorted(users)}


class AccessEvaluator:
    """Parses each distinct expression once (bounded cache) and evaluates it for a member."""

    def __init__(self, max_cached: int = 1000) -> None:
        self._parsed: Dict[str, Expression] = {}
        self._max = max_cached

    def allows(self, text: str, member: Any) -> bool:
        expr = self._parsed.get(text)
        if expr is None:
            # A parse error is the service's bug: it surfaces as ExpressionError, not a 403.
            expr = parse_expression(text)
            if len(self._parsed) >= self._max:
                self._parsed.clear()
            self._parsed[text] = expr
        return evaluate_expression(expr, member.username, member.groups, member.permissions)
