"""CSV for spreadsheets: BOM first, CRLF rows, formula-looking text kept as text, money as
plain numbers."""

from __future__ import annotations

import csv
import io

from forum.services.spreadsheets import BOM, csv_chunks, money_cell, safe_cell


def test_formula_looking_text_is_escaped_but_numbers_are_not():
    assert [safe_cell(v) for v in ("=1+1", "+86 138", "-x", "@a", "团购", None, -3, 2.5)] == [
        "'=1+1",
        "'+86 138",
        "'-x",
        "'@a",
        "团购",
        "",
        "-3",
        "2.5",
    ]


def test_chunks_start_with_a_bom_and_read_back():
    text = "".join(csv_chunks([("名称", "数量"), ('苹果, "红"', 3), ("=cmd", 1)]))
    assert text.startswith(BOM) and text.count(BOM) == 1
    assert text.count("\r\n") == 3
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows == [["名称", "数量"], ['苹果, "红"', "3"], ["'=cmd", "1"]]
    assert "".join(csv_chunks([])) == BOM


def test_money_cells():
    assert [money_cell(c) for c in (0, 5, 9900, 123456, -5, -1050)] == [
        "0.00",
        "0.05",
        "99.00",
        "1234.56",
        "-0.05",
        "-10.50",
    ]
