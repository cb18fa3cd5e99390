"""Members: registration, sign-in, tokens by mail, profile, groups and bans."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime
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
from forum.services import site
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
_DUMMY_HASH = generate_password_hash("not-a-real-password")


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
        password_hash=generate_password_hash(password),
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
        check_password_hash(_DUMMY_HASH, password)  # same time whether or not the name exists
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
    member.password_hash = generate_password_hash(new_password)
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
    member.password_hash = generate_password_hash(new)
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


def set_membership(
    member: Member, group: Group, *, expires_at: datetime | None = None, source: str = "admin"
) -> GroupMembership:
    """Put ``member`` in ``group`` until ``expires_at`` (or change the expiry). Commits."""
    if group.key in ("guest", "member"):
        raise ServiceError(_("Everybody is in this group already; it cannot be assigned."))
    if group.is_admin and expires_at is not None and expires_at <= utcnow():
        _keep_an_admin(member)
    row = db.session.execute(
        select(GroupMembership).where(
            GroupMembership.member_id == member.id, GroupMembership.group_id == group.id
        )
    ).scalar_one_or_none()
    action = "changed"
    if row is None:
        row = GroupMembership(member_id=member.id, group_id=group.id)
        db.session.add(row)
        action = "added"
    row.expires_at = expires_at
    row.source = source
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


def remove_membership(member: Member, group: Group) -> None:
    """Take ``member`` out of ``group``. Commits."""
    if group.is_admin:
        _keep_an_admin(member)
    removed = db.session.execute(
        GroupMembership.__table__.delete().where(
            GroupMembership.member_id == member.id, GroupMembership.group_id == group.id
        )
    ).rowcount
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


def ban(member: Member, reason: str, until: datetime | None = None) -> None:
    """Ban a member (``until`` None: for good). A ban signs them out everywhere. Commits."""
    reason = reason.strip()
    if not reason:
        raise ServiceError(_("Please give a reason for the ban."), "reason")
    _keep_an_admin(member)
    member.status = "banned"
    member.ban_reason = reason[:500]
    member.banned_until = until
    member.session_token = secrets.token_hex(8)
    db.session.commit()
    clear_request_cache()


def unban(member: Member) -> None:
    """Lift a ban. Commits."""
    member.status = "active"
    member.banned_until = None
    db.session.commit()
    clear_request_cache()


def approve(member: Member) -> None:
    """Approve a member waiting in approval mode. Commits."""
    if member.status != "pending":
        raise ServiceError(_("This member is not waiting for approval."))
    member.status = "active"
    db.session.commit()


def search_members(query: str = "", page: int = 1, per_page: int = 50) -> tuple[list[Member], int]:
    """Members whose username, display name or e-mail contains ``query``; newest first."""
    stmt = select(Member)
    if query:
        like = f"%{query.strip().casefold()}%"
        stmt = stmt.where(
            Member.username_key.like(like)
            | Member.email_key.like(like)
            | func.lower(Member.display_name).like(like)
        )
    total = db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = db.session.execute(
        stmt.order_by(Member.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).scalars()
    return list(rows), total


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
