"""Likes on posts: one per member and post, never on your own post.

A like is a :class:`forum.models.PostLike` row (primary key ``(post_id, member_id)``, so the
database itself refuses a second one). The counters it feeds, ``Post.like_count`` and the
author's ``Member.like_count`` (likes received, on the trust card and the profile), are kept
by atomic ``UPDATE … SET like_count = like_count + 1`` statements in the same transaction as
the row, so any number of members liking one post at once never lose a count.

The author is told once per post and liker (notification kind ``like``): liking, unliking
and liking again does not notify twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member, Notification, Post, PostLike, Thread
from forum.services import notifications, posting, versions
from forum.services.errors import PermissionDenied, ServiceError


def _require_member(member: Member | None) -> Member:
    if member is None or not getattr(member, "is_authenticated", False):
        raise PermissionDenied(_("Please sign in to like posts."))
    if member.is_banned or member.status != "active":
        raise PermissionDenied(_("You may not like posts."))
    return member


def _readable_post(member: Member, post_id: int) -> tuple[Post, Thread]:
    """The post and its thread if ``member`` may read them (``NotFound`` or
    ``PermissionDenied`` otherwise, as :func:`forum.services.posting.get_post` decides)."""
    post = posting.get_post(post_id, member)
    return post, post.thread


def like(member: Member | None, post_id: int) -> Post:
    """``member`` likes post ``post_id``. Commits; returns the post with its new count.

    Refused (:class:`ServiceError`, nothing changes) for a guest, a banned or unapproved
    member, a post they may not read (:class:`NotFound`), their own post, a deleted, held
    or hidden post or one in a deleted or held thread, and a post they already like. The
    author is notified (kind ``like``) the first time this member likes this post.
    """
    member = _require_member(member)
    post, thread = _readable_post(member, post_id)
    if post.author_id == member.id:
        raise ServiceError(_("You cannot like your own post."))
    if (
        post.deleted_at is not None
        or post.state != "published"
        or thread.deleted_at is not None
        or thread.held
    ):
        raise ServiceError(_("This post cannot be liked."))
    db.session.add(PostLike(post_id=post.id, member_id=member.id))
    try:
        db.session.flush()  # the primary key refuses a second like, even from another tab
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("You already like this post; nothing was changed.")) from None
    _count(post.id, post.author_id, +1)
    if not _notified_before(post, member):
        notifications.notify(
            post.author_id,
            "like",
            actor_id=member.id,
            thread_id=thread.id,
            post_id=post.id,
            title=thread.title,
            url=f"/p/{post.id}",
        )
    versions.changed("thread", thread.id, listings=False)
    db.session.commit()
    return post


def unlike(member: Member | None, post_id: int) -> Post:
    """``member`` takes back their like of post ``post_id``. Commits; returns the post.

    Refused (nothing changes) for a guest, a post they may not read, and a post they do
    not like. The author's notification, if any, stays.
    """
    member = _require_member(member)
    post, thread = _readable_post(member, post_id)
    result = db.session.execute(
        delete(PostLike).where(PostLike.post_id == post.id, PostLike.member_id == member.id)
    )
    if result.rowcount == 0:  # never liked, or the other tab took it back a moment ago
        db.session.rollback()
        raise ServiceError(_("You do not like this post; nothing was changed."))
    _count(post.id, post.author_id, -1)
    versions.changed("thread", thread.id, listings=False)
    db.session.commit()
    return post


def _count(post_id: int, author_id: int, sign: int) -> None:
    """Move the post's and its author's like counters by ``sign``, atomically in SQL."""
    db.session.execute(
        update(Post).where(Post.id == post_id).values(like_count=Post.like_count + sign)
    )
    db.session.execute(
        update(Member).where(Member.id == author_id).values(like_count=Member.like_count + sign)
    )


def _notified_before(post: Post, member: Member) -> bool:
    """True when the author was already told that ``member`` likes ``post``."""
    return (
        db.session.execute(
            select(Notification.id)
            .where(
                Notification.member_id == post.author_id,
                Notification.kind == "like",
                Notification.post_id == post.id,
                Notification.actor_id == member.id,
            )
            .limit(1)
        ).first()
        is not None
    )


def liked_post_ids(member: Member | None, post_ids: Iterable[int]) -> frozenset[int]:
    """The ids among ``post_ids`` that ``member`` likes: one query (none for a guest or no
    posts), for the "liked" state of a page's posts."""
    ids = list(post_ids)
    if member is None or not getattr(member, "is_authenticated", False) or not ids:
        return frozenset()
    return frozenset(
        db.session.execute(
            select(PostLike.post_id).where(
                PostLike.member_id == member.id, PostLike.post_id.in_(ids)
            )
        ).scalars()
    )
