"""Page arithmetic shared by every paginated list, and one page of an ORM query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill at ``per_page`` a page; an empty list still has
    one page (to show its empty state). ``page_count(41, 20) == 3``."""
    return max(1, -(-total // per_page))


@dataclass(frozen=True)
class Page:
    """One page of a list: its ``items``, the page number, the number of pages (at least
    1) and how many there are in all."""

    items: list
    page: int
    pages: int
    total: int


def paginate(query: Any, page: int, per_page: int) -> Page:
    """Page ``page`` of the ORM ``query`` (two queries: the count and the rows); a page
    number out of range is brought into it."""
    from sqlalchemy import func, select

    from forum.extensions import db

    total = db.session.execute(
        select(func.count()).select_from(query.order_by(None).subquery())
    ).scalar_one()
    pages = page_count(total, per_page)
    page = min(max(1, int(page or 1)), pages)
    items = list(db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).scalars())
    return Page(items, page, pages, total)
