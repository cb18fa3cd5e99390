"""The classifieds rules (issue 9): listings with typed fields and their refusals (nothing
written), the market query (filters, constant statements, boards the viewer may not read),
expiry and renewal, trades, ratings (also under concurrency), trust facts, scam reports."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from forum_plugins.classifieds import services
from forum_plugins.classifieds.models import (
    Listing,
    ListingImage,
    ListingValue,
    Rating,
    ScamReport,
    Trade,
)
from sqlalchemy import func, select

from forum.models import Notification, Report, Thread, Upload
from forum.models.base import utcnow
from forum.services import plugin_state, posting
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.testing import png_image, race

pytestmark = pytest.mark.usefixtures("english", "classifieds")

PHONE_FIELDS = [
    {
        "key": "brand",
        "type": "select",
        "options": ["Apple", "Xiaomi", "Huawei"],
        "required": True,
        "in_list": True,
    },
    {"key": "storage", "type": "number", "unit": "GB", "in_list": True},
    {"key": "warranty", "type": "bool"},
    {"key": "colours", "type": "multi", "options": ["black", "white", "blue"]},
    {"key": "pickup_at", "type": "city"},
    {"key": "deposit", "type": "money"},
    {"key": "note", "type": "text"},
]


@pytest.fixture
def app_config(database_kind):
    # The concurrency tests open one connection per thread.
    if database_kind == "postgres":
        return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 25, "max_overflow": 5}}
    return {}


@pytest.fixture
def postgres_only(database_kind):
    if database_kind != "postgres":
        pytest.skip("concurrency is tested against PostgreSQL (FORUM_TEST_DATABASE_URL)")


@pytest.fixture
def phones(make_category):
    return make_category("Phones", fields=PHONE_FIELDS)


def settings(**values) -> None:
    assert plugin_state.save_settings("classifieds", {k: str(v) for k, v in values.items()}) == {}


def count(db, model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def phone_input(category, **over) -> services.ListingInput:
    data = {
        "title": "iPhone 13, 128 GB",
        "body": "Barely used, with the box.",
        "category_id": category.id,
        "price": "2,500",
        "condition": "like_new",
        "city": "Shanghai",
        "pickup": True,
        "shipping": True,
        "values": {"brand": "Apple", "storage": "128", "warranty": "1", "colours": ["black"]},
        "image_ids": [],
    }
    data.update(over)
    return services.ListingInput(**data)


def nothing_written(db) -> None:
    assert count(db, Listing) == 0
    assert count(db, ListingValue) == 0
    assert count(db, Thread, Thread.kind == "listing") == 0


# -- prices ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("¥12.50", 1250),
        ("1,200", 120000),
        ("0", 0),
        ("100,000,000", 100_000_000_00),
        ("￥ 8", 800),
    ],
)
def test_prices_are_read_in_cents(text, cents):
    assert services.parse_price(text) == cents


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5", "negative"),
        ("100000000.01", "at most"),
        ("1e9", "such as"),
        ("12.345", "two"),
        ("abc", "such as"),
        ("", "Enter a price"),
        ("1,20", "such as"),
        ("99999999999999", "at most"),
    ],
)
def test_bad_prices_are_refused_on_the_price_field(text, message):
    with pytest.raises(ServiceError) as caught:
        services.parse_price(text)
    assert caught.value.field == "price"
    assert message in caught.value.message


def test_format_price():
    assert services.format_price(120000) == "¥1,200"
    assert services.format_price(1250) == "¥12.50"


# -- creating listings -----------------------------------------------------------------------


def test_a_listing_with_typed_fields_is_stored_with_its_thread(
    db, phones, market_board, make_member
):
    seller = make_member("ada")
    thread = services.create_listing(seller, market_board, phone_input(phones))
    listing = db.session.get(Listing, thread.id)
    assert thread.kind == "listing"
    assert listing.price_cents == 250000
    assert listing.status == "available"
    assert listing.city_key == "shanghai"
    assert listing.pickup and listing.shipping
    days = (listing.expires_at - listing.created_at).days
    assert days == 30
    view = services.listing_view(listing, None)
    assert ("Brand", "Apple") in view.values
    assert ("Storage", "128 GB") in view.values
    assert ("Warranty", "Yes") in view.values
    assert ("Colours", "black") in view.values
    assert view.price == "¥2,500"
    form = services.listing_form_data(listing)
    assert form.values["brand"] == "Apple"
    assert form.values["colours"] == ["black"]
    assert form.price == "2500"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"price": "-1"}, "price"),
        ({"price": "junk"}, "price"),
        ({"price": "200000000"}, "price"),
        ({"values": {"storage": "64"}}, "f_brand"),
        ({"values": {"brand": "Nokia"}}, "f_brand"),
        ({"values": {"brand": "Apple", "storage": "lots"}}, "f_storage"),
        ({"values": {"brand": "Apple", "colours": ["pink"]}}, "f_colours"),
        ({"values": {"brand": "Apple", "warranty": "maybe"}}, "f_warranty"),
        ({"values": {"brand": "Apple", "deposit": "-3"}}, "f_deposit"),
        ({"pickup": False, "shipping": False}, "trade"),
        ({"city": ""}, "city"),
        ({"condition": "broken"}, "condition"),
        ({"title": ""}, "title"),
        ({"body": ""}, "body"),
        ({"category_id": 9999}, "category_id"),
        ({"image_ids": list(range(1, 11))}, "images"),
        ({"image_ids": [12345]}, "images"),
    ],
)
def test_bad_listing_input_is_refused_naming_the_field(
    db, phones, market_board, make_member, over, field
):
    seller = make_member("ada")
    with pytest.raises(ServiceError) as caught:
        services.create_listing(seller, market_board, phone_input(phones, **over))
    assert caught.value.field == field, caught.value.message
    assert caught.value.message
    nothing_written(db)


def test_more_than_nine_images_or_a_non_image_stores_none(db, make_member):
    seller = make_member("ada")
    with pytest.raises(ServiceError) as caught:
        services.save_images(seller, [png_image() for _ in range(10)])
    assert caught.value.field == "images"
    assert "9" in caught.value.message
    with pytest.raises(ServiceError) as caught:
        services.save_images(seller, [png_image(), io.BytesIO(b"not an image")])
    assert caught.value.field == "images"
    assert count(db, Upload) == 0
    stored = services.save_images(seller, [png_image(), png_image()])
    assert len(stored) == 2
    assert count(db, Upload) == 2


def test_photos_are_kept_in_order_with_a_cover(db, market_board, make_member):
    seller = make_member("ada")
    uploads = services.save_images(seller, [png_image() for _ in range(3)])
    ids = [u.id for u in reversed(uploads)]
    data = services.ListingInput(
        title="Desk lamp", body="Warm light.", price="30", city="Beijing", image_ids=ids
    )
    thread = services.create_listing(seller, market_board, data)
    listing = db.session.get(Listing, thread.id)
    assert listing.image_count == 3
    assert listing.cover_upload_id == ids[0]
    positions = db.session.execute(
        select(ListingImage.upload_id).order_by(ListingImage.position)
    ).scalars()
    assert list(positions) == ids
    other = make_member("bob")
    with pytest.raises(ServiceError) as caught:  # someone else's photos
        services.create_listing(
            other,
            market_board,
            services.ListingInput(
                title="Lamp", body="Mine.", price="1", city="x", image_ids=ids[:1]
            ),
        )
    assert caught.value.field == "images"


def test_a_listing_thread_started_elsewhere_is_refused(db, market_board, make_member):
    seller = make_member("ada")
    with pytest.raises(ServiceError) as caught:
        posting.create_thread(seller, market_board, "A bike", "Cheap.", kind="listing")
    assert "market's form" in caught.value.message
    assert count(db, Thread) == 0


def test_posting_limits(db, market_board, make_member):
    seller = make_member("ada")
    settings(daily_limit=2)
    for i in range(2):
        services.create_listing(
            seller,
            market_board,
            services.ListingInput(title=f"Thing {i}", body="x", price="1", city="Shanghai"),
        )
    with pytest.raises(PermissionDenied) as caught:
        services.create_listing(
            seller,
            market_board,
            services.ListingInput(title="Thing 3", body="x", price="1", city="Shanghai"),
        )
    assert "2 listings a day" in caught.value.message
    assert count(db, Listing) == 2
    settings(daily_limit=0, min_posts=10)
    with pytest.raises(PermissionDenied) as caught:
        services.create_listing(
            make_member("newbie"),
            market_board,
            services.ListingInput(title="Thing", body="x", price="1", city="Shanghai"),
        )
    assert "10 posts" in caught.value.message
    settings(min_posts=0, min_account_days=7)
    with pytest.raises(PermissionDenied) as caught:
        services.create_listing(
            make_member("newer"),
            market_board,
            services.ListingInput(title="Thing", body="x", price="1", city="Shanghai"),
        )
    assert "7 days" in caught.value.message
    settings(min_account_days=0, poster_group="moderator")
    with pytest.raises(PermissionDenied):
        services.create_listing(
            make_member("plain"),
            market_board,
            services.ListingInput(title="Thing", body="x", price="1", city="Shanghai"),
        )
    mod = make_member("modo", groups=("moderator",))
    services.create_listing(
        mod,
        market_board,
        services.ListingInput(title="Thing", body="x", price="1", city="Shanghai"),
    )
    assert count(db, Listing) == 3


# -- the market ------------------------------------------------------------------------------


def _phones(make_listing, phones, n, seller_factory):
    brands = ["Apple", "Xiaomi", "Huawei"]
    for i in range(n):
        make_listing(
            seller_factory(f"s{i}"),
            category=phones,
            title=f"Phone {i}",
            price=str(100 + i),
            city="Beijing" if i % 2 else "Shanghai",
            values={
                "brand": brands[i % 3],
                "storage": str(64 * (1 + i % 4)),
                "warranty": "1" if i % 2 else "0",
                "colours": ["black", "white"] if i % 2 else ["blue"],
                "note": f"note {i}",
            },
        )


def test_the_market_runs_a_fixed_number_of_statements(
    db, phones, make_listing, make_member, count_queries
):
    viewer = make_member("viewer")
    _phones(make_listing, phones, 3, make_member)
    db.session.expire_all()
    services.market(viewer, category_id=phones.id)  # warm the per-request caches
    db.session.expire_all()
    with count_queries() as few:
        page = services.market(viewer, category_id=phones.id, fields={"brand": "Apple"})
    assert page.total == 1
    more = [make_member(f"t{i}") for i in range(27)]
    for i, seller in enumerate(more):
        make_listing(
            seller,
            category=phones,
            title=f"More {i}",
            price="5",
            values={"brand": "Apple", "storage": "32", "note": "n"},
        )
    db.session.expire_all()
    services.market(viewer, category_id=phones.id)
    db.session.expire_all()
    with count_queries() as many:
        page = services.market(viewer, category_id=phones.id, fields={"brand": "Apple"})
    assert page.total == 28
    assert len(page.items) == 24
    assert all(card.list_values for card in page.items)
    assert many.count == few.count, (few.statements, many.statements)
    assert few.count <= 6


def test_market_filters(db, phones, make_listing, make_member):
    viewer = make_member("viewer")
    _phones(make_listing, phones, 8, make_member)
    titles = lambda page: sorted(c.title for c in page.items)  # noqa: E731
    assert services.market(viewer).total == 8
    assert titles(services.market(viewer, category_id=phones.id, fields={"brand": "Xiaomi"})) == [
        "Phone 1",
        "Phone 4",
        "Phone 7",
    ]
    page = services.market(viewer, category_id=phones.id, fields={"storage": "128..192"})
    assert titles(page) == ["Phone 1", "Phone 2", "Phone 5", "Phone 6"]
    page = services.market(viewer, category_id=phones.id, fields={"storage": "..64"})
    assert titles(page) == ["Phone 0", "Phone 4"]
    page = services.market(viewer, category_id=phones.id, fields={"warranty": "1"})
    assert titles(page) == ["Phone 1", "Phone 3", "Phone 5", "Phone 7"]
    page = services.market(viewer, category_id=phones.id, fields={"colours": ["white"]})
    assert page.total == 4
    assert services.market(viewer, city="beijing").total == 4
    assert services.market(viewer, city=" SHANGHAI ").total == 4
    page = services.market(viewer, price_min="102", price_max="104.00")
    assert titles(page) == ["Phone 2", "Phone 3", "Phone 4"]
    page = services.market(viewer, sort="price_asc")
    assert [c.price_cents for c in page.items] == sorted(c.price_cents for c in page.items)
    page = services.market(viewer, sort="price_desc")
    assert page.items[0].title == "Phone 7"
    bad = services.market(
        viewer,
        category_id=phones.id,
        price_min="cheap",
        fields={"brand": "Nokia", "storage": "lots"},
    )
    assert set(bad.errors) == {"price_min", "f_brand", "f_storage"}
    assert bad.total == 8
    assert [f.key for f in bad.fields] == [f["key"] for f in PHONE_FIELDS]


def test_the_market_search_finds_titles_and_typed_values(db, phones, make_listing, make_member):
    viewer = make_member("viewer")
    make_listing(
        make_member("s1"),
        category=phones,
        title="Shiny telephone",
        values={"brand": "Apple", "note": "scratchless"},
    )
    make_listing(
        make_member("s2"), category=phones, title="Other thing", values={"brand": "Huawei"}
    )
    assert [c.title for c in services.market(viewer, q="scratchless").items] == ["Shiny telephone"]
    assert [c.title for c in services.market(viewer, q="Huawei").items] == ["Other thing"]


def test_boards_the_viewer_may_not_read_stay_hidden(
    db, make_board, market_board, make_listing, make_member
):
    from forum.services import boards

    secret = make_board("vip", grants={"guest": (), "member": ()})
    boards.update_board(secret, thread_kinds="discussion,listing")
    owner = make_member("owner", groups=("admin",))
    thread = make_listing(owner, board=secret, title="Secret sale")
    make_listing(make_member("pub"), title="Public sale")
    viewer = make_member("viewer")
    assert [c.title for c in services.market(viewer).items] == ["Public sale"]
    assert [c.title for c in services.market(None).items] == ["Public sale"]
    assert services.market(viewer, board="vip").total == 0
    with pytest.raises(NotFound):
        services.get_listing(thread.id, viewer)
    with pytest.raises(NotFound):
        services.get_listing(thread.id, None)
    assert services.get_listing(thread.id, owner).thread_id == thread.id
    assert services.market(owner).total == 2


def test_deleted_listings_are_not_found(db, make_listing, make_member):
    thread = make_listing(title="Gone soon")
    mod = make_member("modo", groups=("admin",))
    posting.delete_thread(mod, db.session.get(Thread, thread.id))
    with pytest.raises(NotFound):
        services.get_listing(thread.id, make_member("viewer"))
    assert services.market(None).total == 0


# -- categories ------------------------------------------------------------------------------


def test_only_admins_define_categories_and_fields_are_checked(db, admin, make_member):
    member = make_member("ada")
    with pytest.raises(PermissionDenied):
        services.save_category(member, name="Bikes")
    bikes = services.save_category(admin, name="Bikes")
    services.save_field(admin, bikes, key="size", label="Frame size", type="number", unit="cm")
    with pytest.raises(ServiceError) as caught:
        services.save_field(admin, bikes, key="size", label="Again", type="text")
    assert caught.value.field == "key"
    with pytest.raises(ServiceError) as caught:
        services.save_field(
            admin, bikes, key="kind", label="Kind", type="select", options_text="road\n\nroad"
        )
    assert caught.value.field == "options_text"
    with pytest.raises(ServiceError) as caught:
        services.save_field(admin, bikes, key="Bad Key", label="x", type="text")
    assert caught.value.field == "key"
    with pytest.raises(ServiceError) as caught:
        services.save_field(admin, bikes, key="x", label="x", type="colour")
    assert caught.value.field == "type"
    assert [f.key for f in services.get_category(bikes.id).fields] == ["size"]


def test_deleting_a_category_keeps_its_listings(db, admin, phones, make_listing):
    thread = make_listing(category=phones, values={"brand": "Apple"})
    services.delete_category(admin, phones)
    listing = db.session.get(Listing, thread.id)
    assert listing is not None and listing.category_id is None
    assert services.market(None).total == 1
    assert services.categories() == []


# -- seller actions, contact, expiry ---------------------------------------------------------


def test_renew_reserve_and_contact(db, make_listing, make_member):
    from forum.models import Conversation

    seller = make_member("ada")
    buyer = make_member("bob")
    thread = make_listing(seller, title="Kettle", price="35.5")
    listing = db.session.get(Listing, thread.id)
    with pytest.raises(ServiceError):  # renewed (posted) less than a day ago
        services.renew(seller, listing)
    with pytest.raises(PermissionDenied):
        services.renew(buyer, listing, now=utcnow() + timedelta(days=2))
    later = utcnow() + timedelta(days=2)
    services.renew(seller, listing, now=later)
    assert listing.expires_at == later + timedelta(days=30)
    assert listing.bumped_at == later
    services.reserve(seller, listing, "@bob")
    assert (listing.status, listing.reserved_for_id) == ("reserved", buyer.id)
    assert (
        count(
            db,
            Notification,
            Notification.member_id == buyer.id,
            Notification.kind == "classifieds.reserved",
        )
        == 1
    )
    with pytest.raises(ServiceError) as caught:
        services.reserve(seller, listing, "nobody_here")
    assert caught.value.field == "buyer"
    services.unreserve(seller, listing)
    assert listing.status == "available" and listing.reserved_for_id is None
    text = services.contact_text(listing)
    assert "Kettle" in text and "¥35.50" in text and f"/t/{thread.id}" in text
    conversation = services.contact_seller(buyer, listing, text)
    assert db.session.get(Conversation, conversation.id).subject == "About: Kettle"
    with pytest.raises(ServiceError):
        services.contact_seller(seller, listing, "Hello me")


def test_listings_expire_with_one_reminder_and_stay_readable(db, make_listing, make_member):
    seller = make_member("ada")
    viewer = make_member("bob")
    thread = make_listing(seller, title="Sofa")
    listing = db.session.get(Listing, thread.id)
    start = listing.created_at
    assert services.remind_expiring(now=start + timedelta(days=20)) == 0
    assert services.remind_expiring(now=start + timedelta(days=27, hours=1)) == 1
    assert services.remind_expiring(now=start + timedelta(days=28)) == 0  # once
    assert services.expire_listings(now=start + timedelta(days=29)) == 0
    assert services.expire_listings(now=start + timedelta(days=30, minutes=1)) == 1
    assert services.expire_listings(now=start + timedelta(days=31)) == 0  # once
    kinds = list(
        db.session.execute(
            select(Notification.kind)
            .where(Notification.member_id == seller.id)
            .order_by(Notification.id)
        ).scalars()
    )
    assert kinds == ["classifieds.expiring", "classifieds.expired"]
    db.session.expire_all()
    assert services.market(viewer).total == 0
    assert [c.title for c in services.market(viewer, status="expired").items] == ["Sofa"]
    assert services.market(viewer, status="all").total == 1
    assert services.get_listing(thread.id, viewer).status == "expired"
    listing = db.session.get(Listing, thread.id)
    renewed_at = start + timedelta(days=32)
    services.renew(seller, listing, now=renewed_at)
    assert listing.status == "available"
    assert listing.reminded_at is None
    assert services.market(viewer).total == 1
    # the next period has its own reminder
    assert services.remind_expiring(now=renewed_at + timedelta(days=28)) == 1


# -- trades and ratings ----------------------------------------------------------------------


@pytest.fixture
def sold(db, make_listing, make_member):
    """(seller, buyer, listing, pending trade)."""
    seller = make_member("ada")
    buyer = make_member("bob")
    thread = make_listing(seller, title="Guitar", price="800")
    listing = db.session.get(Listing, thread.id)
    trade = services.mark_sold(seller, listing, "bob")
    return seller, buyer, listing, trade


def test_a_trade_counts_once_the_named_buyer_confirms(db, sold, make_member):
    seller, buyer, listing, trade = sold
    assert listing.status == "reserved" and listing.reserved_for_id == buyer.id
    assert (
        count(
            db,
            Notification,
            Notification.member_id == buyer.id,
            Notification.kind == "classifieds.sold",
        )
        == 1
    )
    stranger = make_member("eve")
    with pytest.raises(PermissionDenied):
        services.confirm_trade(stranger, trade)
    with pytest.raises(PermissionDenied):
        services.confirm_trade(seller, trade)
    db.session.expire_all()
    assert db.session.get(Trade, trade.id).status == "pending"
    with pytest.raises(ServiceError):  # not before the buyer confirms
        services.rate(seller, trade, 1, "Quick payment")
    assert count(db, Rating) == 0
    with pytest.raises(ServiceError):  # a second trade on the listing
        services.mark_sold(seller, listing, "eve")
    services.confirm_trade(buyer, trade)
    assert trade.status == "confirmed" and trade.confirmed_at is not None
    assert db.session.get(Listing, listing.thread_id).status == "sold"
    with pytest.raises(ServiceError):
        services.confirm_trade(buyer, trade)
    assert (
        count(
            db,
            Notification,
            Notification.member_id == seller.id,
            Notification.kind == "classifieds.confirmed",
        )
        == 1
    )


def test_selling_to_yourself_or_nobody_is_refused(db, make_listing, make_member):
    seller = make_member("ada")
    listing = db.session.get(Listing, make_listing(seller).id)
    with pytest.raises(ServiceError) as caught:
        services.mark_sold(seller, listing, "ada")
    assert caught.value.field == "buyer"
    with pytest.raises(ServiceError) as caught:
        services.mark_sold(seller, listing, "ghost")
    assert caught.value.field == "buyer"
    with pytest.raises(PermissionDenied):
        services.mark_sold(make_member("bob"), listing, "bob")
    assert count(db, Trade) == 0


def test_decline_and_cancel_free_the_listing(db, sold, make_member):
    seller, buyer, listing, trade = sold
    with pytest.raises(PermissionDenied):
        services.decline_trade(seller, trade)
    services.decline_trade(buyer, trade)
    assert trade.status == "cancelled"
    db.session.expire_all()
    assert db.session.get(Listing, listing.thread_id).status == "available"
    listing = db.session.get(Listing, listing.thread_id)
    again = services.mark_sold(seller, listing, "bob")
    with pytest.raises(PermissionDenied):
        services.cancel_trade(buyer, again)
    services.cancel_trade(seller, again)
    assert again.status == "cancelled"
    with pytest.raises(ServiceError):
        services.confirm_trade(buyer, again)
    with pytest.raises(ServiceError):
        services.rate(buyer, again, 1, "")


def test_each_party_rates_once_and_the_ratee_replies_once(db, sold, make_member):
    seller, buyer, listing, trade = sold
    services.confirm_trade(buyer, trade)
    with pytest.raises(PermissionDenied):
        services.rate(make_member("eve"), trade, 1, "I was not there")
    with pytest.raises(ServiceError) as caught:
        services.rate(buyer, trade, 5, "Great")
    assert caught.value.field == "score"
    with pytest.raises(ServiceError) as caught:
        services.rate(buyer, trade, 1, "x" * 501)
    assert caught.value.field == "comment"
    rating = services.rate(buyer, trade, 1, "As described")
    assert (rating.rater_id, rating.ratee_id) == (buyer.id, seller.id)
    with pytest.raises(ServiceError) as caught:
        services.rate(buyer, trade, -1, "Changed my mind")
    assert "already" in caught.value.message
    services.rate(seller, trade, 0, "Slow to reply")
    assert count(db, Rating) == 2
    with pytest.raises(PermissionDenied):
        services.reply_to_rating(buyer, rating, "Thanks")
    services.reply_to_rating(seller, rating, "Thank you!")
    with pytest.raises(ServiceError):
        services.reply_to_rating(seller, rating, "Again")
    assert db.session.get(Rating, rating.id).reply == "Thank you!"
    views, pages, summary = services.ratings_of(seller)
    assert pages == 1
    assert [(v.score, v.rater_role, v.title) for v in views] == [(1, "buyer", "Guitar")]
    assert (summary.trades, summary.positive, summary.percent_positive) == (1, 1, 100)
    view = services.listing_view(db.session.get(Listing, listing.thread_id), buyer)
    assert not view.may_rate and view.may_report_scam and not view.may_sell


def test_two_ratings_at_once_store_one(app, db, sold, postgres_only):
    seller, buyer, listing, trade = sold
    services.confirm_trade(buyer, trade)
    buyer_id, trade_id = buyer.id, trade.id

    def work(i):
        from forum.models import Member

        member = db.session.get(Member, buyer_id)
        return services.rate(member, db.session.get(Trade, trade_id), 1, f"try {i}").id

    results = race(app, 2, work)
    assert sorted(outcome for outcome, _ in results) == ["ok", "refused"]
    assert count(db, Rating) == 1


def test_two_confirmations_at_once_confirm_once(app, db, sold, postgres_only):
    seller, buyer, listing, trade = sold
    buyer_id, trade_id = buyer.id, trade.id

    def work(i):
        from forum.models import Member

        member = db.session.get(Member, buyer_id)
        return services.confirm_trade(member, db.session.get(Trade, trade_id)).status

    results = race(app, 2, work)
    assert sorted(outcome for outcome, _ in results) == ["ok", "refused"]
    assert count(db, Notification, Notification.kind == "classifieds.confirmed") == 1


def test_trust_facts_for_twenty_members_cost_one_query(db, sold, make_member, count_queries):
    import forum_plugins.classifieds as plugin

    seller, buyer, listing, trade = sold
    services.confirm_trade(buyer, trade)
    services.rate(buyer, trade, 1, "")
    # as on a thread page: plain rows, not ORM members
    members = [
        SimpleNamespace(id=m.id, username=m.username)
        for m in [seller, buyer] + [make_member(f"m{i}") for i in range(18)]
    ]
    with count_queries() as q:
        facts = plugin.forum_trust_facts(members)
    assert q.count <= 2
    assert set(facts) == {seller.id, buyer.id}
    fact = facts[seller.id][0]
    assert (fact.label, fact.value, fact.tone) == ("Trades", "1 (100% positive)", "")
    assert facts[buyer.id][0].value == "1"


def test_a_good_record_is_positive(db, make_listing, make_member):
    import forum_plugins.classifieds as plugin

    seller = make_member("ada")
    for i in range(3):
        buyer = make_member(f"b{i}")
        listing = db.session.get(Listing, make_listing(seller, title=f"Item {i}").id)
        trade = services.mark_sold(seller, listing, buyer.username)
        services.confirm_trade(buyer, trade)
        services.rate(buyer, trade, 1, "")
    summary = services.summaries([seller.id])[seller.id]
    assert (summary.trades, summary.positive, summary.percent_positive) == (3, 3, 100)
    assert plugin.forum_trust_facts([seller])[seller.id][0].tone == "positive"


# -- scam reports and moderation -------------------------------------------------------------


def test_a_scam_report_reaches_the_queue_and_moderators_act(
    db, sold, make_member, make_listing, market_board
):
    import forum_plugins.classifieds as plugin

    from forum.models import ReportCase

    seller, buyer, listing, trade = sold
    services.confirm_trade(buyer, trade)
    rating = services.rate(buyer, trade, -1, "Never arrived")
    with pytest.raises(PermissionDenied):
        services.report_scam(seller, trade, "The buyer is lying about it.", [])
    with pytest.raises(ServiceError) as caught:
        services.report_scam(buyer, trade, "bad", [])
    assert caught.value.field == "evidence"
    photo = services.save_images(buyer, [png_image()])[0]
    report = services.report_scam(buyer, trade, "Paid by transfer, nothing came.", [photo.id])
    case = db.session.get(ReportCase, report.case_id)
    assert (case.target_type, case.target_id, case.status) == ("member", seller.id, "open")
    reasons = list(
        db.session.execute(select(Report.reason).where(Report.case_id == case.id)).scalars()
    )
    assert reasons == ["scam"]
    with pytest.raises(ServiceError):
        services.report_scam(buyer, trade, "Paid by transfer, nothing came.", [])
    assert count(db, ScamReport) == 1
    member = make_member("plain")
    with pytest.raises(PermissionDenied):
        services.scam_reports(member)
    with pytest.raises(PermissionDenied):
        services.freeze_seller(member, seller.id, True)
    mod = make_member("guard", groups=("moderator",))
    views, pages = services.scam_reports(mod)
    assert [(v.report.id, v.seller_username, v.title) for v in views] == [
        (report.id, "ada", "Guitar")
    ]
    other = make_listing(seller, title="Amp", price="100")
    assert services.market(None).total == 1
    assert services.freeze_seller(mod, seller.id, True, "scam report") >= 1
    db.session.expire_all()
    assert services.market(None).total == 0
    amp = db.session.get(Listing, other.id)
    with pytest.raises(PermissionDenied):
        services.contact_seller(buyer, amp, "Hello")
    with pytest.raises(PermissionDenied):
        services.create_listing(
            seller,
            market_board,
            services.ListingInput(title="New thing", body="x", price="1", city="Shanghai"),
        )
    services.verify_rating(mod, rating)
    assert db.session.get(Rating, rating.id).verified
    services.close_scam_report(mod, report, upheld=True)
    with pytest.raises(ServiceError):
        services.close_scam_report(mod, report, upheld=False)
    assert services.summaries([seller.id])[seller.id].scams_upheld == 1
    assert plugin.forum_trust_facts([seller])[seller.id][0].tone == "negative"
    services.freeze_seller(mod, seller.id, False)
    db.session.expire_all()
    assert services.market(None).total == 1


# -- the web half's helpers ------------------------------------------------------------------


def test_every_refused_input_is_reported_at_once(db, phones, market_board, make_member):
    seller = make_member("ada")
    data = phone_input(
        phones, city="", price="12.505", values={"storage": "x"}, shipping=False, pickup=False
    )
    with pytest.raises(ServiceError) as caught:
        services.create_listing(seller, market_board, data)
    assert set(caught.value.errors) == {"city", "price", "trade", "f_brand", "f_storage"}
    assert caught.value.field in caught.value.errors
    assert "two decimals" in caught.value.errors["price"]
    nothing_written(db)


def test_kept_photos_count_toward_nine_and_thumbnails_are_small(db, app, make_member):
    from pathlib import Path

    from PIL import Image

    seller = make_member("ada")
    with pytest.raises(ServiceError) as caught:
        services.save_images(seller, [png_image() for _ in range(2)], kept=8)
    assert caught.value.field == "images"
    assert count(db, Upload) == 0
    (upload,) = services.save_images(seller, [png_image(size=(1200, 900))], kept=8)
    url = services.thumb_url(upload)
    assert url != f"/uploads/{upload.path}" and url.endswith(".thumb.jpg")
    path = Path(app.instance_path) / "uploads" / url.removeprefix("/uploads/")
    with Image.open(path) as thumb:
        assert max(thumb.size) == 480


def test_market_boards_and_my_market(db, make_board, market_board, make_listing, make_member):
    make_board("chat")
    seller = make_member("ada")
    buyer = make_member("bob")
    assert [b.slug for b in services.market_boards(seller)] == ["market"]
    kettle = db.session.get(Listing, make_listing(seller, title="Kettle").id)
    make_listing(seller, title="Lamp")
    trade = services.mark_sold(seller, kettle, "bob")
    mine = services.my_market(seller)
    assert [(s, [i.title for i in items]) for s, items in mine.listings] == [
        ("available", ["Lamp"]),
        ("reserved", ["Kettle"]),
    ]
    assert [t.listing_title for t in mine.waiting] == ["Kettle"]
    assert not mine.to_confirm and not mine.to_rate
    theirs = services.my_market(buyer)
    assert [(t.listing_title, t.other.username) for t in theirs.to_confirm] == [("Kettle", "ada")]
    services.confirm_trade(buyer, trade)
    assert [t.thread_id for t in services.my_market(buyer).to_rate] == [kettle.thread_id]
    services.rate(buyer, trade, 1, "")
    assert services.my_market(buyer).to_rate == []
    assert [t.thread_id for t in services.my_market(seller).to_rate] == [kettle.thread_id]


def test_scam_report_views_carry_their_photos(db, sold, make_member):
    seller, buyer, listing, trade = sold
    photos = services.save_images(buyer, [png_image() for _ in range(2)])
    services.report_scam(buyer, trade, "Paid, and the seller vanished.", [p.id for p in photos])
    mod = make_member("guard", groups=("moderator",))
    (view,), pages = services.scam_reports(mod)
    assert [url for url, _thumb in view.images] == [f"/uploads/{p.path}" for p in photos]
    assert all(thumb.endswith(".thumb.jpg") for _url, thumb in view.images)


def test_changes_renew_the_listing_page_stamp_and_its_search_document(db, sold, make_member):
    from forum.services import versions

    seller, buyer, listing, trade = sold

    def stamp():
        return versions.stamps(versions.slot("thread", listing.thread_id))

    before = stamp()
    services.confirm_trade(buyer, trade)
    assert stamp() != before
    thread = db.session.get(Thread, listing.thread_id)
    assert services.search_document(thread)["status"] == "sold"
    before = stamp()
    services.rate(buyer, trade, 1, "Fine")
    assert stamp() != before
    before = stamp()
    services.freeze_seller(make_member("guard", groups=("moderator",)), seller.id, True)
    assert stamp() != before


def test_the_available_board_filter(db, market_board, make_listing, make_member):
    import forum_plugins.classifieds as plugin

    from forum.services import reading

    seller = make_member("ada")
    make_listing(seller, title="Still here")
    gone = db.session.get(Listing, make_listing(seller, title="Sold already").id)
    buyer = make_member("bob")
    trade = services.mark_sold(seller, gone, "bob")
    services.confirm_trade(buyer, trade)
    (tab,) = plugin.forum_board_filters(market_board)
    assert tab.name == "classifieds_available"
    threads, _pages = reading.board_threads(market_board, 1, where=tab.where())
    assert [t.title for t in threads] == ["Still here"]


def test_two_sales_of_one_listing_at_once_make_one_trade(
    app, db, make_listing, make_member, postgres_only
):
    from forum.models import Member

    seller = make_member("ada")
    for name in ("bob", "cat"):
        make_member(name)
    listing_id, seller_id = make_listing(seller).id, seller.id

    def work(i):
        listing = db.session.get(Listing, listing_id)
        return services.mark_sold(db.session.get(Member, seller_id), listing, ("bob", "cat")[i]).id

    results = race(app, 2, work)
    assert sorted(outcome for outcome, _ in results) == ["ok", "refused"]
    assert count(db, Trade) == 1


def test_a_scam_report_on_a_banned_seller_still_stands(db, sold, make_member):
    from forum.services import members

    seller, buyer, listing, trade = sold
    members.ban(seller, "fraud", actor=make_member("boss2", groups=("admin",)))
    report = services.report_scam(buyer, trade, "Paid, and the seller vanished.", [])
    assert report.case_id is None
    assert count(db, ScamReport) == 1


def test_the_database_refuses_self_ratings_self_trades_and_second_ratings(db, sold):
    from sqlalchemy.exc import IntegrityError

    seller, buyer, listing, trade = sold
    services.confirm_trade(buyer, trade)
    services.rate(seller, trade, 1, "")
    attempts = [
        Rating(trade_id=trade.id, rater_id=buyer.id, ratee_id=buyer.id, score=1),
        Rating(trade_id=trade.id, rater_id=seller.id, ratee_id=buyer.id, score=-1),
        Trade(listing_id=listing.thread_id, seller_id=seller.id, buyer_id=seller.id),
        Trade(listing_id=listing.thread_id, seller_id=seller.id, buyer_id=buyer.id),
    ]
    for row in attempts:
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
        db.session.rollback()
    assert count(db, Rating) == 1
    assert count(db, Trade) == 1
