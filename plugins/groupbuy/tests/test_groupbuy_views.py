"""The group-buy pages through the test client: the composer, a draft's preview, opening,
the campaign on its thread page, joining and paying in the sandbox, refused input kept,
guests, invite links, and the thread page's query count."""

from __future__ import annotations

import io
import re
from datetime import UTC, timedelta

import pytest

from forum.models.base import utcnow


def _site_time(value) -> str:
    """A naive-UTC time as the form's ``datetime-local`` input sends it (site's zone)."""
    from forum.web.admin_forms import site_zone

    return value.replace(tzinfo=UTC).astimezone(site_zone()).strftime("%Y-%m-%dT%H:%M")


def _form(board, **overrides) -> dict:
    data = {
        "board": str(board.id),
        "title": "Organic rice 5kg",
        "description": "Fresh from the farm. 新米。",
        "original_price": "129",
        "min_participants": "2",
        "stock": "20",
        "per_member_limit": "3",
        "deadline": _site_time(utcnow() + timedelta(days=2)),
        "pickup": "y",
        "delivery": "y",
        "tier_people_0": "2",
        "tier_price_0": "99",
        "tier_people_1": "5",
        "tier_price_1": "89",
        "tier_people_2": "10",
        "tier_price_2": "79",
        "point_name_0": "North gate",
        "point_address_0": "1 North Road",
        "commission_percent": "5.5",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _thread_page(client, campaign) -> str:
    response = client.get(f"/t/{campaign.thread_id}")
    assert response.status_code == 200
    return _text(response)


def test_composer_draft_open_and_thread_page(web, board, leader, db):
    from forum_plugins.groupbuy import services
    from forum_plugins.groupbuy.models import Campaign

    client = web(leader)
    page = client.get(f"/groupbuy/new?board={board.id}")
    assert page.status_code == 200
    assert 'name="tier_people_0"' in _text(page)
    photo = (io.BytesIO(_png()), "rice.png")
    response = client.post(
        "/groupbuy/new", data={**_form(board), "photos": photo}, content_type="multipart/form-data"
    )
    assert response.status_code == 302, _text(response)[:2000]
    campaign = db.session.execute(db.select(Campaign)).scalar_one()
    assert response.headers["Location"].endswith(f"/groupbuy/c/{campaign.id}/manage")
    assert campaign.status == "draft" and campaign.thread_id is None
    assert len(services.photos_of(campaign)) == 1
    # the draft's preview: its leader only
    preview = client.get(f"/groupbuy/c/{campaign.id}")
    assert preview.status_code == 200 and "Organic rice 5kg" in _text(preview)
    assert web().get(f"/groupbuy/c/{campaign.id}").status_code == 404
    opened = client.post(f"/groupbuy/c/{campaign.id}/open")
    assert opened.status_code == 302
    db.session.refresh(campaign)
    assert campaign.status == "open" and campaign.thread_id
    assert opened.headers["Location"].endswith(f"/t/{campaign.thread_id}")
    html = _thread_page(client, campaign)
    assert "gb-tiers" in html and "¥99.00" in html and "¥79.00" in html
    assert "<s " in html and "¥129.00" in html  # the original price, struck through
    assert '<progress class="gb-bar' in html and "0 joined" in html
    assert f'action="/groupbuy/c/{campaign.id}/join"' in html
    assert "North gate" in html
    assert "groupbuy.css" in html


def _png() -> bytes:
    from forum.testing import png_image

    return png_image().getvalue()


def test_composer_bad_input_keeps_what_was_typed(web, board, leader, db):
    from forum_plugins.groupbuy.models import Campaign

    client = web(leader)
    response = client.post(
        "/groupbuy/new",
        data=_form(
            board,
            title="My special honey",
            original_price="abc",
            tier_price_1="120",  # above the first tier's price
            stock="",
        ),
    )
    assert response.status_code == 400
    html = _text(response)
    assert 'value="My special honey"' in html
    assert 'value="abc"' in html and 'value="120"' in html
    assert html.count('class="error"') >= 3
    assert "Prices must fall as more people join." in html
    assert db.session.execute(db.select(Campaign)).first() is None


def test_composer_refused_to_members_without_the_permission(web, board, make_member):
    response = web(make_member("plain")).get(f"/groupbuy/new?board={board.id}")
    assert response.status_code == 403


def test_join_redirects_to_checkout_then_paid_and_progress(
    web, make_campaign, make_member, point_id, db
):
    from forum_plugins.groupbuy import services

    from forum.models import PaymentOrder
    from forum.services import payments

    campaign = make_campaign()
    buyer = make_member("buyer")
    client = web(buyer)
    response = client.post(
        f"/groupbuy/c/{campaign.id}/join",
        data={"quantity": "2", "pickup_point_id": str(point_id(campaign))},
    )
    assert response.status_code == 302
    order = services.member_order(buyer, campaign)
    assert order.status == "reserved" and order.quantity == 2
    assert response.headers["Location"].endswith(f"/pay/{order.payment_public_id}")
    html = _thread_page(client, campaign)
    assert "Pay now" in html and "Cancel my reservation" in html
    payment = db.session.execute(
        db.select(PaymentOrder).where(PaymentOrder.public_id == order.payment_public_id)
    ).scalar_one()
    assert payments.sandbox_pay(buyer, payment) is True
    html = _thread_page(client, campaign)
    assert "You joined: 2 × ¥99.00 = ¥198.00." in html
    assert "1 joined" in html and "Pick-up at North gate" in html
    assert f'action="/groupbuy/c/{campaign.id}/join"' not in html


def test_cancel_reservation_gives_the_stock_back(web, make_campaign, make_member, point_id, db):
    from forum_plugins.groupbuy import services

    campaign = make_campaign()
    buyer = make_member("buyer")
    client = web(buyer)
    client.post(
        f"/groupbuy/c/{campaign.id}/join",
        data={"quantity": "1", "pickup_point_id": str(point_id(campaign))},
    )
    db.session.refresh(campaign)
    assert campaign.stock_left == 19
    response = client.post(f"/groupbuy/c/{campaign.id}/reservation/cancel")
    assert response.status_code == 302
    db.session.refresh(campaign)
    assert campaign.stock_left == 20
    assert services.member_order(buyer, campaign).status != "reserved"


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "4"])
def test_bad_join_input_is_shown_beside_the_field_and_kept(
    web, make_campaign, make_member, point_id, db, quantity
):
    campaign = make_campaign()
    client = web(make_member("buyer"))
    response = client.post(
        f"/groupbuy/c/{campaign.id}/join",
        data={"quantity": quantity, "pickup_point_id": str(point_id(campaign))},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/t/{campaign.thread_id}#groupbuy-join")
    html = _thread_page(client, campaign)
    match = re.search(r'<div class="field gb-qty has-error">(.*?)</div>', html, re.S)
    assert match, html[-4000:]
    assert f'value="{quantity}"' in match.group(1)
    assert 'class="error"' in match.group(1)
    db.session.refresh(campaign)
    assert campaign.stock_left == 20
    # the errors are shown once: the next visit has a fresh form
    assert "gb-qty has-error" not in _thread_page(client, campaign)


def test_sold_out_is_said_clearly(web, make_campaign, make_member, point_id, pay, db):
    from forum_plugins.groupbuy import services

    campaign = make_campaign(stock="2", min_participants="1", per_member_limit="2")
    first = make_member("first")
    order = services.join(first, campaign, quantity=2, pickup_point_id=point_id(campaign))
    pay(order)
    client = web(make_member("late"))
    html = _thread_page(client, campaign)
    assert "sold out" in html
    assert f'action="/groupbuy/c/{campaign.id}/join"' not in html
    response = client.post(
        f"/groupbuy/c/{campaign.id}/join",
        data={"quantity": "1", "pickup_point_id": str(point_id(campaign))},
    )
    assert response.status_code == 302
    assert "sold out" in _thread_page(client, campaign)


def test_guest_sees_the_campaign_and_a_sign_in_link(web, make_campaign):
    campaign = make_campaign()
    html = _thread_page(web(), campaign)
    assert "gb-tiers" in html and "Sign in to join" in html
    assert "/login" in html
    assert f'action="/groupbuy/c/{campaign.id}/join"' not in html


def test_members_only_shows_the_reason_instead_of_the_form(web, make_campaign, make_member):
    campaign = make_campaign(members_only_groups=["moderator"])
    html = _thread_page(web(make_member("outsider")), campaign)
    assert f'action="/groupbuy/c/{campaign.id}/join"' not in html
    assert "gb-refusal" in html


def test_invite_link_credits_the_inviter_after_payment(
    web, make_campaign, make_member, point_id, pay, db
):
    from forum_plugins.groupbuy import services

    campaign = make_campaign()
    inviter = make_member("inviter")
    html = _thread_page(web(inviter), campaign)
    assert f"/groupbuy/c/{campaign.id}?ref={inviter.id}" in html
    friend = make_member("friend")
    client = web(friend)
    response = client.get(f"/groupbuy/c/{campaign.id}?ref={inviter.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/t/{campaign.thread_id}")
    client.post(
        f"/groupbuy/c/{campaign.id}/join",
        data={"quantity": "1", "pickup_point_id": str(point_id(campaign))},
    )
    order = services.member_order(friend, campaign)
    assert order.invited_by_id == inviter.id
    assert services.inviters(campaign) == []  # credited once paid
    pay(order)
    assert [(m.id, n) for m, n in services.inviters(campaign)] == [(inviter.id, 1)]
    html = _thread_page(web(), campaign)
    assert "Brought friends" in html and "inviter" in html
    board = _text(web().get("/groupbuy/invites"))
    assert "inviter" in board and "1 order" in board


def test_lists(web, make_campaign, make_member, point_id, pay):
    from forum_plugins.groupbuy import services

    campaign = make_campaign()
    make_campaign(open=False, title="A draft nobody sees")
    buyer = make_member("buyer")
    pay(services.join(buyer, campaign, quantity=1, pickup_point_id=point_id(campaign)))
    listing = _text(web().get("/groupbuy/"))
    assert "Organic rice 5kg" in listing and "A draft nobody sees" not in listing
    mine = _text(web(buyer).get("/groupbuy/mine"))
    assert "Organic rice 5kg" in mine and "Paid" in mine
    assert web().get("/groupbuy/mine").status_code == 302  # sign in first


def test_thread_page_queries_do_not_grow_with_orders(
    web, make_campaign, make_member, point_id, pay, count_queries, db
):
    from forum_plugins.groupbuy import services

    campaign = make_campaign(stock="40")
    viewer = make_member("viewer")
    client = web(viewer)

    def buy(n: int, start: int) -> None:
        for i in range(start, start + n):
            member = make_member(f"b{i}")
            order = services.join(
                member, campaign, quantity=1, pickup_point_id=point_id(campaign),
                invited_by_id=viewer.id if i % 2 else None,
            )  # fmt: skip
            pay(order)

    buy(2, 0)
    _thread_page(client, campaign)  # warm the caches
    db.session.expire_all()  # (the requests share the test's session: start each cold)
    with count_queries() as few:
        _thread_page(client, campaign)
    buy(10, 2)
    db.session.expire_all()
    with count_queries() as many:
        html = _thread_page(client, campaign)
    assert "12 joined" in html
    assert many.count == few.count, (few.statements, many.statements)


@pytest.fixture
def page_cache_on(app):
    """The guests' whole-page cache switched on, as in production."""
    app.config["PAGE_CACHE_ENTRIES"] = 100
    yield
    app.config["PAGE_CACHE_ENTRIES"] = 0


def test_guests_cached_page_follows_the_payments(
    web, make_campaign, make_member, point_id, pay, page_cache_on
):
    from forum_plugins.groupbuy import services

    campaign = make_campaign()
    guest = web()
    assert "0 joined" in _thread_page(guest, campaign)
    pay(
        services.join(
            make_member("buyer"), campaign, quantity=1, pickup_point_id=point_id(campaign)
        )
    )
    assert "1 joined" in _thread_page(guest, campaign)


def test_questions_from_buyers_with_the_qa_plugin(
    web, make_campaign, make_member, point_id, pay, enable_plugin, make_board, db
):
    from forum_plugins.groupbuy import services

    from forum.models import Thread
    from forum.services import boards

    enable_plugin("qa")
    qa_board = boards.update_board(make_board("ask", "Ask"), thread_kinds="discussion,question")
    campaign = make_campaign()
    buyer = make_member("buyer")
    pay(services.join(buyer, campaign, quantity=1, pickup_point_id=point_id(campaign)))
    asker = make_member("asker")
    client = web(asker)
    html = _thread_page(client, campaign)
    assert "Questions from buyers" in html and "Ask the buyers" in html
    response = client.post(
        f"/groupbuy/c/{campaign.id}/ask",
        data={"board": str(qa_board.id), "title": "Is it this year's rice?", "body": "Harvest?"},
    )
    assert response.status_code == 302
    question = db.session.execute(db.select(Thread).where(Thread.kind == "question")).scalar_one()
    assert response.headers["Location"].endswith(f"/t/{question.id}")
    assert "Is it this year&#39;s rice?" in _thread_page(web(), campaign)
    from forum.models import Notification

    invited = db.session.execute(
        db.select(Notification.member_id).where(Notification.kind == "qa.invite")
    ).scalars()
    assert list(invited) == [buyer.id]


def test_editing_a_draft(web, make_campaign, leader, db):
    from forum_plugins.groupbuy import services

    campaign = make_campaign(open=False)
    client = web(leader)
    page = _text(client.get(f"/groupbuy/c/{campaign.id}/edit"))
    assert 'value="Organic rice 5kg"' in page and 'value="99.00"' in page
    assert "readonly" not in page
    data = _form(_board_of(campaign))
    data.update(title="Organic rice 10kg", tier_price_0="95", tier_price_1="85", tier_price_2="75")
    response = client.post(f"/groupbuy/c/{campaign.id}/edit", data=data)
    assert response.status_code == 302, _text(response)[:2000]
    db.session.refresh(campaign)
    assert campaign.title == "Organic rice 10kg"
    assert [t.price_cents for t in services.tiers_of(campaign)] == [9500, 8500, 7500]


def _board_of(campaign):
    from forum.extensions import db
    from forum.models import Board

    return db.session.get(Board, campaign.board_id)
