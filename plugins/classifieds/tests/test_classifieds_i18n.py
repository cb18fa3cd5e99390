"""The plugin's catalogues: current (nothing untranslated, nothing stale), messages the core
also has keep the core's wording (the plugin's catalogue is merged over the core's, so a
different translation would change core pages) and those other bundled plugins also have
read the same, and the market, a listing and a member's
trade ratings render in Simplified and Traditional Chinese, with the plugin's plural
messages in their one Chinese form and the core's plural messages still right."""

from __future__ import annotations

import pytest
from forum_plugins.classifieds import i18n, services
from forum_plugins.classifieds.models import Listing

from forum.extensions import db


def _html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def market(make_category, make_listing, make_member):
    """Two listings (one in a category with a typed field), one sold to ``bob`` in a
    confirmed trade that bob rated positive."""
    phones = make_category(
        "Phones", fields=[dict(key="storage", type="number", unit="GB", in_list=True)]
    )
    seller = make_member("seller")
    make_listing(seller, title="Old phone", price="800", category=phones, values={"storage": "128"})
    sold = make_listing(seller, title="Bicycle", price="120.50")
    bob = make_member("bob")
    trade = services.mark_sold(seller, db.session.get(Listing, sold.id), "bob")
    services.confirm_trade(bob, trade)
    services.rate(bob, trade, 1, "Quick and friendly")
    return {"seller": seller, "bob": bob, "sold": sold}


def test_the_catalogue_is_current():
    assert i18n.untranslated() == []  # translate in translations/zh_Hans/…/messages.po
    assert i18n.stale() == []  # then run: python -m forum_plugins.classifieds.i18n


def test_messages_the_core_also_has_keep_the_cores_translation():
    assert i18n.catalogues.shared_with_core() >= 20  # Search, Cancel, Category, Breadcrumbs …
    assert i18n.catalogues.core_differences() == {}


def test_messages_other_bundled_plugins_also_have_read_the_same():
    """Every plugin's catalogue is merged into one: a message two plugins translate
    differently would read one plugin's way on both plugins' pages."""
    assert i18n.catalogues.plugin_differences() == {}


def test_the_market_in_simplified_chinese(chinese, market):
    page = _html(chinese().get("/market?lang=zh_Hans"))
    assert "<title>交易区" in page
    assert "1 条信息" in page  # the plugin's plural, one form (the sold one is not for sale)
    assert "搜索交易区" in page and "价格从低到高" in page and "在售（含已预订）" in page
    assert "¥800" in page and "128 GB" in page and "良好" in page  # price, typed field, condition
    everything = _html(chinese().get("/market?status=all&lang=zh_Hans"))
    assert "2 条信息" in everything and "已售出" in everything and "¥120.50" in everything
    for text in (page, everything):
        assert "listing" not in text.replace("mk-", "").replace("classifieds", "").lower()


def test_a_listing_and_its_trade_in_chinese(chinese, market):
    guest = chinese()
    page = _html(guest.get(f"/t/{market['sold'].id}?lang=zh_Hans"))
    assert "成色" in page and "交易方式" in page and "面交" in page
    assert "已售出" in page and "卖家" in page and "交易评价" in page
    mine = _html(chinese(market["bob"]).get(f"/t/{market['sold'].id}?lang=zh_Hans"))
    assert "已卖给 bob。" in mine
    ratings = _html(guest.get("/market/u/seller?lang=zh_Hans"))
    assert "seller 的交易评价" in ratings
    assert "1 笔交易" in ratings and "好评率 100%" in ratings
    assert "来自买家" in ratings and "Quick and friendly" in ratings
    hant = _html(guest.get("/market/u/seller?lang=zh_Hant"))
    assert "1 筆交易" in hant and "好評率 100%" in hant


def test_the_cores_plural_messages_stay_right_with_the_plugin_on(chinese, market, make_member):
    admin = make_member("chief", groups=("admin",))
    page = _html(chinese(admin).get("/admin/boards?lang=zh_Hans"))
    assert "2 个主题" in page  # the core's '%(num)d thread' on the market board
    assert "threads" not in page
