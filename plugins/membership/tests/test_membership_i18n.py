"""The plugin's catalogues: current (nothing untranslated, nothing stale), messages the core
also has keep the core's wording (the plugin's catalogue is merged over the core's, so a
different translation would change core pages) and those other bundled plugins also have
read the same, and the tiers page, my membership and the admin's clean-out rules render in
Simplified and Traditional Chinese, with the plugin's plural messages in their one Chinese
form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from forum_plugins.membership import i18n

from forum.extensions import db
from forum.models import GroupMembership
from forum.models.base import utcnow
from forum.services import points

#: English words of the plugin's pages that must not be left on a Chinese page.
ENGLISH = (
    "Membership",
    "My membership",
    "Join",
    "Renew",
    "Paid until",
    "Active",
    "seats left",
    "points",
    "year",
    "Invite",
    "Register",
    "Sign in",
    "Clean-out",
    "Dry run",
    "notice",
    "warnings",
)


def _html(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _english_left(page: str) -> list[str]:
    """The English words of :data:`ENGLISH` in the page's text (not its tags or scripts)."""
    body = page[page.index("<body") :]
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", body)
    return [word for word in ENGLISH if re.search(rf"\b{re.escape(word)}\b", text)]


@pytest.fixture
def tier(make_tier):
    """A yearly tier of ten seats at ¥99 or 500 points, with two perks."""
    return make_tier(
        name="核心会员",
        slug="core",
        perks="- 会员区全文\n- 每月团购优先",
        seats=10,
        points_price=500,
    )


def test_the_catalogue_is_current():
    assert i18n.untranslated() == []  # translate in translations/zh_Hans/…/messages.po
    assert i18n.stale() == []  # then run: python -m forum_plugins.membership.i18n


def test_messages_the_core_also_has_keep_the_cores_translation():
    assert i18n.catalogues.shared_with_core() >= 20  # Name, Currency, Reason, Sign in, Receipts …
    assert i18n.catalogues.core_differences() == {}


def test_messages_other_bundled_plugins_also_have_read_the_same():
    """Every plugin's catalogue is merged into one: a message two plugins translate
    differently would read one plugin's way on both plugins' pages."""
    assert i18n.catalogues.plugin_differences() == {}


def test_the_tiers_page_in_chinese(chinese, tier):
    page = _html(chinese().get("/membership/?lang=zh_Hans"))
    assert "<title>付费会员" in page and "<h1>付费会员</h1>" in page
    assert "¥99.00 / 1 年" in page  # the period's plural, one form
    assert "剩余 10 个名额" in page and "或 500 积分" in page  # the plugin's plural, one form
    assert "注册并加入" in page and "已有账号？" in page and "有邀请码？" in page
    assert _english_left(page) == []
    hant = _html(chinese(lang="zh_Hant").get("/membership/?lang=zh_Hant"))
    assert "剩餘 10 個名額" in hant and "註冊並加入" in hant and "有邀請碼？" in hant
    assert _english_left(hant) == []


def test_my_membership_in_chinese(chinese, tier, make_member):
    from forum_plugins.membership import services

    member = make_member("paid")
    points.award(member, 600, "test_gift", "test:gift:paid")
    services.buy_with_points(member, tier)
    page = _html(chinese(member).get("/membership/mine?lang=zh_Hans"))
    assert "<title>我的会员" in page
    assert "付费至" in page and "正常" in page and "收据" in page
    assert "续期 · ¥99.00 / 1 年" in page
    assert "续费会从当前到期时间起顺延一个周期，而不是从今天算起。" in page
    assert "购买记录" in page and "500 积分" in page and "兑换邀请码" in page
    assert _english_left(page) == []
    hant = _html(chinese(member, "zh_Hant").get("/membership/mine?lang=zh_Hant"))
    assert "我的會員" in hant and "付費至" in hant and "購買記錄" in hant and "500 積分" in hant
    assert _english_left(hant) == []


def test_the_clean_out_rules_in_chinese(chinese, tier, admin, core_group, make_member):
    from forum_plugins.membership import services

    idle = make_member("idle")
    long_ago = utcnow() - timedelta(days=90)
    db.session.add(
        GroupMembership(
            member_id=idle.id, group_id=core_group.id, source="payment", created_at=long_ago
        )
    )
    db.session.commit()
    services.save_rule(
        admin,
        None,
        kind="inactive_days",
        threshold=30,
        notice_days=3,
        group_ids=[core_group.id],
        enabled=True,
    )
    page = _html(chinese(admin).get("/membership/admin/rules?lang=zh_Hans"))
    assert "<h1>清退规则</h1>" in page
    assert "连续 30 天未发帖或打卡" in page and "提前 3 天预警" in page  # the plural, one form
    assert "试运行：当前会被规则波及的成员" in page and "/u/idle" in page
    assert "入会申请" in page and "邀请码" in page  # the plugin's admin tabs
    assert "还没有人被清退。" in page
    assert _english_left(page) == []
    hant = _html(chinese(admin, "zh_Hant").get("/membership/admin/rules?lang=zh_Hant"))
    assert "清退規則" in hant and "連續 30 天未發帖或打卡" in hant and "提前 3 天預警" in hant
    assert _english_left(hant) == []
