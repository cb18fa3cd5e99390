"""Page arithmetic shared by every paginated list."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill at ``per_page`` a page; an empty list still has
    one page (to show its empty state). ``page_count(41, 20) == 3``."""
    return max(1, -(-total // per_page))
