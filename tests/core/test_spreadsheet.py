"""Every CSV the product writes goes through one neutraliser (CSV injection, OWASP)."""

import ast
import csv
import io
from pathlib import Path

import pytest

from tessera.core.spreadsheet import csv_cell, csv_dict_text, csv_text

PRODUCT = Path(__file__).resolve().parents[2] / "tessera"


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://x")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        '  =HYPERLINK("http://x")',
        "\n@SUM(A1)",
        "\uff1dHYPERLINK()",
    ],
)
def test_a_cell_a_spreadsheet_would_run_is_quoted(value):
    assert csv_cell(value) == "'" + value
    (row,) = csv.reader(io.StringIO(csv_text([[value]])))
    assert row == ["'" + value]


@pytest.mark.parametrize("value", ["Ada Lovelace", "a=b", "ada@example.org", "", "1 + 1", 3, -5, 2.5, None])
def test_plain_text_and_numbers_are_written_as_they_are(value):
    assert csv_cell(value) == value


def test_headers_and_dict_rows_are_neutralised_too():
    text = csv_dict_text([{"=x": "@y"}, {}], ["=x"])
    assert list(csv.reader(io.StringIO(text))) == [["'=x"], ["'@y"], [""]]


def _csv_writers(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter"):
            if isinstance(node.value, ast.Name) and node.value.id == "csv":
                found.append(f"csv.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "csv":
            found += [f"from csv import {a.name}" for a in node.names if a.name in ("writer", "DictWriter")]
    return found


def test_no_module_of_the_product_writes_csv_except_the_neutraliser():
    offenders = {
        str(path.relative_to(PRODUCT)): writers
        for path in PRODUCT.rglob("*.py")
        if path != PRODUCT / "core" / "spreadsheet.py"
        and (writers := _csv_writers(ast.parse(path.read_text(), str(path))))
    }
    assert offenders == {}
    assert _csv_writers(ast.parse((PRODUCT / "core" / "spreadsheet.py").read_text()))  # the scan sees it
