"""The plugin's catalogues: current (nothing untranslated, nothing stale), messages the core
also has keep the core's wording (the plugin's catalogue is merged over the core's, so a
different translation would change core pages) and those other bundled plugins also have
read the same; a campaign's thread page, the list of open group-buys and a member's own
page render in Simplified and Traditional Chinese, with the plugin's plural messages in
their one Chinese form and no English words of the plugin's left over."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from forum_plugins.groupbuy import i18n, services

PO = "translations/zh_Hans/LC_MESSAGES/messages.po"
MINE_PO = i18n.catalogues.package / PO
#: English words of the plugin's pages that must not show in Chinese ones.
ENGLISH = re.compile(
    r"\b(group-buys?|joined|join now|join and pay|needed|pick-up|pickup|deadline|stock|"
    r"leader|invite|original price|price each|people|sold out|left)\b",
    re.IGNORECASE,
)


def _read(path: Path):
    with path.open("rb") as fh:
        return read_po(fh, locale="zh_Hans")


def _html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _text(html: str) -> str:
    """The page's visible text and attribute-free words: tags, scripts and styles out."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture
def rice(make_campaign, make_member, pay, point_id):
    """An open campaign in Chinese (tiers 2+ ¥99, 5+ ¥89, 10+ ¥79), two pickup points,
    two members joined and paid (``kiki`` picks up at the first point); the leader
    老王团长 (a moderator)."""
    campaign = make_campaign(
        make_member("老王团长", groups=("moderator",)),
        title="五常大米 5kg",
        description="新米，产地直发。",
        pickup_points=[("奥森南门", "科荟路 1 号"), ("朝阳公园西门", "朝阳公园路 6 号")],
    )
    buyers = [make_member("kiki"), make_member("dawei")]
    for buyer in buyers:
        order = services.join(buyer, campaign, quantity=1, pickup_point_id=point_id(campaign))
        assert pay(order)
    return {"campaign": campaign, "buyers": buyers}


def test_the_catalogue_is_current():
    assert i18n.untranslated() == []  # translate in translations/zh_Hans/…/messages.po
    assert i18n.stale() == []  # then run: python -m forum_plugins.groupbuy.i18n


def test_messages_the_core_also_has_keep_the_cores_translation():
    assert i18n.catalogues.shared_with_core() >= 15  # Cancel, Status, Breadcrumbs, Refunded …
    assert i18n.catalogues.core_differences() == {}
    # the core's "Order" is a sort order (排序): the plugin's order number says "Order no."
    mine = _read(MINE_PO)
    assert mine.get("Order") is None and mine.get("Order no.").string == "订单号"


def test_messages_other_bundled_plugins_also_have_read_the_same():
    """Every plugin's catalogue is merged into one: a message two plugins translate
    differently would read one plugin's way on both plugins' pages."""
    assert i18n.catalogues.plugin_differences() == {}


def test_the_plugins_plural_messages_have_their_number():
    """One Chinese form serves every count: it must print the number itself."""
    for m in _read(MINE_PO):
        if isinstance(m.id, tuple):
            assert "%(num)d" in m.id[0] and all("%(num)d" in s for s in m.string), m.id


def test_a_campaigns_thread_page_in_simplified_chinese(chinese, rice, make_member):
    campaign = rice["campaign"]
    guest = _html(chinese().get(f"/t/{campaign.thread_id}"))
    assert "五常大米 5kg" in guest and "进行中" in guest
    assert "现在参团价" in guest and "¥99.00" in guest and "¥129.00" in guest
    assert "参团人数越多，每个人的价格越低" in guest
    assert "2 人及以上" in guest and "5 人及以上" in guest and "当前" in guest
    assert "已参团 2 人" in guest and "2 人成团" in guest and "再拼 3 人享 ¥89.00" in guest
    assert "已达到成团人数：截团时成团。" in guest
    assert "剩余库存" in guest and "18 / 20" in guest and "每人限购" in guest
    assert "截团时间" in guest and "取货方式" in guest and "自提" in guest and "配送" in guest
    assert "2 个自提点" in guest  # the plugin's plural, one form
    assert "团长" in guest and "登录后加入" in guest
    assert not ENGLISH.findall(_text(guest))
    member = chinese(make_member("newbie"))
    page = _html(member.get(f"/t/{campaign.thread_id}"))
    assert "参团并支付" in page and "不自提：配送到我的地址" in page and "收货地址" in page
    assert "现在每份支付 ¥99.00。" in page and "每人限购 3 份。" in page
    assert "邀请好友" in page and "你的邀请链接" in page
    assert not ENGLISH.findall(_text(page))
    buyer = _html(chinese(rice["buyers"][0]).get(f"/t/{campaign.thread_id}"))
    assert "你已参团：1 × ¥99.00 = ¥99.00。" in buyer and "自提点：奥森南门" in buyer
    assert not ENGLISH.findall(_text(buyer))


def test_the_list_and_my_group_buys_in_chinese(chinese, rice):
    page = _html(chinese().get("/groupbuy/"))
    assert "<title>团购" in page and "<h1>团购</h1>" in page and "邀请排行榜" in page
    assert "五常大米 5kg" in page and "已参团 2 人" in page and "剩余 " in page
    assert not ENGLISH.findall(_text(page))
    mine = _html(chinese(rice["buyers"][0]).get("/groupbuy/mine"))
    assert "我的团购" in mine and "五常大米 5kg" in mine and "已支付" in mine
    assert not ENGLISH.findall(_text(mine))


def test_a_campaign_in_traditional_chinese(chinese, rice):
    campaign = rice["campaign"]
    page = _html(chinese(lang="zh_Hant").get(f"/t/{campaign.thread_id}"))
    assert "現在參團價" in page and "已參團 2 人" in page and "再拼 3 人享 ¥89.00" in page
    assert "剩餘庫存" in page and "2 個自提點" in page and "團長" in page
    listing = _html(chinese(lang="zh_Hant").get("/groupbuy/"))
    assert "<h1>團購</h1>" in listing and "邀請排行榜" in listing


def test_sold_out_is_told_in_chinese(chinese, make_campaign, make_member, pay):
    campaign = make_campaign(
        title="冬季草莓", stock="1", per_member_limit="1", min_participants="1", tiers=[("1", "59")]
    )
    first = make_member("first")
    assert pay(services.join(first, campaign, quantity=1, delivery_address="上海"))
    with pytest.raises(services.ServiceError, match="已售罄"):
        services.join(make_member("late"), campaign, quantity=1, delivery_address="上海")


def test_the_cores_plural_messages_stay_right_with_the_plugin_on(chinese, rice, make_member):
    admin = make_member("chief", groups=("admin",))
    page = _html(chinese(admin).get("/admin/boards"))
    assert "1 个主题" in page  # the core's '%(num)d thread' on the group-buy board
    assert "threads" not in page
