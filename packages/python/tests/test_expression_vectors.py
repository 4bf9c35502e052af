"""The access-expression port against vectors generated from the TypeScript implementation, and
a check that the committed vectors are what the TypeScript implementation produces now."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from gatehouse_client.expression import (
    ExpressionError,
    evaluate_expression,
    expression_terms,
    format_expression,
    is_group_path,
    parse_expression,
)

HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent
REPO = PACKAGE.parent.parent
VECTORS_PATH = PACKAGE / "vectors" / "expression.json"
VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
NODE = REPO / "node_modules" / ".bin" / "node"


def test_committed_vectors_match_the_typescript_implementation():
    if not NODE.exists():
        if os.environ.get("CI"):
            pytest.fail("node_modules/.bin/node is missing: run npm ci")
        pytest.skip("node_modules/.bin/node is missing (npm ci)")
    out = subprocess.run(
        [str(NODE), "--conditions=gatehouse-source", str(PACKAGE / "tools" / "gen-vectors.ts"), "--stdout"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8")
    # Compared as data: the committed file is formatted by Biome.
    assert json.loads(out) == VECTORS, (
        "vectors/expression.json is stale: run "
        "node_modules/.bin/node --conditions=gatehouse-source packages/python/tools/gen-vectors.ts and port the change to "
        "expression.py"
    )


def test_vectors_cover_both_outcomes():
    ok = [c for c in VECTORS["cases"] if "tree" in c]
    bad = [c for c in VECTORS["cases"] if "error" in c]
    assert len(ok) > 100 and len(bad) > 100


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: repr(c["text"][:40]))
def test_case(case):
    if "error" in case:
        with pytest.raises(ExpressionError) as info:
            parse_expression(case["text"])
        assert (info.value.code, info.value.position) == (
            case["error"]["code"],
            case["error"]["position"],
        )
        assert str(info.value) == case["error"]["message"]
        return
    tree = parse_expression(case["text"])
    assert tree == case["tree"]
    assert format_expression(tree) == case["formatted"]
    assert expression_terms(tree) == case["terms"]
    results = [
        evaluate_expression(tree, s["username"], s["groups"], s["permissions"])
        for s in VECTORS["subjects"]
    ]
    assert results == case["results"]


@pytest.mark.parametrize("case", VECTORS["groupPaths"], ids=lambda c: repr(c["path"][:40]))
def test_group_path(case):
    assert is_group_path(case["path"]) is case["valid"]


def test_not_text():
    with pytest.raises(ExpressionError) as info:
        parse_expression(42)
    assert info.value.code == "EXPRESSION_NOT_STRING"
