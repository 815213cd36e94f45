"""docs/privacy-promises.md cannot rot: every cited test exists, and every row is proven or explained."""

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "privacy-promises.md"
CITATION = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
ROW = re.compile(r"^\|\s*([ABC]\d+)\s*\|(.*)\|\s*$")
REASONS = ("No test:", "Not built:", "Not kept:")


def rows() -> list[tuple[str, list[str]]]:
    found = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            found.append((match.group(1), [cell.strip() for cell in match.group(2).split("|")]))
    return found


@cache
def functions_defined_in(path: str) -> frozenset:
    """The names of the module-level test functions of a file, read from its syntax tree."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


def citations(text: str) -> list[tuple[str, str]]:
    return CITATION.findall(text)


def test_the_document_has_a_row_for_each_promise_of_both_policies():
    ids = [row_id for row_id, _cells in rows()]
    assert len(ids) == len(set(ids)), "a row number is used twice"
    for prefix, last in (("A", 47), ("B", 30)):
        numbers = sorted(int(i[1:]) for i in ids if i[0] == prefix)
        assert numbers[:last] == list(range(1, last + 1)), f"missing {prefix} rows"


def test_every_cited_test_exists():
    missing = []
    for row_id, cells in rows():
        for path, name in citations(" ".join(cells)):
            if not (ROOT / path).is_file() or name not in functions_defined_in(path):
                missing.append(f"{row_id}: {path}::{name}")
    assert missing == [], "docs/privacy-promises.md cites tests that do not exist:\n" + "\n".join(missing)


def test_every_row_is_proven_by_a_test_or_says_why_not():
    unexplained = [
        row_id for row_id, cells in rows() if not citations(cells[-1]) and not cells[-1].startswith(REASONS)
    ]
    assert unexplained == [], f"rows with neither a test nor a reason: {unexplained}"


def test_no_row_still_says_that_built_features_are_missing():
    text = DOC.read_text(encoding="utf-8")
    for stale in ("issue 4", "issue 5", "issue 6", "not built yet: meetings", "(not built)"):
        assert stale not in text, stale


@pytest.mark.parametrize(
    ("line", "broken"),
    [
        ("| A1 | « x » | y | `tests/privacy/test_policy.py::test_that_was_never_written` |", True),
        ("| A1 | « x » | y | `tests/privacy/no_such_file.py::test_policy_is_served` |", True),
        (
            "| A1 | « x » | y | `tests/privacy/test_policy.py::test_policy_page_shows_the_current_version` |",
            False,
        ),
    ],
)
def test_the_check_catches_a_citation_that_does_not_exist(line, broken):
    ((row_id, body),) = [(m.group(1), m.group(2)) for m in [ROW.match(line)]]
    ((path, name),) = citations(body)
    exists = (ROOT / path).is_file() and name in functions_defined_in(path)
    assert exists is not broken, row_id
