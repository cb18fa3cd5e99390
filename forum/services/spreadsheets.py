"""CSV files that spreadsheets open right: Excel reads a UTF-8 byte order mark as "this is
UTF-8" (else Chinese text turns to mojibake), rows end with CRLF, and a cell that starts
like a formula (``=``, ``+``, ``-``, ``@``) is kept as text, so an export never runs what a
member typed (CSV injection).

Used by the payments export and by plugins' exports (a group-buy leader's orders)::

    rows = (("订单", "数量"), *((o.public_id, o.quantity) for o in orders))
    return Response(csv_chunks(rows), mimetype="text/csv; charset=utf-8")
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as cell text a spreadsheet will not run as a formula (``'=1+1``). Numbers
    stay numbers: only text is escaped (so ``-3`` written as an int stays -3)."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text[:1] in _FORMULA_STARTS else text


def csv_line(values: Iterable[object]) -> str:
    """One CSV row ending with CRLF, every text cell made safe (:func:`safe_cell`)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(v) for v in values])
    return buffer.getvalue()


def csv_chunks(rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The rows (the first is the header) as CSV text, one chunk per row for streaming;
    the first chunk starts with the byte order mark."""
    first = True
    for row in rows:
        yield (BOM if first else "") + csv_line(row)
        first = False
    if first:  # no rows at all: still a file Excel reads as UTF-8
        yield BOM


def money_cell(cents: int) -> str:
    """Integer cents as a plain number in the main unit (``9900`` → ``99.00``, ``-5`` →
    ``-0.05``), which spreadsheets sum."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"
