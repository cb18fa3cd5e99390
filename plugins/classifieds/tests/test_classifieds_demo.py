"""The classifieds plugin's sample content in ``forum demo``."""

from __future__ import annotations

import re

from forum_plugins.classifieds import demo, services
from forum_plugins.classifieds.models import Category, Listing, ListingImage, Rating, Trade
from sqlalchemy import func, select

from forum.demo import seed_demo
from forum.models import Board


def _count(db, model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_demo_has_a_market_with_listings_and_a_rated_trade(app, db, enable_plugin, english):
    enable_plugin("classifieds")
    messages: list[str] = []
    seed_demo(progress=messages.append, scale=0.02)
    line = next(m for m in messages if m.startswith("  plugin classifieds: "))
    listings = _count(db, Listing)
    assert listings == len(demo.LISTINGS)
    assert line == (
        f"  plugin classifieds: 1 market board, 2 categories, {listings} listings, "
        "1 trade rated both ways"
    )
    board = db.session.execute(select(Board).where(Board.slug == demo.BOARD_SLUG)).scalar_one()
    assert board.thread_kinds == services.KIND and board.name == demo.BOARD_NAME
    assert _count(db, Category) == 2
    photos = sum(row[8] for row in demo.LISTINGS)
    assert _count(db, ListingImage) == photos
    trade = db.session.execute(select(Trade)).scalar_one()
    assert trade.status == "confirmed"
    ratings = db.session.execute(select(Rating).order_by(Rating.id)).scalars().all()
    assert [r.score for r in ratings] == [1, 1] and ratings[0].reply
    assert _count(db, Listing, Listing.status == "sold") == 1
    assert _count(db, Listing, Listing.status == "reserved") == 1
    # the market shows them, sold ones left out by default
    client = app.test_client()
    client.set_cookie("lang", "en")
    text = client.get("/market").get_data(as_text=True)
    assert text.count('class="mk-card ') == listings - 1
    assert len(re.findall(r'<img src="/uploads/[^"]+\.thumb\.jpg"', text)) == listings - 2
