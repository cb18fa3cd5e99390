"""The admin's member list (``/admin/members``): filters, sorting, paging, and the bulk
actions (group with expiry, remove from group, ban, unban, approve) with their refusals and
moderation log rows; a fixed number of queries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from forum.models import GroupMembership, Member
from forum.models.base import utcnow
from forum.models.moderation import ModerationLog
from forum.services import groups, members, permissions, site
from forum.services.errors import ServiceError
from forum.services.members import MemberQuery
from forum.web.admin_forms import site_time


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": {"sample": "tests.sample_plugin"}}


@pytest.fixture
def admin(make_member):
    return make_member("boss", groups=("admin",), locale="en")


@pytest.fixture
def admin_client(client, login, admin):
    return login(client, admin)


def fresh(db, ident) -> Member:
    db.session.expire_all()
    return db.session.get(Member, ident)


def log_rows(db) -> list[tuple[str, int, str]]:
    db.session.expire_all()
    return [
        (r.action, r.target_id, r.reason)
        for r in db.session.execute(select(ModerationLog).order_by(ModerationLog.id)).scalars()
    ]


def names(found) -> list[str]:
    return [m.username for m in found]


def gid(key: str) -> int:
    return permissions.group_id(key)


def in_group(db, member_id: int, key: str) -> GroupMembership | None:
    db.session.expire_all()
    return db.session.execute(
        select(GroupMembership).where(
            GroupMembership.member_id == member_id, GroupMembership.group_id == gid(key)
        )
    ).scalar_one_or_none()


def listed(page: str) -> list[str]:
    """Usernames of the member list's rows, in order."""
    return re.findall(r'/admin/members/\d+"><b>([^<]+)</b>', page)


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


# -- filters and sorting ----------------------------------------------------------------------


@pytest.fixture
def crowd(make_member, admin, db):
    now = utcnow()
    people = {
        "ann": make_member("ann", created_at=now - timedelta(days=2), post_count=5),
        "bob": make_member(
            "bob", groups=("moderator",), created_at=now - timedelta(days=10), post_count=50
        ),
        "cat": make_member(
            "cat", status="pending", created_at=now - timedelta(days=40), post_count=0
        ),
        "dan": make_member(
            "dan",
            status="banned",
            ban_reason="spam",
            created_at=now - timedelta(days=100),
            post_count=9,
            last_seen_at=now - timedelta(days=1),
        ),
        "eve": make_member(
            "eve",
            status="banned",
            banned_until=now - timedelta(hours=1),  # ended
            created_at=now - timedelta(days=200),
            post_count=7,
            last_seen_at=now - timedelta(hours=1),
        ),
    }
    admin.created_at = now - timedelta(days=400)
    db.session.commit()
    # bob's second group has expired: it does not count
    members.set_membership(
        people["ann"], groups.get_group(gid("moderator")), expires_at=now - timedelta(days=1)
    )
    return people


def test_filters(app, crowd):
    def find(**kw) -> list[str]:
        return names(members.list_members(MemberQuery(**kw))[0])

    assert find() == ["ann", "bob", "cat", "dan", "eve", "boss"]
    assert find(group_id=gid("moderator")) == ["bob"]
    assert find(group_id=gid("admin")) == ["boss"]
    assert find(status="banned") == ["dan"]
    assert find(status="pending") == ["cat"]
    assert find(status="active") == ["ann", "bob", "eve", "boss"]
    assert find(joined_within_days=30) == ["ann", "bob"]
    assert find(joined_before=utcnow() - timedelta(days=50)) == ["dan", "eve", "boss"]
    assert find(sort="posts")[:3] == ["bob", "dan", "eve"]
    assert find(sort="last_seen")[:2] == ["eve", "dan"]  # never seen: last
    assert find(text="NN", status="active") == ["ann"]
    assert find(text="%") == []  # LIKE wildcards are searched for literally
    with pytest.raises(ValueError):
        members.list_members(MemberQuery(sort="karma"))


def test_filter_page(admin_client, crowd):
    page = text(admin_client.get(f"/admin/members?group={gid('moderator')}"))
    assert listed(page) == ["bob"]
    page = text(admin_client.get("/admin/members?status=banned&sort=posts"))
    assert listed(page) == ["dan"]
    page = text(admin_client.get("/admin/members?joined_days=30"))
    assert listed(page) == ["ann", "bob"] and "2 members." in page
    # joined before a date in the site's zone
    cutoff = (utcnow() - timedelta(days=50)).strftime("%Y-%m-%d")
    page = text(admin_client.get(f"/admin/members?joined_before={cutoff}"))
    assert listed(page) == ["dan", "eve", "boss"]
    page = text(admin_client.get("/admin/members?sort=posts"))
    assert listed(page)[:2] == ["bob", "dan"]
    # a bad filter value is shown as an error and filters nothing
    page = text(admin_client.get("/admin/members?joined_days=-4&status=gone"))
    assert len(listed(page)) == 6 and 'class="error"' in page
    # memberships in force are shown, expired ones are not
    page = text(admin_client.get("/admin/members"))
    row = page[page.index(">bob</b>") : page.index(">cat</b>")]
    assert "member-group" in row
    ann_row = page[page.index(">ann</b>") : page.index(">bob</b>")]
    assert "member-group" not in ann_row


def test_paging_keeps_the_filters(admin_client, make_member):
    for n in range(55):
        make_member(f"runner{n:02d}")
    page = text(admin_client.get("/admin/members?q=runner&sort=joined"))
    assert "55 members match" in page and len(listed(page)) == 50
    assert 'rel="next"' in page and "page=2" in page and "q=runner" in page
    page2 = text(admin_client.get("/admin/members?q=runner&sort=joined&page=2"))
    assert len(listed(page2)) == 5
    assert admin_client.get("/admin/members?q=runner&page=9").status_code == 404


def test_tick_everybody_on_the_page(admin_client, crowd):
    page = text(admin_client.get("/admin/members?status=banned"))
    assert "checked" not in page.split('class="admin-list"', 1)[1].split("</ul>")[0]
    page = text(admin_client.get("/admin/members?status=banned&all=1"))
    assert re.search(rf'value="{crowd["dan"].id}"[^>]*checked', page)
    # the bulk form goes back to the same filtered list, without the one-off all=1
    action = re.search(r'<form method="post" action="([^"]+)" class="member-bulk"', page).group(1)
    assert "status=banned" in action and "all=" not in action


# -- bulk actions: the service ----------------------------------------------------------------


def test_bulk_group_with_expiry(app, crowd, admin, db):
    from tests import sample_plugin

    sample_plugin.EVENTS.clear()
    from forum.services import plugin_state

    plugin_state.enable("sample")
    ann, bob = crowd["ann"], crowd["bob"]
    until = (utcnow() + timedelta(days=30)).replace(microsecond=0)
    result = members.bulk_set_membership(
        [ann.id, bob.id], gid("moderator"), expires_at=until, actor=admin
    )
    assert result == members.BulkResult(changed=2, unchanged=0)
    assert in_group(db, ann.id, "moderator").expires_at == until  # extended
    assert in_group(db, bob.id, "moderator").expires_at == until
    site.clear_request_cache()
    assert gid("moderator") in permissions.group_ids(fresh(db, ann.id))
    assert log_rows(db) == [("group_add", ann.id, ""), ("group_add", bob.id, "")]
    details = db.session.execute(select(ModerationLog.details)).scalars().first()
    assert details["group_id"] == gid("moderator") and details["expires_at"] == until.isoformat()
    assert ("groups_changed", ("ann", "moderator", "changed")) in sample_plugin.EVENTS
    assert ("groups_changed", ("bob", "moderator", "changed")) in sample_plugin.EVENTS

    # The same again changes nothing and logs nothing.
    again = members.bulk_set_membership(
        [ann.id, bob.id], gid("moderator"), expires_at=until, actor=admin
    )
    assert again == members.BulkResult(changed=0, unchanged=2)
    assert len(log_rows(db)) == 2

    cat = crowd["cat"]
    members.bulk_set_membership([cat.id], gid("moderator"), actor=admin)
    assert in_group(db, cat.id, "moderator").expires_at is None
    assert ("groups_changed", ("cat", "moderator", "added")) in sample_plugin.EVENTS


def test_bulk_remove_from_group(app, crowd, admin, db, english):
    ann, bob = crowd["ann"], crowd["bob"]
    result = members.bulk_remove_membership([ann.id, bob.id], gid("moderator"), actor=admin)
    assert result == members.BulkResult(changed=2, unchanged=0)  # ann's expired row too
    assert in_group(db, bob.id, "moderator") is None
    assert [r[0] for r in log_rows(db)] == ["group_remove", "group_remove"]
    with pytest.raises(ServiceError, match="None of the selected members is in the group"):
        members.bulk_remove_membership([ann.id], gid("moderator"), actor=admin)


def test_bulk_ban_unban_and_approve(app, crowd, admin, db, english):
    ann, bob, cat, dan = crowd["ann"], crowd["bob"], crowd["cat"], crowd["dan"]
    token = ann.session_token
    until = utcnow() + timedelta(days=3)
    assert members.bulk_ban([ann.id, bob.id], " 广告 ", until, actor=admin).changed == 2
    ann = fresh(db, ann.id)
    assert ann.is_banned and ann.ban_reason == "广告" and ann.banned_until == until
    assert ann.session_token != token  # signed out everywhere
    assert [r[:1] + r[2:] for r in log_rows(db)] == [("ban", "广告"), ("ban", "广告")]

    result = members.bulk_unban([ann.id, bob.id, cat.id, dan.id], actor=admin)
    assert result == members.BulkResult(changed=3, unchanged=1)
    assert fresh(db, dan.id).status == "active"
    with pytest.raises(ServiceError, match="None of the selected members is banned"):
        members.bulk_unban([ann.id], actor=admin)

    result = members.bulk_approve([cat.id, ann.id], actor=admin)
    assert result == members.BulkResult(changed=1, unchanged=1)
    assert fresh(db, cat.id).status == "active"
    with pytest.raises(ServiceError, match="waiting for approval"):
        members.bulk_approve([cat.id], actor=admin)
    actions = [r[0] for r in log_rows(db)]
    assert actions == ["ban", "ban", "unban", "unban", "unban", "approve"]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda ids, a: members.bulk_ban([], "spam", actor=a), "Select at least one member"),
        (
            lambda ids, a: members.bulk_set_membership([], gid("moderator"), actor=a),
            "Select at least one member",
        ),
        (lambda ids, a: members.bulk_ban(ids + [a.id], "spam", actor=a), "cannot ban yourself"),
        (lambda ids, a: members.bulk_ban(ids, "  ", actor=a), "reason"),
        (
            lambda ids, a: members.bulk_ban(ids, "spam", utcnow() - timedelta(minutes=1), actor=a),
            "must be in the future",
        ),
        (lambda ids, a: members.bulk_set_membership(ids, 99999, actor=a), "existing group"),
        (lambda ids, a: members.bulk_set_membership(ids, None, actor=a), "existing group"),
        (
            lambda ids, a: members.bulk_set_membership(ids, gid("member"), actor=a),
            "cannot be assigned",
        ),
        (
            lambda ids, a: members.bulk_set_membership(
                ids, gid("moderator"), expires_at=utcnow() - timedelta(days=1), actor=a
            ),
            "expiry must be in the future",
        ),
        (
            lambda ids, a: members.bulk_unban(ids + [987654], actor=a),
            "do not exist any more",
        ),
        (
            lambda ids, a: members.bulk_remove_membership(ids + [a.id], gid("admin"), actor=a),
            "your own administrator rights",
        ),
    ],
)
def test_refused_batches_change_nothing(app, crowd, admin, db, english, call, message):
    ids = [crowd["ann"].id, crowd["dan"].id]
    before = [
        (m.id, m.status, m.ban_reason, m.banned_until, m.session_token)
        for m in db.session.execute(select(Member).order_by(Member.id)).scalars()
    ]
    memberships = db.session.execute(select(func.count(GroupMembership.id))).scalar_one()
    with pytest.raises(ServiceError, match=message):
        call(ids, admin)
    db.session.rollback()
    db.session.expire_all()
    after = [
        (m.id, m.status, m.ban_reason, m.banned_until, m.session_token)
        for m in db.session.execute(select(Member).order_by(Member.id)).scalars()
    ]
    assert after == before
    assert db.session.execute(select(func.count(GroupMembership.id))).scalar_one() == memberships
    assert log_rows(db) == []


def test_the_last_administrator_stays(app, make_member, admin, db, english):
    other = make_member("other_admin", groups=("admin",))
    plain = make_member("plain")
    # Banning another admin is fine while boss remains.
    members.bulk_ban([other.id, plain.id], "spam", actor=admin)
    members.bulk_unban([other.id, plain.id], actor=admin)
    # Banning or un-grouping every admin at once is refused, naming them.
    with pytest.raises(ServiceError, match="at least one administrator.*boss, other_admin"):
        members.bulk_ban([admin.id, other.id], "spam", actor=plain)
    with pytest.raises(ServiceError, match="at least one administrator.*boss, other_admin"):
        members.bulk_remove_membership([admin.id, other.id], gid("admin"), actor=plain)
    # A banned admin does not count: with other_admin banned, boss is the last one.
    members.bulk_ban([other.id], "spam", actor=admin)
    with pytest.raises(ServiceError, match="at least one administrator.*boss"):
        members.bulk_ban([admin.id], "spam", actor=plain)
    with pytest.raises(ServiceError, match="at least one administrator"):
        members.bulk_remove_membership([admin.id], gid("admin"), actor=plain)
    assert fresh(db, admin.id).status == "active" and fresh(db, plain.id).status == "active"
    assert in_group(db, admin.id, "admin") and in_group(db, other.id, "admin")


def test_an_admin_in_two_admin_groups_keeps_it(app, make_member, admin, db):
    second = groups.create_group("站务", "staff", "")
    second.is_admin = True
    db.session.commit()
    helper = make_member("helper")
    members.bulk_set_membership([admin.id], second.id, actor=admin)
    # boss is still an admin through "staff" after leaving "admin"
    members.bulk_remove_membership([admin.id], gid("admin"), actor=helper)
    site.clear_request_cache()
    assert permissions.is_admin(fresh(db, admin.id))


def test_the_selection_has_a_limit(app, admin, english):
    with pytest.raises(ServiceError, match="at most 200"):
        members.bulk_unban(range(1, 300), actor=admin)


# -- bulk actions: the page -------------------------------------------------------------------


def test_bulk_actions_from_the_list(admin_client, crowd, db):
    ann, cat = crowd["ann"], crowd["cat"]
    local = site_time(utcnow() + timedelta(days=10)).replace(" ", "T")
    response = admin_client.post(
        "/admin/members?status=active",
        data={
            "bulk-members": [ann.id, crowd["bob"].id],
            "bulk-action": "group_add",
            "bulk-group": gid("moderator"),
            "bulk-expires_at": local,
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/members?status=active")
    assert "2 members' groups changed." in text(admin_client.get("/admin/members"))
    assert in_group(db, ann.id, "moderator").expires_at > utcnow() + timedelta(days=9)

    response = admin_client.post(
        "/admin/members",
        data={"bulk-members": [cat.id], "bulk-action": "approve"},
        follow_redirects=True,
    )
    assert "1 member approved." in text(response)
    assert fresh(db, cat.id).status == "active"

    response = admin_client.post(
        "/admin/members",
        data={"bulk-members": [ann.id], "bulk-action": "ban", "bulk-reason": "刷屏"},
        follow_redirects=True,
    )
    assert "1 member banned." in text(response)
    assert fresh(db, ann.id).is_banned


def test_a_refused_batch_keeps_the_ticks_and_says_why(admin_client, crowd, admin, db):
    ann = crowd["ann"]
    response = admin_client.post(
        "/admin/members?sort=posts",
        data={
            "bulk-members": [ann.id, admin.id],
            "bulk-action": "ban",
            "bulk-reason": "spam",
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert "you cannot ban yourself" in page
    assert re.search(rf'value="{ann.id}"[^>]*checked', page)
    assert not fresh(db, ann.id).is_banned

    page = text(
        admin_client.post("/admin/members", data={"bulk-action": "ban", "bulk-reason": "spam"})
    )
    assert "Select at least one member first." in page

    page = text(
        admin_client.post(
            "/admin/members",
            data={
                "bulk-members": [ann.id],
                "bulk-action": "group_add",
                "bulk-group": gid("moderator"),
                "bulk-expires_at": "2020-01-01T00:00",
            },
        )
    )
    assert "The expiry must be in the future." in page
    assert "Nothing was changed" in page
    assert in_group(db, ann.id, "moderator").expires_at < utcnow()  # still the expired row

    page = text(
        admin_client.post(
            "/admin/members", data={"bulk-members": [ann.id], "bulk-action": "explode"}
        )
    )
    assert "Nothing was changed" in page
    assert log_rows(db) == []


def test_non_admins_cannot_use_the_list(client, login, make_member, crowd, db):
    login(client, make_member("modder", groups=("moderator",)))
    assert client.get("/admin/members").status_code == 403
    response = client.post(
        "/admin/members",
        data={"bulk-members": [crowd["ann"].id], "bulk-action": "ban", "bulk-reason": "x"},
    )
    assert response.status_code == 403
    assert not fresh(db, crowd["ann"].id).is_banned


def test_single_member_actions_are_logged(admin_client, make_member, admin, db):
    member = make_member("single")
    admin_client.post(f"/admin/members/{member.id}/ban", data={"b-reason": "广告"})
    admin_client.post(f"/admin/members/{member.id}/unban")
    admin_client.post(f"/admin/members/{member.id}/groups", data={"m-group": gid("moderator")})
    admin_client.post(f"/admin/members/{member.id}/groups/{gid('moderator')}/remove")
    assert [r[0] for r in log_rows(db)] == ["ban", "unban", "group_add", "group_remove"]
    # Banning yourself from your own page is refused.
    response = admin_client.post(f"/admin/members/{admin.id}/ban", data={"b-reason": "x"})
    assert "you cannot ban yourself" in text(response)
    assert fresh(db, admin.id).status == "active"


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_bulk_actions_need_the_token(self, client, admin, make_member, db):
        target = make_member("target")
        with client.session_transaction() as sess:
            sess["_user_id"] = admin.get_id()
            sess["_fresh"] = True
        data = {"bulk-members": [target.id], "bulk-action": "ban", "bulk-reason": "spam"}
        assert client.post("/admin/members", data=data).status_code == 400
        assert not fresh(db, target.id).is_banned
        page = client.get("/admin/members").get_data(as_text=True)
        token = re.search(r'name="bulk-csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token on the page"
        response = client.post("/admin/members", data={**data, "bulk-csrf_token": token.group(1)})
        assert response.status_code == 302
        assert fresh(db, target.id).is_banned


# -- a fixed number of queries ----------------------------------------------------------------


def test_member_list_query_count_does_not_grow(admin_client, make_member, count_queries, db):
    def measure(url: str) -> int:
        admin_client.get(url)
        with count_queries() as q:
            assert admin_client.get(url).status_code == 200
        return q.count

    def grow(tag: str, n: int) -> None:
        for i in range(n):
            member = make_member(f"{tag}{i}", groups=("moderator",) if i % 2 else ())
            if i % 3 == 0:
                members.set_membership(
                    member,
                    groups.get_group(gid("moderator")),
                    expires_at=datetime(2099, 1, 1),
                )

    urls = ["/admin/members", f"/admin/members?group={gid('moderator')}&sort=posts"]
    grow("a", 5)
    small = [measure(u) for u in urls]
    grow("b", 50)
    assert [measure(u) for u in urls] == small
    assert max(small) <= 7, small  # 6 for the page, 1 for the header's queue count
