"""Every CSV the product writes goes through here, so that no cell is read as a formula.

A spreadsheet runs a cell starting with = + - @ (and tab or carriage return, which some strip
first) as a formula: `=HYPERLINK(...)` from a user agent or a visitor's message would become a
live link in the reader's spreadsheet. Following OWASP's guidance on CSV injection, such a cell
gets a leading single quote, which spreadsheets read as "this is text". Leading spaces and
line breaks are looked through, since some spreadsheets drop them before parsing; the
full-width forms are included because some spreadsheets fold them to ASCII.
"""

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

FORMULA_STARTS = frozenset("=+-@\t\r" + "\uff1d\uff0b\uff0d\uff20")


def csv_cell(value):
    """The cell as written: text that a spreadsheet could run is prefixed with a quote."""
    if value is None or isinstance(value, bool | int | float):
        return value  # csv writes None as "" and numbers as themselves: nothing to run
    text = str(value)
    if text[:1] in FORMULA_STARTS or text.lstrip()[:1] in FORMULA_STARTS:
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence], header: Sequence[str] | None = None) -> str:
    """A CSV document of `rows` (lists of cells), after `header` if given, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    if header is not None:
        writer.writerow([csv_cell(label) for label in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def csv_dict_text(rows: Iterable[Mapping], columns: Sequence[str]) -> str:
    """A CSV document of `rows` (mappings), one column per key of `columns`, missing keys empty."""
    return csv_text(([row.get(key, "") for key in columns] for row in rows), header=columns)
