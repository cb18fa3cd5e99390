"""Members: registration, sign-in, tokens by mail, profile, groups and bans."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from forum import plugins
from forum.extensions import db
from forum.models import Group, GroupMembership, Member
from forum.models.base import utcnow
from forum.models.groups import MEMBERSHIP_SOURCES
from forum.services import moderation, site
from forum.services.errors import NotFound, ServiceError
from forum.services.mail import send_mail
from forum.services.site import bump_version, clear_request_cache

USERNAME_RE = re.compile(r"^[\w\-]{2,20}$")
RESERVED_USERNAMES = frozenset(
    [
        "admin",
        "administrator",
        "root",
        "system",
        "sysop",
        "moderator",
        "mod",
        "staff",
        "guest",
        "anonymous",
        "anon",
        "null",
        "none",
        "undefined",
        "api",
        "static",
        "uploads",
        "login",
        "logout",
        "register",
        "settings",
        "search",
        "new",
        "notifications",
        "messages",
        "support",
        "help",
        "official",
        "forum",
        "shequn",
        "webmaster",
        "postmaster",
        "管理员",
        "版主",
        "系统",
        "客服",
        "官方",
        "社群",
        "匿名",
        "游客",
    ]
)
LOCALES = ("zh_Hans", "zh_Hant", "en")
PASSWORD_MIN = 8
_DUMMY_HASHES: dict[str, str] = {}


def _hash_password(password: str) -> str:
    """The stored form of ``password``, by the ``PASSWORD_HASH_METHOD`` setting (scrypt;
    the test suite sets a cheap one: hashing was most of the time its fixtures took)."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    """A hash made like members' are, to check a password against when the name is unknown."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def username_key(username: str) -> str:
    """The case-folded, width-normalised form that must be unique."""
    return unicodedata.normalize("NFKC", username).casefold()


def validate_username(username: str) -> str:
    """Return the cleaned username or raise :class:`ServiceError` saying what is wrong."""
    username = unicodedata.normalize("NFKC", username.strip())
    if not 2 <= len(username) <= 20:
        raise ServiceError(_("A username has 2 to 20 characters."), "username")
    if not USERNAME_RE.match(username):
        raise ServiceError(
            _("A username may use letters (Chinese too), digits, _ and - only."), "username"
        )
    if username.casefold() in RESERVED_USERNAMES:
        raise ServiceError(_("This username is reserved."), "username")
    return username


def normalise_email(email: str) -> str:
    """Validate an e-mail address (syntax only, no DNS) and return its normal form."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ServiceError(_("This is not a valid e-mail address."), "email") from None


def validate_password(password: str, username: str = "") -> None:
    """Raise :class:`ServiceError` for a password that is too short or too obvious."""
    if len(password) < PASSWORD_MIN:
        raise ServiceError(
            _("A password has at least %(n)d characters.", n=PASSWORD_MIN), "password"
        )
    if len(password) > 200:
        raise ServiceError(_("A password has at most 200 characters."), "password")
    if username and password.casefold() == username.casefold():
        raise ServiceError(_("The password must not be your username."), "password")


def get_by_username(username: str) -> Member | None:
    """The member with this username (any case), or None."""
    return db.session.execute(
        select(Member).where(Member.username_key == username_key(username))
    ).scalar_one_or_none()


def get_by_login(login: str) -> Member | None:
    """The member whose username or e-mail is ``login``."""
    login = login.strip()
    column = Member.email_key if "@" in login else Member.username_key
    return db.session.execute(select(Member).where(column == login.casefold())).scalar_one_or_none()


def _new_member(username: str, email: str, password: str) -> Member:
    """A validated, unsaved, active, unconfirmed member; refuses taken names and addresses."""
    username = validate_username(username)
    email = normalise_email(email)
    validate_password(password, username)
    if get_by_username(username) is not None:
        raise ServiceError(_("This username is taken."), "username")
    if db.session.execute(select(Member.id).where(Member.email_key == email.casefold())).first():
        raise ServiceError(_("An account with this e-mail address exists already."), "email")
    return Member(
        username=username,
        username_key=username_key(username),
        email=email,
        email_key=email.casefold(),
        password_hash=_hash_password(password),
        status="active",
        email_confirmed_at=None,
        session_token=secrets.token_hex(8),
    )


def register(username: str, email: str, password: str, display_name: str = "") -> Member:
    """Create a member according to the site's registration mode. Commits.

    Open mode makes an active member; approval mode a pending one that an admin must
    approve. When the site requires it, a confirmation link is mailed and sign-in waits for
    it. Raises :class:`ServiceError` (with the offending field) for anything wrong.
    """
    mode = site.setting("registration_mode")
    if mode == "closed":
        raise ServiceError(_("Registration is closed on this site."))
    member = _new_member(username, email, password)
    plugins.check_before("forum_before_register", username=member.username, email=member.email)
    member.display_name = (display_name or "").strip()[:40]
    member.status = "pending" if mode == "approval" else "active"
    if not site.setting("require_email_confirmation"):
        member.email_confirmed_at = utcnow()
    db.session.add(member)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("This username or e-mail address is taken."), "username") from None
    if member.email_confirmed_at is None:
        send_confirmation(member)
    plugins.fire("forum_member_registered", member=member)
    return member


def create_member(
    username: str,
    email: str,
    password: str,
    *,
    confirmed: bool = True,
    groups: tuple[str, ...] = (),
) -> Member:
    """Create an active member directly (CLI, admin, demo, tests), bypassing site modes.

    Adds the member to the groups named by key. Commits.
    """
    member = _new_member(username, email, password)
    if confirmed:
        member.email_confirmed_at = utcnow()
    db.session.add(member)
    db.session.flush()
    for key in groups:
        group = db.session.execute(select(Group).where(Group.key == key)).scalar_one()
        db.session.add(GroupMembership(member_id=member.id, group_id=group.id, source="admin"))
    db.session.commit()
    return member


def authenticate(login: str, password: str) -> Member:
    """Return the member for these credentials or raise :class:`ServiceError`.

    The message does not say whether the name or the password was wrong.
    """
    member = get_by_login(login)
    if member is None:
        check_password_hash(_dummy_hash(), password)  # same time whether or not the name exists
        raise ServiceError(_("Wrong username or password."))
    if not check_password_hash(member.password_hash, password):
        raise ServiceError(_("Wrong username or password."))
    if member.email_confirmed_at is None:
        raise ServiceError(
            _("Please confirm your e-mail address first: follow the link we sent you."),
            "unconfirmed",
        )
    if member.status == "pending":
        raise ServiceError(_("Your account is waiting for approval by an administrator."))
    if member.is_banned:
        if member.banned_until:
            raise ServiceError(
                _(
                    "Your account is suspended until %(date)s: %(reason)s",
                    date=member.banned_until.strftime("%Y-%m-%d %H:%M UTC"),
                    reason=member.ban_reason or "-",
                )
            )
        raise ServiceError(_("Your account is banned: %(reason)s", reason=member.ban_reason or "-"))
    member.last_seen_at = utcnow()
    db.session.commit()
    return member


# -- tokens by mail ---------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(salt: str, payload: dict) -> str:
    """A signed, timestamped token for ``payload``."""
    return _serializer(salt).dumps(payload)


def read_token(salt: str, token: str) -> dict:
    """The payload of a token made by :func:`make_token`, or :class:`ServiceError` if the
    token is forged, damaged or older than ``TOKEN_MAX_AGE``."""
    try:
        return _serializer(salt).loads(token, max_age=current_app.config["TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise ServiceError(_("This link has expired. Please ask for a new one.")) from None
    except BadSignature:
        raise ServiceError(_("This link is not valid.")) from None


def _link(endpoint: str, token: str) -> str:
    """An absolute link into the site, built without needing a request (jobs, CLI, tests)."""
    path = current_app.url_map.bind("localhost").build(endpoint, {"token": token})
    return current_app.config["SITE_URL"].rstrip("/") + path


def send_confirmation(member: Member, new_email: str | None = None) -> None:
    """Mail a link that confirms ``member``'s e-mail (or a change to ``new_email``)."""
    email = new_email or member.email
    token = make_token("confirm-email", {"id": member.id, "email": email})
    name = site.setting("site_name")
    send_mail(
        email,
        _("Confirm your e-mail address for %(site)s", site=name),
        _(
            "Hello %(name)s,\n\nplease open this link to confirm your e-mail address:\n%(link)s\n",
            name=member.username,
            link=_link("auth.confirm", token),
        ),
    )


def confirm_email(token: str) -> Member:
    """Apply a confirmation token: mark the address confirmed (or switch to the new one)."""
    data = read_token("confirm-email", token)
    member = db.session.get(Member, data.get("id"))
    if member is None:
        raise ServiceError(_("This link is not valid."))
    email = data["email"]
    if member.email != email:
        if db.session.execute(
            select(Member.id).where(Member.email_key == email.casefold(), Member.id != member.id)
        ).first():
            raise ServiceError(_("An account with this e-mail address exists already."))
        member.email = email
        member.email_key = email.casefold()
    member.email_confirmed_at = member.email_confirmed_at or utcnow()
    db.session.commit()
    return member


def resend_confirmation(login: str) -> None:
    """Mail a new confirmation link to an unconfirmed member; silent for unknown names."""
    member = get_by_login(login)
    if member is not None and member.email_confirmed_at is None:
        send_confirmation(member)


def request_password_reset(email: str) -> None:
    """Mail a reset link if an account has this address. Says nothing either way."""
    member = get_by_login(email) if "@" in email else None
    if member is None:
        return
    token = make_token("reset-password", {"id": member.id, "h": member.password_hash[-16:]})
    send_mail(
        member.email,
        _("Reset your password for %(site)s", site=site.setting("site_name")),
        _(
            "Hello %(name)s,\n\nopen this link to choose a new password:\n%(link)s\n\n"
            "If you did not ask for this, ignore this message.",
            name=member.username,
            link=_link("auth.reset_password", token),
        ),
    )


def reset_password(token: str, new_password: str) -> Member:
    """Set a new password with a reset token. A token works once: it is tied to the old hash."""
    data = read_token("reset-password", token)
    member = db.session.get(Member, data.get("id"))
    if member is None or member.password_hash[-16:] != data.get("h"):
        raise ServiceError(_("This link has been used already or is not valid."))
    validate_password(new_password, member.username)
    member.password_hash = _hash_password(new_password)
    member.session_token = secrets.token_hex(8)
    if member.email_confirmed_at is None:
        member.email_confirmed_at = utcnow()  # they proved they read the mailbox
    db.session.commit()
    return member


# -- settings ---------------------------------------------------------------------------------


def change_password(member: Member, current: str, new: str) -> None:
    """Change the password after checking the current one; signs out other sessions."""
    if not check_password_hash(member.password_hash, current):
        raise ServiceError(_("The current password is wrong."), "current_password")
    validate_password(new, member.username)
    member.password_hash = _hash_password(new)
    member.session_token = secrets.token_hex(8)
    db.session.commit()


def request_email_change(member: Member, password: str, new_email: str) -> None:
    """Mail a confirmation link to ``new_email``; the address changes when it is followed."""
    if not check_password_hash(member.password_hash, password):
        raise ServiceError(_("The current password is wrong."), "current_password")
    email = normalise_email(new_email)
    if db.session.execute(
        select(Member.id).where(Member.email_key == email.casefold(), Member.id != member.id)
    ).first():
        raise ServiceError(_("An account with this e-mail address exists already."), "email")
    send_confirmation(member, new_email=email)


def update_profile(
    member: Member,
    *,
    display_name: str | None = None,
    bio: str | None = None,
    timezone: str | None = None,
    locale: str | None = None,
) -> None:
    """Change profile fields; ``None`` leaves a field as it is. Commits."""
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 40:
            raise ServiceError(_("A display name has at most 40 characters."), "display_name")
        if display_name != member.display_name:
            bump_version()  # names show on cached pages
        member.display_name = display_name
    if bio is not None:
        if len(bio) > 2000:
            raise ServiceError(_("The bio has at most 2000 characters."), "bio")
        member.bio = bio.strip()
    if timezone is not None:
        if timezone and timezone not in available_timezones():
            raise ServiceError(_("Unknown time zone."), "timezone")
        member.timezone = timezone
    if locale is not None:
        if locale and locale not in LOCALES:
            raise ServiceError(_("Unknown language."), "locale")
        member.locale = locale
    db.session.commit()


def set_avatar(member: Member, path: str | None) -> None:
    """Point the member's avatar at an upload path (or remove it). Commits."""
    member.avatar = path
    bump_version()  # avatars show on cached pages
    db.session.commit()


# -- groups and bans (admin) ------------------------------------------------------------------


def memberships(member: Member) -> list[GroupMembership]:
    """All the member's membership rows, expired ones included, by group position."""
    return list(
        db.session.execute(
            select(GroupMembership)
            .join(Group)
            .where(GroupMembership.member_id == member.id)
            .order_by(Group.position, Group.id)
        ).scalars()
    )


def _other_active_admins(member: Member) -> int:
    """How many active admins there are besides ``member``."""
    now = utcnow()
    return db.session.execute(
        select(func.count(func.distinct(GroupMembership.member_id)))
        .join(Group, GroupMembership.group_id == Group.id)
        .join(Member, GroupMembership.member_id == Member.id)
        .where(
            Group.is_admin.is_(True),
            GroupMembership.member_id != member.id,
            (GroupMembership.expires_at.is_(None)) | (GroupMembership.expires_at > now),
            Member.status == "active",
        )
    ).scalar_one()


def _keep_an_admin(member: Member) -> None:
    """Refuse a change that would leave the site without an active administrator."""
    if _other_active_admins(member) == 0 and any(
        m.group.is_admin and (m.expires_at is None or m.expires_at > utcnow())
        for m in memberships(member)
    ):
        raise ServiceError(_("The site needs at least one administrator."))


def _put_in_group(
    member: Member,
    group: Group,
    row: GroupMembership | None,
    expires_at: datetime | None,
    source: str,
    actor: Member | None,
) -> tuple[GroupMembership, str]:
    """Make or update ``member``'s membership ``row`` of ``group`` (None: make one), log it
    as ``group_add`` when an ``actor`` made the change, and say whether it was ``added`` or
    ``changed``. Does not commit."""
    action = "changed"
    if row is None:
        row = GroupMembership(member_id=member.id, group_id=group.id)
        db.session.add(row)
        action = "added"
    previous = row.expires_at
    row.expires_at = expires_at
    row.source = source
    if actor is not None:
        _log(
            actor,
            "group_add",
            member,
            group_id=group.id,
            group=group.name,
            expires_at=expires_at,
            **({"previous_expires_at": previous} if action == "changed" else {}),
        )
    return row, action


def set_membership(
    member: Member,
    group: Group,
    *,
    expires_at: datetime | None = None,
    source: str = "admin",
    actor: Member | None = None,
) -> GroupMembership:
    """Put ``member`` in ``group`` until ``expires_at`` (or change the expiry). Commits.

    With ``actor`` (an admin's change) the change is written to the moderation log.
    """
    if group.key in ("guest", "member"):
        raise ServiceError(_("Everybody is in this group already; it cannot be assigned."))
    if group.is_admin and expires_at is not None and expires_at <= utcnow():
        _keep_an_admin(member)
    row = db.session.execute(
        select(GroupMembership).where(
            GroupMembership.member_id == member.id, GroupMembership.group_id == group.id
        )
    ).scalar_one_or_none()
    row, action = _put_in_group(member, group, row, expires_at, source, actor)
    db.session.commit()
    clear_request_cache()
    plugins.fire(
        "forum_member_groups_changed",
        member=member,
        group=group,
        action=action,
        expires_at=expires_at,
    )
    return row


def remove_membership(member: Member, group: Group, *, actor: Member | None = None) -> None:
    """Take ``member`` out of ``group``. Commits. With ``actor``, logged (moderation log)."""
    if group.is_admin:
        _keep_an_admin(member)
    removed = db.session.execute(
        GroupMembership.__table__.delete().where(
            GroupMembership.member_id == member.id, GroupMembership.group_id == group.id
        )
    ).rowcount
    if removed and actor is not None:
        _log(actor, "group_remove", member, group_id=group.id, group=group.name)
    db.session.commit()
    clear_request_cache()
    if removed:
        plugins.fire(
            "forum_member_groups_changed",
            member=member,
            group=group,
            action="removed",
            expires_at=None,
        )


def ban(
    member: Member, reason: str, until: datetime | None = None, *, actor: Member | None = None
) -> None:
    """Ban a member (``until`` None: for good). A ban signs them out everywhere. Commits.

    With ``actor`` (an admin's ban) it is logged, and banning yourself is refused.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give a reason for the ban."), "reason")
    if actor is not None and actor.id == member.id:
        raise ServiceError(_("Refused: you cannot ban yourself. Nothing was changed."))
    _keep_an_admin(member)
    member.status = "banned"
    member.ban_reason = reason[:500]
    member.banned_until = until
    member.session_token = secrets.token_hex(8)
    if actor is not None:
        _log(actor, "ban", member, reason, until=until)
    db.session.commit()
    clear_request_cache()


def unban(member: Member, *, actor: Member | None = None) -> None:
    """Lift a ban. Commits. With ``actor``, logged (moderation log)."""
    was_banned = member.status == "banned"
    member.status = "active"
    member.banned_until = None
    if actor is not None and was_banned:
        _log(actor, "unban", member)
    db.session.commit()
    clear_request_cache()


def approve(member: Member, *, actor: Member | None = None) -> None:
    """Approve a member waiting in approval mode. Commits. With ``actor``, logged."""
    if member.status != "pending":
        raise ServiceError(_("This member is not waiting for approval."))
    member.status = "active"
    if actor is not None:
        _log(actor, "approve", member)
    db.session.commit()


def get_member(member_id: int) -> Member:
    """The member with this id or :class:`NotFound`."""
    member = db.session.get(Member, member_id)
    if member is None:
        raise NotFound("member")
    return member


def pending_members(page: int = 1, per_page: int = 50) -> tuple[list[Member], int]:
    """Members waiting for approval (registration mode ``approval``), oldest first, and the
    total count."""
    stmt = select(Member).where(Member.status == "pending")
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(
        stmt.order_by(Member.id).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return list(rows), total


# -- the admin's member list and bulk actions -------------------------------------------------

#: How the admin's member list can be ordered (each newest / most first).
MEMBER_SORTS = ("joined", "posts", "last_seen")
#: Statuses the member list filters by ("active" includes members whose ban has run out).
MEMBER_FILTER_STATUSES = ("active", "pending", "banned")
#: At most this many members in one bulk action (a page of the member list has 50).
BULK_MAX = 200


@dataclass(frozen=True)
class MemberQuery:
    """The admin member list's filters; the defaults filter nothing.

    ``joined_before`` is naive UTC (the view turns the admin's date into the start of that
    day in the site's zone); ``joined_within_days`` counts back from now.
    """

    text: str = ""
    group_id: int | None = None
    status: str = ""
    joined_within_days: int | None = None
    joined_before: datetime | None = None
    sort: str = "joined"


def _in_force(now: datetime):
    """SQL: the membership row has not expired."""
    return GroupMembership.expires_at.is_(None) | (GroupMembership.expires_at > now)


def list_members(
    filters: MemberQuery, page: int = 1, per_page: int = 50
) -> tuple[list[Member], int]:
    """One page of the members ``filters`` select, and how many they select in all. Two
    queries. Unknown sorts and statuses raise ``ValueError`` (the form offers only these)."""
    if filters.sort not in MEMBER_SORTS:
        raise ValueError(f"unknown sort {filters.sort!r}")
    if filters.status and filters.status not in MEMBER_FILTER_STATUSES:
        raise ValueError(f"unknown status {filters.status!r}")
    now = utcnow()
    stmt = select(Member)
    text = filters.text.strip().casefold()
    if text:
        stmt = stmt.where(
            Member.username_key.contains(text, autoescape=True)
            | Member.email_key.contains(text, autoescape=True)
            | func.lower(Member.display_name).contains(text, autoescape=True)
        )
    if filters.group_id is not None:
        stmt = stmt.where(
            select(GroupMembership.id)
            .where(
                GroupMembership.member_id == Member.id,
                GroupMembership.group_id == filters.group_id,
                _in_force(now),
            )
            .exists()
        )
    ban_in_force = (Member.status == "banned") & (
        Member.banned_until.is_(None) | (Member.banned_until > now)
    )
    if filters.status == "banned":
        stmt = stmt.where(ban_in_force)
    elif filters.status == "pending":
        stmt = stmt.where(Member.status == "pending")
    elif filters.status == "active":
        stmt = stmt.where(Member.status != "pending", ~ban_in_force)
    if filters.joined_within_days is not None:
        stmt = stmt.where(Member.created_at >= now - timedelta(days=filters.joined_within_days))
    if filters.joined_before is not None:
        stmt = stmt.where(Member.created_at < filters.joined_before)
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    order = {
        "joined": (Member.created_at.desc(), Member.id.desc()),
        "posts": (Member.post_count.desc(), Member.id.desc()),
        "last_seen": (Member.last_seen_at.desc().nulls_last(), Member.id.desc()),
    }[filters.sort]
    rows = db.session.execute(
        stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return list(rows), total


def current_memberships(member_ids: Iterable[int]) -> dict[int, list[GroupMembership]]:
    """member id → their memberships in force (with the group loaded), by group position.
    One query for the whole list."""
    ids = list(member_ids)
    result: dict[int, list[GroupMembership]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = db.session.execute(
        select(GroupMembership)
        .join(Group, GroupMembership.group_id == Group.id)
        .where(GroupMembership.member_id.in_(ids), _in_force(utcnow()))
        .order_by(Group.position, Group.id)
    ).scalars()
    for row in rows:
        result[row.member_id].append(row)
    return result


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: members it changed, and selected ones it left as they were
    (already in the group with that expiry, not banned, not waiting …)."""

    changed: int
    unchanged: int


def _selected(member_ids: Iterable[int]) -> list[Member]:
    """The selected members, refusing an empty, oversized or stale selection."""
    ids = sorted({int(i) for i in member_ids})
    if not ids:
        raise ServiceError(_("Select at least one member first."), "members")
    if len(ids) > BULK_MAX:
        raise ServiceError(_("Select at most %(n)d members at once.", n=BULK_MAX), "members")
    found = list(
        db.session.execute(select(Member).where(Member.id.in_(ids)).order_by(Member.id)).scalars()
    )
    if len(found) != len(ids):
        raise ServiceError(
            _("Some of the selected members do not exist any more; nothing was changed."),
            "members",
        )
    return found


def _bulk_group(group_id: int | None) -> Group:
    group = db.session.get(Group, group_id) if group_id is not None else None
    if group is None:
        raise ServiceError(_("Choose an existing group."), "group")
    if group.key in ("guest", "member"):
        raise ServiceError(_("Everybody is in this group already; it cannot be assigned."), "group")
    return group


def _admin_groups_in_force() -> dict[int, set[int]]:
    """member id → the admin groups they are in now, for active members. One query."""
    rows = db.session.execute(
        select(GroupMembership.member_id, GroupMembership.group_id)
        .join(Group, GroupMembership.group_id == Group.id)
        .join(Member, GroupMembership.member_id == Member.id)
        .where(Group.is_admin.is_(True), _in_force(utcnow()), Member.status == "active")
    )
    result: dict[int, set[int]] = {}
    for member_id, group_id in rows:
        result.setdefault(member_id, set()).add(group_id)
    return result


def _keep_an_admin_after(selected: list[Member], losing: Callable[[set[int]], set[int]]) -> None:
    """Refuse a batch after which no active administrator would be left.

    ``losing(groups)`` is what a selected member's admin groups become after the action.
    """
    admins = _admin_groups_in_force()
    chosen = {m.id for m in selected}
    left = [mid for mid, gs in admins.items() if (losing(gs) if mid in chosen else gs)]
    if admins and not left:
        names = ", ".join(m.username for m in selected if m.id in admins)
        raise ServiceError(
            _(
                "Refused: the site needs at least one administrator, and %(names)s would "
                "lose it. Nothing was changed.",
                names=names,
            )
        )


def _log(actor: Member | None, action: str, member: Member, reason: str = "", **details) -> None:
    """Append a moderation log row about ``member`` (in the caller's transaction)."""
    moderation.log_action(
        actor, action, "member", member.id, subject_id=member.id, reason=reason, **details
    )


def bulk_set_membership(
    member_ids: Iterable[int],
    group_id: int | None,
    *,
    expires_at: datetime | None = None,
    actor: Member,
    source: str = "admin",
) -> BulkResult:
    """Put every selected member in a group until ``expires_at`` (naive UTC; None: no end),
    or change the expiry of those in it already. One transaction; each change is logged
    (``group_add``) and fires ``forum_member_groups_changed``. Commits.

    Refused, changing nothing: an empty or stale selection, an unknown group, the guest or
    member group, an expiry that is not in the future.
    """
    group = _bulk_group(group_id)
    if expires_at is not None and expires_at <= utcnow():
        raise ServiceError(_("The expiry must be in the future."), "expires_at")
    if source not in MEMBERSHIP_SOURCES:
        raise ValueError(f"unknown membership source {source!r}")
    selected = _selected(member_ids)
    rows = {
        row.member_id: row
        for row in db.session.execute(
            select(GroupMembership).where(
                GroupMembership.group_id == group.id,
                GroupMembership.member_id.in_([m.id for m in selected]),
            )
        ).scalars()
    }
    fired = []
    for member in selected:
        row = rows.get(member.id)
        if row is not None and row.expires_at == expires_at and row.source == source:
            continue
        _membership, action = _put_in_group(member, group, row, expires_at, source, actor)
        fired.append((member, action))
    db.session.commit()
    clear_request_cache()
    for member, action in fired:
        plugins.fire(
            "forum_member_groups_changed",
            member=member,
            group=group,
            action=action,
            expires_at=expires_at,
        )
    return BulkResult(len(fired), len(selected) - len(fired))


def bulk_remove_membership(
    member_ids: Iterable[int], group_id: int | None, *, actor: Member
) -> BulkResult:
    """Take every selected member out of a group. One transaction; each removal is logged
    (``group_remove``) and fires ``forum_member_groups_changed``. Commits.

    Refused, changing nothing: an empty or stale selection, an unknown group, none of them
    in it, taking your own admin rights away, or leaving the site without an administrator.
    """
    group = _bulk_group(group_id)
    selected = _selected(member_ids)
    in_group = set(
        db.session.execute(
            select(GroupMembership.member_id).where(
                GroupMembership.group_id == group.id,
                GroupMembership.member_id.in_([m.id for m in selected]),
            )
        ).scalars()
    )
    if not in_group:
        raise ServiceError(
            _("None of the selected members is in the group %(name)s.", name=group.name)
        )
    if group.is_admin:
        if actor.id in in_group:
            raise ServiceError(
                _(
                    "Refused: you cannot take away your own administrator rights here; "
                    "ask another administrator. Nothing was changed."
                )
            )
        _keep_an_admin_after([m for m in selected if m.id in in_group], lambda gs: gs - {group.id})
    db.session.execute(
        GroupMembership.__table__.delete().where(
            GroupMembership.group_id == group.id, GroupMembership.member_id.in_(in_group)
        )
    )
    removed = [m for m in selected if m.id in in_group]
    for member in removed:
        _log(actor, "group_remove", member, group_id=group.id, group=group.name)
    db.session.commit()
    clear_request_cache()
    for member in removed:
        plugins.fire(
            "forum_member_groups_changed",
            member=member,
            group=group,
            action="removed",
            expires_at=None,
        )
    return BulkResult(len(removed), len(selected) - len(removed))


def bulk_ban(
    member_ids: Iterable[int], reason: str, until: datetime | None = None, *, actor: Member
) -> BulkResult:
    """Ban every selected member until ``until`` (naive UTC; None: for good), or change the
    ban of those banned already; they are signed out everywhere. One transaction; each ban
    is logged (``ban``). Commits.

    Refused, changing nothing: no reason, an end that is not in the future, an empty or
    stale selection, yourself among them, or leaving the site without an administrator.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Please give a reason for the ban."), "reason")
    if until is not None and until <= utcnow():
        raise ServiceError(_("The end of a ban must be in the future."), "until")
    selected = _selected(member_ids)
    if any(m.id == actor.id for m in selected):
        raise ServiceError(_("Refused: you cannot ban yourself. Nothing was changed."), "members")
    _keep_an_admin_after(selected, lambda gs: set())
    for member in selected:
        member.status = "banned"
        member.ban_reason = reason[:500]
        member.banned_until = until
        member.session_token = secrets.token_hex(8)
        _log(actor, "ban", member, reason, until=until)
    db.session.commit()
    clear_request_cache()
    return BulkResult(len(selected), 0)


def bulk_unban(member_ids: Iterable[int], *, actor: Member) -> BulkResult:
    """Lift the ban of every selected member who has one (ended bans too). One transaction;
    each is logged (``unban``). Commits. Refused when none of them is banned."""
    selected = _selected(member_ids)
    banned = [m for m in selected if m.status == "banned"]
    if not banned:
        raise ServiceError(_("None of the selected members is banned."), "members")
    for member in banned:
        member.status = "active"
        member.banned_until = None
        _log(actor, "unban", member)
    db.session.commit()
    clear_request_cache()
    return BulkResult(len(banned), len(selected) - len(banned))


def bulk_approve(member_ids: Iterable[int], *, actor: Member) -> BulkResult:
    """Approve every selected member who waits for approval. One transaction; each is
    logged (``approve``). Commits. Refused when none of them is waiting."""
    selected = _selected(member_ids)
    waiting = [m for m in selected if m.status == "pending"]
    if not waiting:
        raise ServiceError(_("None of the selected members is waiting for approval."), "members")
    for member in waiting:
        member.status = "active"
        _log(actor, "approve", member)
    db.session.commit()
    return BulkResult(len(waiting), len(selected) - len(waiting))
