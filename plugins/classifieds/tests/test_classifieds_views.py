"""The market pages through HTTP: the market with its filters and cards (a typed field and
a price range through the page, a query count that does not grow with the listings), the
listing form (two PNG photos and typed fields; a refused attempt that keeps every input and
the photos; a non-image and a tenth photo refused; the category picker without
JavaScript), the core's composer sending listings here, the seller's actions (edit,
reserve, unreserve, renew, sold → the trade page), contacting the seller, who may do what
(guests, other members, CSRF, the plugin switched off), and the categories' admin page."""

from __future__ import annotations

import io
import os
import re
import uuid
from datetime import timedelta

import pytest
from forum_plugins.classifieds import services
from forum_plugins.classifieds.models import Category, CategoryField, Listing, ListingValue
from PIL import Image
from sqlalchemy import func, select

from forum.extensions import db
from forum.models import Board, Conversation, Thread, Upload
from forum.services import boards, plugin_state
from forum.testing import png_image
from tests.e2e.conftest import *  # noqa: F403 (live_server, browser, viewport, new_context)
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_journeys import _sign_in

pytestmark = pytest.mark.usefixtures("english")

PLUGIN = "classifieds"


# -- fixtures of this module -----------------------------------------------------------------


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def on(enable_plugin):
    """The plugin switched on, with a generous daily listing limit (tests post many)."""
    enable_plugin(PLUGIN)
    assert plugin_state.save_settings(PLUGIN, {"daily_limit": "100"}) == {}
    return PLUGIN


@pytest.fixture
def board(on, make_board):
    """A market board (listings only)."""
    return boards.update_board(make_board("flea", "跳蚤市场"), thread_kinds="listing")


@pytest.fixture
def phones(on, admin):  # admin: the conftest's site administrator
    """A category 手机 Phones: storage (select, required, on cards), battery (number, %),
    colours (multi), boxed (yes/no)."""
    category = services.save_category(admin, name="手机 Phones", description="Phones and more")
    services.save_field(
        admin, category, key="storage", label="Storage", type="select", required=True,
        in_list=True, options_text="128GB\n256GB\n512GB",
    )  # fmt: skip
    services.save_field(
        admin, category, key="battery", label="Battery health", type="number", unit="%",
        position=1,
    )  # fmt: skip
    services.save_field(
        admin, category, key="colours", label="Colours", type="multi",
        options_text="black\nwhite\nblue", position=2,
    )  # fmt: skip
    services.save_field(admin, category, key="boxed", label="In its box", type="bool", position=3)
    db.session.expire_all()
    return db.session.get(Category, category.id)


@pytest.fixture
def seller(make_member):
    return make_member("seller")


@pytest.fixture
def post_listing(board, seller):
    """``post_listing(title=…, price=…, category=None, values={}, by=seller)`` → Listing."""

    def make(
        title="Fuji X100V camera", price="1200", category=None, values=None, by=None, city="上海"
    ):
        data = services.ListingInput(
            title=title,
            body="Bought in 2023, with box and two batteries.",
            category_id=category.id if category else None,
            price=price,
            condition="like_new",
            city=city,
            pickup=True,
            shipping=False,
            values=values or {},
            image_ids=[],
        )
        thread = services.create_listing(by or seller, board, data)
        return db.session.get(Listing, thread.id)

    return make


def _form(category=None, **over):
    """The listing form's fields as a browser sends them."""
    data = {
        "category_id": str(category.id) if category else "",
        "title": "iPhone 13 mini 蓝色",
        "body": "Always in a case, screen like new.",
        "price": "2,450.50",
        "condition": "like_new",
        "city": "杭州",
        "pickup": "y",
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def _thread_id(response) -> int:
    match = re.search(r"/t/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


# -- the market ------------------------------------------------------------------------------


def test_the_market_shows_cards_and_filters(web, phones, post_listing):
    post_listing("Fuji X100V camera", "1200")
    post_listing("iPhone 13 mini", "2450.50", category=phones, values={"storage": "256GB"})
    page = web().get("/market")
    assert page.status_code == 200
    text = _html(page)
    assert text.count('class="mk-card ') == 2
    assert "Fuji X100V camera" in text and "¥1,200" in text and "¥2,450.50" in text
    assert 'name="price_min"' in text and 'name="price_max"' in text and 'name="city"' in text
    assert 'name="sort"' in text and 'name="status"' in text and 'name="q"' in text
    assert f'<option value="{phones.id}">手机 Phones</option>' in text
    assert "256GB" in text  # a field shown on cards
    assert 'name="f_storage"' not in text  # typed filters only once a category is chosen
    assert "classifieds.css" in text

    text = _html(web().get(f"/market?category={phones.id}"))
    assert text.count('class="mk-card ') == 1 and "Fuji" not in text
    assert 'name="f_storage"' in text and '<option value="512GB">512GB</option>' in text
    assert 'name="f_battery_min"' in text and 'name="f_battery_max"' in text
    assert 'name="f_colours"' in text and 'name="f_boxed"' in text


def test_filtering_by_a_typed_field_and_price_through_the_page(
    web, phones, post_listing, seller, make_member
):
    post_listing("Phone A", "1000", category=phones, values={"storage": "128GB", "battery": "80"})
    post_listing("Phone B", "2000", category=phones, values={"storage": "256GB", "battery": "95"})
    post_listing("Phone C", "3000", category=phones, values={"storage": "256GB", "battery": "99"})
    client = web()

    def titles(query: str) -> list[str]:
        text = _html(client.get(f"/market?category={phones.id}&{query}"))
        return re.findall(r'class="mk-card-title">([^<]+)<', text)

    assert titles("f_storage=256GB") == ["Phone C", "Phone B"]
    assert titles("f_storage=256GB&price_max=2500") == ["Phone B"]
    assert titles("price_min=1500&sort=price_asc") == ["Phone B", "Phone C"]
    assert titles("f_battery_min=90&f_battery_max=98") == ["Phone B"]
    assert titles("f_storage=512GB") == []
    assert titles("q=256GB") == ["Phone C", "Phone B"]  # the search covers typed values
    listing = post_listing(
        "Phone D", "500", category=phones, values={"storage": "128GB"}, city="杭州"
    )
    assert titles("city=杭州") == ["Phone D"]
    buyer = make_member("buyer")
    services.confirm_trade(buyer, services.mark_sold(seller, listing, "buyer"))
    assert "Phone D" not in titles("")  # sold: out of the default list
    assert titles("status=sold") == ["Phone D"]
    assert titles("status=all")[0] == "Phone D"
    # the form keeps what was asked
    text = _html(client.get(f"/market?category={phones.id}&f_storage=256GB&price_max=2500"))
    assert '<option selected value="256GB">256GB</option>' in text
    assert re.search(r'name="price_max"[^>]* value="2500"', text)
    assert "Nothing matches these filters." not in text
    text = _html(client.get(f"/market?category={phones.id}&f_storage=512GB"))
    assert "Nothing matches these filters." in text and "Clear the filters" in text
    # bad input is said beside its input; the page still lists
    text = _html(client.get("/market?price_min=abc"))
    assert 'class="error"' in text and text.count('class="mk-card ') == 3


def test_an_empty_market_says_what_to_do(web, board, make_member):
    text = _html(web(make_member("ada")).get("/market"))
    assert "Nothing for sale here yet." in text and "/market/new" in text


def test_the_market_page_runs_a_fixed_number_of_queries(
    web, phones, post_listing, make_member, count_queries
):
    client = web(make_member("viewer"))
    values = {"storage": "256GB", "battery": "90", "colours": ["black", "blue"], "boxed": "1"}
    for i in range(3):
        post_listing(f"Phone {i}", str(100 + i), category=phones, values=values)
    url = f"/market?category={phones.id}&f_storage=256GB&price_min=1"
    client.get(url)  # warm the caches (settings, plugin state)
    db.session.expire_all()
    with count_queries() as few:
        assert _html(client.get(url)).count('class="mk-card ') == 3
    for i in range(3, 30):
        post_listing(f"Phone {i}", str(100 + i), category=phones, values=values)
    db.session.expire_all()
    with count_queries() as many:
        html = _html(client.get(url))
    assert html.count('class="mk-card ') == 24  # one page
    assert many.count == few.count, many.statements
    # the pages keep the filters
    assert re.search(r'href="/market\?[^"]*f_storage=256GB[^"]*page=2"', html.replace("&amp;", "&"))
    assert _html(client.get(url + "&page=2")).count('class="mk-card ') == 6


# -- the listing form ------------------------------------------------------------------------


def test_a_new_listing_with_two_photos_and_typed_fields(web, phones, board, seller):
    client = web(seller)
    page = client.get(f"/market/new?category={phones.id}")
    assert page.status_code == 200
    text = _html(page)
    assert 'enctype="multipart/form-data"' in text and 'multiple name="images"' in text
    assert 'name="f_storage"' in text and "Battery health (%)" in text
    assert 'type="checkbox" name="f_colours" value="blue"' in text

    data = _form(
        phones, f_storage="256GB", f_battery="92", f_colours=["black", "blue"], f_boxed="1"
    )
    data["images"] = [(png_image(), "one.png"), (png_image((10, 200, 10)), "two.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, _html(response)[:2000]
    thread_id = _thread_id(response)
    listing = db.session.get(Listing, thread_id)
    assert listing.price_cents == 245050 and listing.city == "杭州" and listing.image_count == 2
    assert listing.category_id == phones.id and listing.pickup and not listing.shipping
    stored = db.session.execute(
        select(CategoryField.key, ListingValue.value_text, ListingValue.value_num)
        .join(ListingValue, ListingValue.field_id == CategoryField.id)
        .where(ListingValue.listing_id == thread_id)
        .order_by(ListingValue.id)
    ).all()
    assert sorted(stored, key=str) == sorted(
        [("storage", "256GB", None), ("battery", None, 92), ("colours", "black", None),
         ("colours", "blue", None), ("boxed", None, 1)], key=str,
    )  # fmt: skip
    # the thread page shows the listing's head
    text = _html(client.get(f"/t/{thread_id}"))
    assert "¥2,450.50" in text and "256GB" in text and "92 %" in text and "black, blue" in text
    assert 'class="mk-thumbs"' in text and text.count('class="mk-thumbs"') == 1
    assert f'action="/market/{thread_id}/renew"' not in text  # renewals: a day after posting
    assert f'href="/market/{thread_id}/edit"' in text and f'href="/market/{thread_id}/sold"' in text
    assert "Contact the seller" not in text  # one's own listing


def test_a_missing_required_field_keeps_everything_and_the_photos(web, phones, board, seller):
    client = web(seller)
    data = _form(phones, f_battery="88", f_colours=["white"], f_boxed="0", shipping="y")
    data["images"] = [(png_image(), "one.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    text = _html(response)
    assert "Storage is required." in text
    assert 'value="iPhone 13 mini 蓝色"' in text and "Always in a case, screen like new." in text
    assert 'value="2,450.50"' in text and 'value="杭州"' in text and 'value="88"' in text
    assert 'name="f_colours" value="white" checked' in text
    assert '<option selected value="0">No</option>' in text
    assert 'id="shipping" name="shipping" type="checkbox" value="y"' in text
    assert _count(Listing) == 0
    kept = re.findall(r'name="kept" value="(\d+)"', text)
    assert len(kept) == 1 and "/uploads/" in text
    upload = db.session.get(Upload, int(kept[0]))
    assert upload.member_id == seller.id

    # the next try sends the kept photo back with the missing field
    data = _form(phones, f_storage="128GB", f_battery="88", shipping="y", kept=kept)
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    listing = db.session.get(Listing, _thread_id(response))
    assert listing.image_count == 1 and listing.cover_upload_id == upload.id


def test_errors_of_the_form_and_the_services_show_beside_their_inputs(web, board, seller):
    client = web(seller)
    response = client.post("/market/new", data=_form(title="", price="-5", city=""))
    assert response.status_code == 400
    text = _html(response)
    assert re.search(r'name="title"[^>]*>\s*(<p class="hint">[^<]*</p>\s*)?<p class="error"', text)
    assert _count(Listing) == 0
    response = client.post("/market/new", data=_form(price="12.505"))
    assert response.status_code == 400 and 'value="12.505"' in _html(response)
    response = client.post("/market/new", data=_form(pickup=None))
    assert response.status_code == 400 and "Offer pick-up, shipping or both." in _html(response)
    assert _count(Listing) == 0


def _error_beside(text: str, name: str) -> str | None:
    """The error shown in the same field as input ``name`` (None: no error there)."""
    at = text.index(f'name="{name}"')
    ends = [i for i in (text.find('class="field', at), text.find("<fieldset", at)) if i > 0]
    chunk = text[at : min(ends) if ends else len(text)]
    found = re.search(r'<p class="error" role="alert">([^<]+)</p>', chunk)
    return found.group(1) if found else None


def test_every_refusal_shows_at_once(web, phones, board, seller):
    data = _form(phones, price="12.505", city="", pickup=None, f_battery="lots")
    response = web(seller).post("/market/new", data=data)
    assert response.status_code == 400
    text = _html(response)
    assert _error_beside(text, "price") == "A price has at most two decimals."
    assert _error_beside(text, "city") == "Where is the item? Name the city or place."
    assert _error_beside(text, "shipping") == "Offer pick-up, shipping or both."
    assert _error_beside(text, "f_storage") == "Storage is required."
    assert _error_beside(text, "f_battery") == "Enter a whole number."
    assert _error_beside(text, "title") is None and _error_beside(text, "f_boxed") is None
    assert _count(Listing) == 0


def test_a_non_image_upload_is_refused(web, board, seller):
    client = web(seller)
    data = _form()
    data["images"] = [(png_image(), "ok.png"), (io.BytesIO(b"just some text"), "notes.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This file is not an image we can read." in _html(response)
    assert _count(Listing) == 0 and _count(Upload) == 0  # the good one is not stored either


def test_more_than_nine_photos_are_refused(web, board, seller):
    client = web(seller)
    data = _form()
    data["images"] = [(png_image((i * 20, 0, 0)), f"p{i}.png") for i in range(10)]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "At most 9 photos" in _html(response)
    assert _count(Listing) == 0 and _count(Upload) == 0
    # nine kept ones leave no room for another
    data = _form()
    data["images"] = [(png_image((i * 20, 0, 0)), f"p{i}.png") for i in range(9)]
    response = client.post(
        "/market/new", data={**data, "reload": "1"}, content_type="multipart/form-data"
    )
    kept = re.findall(r'name="kept" value="(\d+)"', _html(response))
    assert len(kept) == 9 and 'name="images"' not in _html(response)
    data = _form(kept=kept)
    data["images"] = [(png_image(), "tenth.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and "At most 9 photos" in _html(response)
    assert _count(Upload) == 9 and _count(Listing) == 0


def test_the_category_picker_reloads_its_fields_keeping_the_input(web, phones, board, seller):
    client = web(seller)
    text = _html(client.get("/market/new"))  # first: what is it?
    assert "What are you selling?" in text and 'name="title"' not in text
    assert f'href="/market/new?category={phones.id}"' in text
    assert 'href="/market/new?category=0"' in text
    text = _html(client.get("/market/new?category=0"))
    assert 'name="reload"' in text and 'name="f_storage"' not in text
    assert "classifieds.js" in text
    data = _form(phones, reload="1")
    data["images"] = [(png_image(), "one.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    text = _html(response)
    assert 'name="f_storage"' in text and 'value="iPhone 13 mini 蓝色"' in text
    assert "Storage is required." not in text  # no errors yet: it is not sent
    assert len(re.findall(r'name="kept" value="(\d+)"', text)) == 1
    assert _count(Listing) == 0
    # a removed photo is gone from the form
    kept = re.findall(r'name="kept" value="(\d+)"', text)
    response = client.post("/market/new", data=_form(phones, reload="1", kept=kept, remove=kept))
    assert 'name="kept"' not in _html(response)


def test_nine_photos_may_be_larger_than_one_upload_together(app, web, board, seller):
    app.config.update(MAX_UPLOAD_MB=1, MAX_CONTENT_LENGTH=300 * 1024)  # the site's limit

    def noise(i):  # a PNG that does not compress: ~150 KB
        data = io.BytesIO()
        Image.frombytes("RGB", (230, 230), os.urandom(230 * 230 * 3)).save(data, "PNG")
        data.seek(0)
        return (data, f"p{i}.png")

    data = _form()
    data["images"] = [noise(i) for i in range(3)]  # ~450 KB in one request
    response = web(seller).post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.get(Listing, _thread_id(response)).image_count == 3


def test_someone_elses_photo_ids_are_ignored(web, board, seller, make_member):
    other = make_member("other")
    upload = services.save_images(other, [png_image()])[0]
    client = web(seller)
    response = client.post("/market/new", data=_form(kept=[str(upload.id)]))
    assert response.status_code == 302
    assert db.session.get(Listing, _thread_id(response)).image_count == 0


def test_without_a_market_board_the_form_says_so(web, on, make_board, seller):
    make_board("chat")  # discussions only
    client = web(seller)
    response = client.get("/market/new")
    assert response.status_code == 403
    assert "There is no market board you may post listings in." in _html(response)
    assert client.get("/market/new?board=chat").status_code == 403
    assert client.get("/market/new?board=nowhere").status_code == 404


def test_the_cores_composer_sends_listings_here(web, board, seller):
    response = web(seller).get("/b/flea/new?kind=listing")
    assert response.status_code == 302
    assert response.headers["Location"] == "/market/new?board=flea"


def test_with_two_market_boards_the_form_asks_which(web, on, make_board, seller):
    for slug in ("flea", "cars"):
        boards.update_board(make_board(slug), thread_kinds="listing")
    client = web(seller)
    text = _html(client.get("/market/new"))
    assert 'name="board"' in text and '<option value="cars">' in text
    response = client.post("/market/new", data=_form())
    assert response.status_code == 400 and "Choose the board to post in." in _html(response)
    response = client.post("/market/new", data=_form(board="cars"))
    assert response.status_code == 302
    thread = services.get_listing(_thread_id(response), seller)
    assert thread.thread_id
    assert '<option selected value="flea">' in _html(client.get("/market/new?board=flea"))
    # the select wins over the page's ?board=
    response = client.post("/market/new?board=flea", data=_form(board="cars", title="Two"))
    thread = db.session.get(Thread, _thread_id(response))
    assert db.session.get(Board, thread.board_id).slug == "cars"


# -- the seller's actions and the buyer's contact --------------------------------------------


def test_the_seller_edits_and_others_may_not(web, phones, post_listing, seller, make_member):
    listing = post_listing("iPhone", "1000", category=phones, values={"storage": "128GB"})
    other = web(make_member("other"))
    assert other.get(f"/market/{listing.thread_id}/edit").status_code == 403
    response = other.post(
        f"/market/{listing.thread_id}/edit", data=_form(phones, f_storage="512GB")
    )
    assert response.status_code == 403
    client = web(seller)
    text = _html(client.get(f"/market/{listing.thread_id}/edit"))
    assert 'value="iPhone"' in text and 'value="1000"' in text
    assert '<option selected value="128GB">128GB</option>' in text
    response = client.post(
        f"/market/{listing.thread_id}/edit",
        data=_form(phones, title="iPhone 13", price="900", f_storage="512GB"),
    )
    assert response.status_code == 302
    db.session.expire_all()
    listing = db.session.get(Listing, listing.thread_id)
    assert listing.price_cents == 90000 and listing.city == "杭州"
    assert "iPhone 13" in _html(client.get(f"/t/{listing.thread_id}"))


def test_editing_keeps_removes_and_adds_photos(web, board, seller):
    photos = services.save_images(seller, [png_image(), png_image((0, 0, 200))])
    client = web(seller)
    response = client.post("/market/new", data=_form(kept=[str(p.id) for p in photos]))
    thread_id = _thread_id(response)
    text = _html(client.get(f"/market/{thread_id}/edit"))
    assert re.findall(r'name="kept" value="(\d+)"', text) == [str(p.id) for p in photos]
    data = _form(kept=[str(p.id) for p in photos], remove=[str(photos[0].id)])
    data["images"] = [(png_image((0, 200, 0)), "new.png")]
    response = client.post(
        f"/market/{thread_id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    db.session.expire_all()
    listing = db.session.get(Listing, thread_id)
    assert listing.image_count == 2 and listing.cover_upload_id == photos[1].id
    # a refused edit keeps the photos as they were sent
    response = client.post(
        f"/market/{thread_id}/edit", data=_form(price="lots", kept=[str(photos[1].id)])
    )
    assert response.status_code == 400
    assert re.findall(r'name="kept" value="(\d+)"', _html(response)) == [str(photos[1].id)]


def test_a_moderator_edits_a_listing_with_the_sellers_photos(web, board, seller, make_member):
    photos = services.save_images(seller, [png_image()])
    response = web(seller).post("/market/new", data=_form(kept=[str(photos[0].id)]))
    thread_id = _thread_id(response)
    moderator = web(make_member("keeper", groups=("moderator",)))
    text = _html(moderator.get(f"/market/{thread_id}/edit"))
    assert re.findall(r'name="kept" value="(\d+)"', text) == [str(photos[0].id)]
    response = moderator.post(
        f"/market/{thread_id}/edit", data=_form(price="99", kept=[str(photos[0].id)])
    )
    assert response.status_code == 302, _html(response)
    db.session.expire_all()
    listing = db.session.get(Listing, thread_id)
    assert listing.price_cents == 9900 and listing.image_count == 1


def test_reserve_unreserve_and_renew(web, post_listing, seller, make_member):
    make_member("buyer")
    listing = post_listing()
    client = web(seller)
    url = f"/market/{listing.thread_id}"
    response = client.post(f"{url}/reserve", data={"buyer": "buyer"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Listing, listing.thread_id).status == "reserved"
    text = _html(client.get(f"/t/{listing.thread_id}"))
    assert "Reserved for buyer" in text and f'action="{url}/unreserve"' in text
    client.post(f"{url}/unreserve")
    db.session.expire_all()
    assert db.session.get(Listing, listing.thread_id).status == "available"
    response = client.post(f"{url}/reserve", data={"buyer": "nobody-here"})
    assert response.status_code == 302
    assert db.session.get(Listing, listing.thread_id).status == "available"
    # renewed less than a day after posting: refused, said at the top
    response = client.post(f"{url}/renew", follow_redirects=True)
    assert "once a day" in _html(response)
    # two days later: the button is there, and renewing moves the expiry on
    row = db.session.get(Listing, listing.thread_id)
    row.bumped_at -= timedelta(days=2)
    old_expiry = row.expires_at
    db.session.commit()
    assert f'action="{url}/renew"' in _html(client.get(f"/t/{listing.thread_id}"))
    response = client.post(f"{url}/renew", follow_redirects=True)
    assert "The listing is renewed." in _html(response)
    db.session.expire_all()
    assert db.session.get(Listing, listing.thread_id).expires_at > old_expiry
    assert (
        web(make_member("other")).post(f"{url}/reserve", data={"buyer": "buyer"}).status_code == 403
    )


def test_marking_sold_leads_to_the_trade_page(web, post_listing, seller, make_member):
    make_member("buyer")
    listing = post_listing()
    client = web(seller)
    url = f"/market/{listing.thread_id}/sold"
    assert 'name="buyer"' in _html(client.get(url))
    response = client.post(url, data={"buyer": "nobody-here"})
    assert response.status_code == 400 and 'class="error"' in _html(response)
    response = client.post(url, data={"buyer": "buyer"})
    assert response.status_code == 302
    assert re.search(r"/market/trades/\d+$", response.headers["Location"])
    db.session.expire_all()
    assert db.session.get(Listing, listing.thread_id).status == "reserved"  # until confirmed


def test_contacting_the_seller_starts_a_conversation(web, post_listing, seller, make_member):
    listing = post_listing()
    client = web(make_member("buyer"))
    text = _html(client.get(f"/t/{listing.thread_id}"))
    assert f'href="/market/{listing.thread_id}/contact"' in text
    text = _html(client.get(f"/market/{listing.thread_id}/contact"))
    assert "Fuji X100V camera" in text and "¥1,200" in text and f"/t/{listing.thread_id}" in text
    response = client.post(
        f"/market/{listing.thread_id}/contact", data={"body": "Still there? 周末可以自提吗"}
    )
    assert response.status_code == 302
    match = re.search(r"/messages/(\d+)$", response.headers["Location"])
    assert match and _count(Conversation) == 1
    assert "周末可以自提吗" in _html(client.get(response.headers["Location"]))
    # not one's own listing
    assert web(seller).get(f"/market/{listing.thread_id}/contact").status_code == 403


# -- who may do what -------------------------------------------------------------------------


def test_guests_are_sent_to_sign_in_for_every_write(web, post_listing):
    listing = post_listing()
    guest = web()
    assert guest.get("/market").status_code == 200
    for path in ("new", f"{listing.thread_id}/edit", f"{listing.thread_id}/sold",
                 f"{listing.thread_id}/contact"):  # fmt: skip
        response = guest.get(f"/market/{path}")
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for path in ("new", f"{listing.thread_id}/renew", f"{listing.thread_id}/reserve",
                 f"{listing.thread_id}/unreserve", f"{listing.thread_id}/sold",
                 f"{listing.thread_id}/contact"):  # fmt: skip
        response = guest.post(f"/market/{path}", data=_form(buyer="x", body="hi"))
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert _count(Listing) == 1 and _count(Conversation) == 0
    text = _html(guest.get(f"/t/{listing.thread_id}"))
    assert "Sign in to contact the seller" in text and "¥1,200" in text
    assert f'action="/market/{listing.thread_id}/renew"' not in text


def test_writes_need_the_csrf_token(web, post_listing, seller, csrf_on):
    listing = post_listing()
    client = web(seller)
    csrf_on()
    data = _form()
    data["images"] = [(png_image(), "one.png")]
    response = client.post("/market/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400  # the form again, with what was typed
    assert "The form has expired" in _html(response) and 'value="杭州"' in _html(response)
    assert _count(Upload) == 0
    assert client.post(f"/market/{listing.thread_id}/renew").status_code == 400
    assert (
        client.post(f"/market/{listing.thread_id}/reserve", data={"buyer": "x"}).status_code == 400
    )
    assert _count(Listing) == 1
    page = _html(client.get("/market/new"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    response = client.post("/market/new", data=_form(csrf_token=token.group(1)))
    assert response.status_code == 302 and _count(Listing) == 2


def test_switched_off_the_market_is_gone(web, post_listing, seller, enable_plugin):
    listing = post_listing()
    client = web(seller)
    enable_plugin(PLUGIN, disable=True)
    assert client.get("/market").status_code == 404
    assert client.get("/market/new").status_code == 404
    assert client.post(f"/market/{listing.thread_id}/renew").status_code == 404
    assert _count(Listing) == 1
    enable_plugin(PLUGIN)
    assert client.get("/market").status_code == 200


# -- admin: categories and their fields ------------------------------------------------------


def test_the_categories_page_is_for_admins_only(web, on, admin, make_member):
    response = web().get("/market/admin/categories")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    member = web(make_member("plain"))
    assert member.get("/market/admin/categories").status_code == 403
    assert member.post("/market/admin/categories", data={"n-name": "Cars"}).status_code == 403
    assert _count(Category) == 0
    page = web(admin).get("/market/admin/categories")
    assert page.status_code == 200
    text = _html(page)
    assert (
        'class="admin-nav"' in text
        and 'href="/market/admin/categories" aria-current="page"' in text
    )
    assert "No categories yet" in text


def test_an_admin_creates_a_category_with_a_select_field(web, on, admin):
    client = web(admin)
    response = client.post(
        "/market/admin/categories", data={"n-name": "自行车 Bikes", "n-description": "Two wheels"}
    )
    assert response.status_code == 302
    category = db.session.execute(select(Category)).scalar_one()
    assert response.headers["Location"].endswith(f"/market/admin/categories/{category.id}")
    url = f"/market/admin/categories/{category.id}"
    field = {"action": "field", "nf-key": "size", "nf-label": "Frame size", "nf-type": "select"}
    # a choice with one option is refused beside the options, what was typed kept
    response = client.post(url, data={**field, "nf-options_text": "M"})
    assert response.status_code == 400
    text = _html(response)
    assert 'value="Frame size"' in text and 'class="error"' in text
    assert _count(CategoryField) == 0
    response = client.post(
        url, data={**field, "nf-options_text": "S\nM\nL", "nf-required": "y", "nf-in_list": "y"}
    )
    assert response.status_code == 302
    made = db.session.execute(select(CategoryField)).scalar_one()
    assert (made.key, made.type, made.options, made.required, made.in_list) == (
        "size", "select", ["S", "M", "L"], True, True,
    )  # fmt: skip
    text = _html(client.get(url))
    assert "Frame size" in text and "S / M / L" in text
    # edit and delete the field, then the category
    response = client.post(
        f"{url}/fields/{made.id}",
        data={"f-key": "size", "f-label": "Size", "f-type": "select", "f-options_text": "S\nL"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(CategoryField, made.id).options == ["S", "L"]
    assert client.post(f"{url}/fields/{made.id}/delete").status_code == 302
    assert _count(CategoryField) == 0
    assert client.post(f"{url}/delete").status_code == 302
    assert _count(Category) == 0


# -- the script, in a real browser (the core's e2e fixtures: a live forum, chromium) ---------


@pytest.mark.e2e
def test_in_a_browser_a_chosen_category_shows_its_fields_at_once(
    new_context, live_server, viewport
):
    from forum.services.members import create_member

    tag = uuid.uuid4().hex[:8]  # the live forum is shared by the tests of this process
    name = f"picker-{tag}"
    with live_server.app.app_context():
        plugin_state.enable(PLUGIN)
        admin = create_member(f"pickadm-{tag}", f"{name}-a@example.com", PASSWORD,
                              groups=("admin",))  # fmt: skip
        create_member(name, f"{name}@example.com", PASSWORD)
        category = boards.create_category(f"Bazaar {tag}")
        boards.create_board(category, f"bazaar-{tag}", "Bazaar", thread_kinds="listing")
        bikes = services.save_category(admin, name=f"Bikes {tag}")
        services.save_field(
            admin, bikes, key="size", label="Frame size", type="select", options_text="S\nM\nL"
        )
        bikes_id = bikes.id
        db.session.remove()
    try:
        page = new_context().new_page()
        refused = []
        page.on("console", lambda m: refused.append(m.text) if m.type == "error" else None)
        _sign_in(page, name)
        page.goto(f"/market/new?board=bazaar-{tag}&category=0")
        assert page.locator("button[name=reload]").is_hidden()  # the script took it over
        page.fill("input[name=title]", "Giant bike 捷安特")
        with page.expect_navigation():
            page.select_option("select[name=category_id]", str(bikes_id))
        assert page.locator("select[name=f_size]").count() == 1
        assert page.input_value("input[name=title]") == "Giant bike 捷安特"
        # the market's category filter applies itself too
        page.goto("/market")
        page.locator("details.mk-more > summary").click()
        with page.expect_navigation():
            page.select_option("form.mk-filters select[name=category]", str(bikes_id))
        assert f"category={bikes_id}" in page.url
        assert page.locator("form.mk-filters select[name=f_size]").count() == 1
        assert not [m for m in refused if "Content Security Policy" in m], refused
    finally:
        with live_server.app.app_context():
            plugin_state.disable(PLUGIN)
            db.session.remove()
