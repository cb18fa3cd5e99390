"""The membership pages: the tiers (pricing table, buy → the payments checkout, points),
my membership (paid until, renew, receipts), the entry application (errors beside the
boxes, what was typed kept), invite codes (``?code=`` links), the ``gate`` slot under a
gated teaser, and the admin pages (tiers, questions and applications, invites, clean-out
rules with the dry run and the removals log)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from forum.extensions import db
from forum.models import GroupMembership, PaymentOrder
from forum.models.base import utcnow
from forum.services import groups, permissions, points, posting
from forum.testing import PASSWORD

SECRET = "会员才能看到的全文暗号：橙色海豚。"


@pytest.fixture
def on(membership):
    """The plugin on, with the sandbox (the conftest's ``membership``)."""
    return membership


@pytest.fixture
def core(app):
    return groups.create_group("核心会员", key="core")


@pytest.fixture
def tier(on, core, admin):
    from forum_plugins.membership import services

    return services.save_tier(
        admin,
        name="核心会员",
        slug="core",
        perks="- 会员区全文\n- 每月团购优先",
        price_cents=9900,
        period_unit="year",
        period_count=1,
        seats=10,
        points_price=500,
        group_ids=[core.id],
    )


@pytest.fixture
def gated(make_board, core, admin):
    board = make_board("inner", "核心会员区", grants={"guest": ("view",), "member": ("view",)})
    permissions.set_board_permissions(board.id, {core.id: ("view", "read")})
    db.session.commit()
    thread = posting.create_thread(admin, board, "本月团购清单", "第一批有机大米。" * 20 + SECRET)
    return thread


def web(app, login, member):
    return login(app.test_client(), member)


def _text(response) -> str:
    return response.get_data(as_text=True)


# -- the tiers page ---------------------------------------------------------------------------


def test_tiers_page_for_a_guest(client, tier, english):
    html = _text(client.get("/membership/"))
    assert "核心会员" in html
    assert "¥99.00 / year" in html
    assert "<li>会员区全文</li>" in html  # perks as Markdown
    assert "10 seats left" in html
    assert "or 500 points" in html
    assert 'href="/register"' in html
    assert "/membership/t/core/buy" not in html  # guests get the register link, no form


def test_buying_goes_to_the_checkout(app, login, make_member, tier, english):
    member = make_member("ada")
    c = web(app, login, member)
    html = _text(c.get("/membership/"))
    assert 'action="/membership/t/core/buy"' in html
    assert "Join · ¥99.00 / year" in html
    response = c.post("/membership/t/core/buy")
    assert response.status_code == 302
    match = re.fullmatch(r"/pay/([\w-]{20})", response.headers["Location"])
    assert match, response.headers["Location"]
    order = db.session.query(PaymentOrder).filter_by(public_id=match.group(1)).one()
    assert (order.member_id, order.amount_cents, order.currency) == (member.id, 9900, "CNY")
    assert order.reference == f"tier:{tier.id}" and order.plugin == "membership"
    # a second click goes on with the same pending order
    assert c.post("/membership/t/core/buy").headers["Location"] == response.headers["Location"]


def test_sold_out_tier_shows_why_and_no_button(app, login, make_member, tier, admin, english):
    from forum_plugins.membership import services

    services.save_tier(admin, tier, seats=0)
    c = web(app, login, make_member("late"))
    html = _text(c.get("/membership/"))
    assert "Sold out" in html
    assert "This tier is sold out." in html
    assert 'action="/membership/t/core/buy"' not in html
    response = c.post("/membership/t/core/buy", follow_redirects=True)
    assert "This tier is sold out." in _text(response)
    assert db.session.query(PaymentOrder).count() == 0


def test_points_purchase(app, login, make_member, tier, core, english):
    rich = make_member("rich")
    points.award(rich, 800, "test_gift", "test:gift:rich")
    c = web(app, login, rich)
    response = c.post("/membership/t/core/points", follow_redirects=True)
    html = _text(response)
    assert "Welcome to 核心会员!" in html
    assert "Paid until" in html
    assert core.id in permissions.group_ids(rich)
    poor = make_member("poor")
    c2 = web(app, login, poor)
    response = c2.post("/membership/t/core/points", follow_redirects=True)
    assert response.request.path == "/membership/"
    assert 'class="flash flash-error"' in _text(response)
    assert core.id not in permissions.group_ids(poor)


def test_buy_needs_sign_in(client, tier):
    response = client.post("/membership/t/core/buy")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# -- my membership ------------------------------------------------------------------------------


def test_mine_shows_paid_until_renew_and_receipts(app, login, make_member, tier, english):
    from forum_plugins.membership import services

    member = make_member("paid")
    points.award(member, 600, "test_gift", "test:gift:paid")
    services.buy_with_points(member, tier)
    sub = services.subscription(member, tier)
    c = web(app, login, member)
    html = _text(c.get("/membership/mine"))
    assert "Paid until" in html and "Active" in html
    assert f"{sub.paid_until:%Y-%m-%d}" in html
    assert 'action="/membership/t/core/buy"' in html and "Renew · ¥99.00 / year" in html
    assert 'href="/settings/receipts"' in html
    assert "500 points" in html  # the purchase


def test_mine_without_membership(app, login, make_member, on, english):
    html = _text(web(app, login, make_member("newbie")).get("/membership/mine"))
    assert "You are not a member of any tier yet." in html


# -- the entry application ----------------------------------------------------------------------


def test_application_errors_beside_the_box_and_typed_text_kept(
    app, login, make_member, on, admin, english
):
    from forum_plugins.membership import services

    q1 = services.save_question(admin, None, text="你跑步几年了？", required=True)
    q2 = services.save_question(admin, None, text="谁介绍你来的？", required=False)
    c = web(app, login, make_member("runner"))
    html = _text(c.get("/membership/apply"))
    assert "你跑步几年了？" in html and "谁介绍你来的？" in html
    response = c.post("/membership/apply", data={f"q{q1.id}": "", f"q{q2.id}": "老王"})
    assert response.status_code == 400
    html = _text(response)
    assert "老王" in html  # kept
    assert re.search(rf'has-error">\s*<label for="q{q1.id}"', html)
    response = c.post("/membership/apply", data={f"q{q1.id}": "三年", f"q{q2.id}": "老王"})
    assert response.status_code == 302
    html = _text(c.get("/membership/apply"))
    assert "Your application is waiting for review." in html
    assert "<textarea" not in html
    (application,) = services.applications("pending")[0]
    assert [a["answer"] for a in application.answers] == ["三年", "老王"]


def test_a_tier_that_needs_an_application(app, login, make_member, tier, configure, english):
    from forum_plugins.membership import services

    configure(application_required=True)
    member = make_member("hopeful")
    c = web(app, login, member)
    html = _text(c.get("/membership/"))
    assert 'href="/membership/apply?tier=core"' in html
    assert 'action="/membership/t/core/buy"' not in html
    html = _text(c.get("/membership/apply?tier=core"))
    assert "For 核心会员 (¥99.00 / year)" in html
    assert 'action="/membership/apply?tier=core"' in html
    response = c.post("/membership/apply?tier=core", data={})  # no questions: just send
    assert response.status_code == 302
    (application,) = services.applications("pending")[0]
    assert (application.member_id, application.tier_id) == (member.id, tier.id)


def test_admin_reviews_an_application(app, login, make_member, on, admin, english):
    from forum_plugins.membership import services

    q = services.save_question(admin, None, text="为什么想加入？", required=True)
    applicant = make_member("applicant")
    application = services.apply(applicant, {q.id: "想一起跑马拉松"})
    c = web(app, login, admin)
    html = _text(c.get("/membership/admin/applications"))
    assert "想一起跑马拉松" in html and "为什么想加入？" in html
    url = f"/membership/admin/applications/{application.id}"
    response = c.post(url, data={"action": "reject", "reason": ""}, follow_redirects=True)
    assert 'class="flash flash-error"' in _text(response)  # a rejection needs a reason
    assert services.get_application(application.id).status == "pending"
    c.post(url, data={"action": "reject", "reason": "请先参加一次线下跑"})
    db.session.expire_all()
    assert services.get_application(application.id).status == "rejected"
    html = _text(web(app, login, applicant).get("/membership/apply"))
    assert "请先参加一次线下跑" in html and "You may apply again." in html


def test_admin_adds_and_removes_questions(app, login, admin, on, english):
    from forum_plugins.membership import services

    c = web(app, login, admin)
    response = c.post("/membership/admin/applications", data={"text": "", "required": "y"})
    assert response.status_code == 400
    c.post("/membership/admin/applications", data={"text": "你的城市？", "required": "y"})
    (q,) = services.questions()
    assert q.text == "你的城市？" and q.required
    c.post(f"/membership/admin/questions/{q.id}/delete")
    assert services.questions() == []


# -- invite codes ----------------------------------------------------------------------------------


def test_invite_link_and_redeem(app, login, make_member, tier, admin, core, english):
    from forum_plugins.membership import services

    invite = services.create_invite(admin, tier, max_uses=1, code="RUN2026")
    guest = app.test_client()
    html = _text(guest.get("/membership/invite?code=RUN2026"))
    assert "RUN2026" in html and 'href="/register"' in html
    member = make_member("invited")
    c = web(app, login, member)
    html = _text(c.get("/membership/invite?code=RUN2026"))
    assert 'value="RUN2026"' in html
    response = c.post("/membership/invite", data={"code": "NOPE-123"})
    assert response.status_code == 400
    html = _text(response)
    assert 'value="NOPE-123"' in html and 'class="error"' in html
    response = c.post("/membership/invite", data={"code": invite.code})
    assert response.status_code == 302 and response.headers["Location"] == "/membership/mine"
    assert core.id in permissions.group_ids(member)
    other = web(app, login, make_member("second"))
    response = other.post("/membership/invite", data={"code": invite.code})
    assert response.status_code == 400  # used up


def test_admin_makes_an_invite(app, login, admin, tier, english):
    from forum_plugins.membership import services

    c = web(app, login, admin)
    day = (utcnow() + timedelta(days=30)).date().isoformat()
    response = c.post(
        "/membership/admin/invites",
        data={"tier_id": tier.id, "max_uses": "5", "expires_on": day, "note": "给跑团", "code": ""},
    )
    assert response.status_code == 302
    (invite,) = services.invites()
    assert (invite.max_uses, invite.note, invite.tier_id) == (5, "给跑团", tier.id)
    assert invite.expires_at.date().isoformat() == day
    html = _text(c.get("/membership/admin/invites"))
    assert invite.code in html and f"/membership/invite?code={invite.code}" in html
    response = c.post(
        "/membership/admin/invites", data={"tier_id": tier.id, "max_uses": "0", "note": "x"}
    )
    assert response.status_code == 400 and 'value="x"' in _text(response)


# -- the gate slot -------------------------------------------------------------------------------


def test_gate_shows_the_cheapest_tier_to_a_guest(client, tier, gated, english):
    html = _text(client.get(f"/t/{gated.id}"))
    assert "Join 核心会员 from ¥99.00 / year" in html
    assert 'href="/register"' in html
    assert "Only members of 核心会员 can read this board." not in html  # the plugin's instead
    assert "橙色海豚" not in html
    board_html = _text(client.get("/b/inner"))
    assert "Join 核心会员 from ¥99.00 / year" in board_html


def test_gate_for_a_signed_in_member_links_to_the_tier(app, login, make_member, tier, gated):
    html = _text(web(app, login, make_member("curious")).get(f"/t/{gated.id}"))
    assert 'href="/membership/#tier-core"' in html
    assert "/login?next=" not in html


def test_without_a_tier_the_theme_says_who_may_read(client, on, gated, english):
    html = _text(client.get(f"/t/{gated.id}"))
    assert "Only members of 核心会员 can read this board." in html


def test_paid_member_reads_the_gated_thread(app, login, make_member, tier, gated, core):
    member = make_member("reader")
    db.session.add(GroupMembership(member_id=member.id, group_id=core.id, source="payment"))
    db.session.commit()
    assert SECRET in _text(web(app, login, member).get(f"/t/{gated.id}"))


# -- admin: tiers and rules --------------------------------------------------------------------------


def test_admin_pages_are_for_admins(app, login, make_member, on):
    c = web(app, login, make_member("nobody"))
    for url in (
        "/membership/admin/tiers",
        "/membership/admin/applications",
        "/membership/admin/invites",
        "/membership/admin/rules",
    ):
        assert c.get(url).status_code == 403, url


def test_admin_creates_and_edits_a_tier(app, login, admin, core, on, english):
    from forum_plugins.membership import services

    c = web(app, login, admin)
    html = _text(c.get("/membership/admin/tiers"))
    assert "核心会员" in html  # the group to grant
    data = {
        "name": "年度会员",
        "slug": "year",
        "price": "99.5",
        "currency": "CNY",
        "period_unit": "year",
        "period_count": "1",
        "perks": "- 全文",
        "position": "0",
        "active": "y",
    }
    response = c.post("/membership/admin/tiers", data=data)  # no group chosen
    assert response.status_code == 400
    html = _text(response)
    assert 'value="年度会员"' in html and "Choose the groups the tier grants." in html
    response = c.post("/membership/admin/tiers", data={**data, "group_ids": [str(core.id)]})
    assert response.status_code == 302
    tier = services.get_tier("year")
    assert (tier.price_cents, tier.name, tier.group_ids) == (9950, "年度会员", [core.id])
    response = c.post("/membership/admin/tiers", data={**data, "price": "9.999"})
    assert response.status_code == 400 and "Enter an amount such as 99 or 99.50." in _text(response)
    html = _text(c.get(f"/membership/admin/tiers/{tier.id}"))
    assert 'value="99.50"' in html
    response = c.post(
        f"/membership/admin/tiers/{tier.id}",
        data={**data, "price": "120", "group_ids": [str(core.id)]},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert services.get_tier("year").price_cents == 12000


def test_admin_rules_dry_run_and_restore(app, login, admin, core, tier, make_member, english):
    from forum_plugins.membership import services
    from forum_plugins.membership.models import Removal, Warning

    idle = make_member("idle")
    long_ago = utcnow() - timedelta(days=90)
    db.session.add(
        GroupMembership(member_id=idle.id, group_id=core.id, source="payment", created_at=long_ago)
    )
    db.session.commit()
    c = web(app, login, admin)
    response = c.post(
        "/membership/admin/rules",
        data={"kind": "inactive_days", "threshold": "0", "notice_days": "3", "enabled": "y"},
    )
    assert response.status_code == 400  # no groups, and a threshold below 1
    assert "This field is required." in _text(response) or "Enter a number" in _text(response)
    response = c.post(
        "/membership/admin/rules",
        data={
            "kind": "inactive_days",
            "threshold": "30",
            "notice_days": "0",
            "enabled": "y",
            "group_ids": [str(core.id)],
        },
    )
    assert response.status_code == 302
    (rule,) = services.rules()
    html = _text(c.get("/membership/admin/rules"))
    assert "No post or check-in for 30 days" in html
    dry_run = html[html.index('id="dry-run"') : html.index('id="removals"')]
    assert "/u/idle" in dry_run  # the dry run names the idle member …
    assert db.session.query(Removal).count() == 0  # … and writes nothing
    assert db.session.query(Warning).count() == 0
    # the job warns, then removes (no notice days); the log offers a restore button
    services.run_cleanup(now=utcnow())
    services.run_cleanup(now=utcnow() + timedelta(seconds=5))
    (removal,) = services.removals()[0]
    assert removal.member_id == idle.id
    html = _text(c.get("/membership/admin/rules"))
    assert f"/membership/admin/removals/{removal.id}/restore" in html
    c.post(f"/membership/admin/removals/{removal.id}/restore")
    db.session.expire_all()
    assert services.get_removal(removal.id).restored_at is not None
    assert "Restored" in _text(c.get("/membership/admin/rules"))
    c.post(f"/membership/admin/rules/{rule.id}/toggle")
    db.session.expire_all()
    assert services.get_rule(rule.id).enabled is False


class TestWithCsrf:
    """With CSRF on (as in production): every write needs the form's token."""

    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_writes_without_the_token_are_refused(self, app, login, make_member, tier, admin):
        member = make_member("forged")
        points.award(member, 800, "test_gift", "test:gift:forged")
        c = app.test_client()
        page = _text(c.get("/login"))
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        c.post("/login", data={"login": "forged", "password": PASSWORD, "csrf_token": token})
        for url, data in (
            ("/membership/t/core/buy", {}),
            ("/membership/t/core/points", {}),
            ("/membership/invite", {"code": "ABCDEFGH"}),
            ("/membership/apply", {}),
        ):
            assert c.post(url, data=data).status_code == 400, url
        assert db.session.query(PaymentOrder).count() == 0
        html = _text(c.get("/membership/"))
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        response = c.post("/membership/t/core/buy", data={"csrf_token": token})
        assert response.status_code == 302 and response.headers["Location"].startswith("/pay/")
