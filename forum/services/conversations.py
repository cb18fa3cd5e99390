"""Private conversations: one-to-one and small groups, with unread counts.

A conversation has 2 to ``messages_max_recipients + 1`` members (site setting, default 9
recipients: groups of up to 10). Each member's :class:`ConversationMember` row holds their
unread count, the id of the last message they read and a copy of the conversation's
``last_message_at``, so an inbox page is one index range.

Counters are kept by atomic ``UPDATE`` statements in the transaction that writes the
message, never read-modify-write in Python: ``ConversationMember.unread_count`` counts a
member's unread messages in the conversation, ``Member.unread_messages`` the conversations
with unread messages (the badge in the top bar). A reply first ``UPDATE``\\ s the
conversation row, which serialises replies to one conversation; the unread counters are
raised with ``… RETURNING unread_count``, so a member whose count went from 0 to 1 is known
exactly even when another reply or a mark-read runs at the same time.

Blocks (:mod:`forum.services.blocks`): nobody can start a conversation with a member who
blocked them, nor reply in a one-to-one conversation with them.

New members (fewer published posts than ``messages_new_member_posts`` or registered fewer
than ``messages_new_member_days`` days ago) may start ``messages_new_member_per_day``
conversations a day; administrators and moderators are exempt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import aliased

from forum.extensions import db
from forum.markup import render
from forum.models import Conversation, ConversationMember, Member, Message
from forum.models.base import utcnow
from forum.services import blocks, safeguards, site
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.services.paging import page_count

SUBJECT_MAX = 120
BODY_MAX = 50_000  # as a post
INBOX_PER_PAGE = 20
MESSAGES_PER_PAGE = 30
EXCERPT_CHARS = 80

#: What separates usernames in the recipients field: commas (also full-width), the Chinese
#: enumeration comma 、, semicolons and any white space.
_SEPARATORS = re.compile(r"[\s,，、;；]+")

_NO_SYNC = {"synchronize_session": False}


# -- value types -------------------------------------------------------------------------------


@dataclass
class InboxRow:
    """One conversation in a member's inbox."""

    id: int
    subject: str
    others: list[Member]  # the other members (those who left included), in joining order
    message_count: int
    last_at: datetime
    last_excerpt: str  # plain text of the latest message ("" when hidden)
    last_hidden: bool
    last_author: str | None  # name of the latest message's author, None if deleted
    last_by_me: bool
    unread_count: int

    @property
    def is_group(self) -> bool:
        """More than two members."""
        return len(self.others) > 1


@dataclass
class Participant:
    """A member of a conversation, as the conversation page lists them."""

    member: Member
    left: bool


@dataclass
class MessageView:
    """One message as a participant sees it (hidden ones without their text)."""

    id: int
    author: Member | None
    html: Markup
    created_at: datetime
    hidden: bool
    mine: bool
    new: bool  # arrived after the viewer last read the conversation


@dataclass
class ConversationPage:
    """What the conversation page shows besides the messages."""

    conversation: Conversation
    participants: list[Participant] = field(default_factory=list)
    last_read_message_id: int = 0  # before this visit
    is_group: bool = False
    #: one-to-one only: the other member blocked the viewer, so replies are refused
    blocked_by_other: bool = False
    #: nobody else is left to read a reply
    alone: bool = False


# -- helpers -------------------------------------------------------------------------------------


def _setting(key: str) -> int:
    return int(site.setting(key))


def parse_usernames(text: str) -> list[str]:
    """Usernames written in a recipients field (separated by commas, 、, ; or spaces; a
    leading ``@`` is dropped), in order, duplicates (any case) removed."""
    names: dict[str, str] = {}
    for raw in _SEPARATORS.split(text or ""):
        name = raw.strip().lstrip("@＠").strip()
        if name:
            names.setdefault(name.casefold(), name)
    return list(names.values())


def is_new_member(member: Member) -> bool:
    """Is ``member`` still new for the conversation limits (few posts or a recent account)?"""
    if member.post_count < _setting("messages_new_member_posts"):
        return True
    days = _setting("messages_new_member_days")
    return days > 0 and member.created_at > utcnow() - timedelta(days=days)


def _can_write(member: Member | None) -> None:
    if member is None or not getattr(member, "is_authenticated", False):
        raise PermissionDenied(_("Please sign in to send messages."))
    if member.status != "active" or member.is_banned:
        raise PermissionDenied(_("Your account cannot send messages."))


def validate_body(body: str) -> str:
    """The message text with trailing space removed, or :class:`ServiceError` on ``body``."""
    body = (body or "").rstrip()
    if not body.strip():
        raise ServiceError(_("The message is empty."), "body")
    if len(body) > BODY_MAX:
        raise ServiceError(_("A message has at most %(n)d characters.", n=BODY_MAX), "body")
    return body


def _filtered(text: str, field: str = "body") -> str:
    """``text`` through the site's word filter (replace; a block phrase is refused with
    :class:`ServiceError` on ``field``). Private messages have no approval queue, so hold
    phrases pass. Everyone is filtered, staff too, as in posts."""
    try:
        return safeguards.filter_words(text, allow_hold=False)[0]
    except ServiceError as exc:
        raise ServiceError(exc.message, field) from None


def validate_subject(subject: str, body: str) -> str:
    """The cleaned subject; an empty one is made from the start of ``body``."""
    subject = " ".join((subject or "").split())
    if len(subject) > SUBJECT_MAX:
        raise ServiceError(_("The subject has at most %(n)d characters.", n=SUBJECT_MAX), "subject")
    if not subject:
        text = " ".join(Markup(render(body)).striptags().split())
        subject = text[:40] + ("…" if len(text) > 40 else "")
    return subject


def _resolve_recipients(sender: Member, recipients: str | Iterable[str | Member]) -> list[Member]:
    """The recipients as active members, checked; :class:`ServiceError` on ``recipients``."""
    if isinstance(recipients, str):
        recipients = parse_usernames(recipients)
    names: list[str] = []
    given: dict[int, Member] = {}
    for r in recipients:
        if isinstance(r, Member):
            given.setdefault(r.id, r)
        else:
            names.extend(parse_usernames(str(r)))
    found: dict[str, Member] = {}
    if names:
        from forum.services.members import username_key

        keys = {username_key(n): n for n in names}
        for m in db.session.execute(
            select(Member).where(Member.username_key.in_(list(keys)))
        ).scalars():
            found[m.username_key] = m
        unknown = [n for k, n in keys.items() if k not in found]
        if unknown:
            raise ServiceError(
                ngettext(
                    "There is no member called %(names)s.",
                    "There are no members called %(names)s.",
                    len(unknown),
                    names="、".join(unknown),
                ),
                "recipients",
            )
    unique: dict[int, Member] = dict(given)
    for m in found.values():
        unique.setdefault(m.id, m)
    if not unique:
        raise ServiceError(_("Add at least one recipient."), "recipients")
    if sender.id in unique:
        raise ServiceError(_("You cannot send a message to yourself."), "recipients")
    limit = _setting("messages_max_recipients")
    if len(unique) > limit:
        raise ServiceError(
            ngettext(
                "A conversation has at most %(num)d recipient.",
                "A conversation has at most %(num)d recipients.",
                limit,
            ),
            "recipients",
        )
    inactive = [m.name for m in unique.values() if m.status != "active" or m.is_banned]
    if inactive:
        raise ServiceError(
            _("%(names)s cannot receive messages.", names="、".join(inactive)), "recipients"
        )
    blockers = blocks.blockers_among(unique, sender.id)
    if blockers:
        raise ServiceError(
            _(
                "%(names)s does not accept messages from you.",
                names="、".join(unique[b].name for b in unique if b in blockers),
            ),
            "recipients",
        )
    return list(unique.values())


def _check_new_member_limit(sender: Member) -> None:
    if safeguards.exempt(sender) or not is_new_member(sender):  # staff: never limited
        return
    per_day = _setting("messages_new_member_per_day")
    since = utcnow() - timedelta(days=1)
    started = db.session.execute(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.created_by_id == sender.id, Conversation.created_at > since)
    ).scalar_one()
    if started >= per_day:
        raise PermissionDenied(
            ngettext(
                "New members can start %(num)d conversation a day. Please try again tomorrow.",
                "New members can start %(num)d conversations a day. Please try again tomorrow.",
                per_day,
            )
        )


# -- writes --------------------------------------------------------------------------------------


def start(
    sender: Member, recipients: str | Iterable[str | Member], subject: str, body: str
) -> Conversation:
    """Start a conversation from ``sender`` with ``recipients`` (usernames, a recipients
    field's text, or members) and its first message. Commits and returns it.

    Refused with :class:`ServiceError` (nothing is written) for no, unknown, inactive or too
    many recipients, yourself, a recipient who blocked the sender (named in the message),
    an empty or too long body or subject; with :class:`PermissionDenied` for a new member
    over the daily limit. Every recipient's conversation is unread (their
    ``Member.unread_messages`` goes up by one).
    """
    _can_write(sender)
    members = _resolve_recipients(sender, recipients)
    body = _filtered(validate_body(body))
    subject = _filtered(validate_subject(subject, body), "subject")
    _check_new_member_limit(sender)
    now = utcnow()
    conversation = Conversation(
        subject=subject, created_by_id=sender.id, created_at=now, last_message_at=now
    )
    db.session.add(conversation)
    db.session.flush()
    message = Message(
        conversation_id=conversation.id,
        author_id=sender.id,
        source=body,
        html=render(body),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    conversation.last_message_id = message.id
    conversation.message_count = 1
    db.session.add(
        ConversationMember(
            conversation_id=conversation.id,
            member_id=sender.id,
            joined_at=now,
            last_message_at=now,
            last_read_message_id=message.id,
            unread_count=0,
        )
    )
    db.session.add_all(
        ConversationMember(
            conversation_id=conversation.id,
            member_id=m.id,
            joined_at=now,
            last_message_at=now,
            last_read_message_id=0,
            unread_count=1,
        )
        for m in members
    )
    db.session.execute(
        update(Member)
        .where(Member.id.in_([m.id for m in members]))
        .values(unread_messages=Member.unread_messages + 1)
        .execution_options(**_NO_SYNC)
    )
    db.session.commit()
    return conversation


def _membership(conversation_id: int, member_id: int) -> ConversationMember | None:
    return db.session.get(ConversationMember, (conversation_id, member_id))


def reply(member: Member, conversation: Conversation, body: str) -> Message:
    """Add ``member``'s message to ``conversation``. Commits and returns the message.

    ``member`` must be a current participant (:class:`NotFound` otherwise). In a one-to-one
    conversation a member the other side blocked is refused with :class:`ServiceError`, as
    is a reply nobody is left to read, or an empty or too long body; nothing is written then.
    Every other current participant's unread count goes up by one (and their
    ``unread_messages`` when the conversation was read); the author's own is cleared.
    """
    _can_write(member)
    rows = db.session.execute(
        select(ConversationMember.member_id, ConversationMember.left_at).where(
            ConversationMember.conversation_id == conversation.id
        )
    ).all()
    mine = [left for mid, left in rows if mid == member.id]
    if not mine or mine[0] is not None:
        raise NotFound("conversation")
    others = [mid for mid, left in rows if mid != member.id]
    if not any(left is None for mid, left in rows if mid != member.id):
        raise ServiceError(_("Everyone else has left this conversation."), "body")
    if len(others) == 1 and blocks.is_blocked(others[0], member.id):
        other = db.session.get(Member, others[0])
        raise ServiceError(
            _("%(names)s does not accept messages from you.", names=other.name), "body"
        )
    body = _filtered(validate_body(body))
    now = utcnow()
    # Lock the conversation row first: replies to one conversation take their turn.
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(message_count=Conversation.message_count + 1)
        .execution_options(**_NO_SYNC)
    )
    message = Message(
        conversation_id=conversation.id,
        author_id=member.id,
        source=body,
        html=render(body),
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_message_id=message.id, last_message_at=now)
        .execution_options(**_NO_SYNC)
    )
    raised = db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.member_id != member.id,
            ConversationMember.left_at.is_(None),
        )
        .values(unread_count=ConversationMember.unread_count + 1, last_message_at=now)
        .returning(ConversationMember.member_id, ConversationMember.unread_count)
        .execution_options(**_NO_SYNC)
    ).all()
    newly_unread = [mid for mid, count in raised if count == 1]
    # The author has read everything up to their own message.
    was_unread = (
        db.session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation.id,
                ConversationMember.member_id == member.id,
                ConversationMember.unread_count > 0,
            )
            .values(unread_count=0, last_read_message_id=message.id, last_message_at=now)
            .returning(ConversationMember.member_id)
            .execution_options(**_NO_SYNC)
        ).first()
        is not None
    )
    if not was_unread:
        db.session.execute(
            update(ConversationMember)
            .where(
                ConversationMember.conversation_id == conversation.id,
                ConversationMember.member_id == member.id,
            )
            .values(last_read_message_id=message.id, last_message_at=now)
            .execution_options(**_NO_SYNC)
        )
    _adjust_unread_messages(newly_unread, member.id if was_unread else None)
    db.session.commit()
    return message


def _adjust_unread_messages(up: list[int], down: int | None) -> None:
    """One ``UPDATE`` of ``Member.unread_messages``: +1 for ``up``, -1 (not below 0) for
    ``down``. One statement, so concurrent writers lock member rows in the same order."""
    ids = [*up, *([down] if down is not None else [])]
    if not ids:
        return
    delta = (
        case((Member.id == down, Member.unread_messages - 1), else_=Member.unread_messages + 1)
        if down is not None
        else Member.unread_messages + 1
    )
    condition = Member.id.in_(ids)
    if down is not None:
        condition = condition & ((Member.id != down) | (Member.unread_messages > 0))
    db.session.execute(
        update(Member).where(condition).values(unread_messages=delta).execution_options(**_NO_SYNC)
    )


def mark_read(member: Member, conversation: Conversation) -> bool:
    """``member`` has read ``conversation`` to its latest message. Returns True (and
    commits) when it was unread; False, writing nothing, when it was read already.

    The membership row is locked before the latest message id is read, in a statement of
    its own: a reply holds that lock until it commits, so the id read afterwards includes
    every message counted as unread. (One ``UPDATE`` with a subquery would read the id from
    the snapshot taken before it waited for the lock, and lose a message on PostgreSQL.)
    """
    mine = (
        ConversationMember.conversation_id == conversation.id,
        ConversationMember.member_id == member.id,
    )
    unread = db.session.execute(
        select(ConversationMember.member_id)
        .where(*mine, ConversationMember.unread_count > 0)
        .with_for_update()
    ).first()
    if unread is None:
        return False
    latest = db.session.execute(
        select(func.coalesce(Conversation.last_message_id, 0)).where(
            Conversation.id == conversation.id
        )
    ).scalar_one()
    db.session.execute(
        update(ConversationMember)
        .where(*mine)
        .values(unread_count=0, last_read_message_id=latest)
        .execution_options(**_NO_SYNC)
    )
    _adjust_unread_messages([], member.id)
    db.session.commit()
    return True


def leave(member: Member, conversation: Conversation) -> None:
    """``member`` leaves ``conversation``: it leaves their inbox, they get no more of its
    messages and cannot open it again. The others keep it. Commits.

    :class:`NotFound` if ``member`` is not (or no longer) a participant.
    """
    row = _membership(conversation.id, member.id)
    if row is None or row.left_at is not None:
        raise NotFound("conversation")
    mark_read(member, conversation)
    db.session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation.id,
            ConversationMember.member_id == member.id,
        )
        .values(left_at=utcnow(), unread_count=0)
        .execution_options(**_NO_SYNC)
    )
    db.session.commit()


# -- reads ---------------------------------------------------------------------------------------


def get(conversation_id: int, member: Member | None) -> tuple[Conversation, ConversationMember]:
    """The conversation and ``member``'s place in it, if they are a current participant;
    :class:`NotFound` otherwise (outsiders must not learn that it exists). One query."""
    if member is None:
        raise NotFound("conversation")
    row = db.session.execute(
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            Conversation.id == conversation_id,
            ConversationMember.member_id == member.id,
            ConversationMember.left_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("conversation")
    return row[0], row[1]


def get_message(message_id: int, member: Member | None) -> Message:
    """A message of a conversation ``member`` currently takes part in, else :class:`NotFound`."""
    message = db.session.get(Message, message_id)
    if message is None or member is None:
        raise NotFound("message")
    row = _membership(message.conversation_id, member.id)
    if row is None or row.left_at is not None:
        raise NotFound("message")
    return message


def inbox(
    member: Member, page: int = 1, per_page: int = INBOX_PER_PAGE
) -> tuple[list[InboxRow], int]:
    """``member``'s conversations, latest activity first: (rows of ``page``, pages).

    Three queries whatever the page holds: the count, the rows with their latest message,
    the other members of those conversations.
    """
    me = ConversationMember
    total = db.session.execute(
        select(func.count()).select_from(me).where(me.member_id == member.id, me.left_at.is_(None))
    ).scalar_one()
    author = aliased(Member)
    rows = db.session.execute(
        select(
            Conversation.id,
            Conversation.subject,
            Conversation.message_count,
            me.last_message_at,
            me.unread_count,
            Message.html,
            Message.hidden_at,
            Message.author_id,
            author.username,
            author.display_name,
        )
        .join(Conversation, Conversation.id == me.conversation_id)
        .outerjoin(Message, Message.id == Conversation.last_message_id)
        .outerjoin(author, author.id == Message.author_id)
        .where(me.member_id == member.id, me.left_at.is_(None))
        .order_by(me.last_message_at.desc(), me.conversation_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    others: dict[int, list[Member]] = {r.id: [] for r in rows}
    if others:
        for conversation_id, other in db.session.execute(
            select(ConversationMember.conversation_id, Member)
            .join(Member, Member.id == ConversationMember.member_id)
            .where(
                ConversationMember.conversation_id.in_(list(others)),
                ConversationMember.member_id != member.id,
            )
            .order_by(ConversationMember.joined_at, Member.id)
        ):
            others[conversation_id].append(other)
    result = []
    for r in rows:
        hidden = r.hidden_at is not None
        text = "" if hidden or r.html is None else " ".join(Markup(r.html).striptags().split())
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS] + "…"
        result.append(
            InboxRow(
                id=r.id,
                subject=r.subject,
                others=others[r.id],
                message_count=r.message_count,
                last_at=r.last_message_at,
                last_excerpt=text,
                last_hidden=hidden,
                last_author=(r.display_name or r.username) if r.username else None,
                last_by_me=r.author_id == member.id,
                unread_count=r.unread_count,
            )
        )
    return result, page_count(total, per_page)


def message_pages(conversation: Conversation, per_page: int = MESSAGES_PER_PAGE) -> int:
    """How many pages of messages ``conversation`` has (no query)."""
    return page_count(conversation.message_count, per_page)


def page_info(
    conversation: Conversation,
    membership: ConversationMember,
    last_read_message_id: int | None = None,
) -> ConversationPage:
    """The participants and reply state of ``conversation`` for ``membership``'s member.
    ``last_read_message_id``: what they had read before this visit (default: the row's).

    One query for the participants, plus one block lookup in a one-to-one conversation.
    """
    member_id = membership.member_id
    if last_read_message_id is None:
        last_read_message_id = membership.last_read_message_id
    rows = db.session.execute(
        select(Member, ConversationMember.left_at)
        .join(ConversationMember, ConversationMember.member_id == Member.id)
        .where(ConversationMember.conversation_id == conversation.id)
        .order_by(ConversationMember.joined_at, Member.id)
    ).all()
    participants = [Participant(m, left is not None) for m, left in rows]
    others = [p for p in participants if p.member.id != member_id]
    info = ConversationPage(
        conversation=conversation,
        participants=participants,
        last_read_message_id=last_read_message_id,
        is_group=len(others) > 1,
        alone=all(p.left for p in others),
    )
    if len(others) == 1 and not info.alone:
        info.blocked_by_other = blocks.is_blocked(others[0].member.id, member_id)
    return info


def messages(
    conversation: Conversation,
    member: Member,
    page: int = 1,
    per_page: int = MESSAGES_PER_PAGE,
    last_read_message_id: int | None = None,
) -> list[MessageView]:
    """Page ``page`` of ``conversation``'s messages, oldest first, for participant ``member``
    (check with :func:`get`). Hidden messages come without their text. One query.

    ``last_read_message_id`` (the member's, before this visit) marks the newer ones ``new``.
    """
    author = aliased(Member)
    rows = db.session.execute(
        select(Message, author)
        .outerjoin(author, author.id == Message.author_id)
        .where(Message.conversation_id == conversation.id)
        .order_by(Message.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    seen = last_read_message_id if last_read_message_id is not None else 0
    return [
        MessageView(
            id=m.id,
            author=a,
            html=Markup("") if m.hidden_at is not None else Markup(m.html),
            created_at=m.created_at,
            hidden=m.hidden_at is not None,
            mine=m.author_id == member.id,
            new=m.id > seen and m.author_id != member.id,
        )
        for m, a in rows
    ]
