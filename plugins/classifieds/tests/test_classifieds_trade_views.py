"""The trade pages through HTTP: the whole trade (the seller marks a listing sold, the named
buyer confirms, both rate once, the rated member replies), refusals that say why and change
nothing (confirming a trade you were not named in, rating before confirmation, rating
twice, rating yourself, replying to someone else's rating), guests, CSRF, a member's
ratings page (its summary, and a query count that does not grow with the ratings), my
market, the buyer's scam report with photos landing in the moderation queue, and the
moderators' scam reports page (freeze the seller, verify a rating, uphold, dismiss)."""

from __future__ import annotations

import io
import os
import re
from datetime import timedelta

import pytest
from forum_plugins.classifieds import services
from forum_plugins.classifieds.models import Listing, Rating, ScamReport, Trade
from PIL import Image
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Upload
from forum.services import plugin_state
from forum.testing import png_image

pytestmark = pytest.mark.usefixtures("english")

PLUGIN = "classifieds"


# -- fixtures of this module -----------------------------------------------------------------


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _png(color="navy") -> io.BytesIO:
    return png_image(color, (64, 48))


@pytest.fixture
def on(classifieds):
    """The plugin switched on, with a generous daily listing limit (tests post many)."""
    assert plugin_state.save_settings(PLUGIN, {"daily_limit": "100"}) == {}
    return PLUGIN


@pytest.fixture
def people(make_member):
    """seller 卖家, buyer 买家, a bystander, and a site moderator."""
    return {
        "seller": make_member("seller"),
        "buyer": make_member("buyer"),
        "other": make_member("other"),
        "mod": make_member("warden", groups=("moderator",)),
    }


@pytest.fixture
def post_listing(on, make_listing):
    """``post_listing(seller, title="…", price="1200")`` → the Listing (the conftest's
    market board)."""

    def make(seller, title="Fuji X100V camera", price="1200"):
        thread = make_listing(seller, title=title, price=price, condition="like_new")
        return db.session.get(Listing, thread.id)

    return make


@pytest.fixture
def pending(people, post_listing):
    """A listing the seller marked sold to the buyer: the pending Trade."""
    listing = post_listing(people["seller"])
    return services.mark_sold(people["seller"], listing, people["buyer"].username)


@pytest.fixture
def confirmed(people, pending):
    """The pending trade, confirmed by the buyer."""
    return services.confirm_trade(people["buyer"], pending)


def _trade_url(trade, action: str = "") -> str:
    return f"/market/trades/{trade.id}" + (f"/{action}" if action else "")


def _status(trade_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Trade, trade_id).status


# -- the whole trade -------------------------------------------------------------------------


def test_the_whole_trade_through_http(web, people, pending):
    seller, buyer = web(people["seller"]), web(people["buyer"])
    trade_id = pending.id

    page = buyer.get(_trade_url(pending))
    assert page.status_code == 200
    text = _html(page)
    assert "seller says you bought “Fuji X100V camera” for ¥1,200 — confirm?" in text
    assert f'action="/market/trades/{trade_id}/confirm"' in text
    assert f'action="/market/trades/{trade_id}/decline"' in text
    assert "Report a scam" in text  # the buyer's link, before and after confirmation
    # the seller sees the wait and may cancel, but not confirm
    text = _html(seller.get(_trade_url(pending)))
    assert "Waiting for buyer to confirm the trade." in text
    assert f'action="/market/trades/{trade_id}/confirm"' not in text
    assert f'action="/market/trades/{trade_id}/cancel"' in text
    assert "Report a scam" not in text

    response = buyer.post(_trade_url(pending, "confirm"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/market/trades/{trade_id}#rate")
    assert _status(trade_id) == "confirmed"
    assert db.session.get(Listing, pending.listing_id).status == "sold"

    # each party sees a rating form until they rated
    for client in (buyer, seller):
        text = _html(client.get(_trade_url(pending)))
        assert 'name="score"' in text and 'value="-1"' in text
        assert f'action="/market/trades/{trade_id}/rate"' in text
    response = buyer.post(
        _trade_url(pending, "rate"), data={"score": "1", "comment": "Exactly as described."}
    )
    assert response.status_code == 302
    text = _html(buyer.get(_trade_url(pending)))
    assert f'action="/market/trades/{trade_id}/rate"' not in text
    assert "Exactly as described." in text
    response = seller.post(
        _trade_url(pending, "rate"), data={"score": "0", "comment": "Paid late, but paid."}
    )
    assert response.status_code == 302
    ratings = db.session.execute(select(Rating).order_by(Rating.id)).scalars().all()
    assert [(r.rater_id, r.ratee_id, r.score) for r in ratings] == [
        (people["buyer"].id, people["seller"].id, 1),
        (people["seller"].id, people["buyer"].id, 0),
    ]

    # the seller replies to the buyer's rating, once
    about_seller = ratings[0]
    text = _html(seller.get(_trade_url(pending)))
    assert f'action="/market/ratings/{about_seller.id}/reply"' in text
    assert f'action="/market/ratings/{ratings[1].id}/reply"' not in text  # not their own
    response = seller.post(
        f"/market/ratings/{about_seller.id}/reply", data={"reply": "Thanks, enjoy the camera!"}
    )
    assert response.status_code == 302
    text = _html(buyer.get(_trade_url(pending)))
    assert "Exactly as described." in text and "Paid late, but paid." in text
    assert "Thanks, enjoy the camera!" in text
    assert "Reply from seller" in text
    db.session.expire_all()
    assert db.session.get(Rating, about_seller.id).reply == "Thanks, enjoy the camera!"


def test_buyer_declines_and_seller_cancels(web, people, post_listing):
    first = services.mark_sold(
        people["seller"], post_listing(people["seller"]), people["buyer"].username
    )
    response = web(people["buyer"]).post(_trade_url(first, "decline"))
    assert response.status_code == 302
    assert _status(first.id) == "cancelled"
    text = _html(web(people["buyer"]).get(_trade_url(first)))
    assert "This trade was cancelled; it cannot be rated." in text
    assert 'name="score"' not in text

    second = services.mark_sold(
        people["seller"], post_listing(people["seller"], "Bike"), people["buyer"].username
    )
    assert web(people["seller"]).post(_trade_url(second, "cancel")).status_code == 302
    assert _status(second.id) == "cancelled"


# -- refusals --------------------------------------------------------------------------------


def test_confirming_a_trade_you_were_not_named_in(web, people, pending):
    # a bystander may not even see the trade
    other = web(people["other"])
    assert other.get(_trade_url(pending)).status_code == 404
    assert other.post(_trade_url(pending, "confirm")).status_code == 404
    # the seller sees it but may not confirm it for the buyer
    response = web(people["seller"]).post(_trade_url(pending, "confirm"))
    assert response.status_code == 403
    assert "buyer" in _html(response)
    assert web(people["seller"]).post(_trade_url(pending, "decline")).status_code == 403
    assert web(people["buyer"]).post(_trade_url(pending, "cancel")).status_code == 403
    assert _status(pending.id) == "pending"
    assert db.session.get(Listing, pending.listing_id).status != "sold"


def test_moderators_see_a_trade_but_act_on_nothing(web, people, pending):
    mod = web(people["mod"])
    response = mod.get(_trade_url(pending))
    assert response.status_code == 200
    text = _html(response)
    assert "You see this trade as a moderator of the market." in text
    assert "/confirm" not in text and "/cancel" not in text and "Report a scam" not in text
    assert mod.post(_trade_url(pending, "confirm")).status_code == 403
    assert _status(pending.id) == "pending"


def test_rating_before_confirmation_is_refused(web, people, pending):
    buyer = web(people["buyer"])
    assert 'name="score"' not in _html(buyer.get(_trade_url(pending)))
    response = buyer.post(_trade_url(pending, "rate"), data={"score": "1", "comment": "早评"})
    assert response.status_code == 400
    text = _html(response)
    assert "confirm" in text.lower()
    assert re.search(r'class="flash flash-error"[^>]*>[^<]*confirm', text, re.I)
    assert _count(Rating) == 0


def test_rating_twice_is_refused_and_keeps_the_first(web, people, confirmed):
    buyer = web(people["buyer"])
    assert (
        buyer.post(_trade_url(confirmed, "rate"), data={"score": "1", "comment": "好"}).status_code
        == 302
    )
    response = buyer.post(_trade_url(confirmed, "rate"), data={"score": "-1", "comment": "改差评"})
    assert response.status_code == 400
    assert "already" in _html(response)
    rows = db.session.execute(select(Rating)).scalars().all()
    assert [(r.score, r.comment) for r in rows] == [(1, "好")]


def test_a_rating_without_a_score_keeps_the_comment(web, people, confirmed):
    response = web(people["buyer"]).post(
        _trade_url(confirmed, "rate"), data={"comment": "忘了选好评"}
    )
    assert response.status_code == 400
    text = _html(response)
    assert "Choose positive, neutral or negative." in text
    assert "忘了选好评</textarea>" in text
    assert _count(Rating) == 0


def test_a_long_comment_is_refused_beside_its_input(web, people, confirmed):
    response = web(people["seller"]).post(
        _trade_url(confirmed, "rate"), data={"score": "1", "comment": "长" * 501}
    )
    assert response.status_code == 400
    assert re.search(r'has-error">\s*<label for="comment"', _html(response))
    assert _count(Rating) == 0


def test_rating_yourself_is_impossible(people, post_listing):
    listing = post_listing(people["seller"])
    with pytest.raises(services.ServiceError):
        services.mark_sold(people["seller"], listing, people["seller"].username)
    assert _count(Trade) == 0
    assert _count(Rating) == 0


def test_only_the_ratee_replies_and_only_once(web, people, confirmed):
    rating = services.rate(people["buyer"], confirmed, 1, "Great seller")
    url = f"/market/ratings/{rating.id}/reply"
    # the rater may not answer their own rating; a bystander may not see it at all
    response = web(people["buyer"]).post(url, data={"reply": "我自己回复"})
    assert response.status_code in (400, 403)
    assert web(people["other"]).post(url, data={"reply": "路人"}).status_code == 404
    # an empty reply is an error beside the input
    response = web(people["seller"]).post(url, data={"reply": ""})
    assert response.status_code == 400
    assert "Write your reply." in _html(response)
    assert web(people["seller"]).post(url, data={"reply": "谢谢"}).status_code == 302
    response = web(people["seller"]).post(url, data={"reply": "再回复一次"})
    assert response.status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(Rating, rating.id).reply == "谢谢"


# -- guests and CSRF -------------------------------------------------------------------------


def test_guests_are_sent_to_sign_in(web, people, pending):
    guest = web()
    for url in (
        _trade_url(pending),
        "/market/mine",
        "/market/admin/scams",
        _trade_url(pending, "scam"),
    ):
        response = guest.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
    for action in ("confirm", "decline", "cancel", "rate"):
        assert guest.post(_trade_url(pending, action)).status_code == 302
    assert _status(pending.id) == "pending"
    # a member's ratings page is public
    response = guest.get(f"/market/u/{people['seller'].username}")
    assert response.status_code == 200
    assert "0 trades" in _html(response)


def test_posts_need_the_csrf_token(web, people, pending, csrf_on):
    buyer = web(people["buyer"])
    csrf_on()
    assert buyer.post(_trade_url(pending, "confirm")).status_code == 400
    assert _status(pending.id) == "pending"
    text = _html(buyer.get(_trade_url(pending)))
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    assert buyer.post(_trade_url(pending, "confirm"), data={"csrf_token": token}).status_code == 302
    assert _status(pending.id) == "confirmed"
    response = buyer.post(_trade_url(pending, "rate"), data={"score": "1", "comment": "x"})
    assert response.status_code == 400
    assert _count(Rating) == 0


def test_the_plugin_switched_off_answers_404(web, people, pending, enable_plugin):
    enable_plugin(PLUGIN, disable=True)
    assert web(people["buyer"]).get(_trade_url(pending)).status_code == 404
    assert web().get(f"/market/u/{people['seller'].username}").status_code == 404


# -- a member's ratings page -----------------------------------------------------------------


def _trades_rated(people, post_listing, make_member, n: int, scores=None) -> None:
    """``n`` confirmed trades of the seller with new buyers, each rated by the buyer (and
    the seller rating back)."""
    for i in range(n):
        buyer = make_member()
        listing = post_listing(people["seller"], f"Item {i}", str(10 + i))
        trade = services.mark_sold(people["seller"], listing, buyer.username)
        services.confirm_trade(buyer, trade)
        score = scores[i] if scores else 1
        rating = services.rate(buyer, trade, score, f"comment {i}")
        services.rate(people["seller"], trade, 1, f"good buyer {i}")
        if i % 2 == 0:
            services.reply_to_rating(people["seller"], rating, f"reply {i}")


def test_ratings_page_summary_comments_and_replies(web, people, post_listing, make_member):
    _trades_rated(people, post_listing, make_member, 4, scores=[1, 1, 1, -1])
    response = web().get(f"/market/u/{people['seller'].username}")
    assert response.status_code == 200
    text = _html(response)
    assert "4 trades, 75% positive" in text
    assert "comment 3" in text and "reply 2" in text
    assert text.count('class="ct-rating"') == 4  # ratings of the seller, not by them
    assert "good buyer" not in text
    assert web().get("/market/u/nobody-here").status_code == 404


def test_ratings_page_queries_do_not_grow(web, people, post_listing, make_member, count_queries):
    guest = web()
    url = f"/market/u/{people['seller'].username}"
    _trades_rated(people, post_listing, make_member, 2)
    guest.get(url)
    with count_queries() as few:
        assert guest.get(url).status_code == 200
    _trades_rated(people, post_listing, make_member, 6)
    with count_queries() as many:
        response = guest.get(url)
    assert "8 trades, 100% positive" in _html(response)
    assert many.count == few.count, many.statements


def test_ratings_page_is_paginated(web, people, post_listing, make_member):
    _trades_rated(people, post_listing, make_member, 21)
    url = f"/market/u/{people['seller'].username}"
    text = _html(web().get(url))
    assert "21 trades, 100% positive" in text
    assert text.count('class="ct-rating"') == 20
    assert f'href="{url}?page=2"' in text
    assert "comment 20" in text and "comment 0<" not in text  # newest first
    text = _html(web().get(url + "?page=2"))
    assert text.count('class="ct-rating"') == 1
    assert "comment 0<" in text


# -- my market -------------------------------------------------------------------------------


def test_my_market_lists_what_waits_for_me(web, people, pending, post_listing):
    tripod = post_listing(people["seller"], "Tripod", "80")
    text = _html(web(people["buyer"]).get("/market/mine"))
    assert "Waiting for your confirmation" in text
    assert f'href="/market/trades/{pending.id}"' in text
    assert "seller says you bought it" in text
    text = _html(web(people["seller"]).get("/market/mine"))
    assert "Tripod" in text and "Fuji X100V camera" in text
    assert "Waiting for the buyer" in text and "Sold to buyer, not confirmed yet" in text

    services.confirm_trade(people["buyer"], pending)
    text = _html(web(people["buyer"]).get("/market/mine"))
    assert "Waiting for your confirmation" not in text
    assert "Trades to rate" in text and f'href="/market/trades/{pending.id}"' in text
    assert "Rate seller" in text
    services.rate(people["buyer"], pending, 1, "")
    text = _html(web(people["buyer"]).get("/market/mine"))
    assert "Trades to rate" not in text
    assert "You have no listings yet." in text

    # the seller's listings by status, available first; only unsold ones can be renewed
    text = _html(web(people["seller"]).get("/market/mine"))
    assert "Trades to rate" in text  # the seller has not rated the buyer yet
    listings = text[text.index('id="listings"') :]
    assert listings.index("Tripod") < listings.index("Fuji X100V camera")
    assert f'action="/market/{tripod.thread_id}/renew"' not in text  # posted today
    tripod.bumped_at -= timedelta(days=2)
    db.session.commit()
    text = _html(web(people["seller"]).get("/market/mine"))
    assert f'action="/market/{tripod.thread_id}/renew"' in text
    assert f'action="/market/{pending.listing_id}/renew"' not in text  # sold
    assert web(people["other"]).get("/market/mine").status_code == 200


# -- scam reports ----------------------------------------------------------------------------


def test_scam_report_with_photos_lands_in_the_moderation_queue(web, people, confirmed):
    buyer = web(people["buyer"])
    form = buyer.get(_trade_url(confirmed, "scam"))
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in _html(form)
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={
            "evidence": "付款后卖家拉黑了我，没有发货。",
            "images": [(_png(), "chat.png"), (_png("black"), "payment.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, _html(response)[:2000]
    report = db.session.execute(select(ScamReport)).scalar_one()
    assert report.reporter_id == people["buyer"].id
    assert len(report.image_ids) == 2
    assert report.case_id is not None
    text = _html(buyer.get(_trade_url(confirmed)))
    assert "Report a scam" not in text
    assert "You reported this trade as a scam" in text

    queue = web(people["mod"]).get("/admin/queue")
    assert queue.status_code == 200
    text = _html(queue)
    assert f'id="case-{report.case_id}"' in text
    assert "Scam or fraud" in text
    # the scam page shows the evidence and the photos
    text = _html(web(people["mod"]).get("/market/admin/scams"))
    assert "付款后卖家拉黑了我，没有发货。" in text
    assert text.count('alt="Evidence photo') == 2

    # once only
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "again and again"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert "reported this trade already" in _html(buyer.get(_trade_url(confirmed)))
    assert _count(ScamReport) == 1


def test_a_refused_scam_report_keeps_text_and_photos(web, people, confirmed):
    buyer = web(people["buyer"])
    # a text file among the photos: nothing stored, the text kept
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={
            "evidence": "他收钱不发货，电话也不接了。",
            "images": [(_png(), "ok.png"), (io.BytesIO(b"not an image"), "notes.txt")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    text = _html(response)
    assert "他收钱不发货，电话也不接了。</textarea>" in text
    assert re.search(r'has-error">\s*<label for="images"', text)
    assert _count(ScamReport) == 0
    # no evidence, one good photo: the photo is kept for the next try
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "", "images": [(_png(), "ok.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    text = _html(response)
    assert "Describe what happened." in text
    kept = re.search(r'name="kept" value="(\d+)"', text)
    assert kept is not None
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "收钱不发货，已经十天了。", "kept": kept.group(1)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    report = db.session.execute(select(ScamReport)).scalar_one()
    assert report.image_ids == [int(kept.group(1))]


def test_ten_photos_are_refused(web, people, confirmed):
    response = web(people["buyer"]).post(
        _trade_url(confirmed, "scam"),
        data={
            "evidence": "many screenshots of the chat",
            "images": [(_png(), f"{i}.png") for i in range(10)],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "9" in _html(response)
    assert _count(ScamReport) == 0


def test_nine_screenshots_may_be_larger_than_one_upload_together(app, web, people, confirmed):
    app.config.update(MAX_UPLOAD_MB=1, MAX_CONTENT_LENGTH=300 * 1024)  # the site's limit

    def noise(i):  # a PNG that does not compress: ~150 KB
        data = io.BytesIO()
        Image.frombytes("RGB", (230, 230), os.urandom(230 * 230 * 3)).save(data, "PNG")
        data.seek(0)
        return (data, f"s{i}.png")

    response = web(people["buyer"]).post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "聊天记录和转账截图都在这里。", "images": [noise(i) for i in range(3)]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(db.session.execute(select(ScamReport)).scalar_one().image_ids) == 3


def test_a_scam_report_needs_the_csrf_token(web, people, confirmed, csrf_on):
    buyer = web(people["buyer"])
    csrf_on()
    response = buyer.post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "付款后卖家失联了。", "images": [(_png(), "a.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert _count(ScamReport) == 0
    assert _count(Upload) == 0  # nothing stored before the token was checked


def test_only_the_buyer_reports_a_scam(web, people, confirmed):
    seller = web(people["seller"])
    response = seller.get(_trade_url(confirmed, "scam"))
    assert response.status_code == 302
    assert "Report a scam" not in _html(seller.get(_trade_url(confirmed)))
    response = seller.post(
        _trade_url(confirmed, "scam"),
        data={"evidence": "the buyer never paid me", "images": [(_png(), "a.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert _count(Upload) == 0  # the photo was not stored either
    assert _count(ScamReport) == 0
    assert web(people["other"]).get(_trade_url(confirmed, "scam")).status_code == 404


# -- the moderators' scam page ---------------------------------------------------------------


def test_scam_page_is_for_moderators(web, people, confirmed):
    services.report_scam(people["buyer"], confirmed, "no parcel after 3 weeks", [])
    for who in ("buyer", "seller", "other"):
        response = web(people[who]).get("/market/admin/scams")
        assert response.status_code == 403, who
        assert web(people[who]).post(
            "/market/admin/scams", data={"action": "freeze", "report_id": "1"}
        ).status_code in (403, 404)
    listing = db.session.get(Listing, confirmed.listing_id)
    assert listing.frozen is False
    assert web(people["mod"]).get("/market/admin/scams").status_code == 200


def test_moderators_freeze_verify_and_uphold(web, people, confirmed):
    rating = services.rate(people["buyer"], confirmed, -1, "Never shipped")
    report = services.report_scam(people["buyer"], confirmed, "no parcel after 3 weeks", [])
    mod = web(people["mod"])
    text = _html(mod.get("/market/admin/scams"))
    assert "no parcel after 3 weeks" in text and "Never shipped" in text
    assert 'value="freeze"' in text and 'value="verify"' in text

    def act(action, **extra):
        return mod.post(
            "/market/admin/scams", data={"action": action, "report_id": str(report.id), **extra}
        )

    assert act("freeze", reason="Evidence is convincing").status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, confirmed.listing_id).frozen is True
    assert "Frozen" in _html(mod.get("/market/admin/scams"))
    assert act("verify", rating_id=str(rating.id)).status_code == 302
    db.session.expire_all()
    assert db.session.get(Rating, rating.id).verified is True
    # verified ratings show their mark on the seller's ratings page
    assert "Verified" in _html(web().get(f"/market/u/{people['seller'].username}"))
    assert act("uphold").status_code == 302
    db.session.expire_all()
    assert db.session.get(ScamReport, report.id).status == "upheld"
    text = _html(mod.get("/market/admin/scams"))
    assert "No open scam reports." in text
    assert "no parcel after 3 weeks" in _html(mod.get("/market/admin/scams?status=upheld"))
    assert act("unfreeze").status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, confirmed.listing_id).frozen is False
    # a button that does not exist
    assert act("explode").status_code == 400


def test_moderators_dismiss(web, people, confirmed):
    report = services.report_scam(people["buyer"], confirmed, "changed my mind, it arrived", [])
    response = web(people["mod"]).post(
        "/market/admin/scams", data={"action": "dismiss", "report_id": str(report.id)}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ScamReport, report.id).status == "dismissed"
    assert db.session.get(Listing, confirmed.listing_id).frozen is False
