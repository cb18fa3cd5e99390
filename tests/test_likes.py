"""Likes on posts: one per member, never your own, only on posts you may read; the post's and
the author's counters stay exact (also under concurrent likes on PostgreSQL); the author is
told once per post and liker; the thread page shows counts and the viewer's own likes.

The concurrency test runs real threads against PostgreSQL (as in test_points.py) and is
skipped on SQLite, which runs one writer at a time.
"""

from __future__ import annotations

import re

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from forum.models import Member, Notification, Post, PostLike
from forum.services import likes, posting
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.testing import race

pytestmark = pytest.mark.usefixtures("english")

RACERS = 12


@pytest.fixture
def app_config(database_kind):
    if database_kind == "postgres":  # one connection per racing thread
        return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": RACERS + 5, "max_overflow": 5}}
    return {}


@pytest.fixture
def board(make_board):
    return make_board("likes")


@pytest.fixture
def author(make_member):
    return make_member("writer")


@pytest.fixture
def fan(make_member):
    return make_member("fan")


@pytest.fixture
def thread(author, board):
    thread = posting.create_thread(author, board, "点赞测试", "第一帖")
    posting.reply(author, thread, "第二帖")
    return thread


def _post(db, thread, number: int = 1) -> Post:
    return db.session.execute(
        select(Post).where(Post.thread_id == thread.id, Post.number == number)
    ).scalar_one()


def _counts(db, post_id: int, author_id: int) -> tuple[int, int, int]:
    """(post.like_count, author's like_count, like rows for the post), fresh from the DB."""
    db.session.expire_all()
    return (
        db.session.get(Post, post_id).like_count,
        db.session.get(Member, author_id).like_count,
        db.session.execute(
            select(func.count()).select_from(PostLike).where(PostLike.post_id == post_id)
        ).scalar_one(),
    )


def _like_notes(db, author_id: int) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.member_id == author_id, Notification.kind == "like"
            )
        ).scalars()
    )


# -- the service -------------------------------------------------------------------------------


def test_like_counts_on_the_post_and_the_author(db, thread, author, fan, make_member):
    first, second = _post(db, thread, 1), _post(db, thread, 2)
    likes.like(fan, first.id)
    likes.like(fan, second.id)
    likes.like(make_member("another"), first.id)
    assert _counts(db, first.id, author.id) == (2, 3, 2)
    assert _post(db, thread, 2).like_count == 1
    assert likes.liked_post_ids(fan, [first.id, second.id]) == {first.id, second.id}


def test_liking_twice_is_refused_and_changes_nothing(db, thread, author, fan):
    post = _post(db, thread)
    likes.like(fan, post.id)
    before = _counts(db, post.id, author.id)
    with pytest.raises(ServiceError, match="already like this post"):
        likes.like(fan, post.id)
    assert _counts(db, post.id, author.id) == before == (1, 1, 1)
    assert len(_like_notes(db, author.id)) == 1


def test_a_member_cannot_like_their_own_post(db, thread, author):
    post = _post(db, thread)
    with pytest.raises(ServiceError, match="your own post"):
        likes.like(author, post.id)
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_guests_and_banned_members_cannot_like(db, thread, author, make_member):
    post = _post(db, thread)
    with pytest.raises(PermissionDenied):
        likes.like(None, post.id)
    banned = make_member("banned", status="banned")
    with pytest.raises(PermissionDenied):
        likes.like(banned, post.id)
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_a_post_on_an_unreadable_board_cannot_be_liked(db, make_board, make_member, fan):
    staff = make_board("staff", grants={"guest": (), "member": ()})
    boss = make_member("boss", groups=("admin",))
    thread = posting.create_thread(boss, staff, "内部", "只给管理员")
    post_id = thread.first_post_id
    for action in (likes.like, likes.unlike):
        with pytest.raises(NotFound):
            action(fan, post_id)
    assert _counts(db, post_id, boss.id) == (0, 0, 0)


def test_deleted_held_and_hidden_posts_cannot_be_liked(db, thread, author, fan, make_member):
    moderator = make_member("keeper", groups=("moderator",))
    second = _post(db, thread, 2)
    posting.delete_post(author, second)
    with pytest.raises(ServiceError, match="cannot be liked"):
        likes.like(fan, second.id)
    third = posting.reply(author, thread, "第三帖")
    third.state = "hidden"
    db.session.commit()
    with pytest.raises(ServiceError, match="cannot be liked"):
        likes.like(fan, third.id)
    fourth = posting.reply(author, thread, "第四帖")
    fourth.state = "held"
    db.session.commit()
    with pytest.raises(NotFound):  # a held post is not even visible to others
        likes.like(fan, fourth.id)
    with pytest.raises(ServiceError, match="cannot be liked"):  # nor likeable by moderators
        likes.like(moderator, fourth.id)
    for post_id in (second.id, third.id, fourth.id):
        assert _counts(db, post_id, author.id) == (0, 0, 0)


def test_a_post_in_a_deleted_thread_cannot_be_liked(db, thread, author, fan, make_member):
    moderator = make_member("keeper", groups=("moderator",))
    post_id = _post(db, thread, 2).id
    posting.delete_thread(moderator, thread)
    with pytest.raises(NotFound):
        likes.like(fan, post_id)
    with pytest.raises(ServiceError, match="cannot be liked"):
        likes.like(moderator, post_id)  # moderators still see it, but may not like it


def test_unlike_takes_the_like_back(db, thread, author, fan):
    post = _post(db, thread)
    likes.like(fan, post.id)
    likes.unlike(fan, post.id)
    assert _counts(db, post.id, author.id) == (0, 0, 0)
    assert likes.liked_post_ids(fan, [post.id]) == set()
    with pytest.raises(ServiceError, match="do not like this post"):
        likes.unlike(fan, post.id)
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_the_author_is_notified_once_per_post_and_liker(db, thread, author, fan, make_member):
    post = _post(db, thread)
    likes.like(fan, post.id)
    likes.unlike(fan, post.id)
    likes.like(fan, post.id)
    notes = _like_notes(db, author.id)
    assert [(n.actor_id, n.post_id, n.url) for n in notes] == [(fan.id, post.id, f"/p/{post.id}")]
    likes.like(make_member("second"), post.id)
    assert len(_like_notes(db, author.id)) == 2
    db.session.expire_all()
    assert db.session.get(Member, author.id).unread_notifications == 2


def test_liked_post_ids_needs_no_query_for_guests(count_queries, thread, db):
    post = _post(db, thread)
    with count_queries() as q:
        assert likes.liked_post_ids(None, [post.id]) == set()
    assert q.count == 0


# -- concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.fixture
def postgres_only(database_kind):
    if database_kind != "postgres":
        pytest.skip("concurrency is tested against PostgreSQL (FORUM_TEST_DATABASE_URL)")


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_likes_of_one_post_count_exactly(app, db, thread, author, make_member):
    post_id = _post(db, thread).id
    fan_ids = [make_member(f"racer{i}").id for i in range(RACERS)]
    author_id = author.id

    def work(i: int) -> int:
        member = db.session.get(Member, fan_ids[i])
        return likes.like(member, post_id).id

    results = race(app, RACERS, work)
    assert [outcome for outcome, _ in results] == ["ok"] * RACERS
    assert _counts(db, post_id, author_id) == (RACERS, RACERS, RACERS)
    assert len(_like_notes(db, author_id)) == RACERS


@pytest.mark.usefixtures("postgres_only")
def test_concurrent_double_likes_by_one_member_apply_once(app, db, thread, author, fan):
    post_id, fan_id, author_id = _post(db, thread).id, fan.id, author.id

    def work(_i: int) -> int:
        with force_locale("en"):  # each thread has its own context: English there too
            return likes.like(db.session.get(Member, fan_id), post_id).id

    results = race(app, 6, work)
    outcomes = sorted(outcome for outcome, _ in results)
    assert outcomes == ["ok"] + ["refused"] * 5
    assert all("already like" in str(v) for o, v in results if o == "refused")
    assert _counts(db, post_id, author_id) == (1, 1, 1)
    assert len(_like_notes(db, author_id)) == 1


# -- the pages ---------------------------------------------------------------------------------


def _html(response) -> str:
    return response.get_data(as_text=True)


def _like_form(html: str, post_id: int) -> str | None:
    match = re.search(
        rf'<form method="post" action="/p/{post_id}/(?:un)?like" class="inline like-form">.*?</form>',
        html,
        re.S,
    )
    return match.group(0) if match else None


def test_thread_page_shows_like_forms_with_csrf_and_counts(client, login, db, thread, fan):
    first, second = _post(db, thread, 1), _post(db, thread, 2)
    likes.like(fan, second.id)
    login(client, fan)
    html = _html(client.get(f"/t/{thread.id}"))
    form = _like_form(html, first.id)
    assert form is not None and 'name="csrf_token" value="' in form
    assert 'aria-pressed="false"' in form and '<span class="like-label">Like</span>' in form
    liked = _like_form(html, second.id)
    assert f'action="/p/{second.id}/unlike"' in liked
    assert 'aria-pressed="true"' in liked and '<span class="like-count">1</span>' in liked
    assert "js/likes.js" in html


def test_no_like_button_on_your_own_posts_but_the_count(client, login, db, thread, author, fan):
    post = _post(db, thread)
    likes.like(fan, post.id)
    login(client, author)
    html = _html(client.get(f"/t/{thread.id}"))
    assert _like_form(html, post.id) is None
    assert '<span class="like-count">1</span>' in html


def test_guests_see_counts_and_cannot_like(client, db, thread, author, fan):
    post = _post(db, thread)
    likes.like(fan, post.id)
    html = _html(client.get(f"/t/{thread.id}"))
    assert _like_form(html, post.id) is None and "like-form" not in html
    assert '<span class="like-count">1</span>' in html and "js/likes.js" not in html
    response = client.post(f"/p/{post.id}/like")
    assert response.status_code in (302, 400)
    assert _counts(db, post.id, author.id) == (1, 1, 1)


def _token(client, thread_id: int) -> str:
    html = _html(client.get(f"/t/{thread_id}"))
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_like_and_unlike_through_the_forms(client, login, db, thread, author, fan, csrf_on):
    post = _post(db, thread, 2)
    login(client, fan)
    csrf_on()
    token = _token(client, thread.id)
    response = client.post(f"/p/{post.id}/like", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/t/{thread.id}#p2")
    assert _counts(db, post.id, author.id) == (1, 1, 1)
    again = client.post(f"/p/{post.id}/like", data={"csrf_token": token}, follow_redirects=True)
    assert "You already like this post; nothing was changed." in _html(again)
    assert _counts(db, post.id, author.id) == (1, 1, 1)
    client.post(f"/p/{post.id}/unlike", data={"csrf_token": token})
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_a_like_without_the_csrf_token_is_refused(client, login, db, thread, author, fan, csrf_on):
    post = _post(db, thread)
    login(client, fan)
    csrf_on()
    assert client.post(f"/p/{post.id}/like").status_code == 400
    bad = {"csrf_token": "forged"}
    assert client.post(f"/p/{post.id}/like", data=bad).status_code == 400
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_the_script_gets_json(client, login, db, thread, author, fan, csrf_on):
    post = _post(db, thread)
    login(client, fan)
    csrf_on()
    token = _token(client, thread.id)
    headers = {"Accept": "application/json"}
    ok = client.post(f"/p/{post.id}/like", data={"csrf_token": token}, headers=headers)
    assert ok.status_code == 200 and ok.get_json() == {
        "liked": True,
        "count": 1,
        "post_id": post.id,
    }
    twice = client.post(f"/p/{post.id}/like", data={"csrf_token": token}, headers=headers)
    assert twice.status_code == 409 and "already like" in twice.get_json()["error"]
    off = client.post(f"/p/{post.id}/unlike", data={"csrf_token": token}, headers=headers)
    assert off.get_json() == {"liked": False, "count": 0, "post_id": post.id}


def test_own_post_refusal_through_the_form(client, login, db, thread, author):
    post = _post(db, thread)
    login(client, author)
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', _html(client.get(f"/t/{thread.id}"))
    ).group(1)
    page = client.post(f"/p/{post.id}/like", data={"csrf_token": token}, follow_redirects=True)
    assert "You cannot like your own post." in _html(page)
    assert _counts(db, post.id, author.id) == (0, 0, 0)


def test_liking_an_unknown_post_is_a_404(client, login, fan, thread):
    login(client, fan)
    token = _token(client, thread.id)
    assert client.post("/p/999999/like", data={"csrf_token": token}).status_code == 404


def test_a_guests_cached_thread_page_shows_a_new_like(client, db, thread, fan, app):
    post = _post(db, thread)
    assert '<span class="like-count">' not in _html(client.get(f"/t/{thread.id}"))
    likes.like(fan, post.id)
    assert '<span class="like-count">1</span>' in _html(client.get(f"/t/{thread.id}"))


def test_a_like_keeps_the_cached_listings(client, db, thread, fan, app):
    from forum.services import versions

    slots = versions.slot("content"), versions.slot("thread", thread.id)
    content, own = versions.stamps(*slots)
    likes.like(fan, _post(db, thread).id)
    after_content, after_own = versions.stamps(*slots)
    assert after_content == content  # index and board pages keep their cache
    assert after_own != own  # the thread page is rendered again


def test_profile_counts_likes_received(client, db, thread, author, fan):
    likes.like(fan, _post(db, thread, 1).id)
    likes.like(fan, _post(db, thread, 2).id)
    html = _html(client.get("/u/writer"))
    assert re.search(r"<dt>Likes</dt><dd>2</dd>", html)
