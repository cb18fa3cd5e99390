"""New-member safeguards: posts held for approval, link and image limits, the word filter
and per-group posting rates.

:func:`screen` is called by :mod:`forum.services.posting` for every new thread and reply
(and, for the word filter, every edit) before anything is written. It returns the text to
store (word filter replacements applied) and why the post must be held, if it must; it
raises :class:`~forum.services.errors.ServiceError` when the post is refused (a blocked
phrase, too many links or images). Moderators of the board and administrators are never
held or limited; the word filter's replacements apply to everybody.

The site settings (:data:`forum.services.site.SETTING_DEFAULTS`):

- ``new_member_hold_posts``: a member's first N posts wait for approval (0: off). Counted
  by the member's *published* posts (``Member.post_count``).
- ``new_member_posts_threshold``: while a member has fewer published posts than this,
  ``new_member_max_links`` and ``new_member_max_images`` limit each post (0: no limits).

The word filter's rows (:class:`~forum.models.WordFilter`) and the groups' posting rates are
read once per worker per site state version (:func:`forum.services.site.cached`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from limits import parse_many
from sqlalchemy import func, select

from forum.extensions import db
from forum.markup import render
from forum.models import Group, Member, WordFilter
from forum.models.moderation import WORD_FILTER_ACTIONS
from forum.services import moderation, permissions, site
from forum.services.errors import NotFound, ServiceError

PHRASE_MAX = 100

_EXTERNAL_LINK = re.compile(r"<a\s[^>]*href=\"(?:https?:)?//", re.I)
_IMAGE = re.compile(r"<img\s", re.I)


@dataclass
class Screened:
    """What :func:`screen` found: the text to store and why the post is held (empty: not)."""

    body: str
    title: str | None = None
    hold_reasons: list[str] = field(default_factory=list)

    @property
    def held(self) -> bool:
        return bool(self.hold_reasons)


def exempt(member: Member | None, board_id: int | None = None) -> bool:
    """True for members safeguards never hold or limit: administrators and moderators
    (of ``board_id``, or of any board when it is None)."""
    if member is None:
        return False
    if board_id is None:
        return moderation.can_moderate(member)
    return permissions.is_admin(member) or permissions.is_moderator(member, board_id)


# -- the word filter ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    phrase: str
    action: str
    replacement: str
    pattern: re.Pattern


def _rules() -> tuple[_Rule, ...]:
    def load() -> tuple[_Rule, ...]:
        rows = db.session.execute(
            select(WordFilter.phrase, WordFilter.action, WordFilter.replacement).order_by(
                func.length(WordFilter.phrase).desc(), WordFilter.id
            )
        ).all()
        return tuple(
            _Rule(p, a, r, re.compile(re.escape(p), re.IGNORECASE)) for p, a, r in rows if p
        )

    return site.cached("word_filters", load)


def filter_words(text: str, *, allow_hold: bool = True) -> tuple[str, list[str]]:
    """Apply the word filter to ``text``: (the text with replacements made, the phrases
    that hold it for approval). Raises :class:`ServiceError` naming a blocked phrase.

    Matching ignores case and finds the phrase anywhere (Chinese has no word breaks).
    With ``allow_hold`` False (edits, private messages) hold phrases are reported too but
    callers usually ignore them. Usable for any member-written text (private messages).
    """
    rules = _rules()
    if not rules or not text:
        return text, []
    for rule in rules:
        if rule.action == "block" and rule.pattern.search(text):
            raise ServiceError(
                _("“%(phrase)s” is not allowed here. Please change your text.", phrase=rule.phrase),
                "body",
            )
    held: list[str] = []
    for rule in rules:
        if rule.action == "hold" and rule.pattern.search(text):
            held.append(rule.phrase)
    for rule in rules:
        if rule.action == "replace":
            text = rule.pattern.sub(lambda _m, r=rule.replacement: r, text)
    return text, held if allow_hold else []


def word_filters() -> list[WordFilter]:
    """Every word filter row, by phrase."""
    return list(db.session.execute(select(WordFilter).order_by(WordFilter.phrase)).scalars())


def get_word_filter(filter_id: int) -> WordFilter:
    """The word filter row or :class:`NotFound`."""
    row = db.session.get(WordFilter, filter_id)
    if row is None:
        raise NotFound("word filter")
    return row


def _clean_filter(
    phrase: str, action: str, replacement: str, own_id: int | None
) -> tuple[str, str, str]:
    phrase = " ".join((phrase or "").split())
    if not phrase:
        raise ServiceError(_("Please enter a word or phrase."), "phrase")
    if len(phrase) > PHRASE_MAX:
        raise ServiceError(_("A phrase has at most %(n)d characters.", n=PHRASE_MAX), "phrase")
    if action not in WORD_FILTER_ACTIONS:
        raise ServiceError(_("Please choose what the filter does."), "action")
    replacement = (replacement or "").strip()
    if action == "replace" and not replacement:
        raise ServiceError(_("Please enter the replacement text."), "replacement")
    if len(replacement) > PHRASE_MAX:
        raise ServiceError(
            _("A replacement has at most %(n)d characters.", n=PHRASE_MAX), "replacement"
        )
    if action != "replace":
        replacement = ""
    clash = db.session.execute(
        select(WordFilter.id).where(func.lower(WordFilter.phrase) == phrase.lower())
    ).scalar_one_or_none()
    if clash is not None and clash != own_id:
        raise ServiceError(_("This phrase is in the filter already."), "phrase")
    return phrase, action, replacement


def add_word_filter(phrase: str, action: str, replacement: str = "") -> WordFilter:
    """Add a phrase to the word filter (``replace`` needs a replacement). Commits."""
    phrase, action, replacement = _clean_filter(phrase, action, replacement, None)
    row = WordFilter(phrase=phrase, action=action, replacement=replacement)
    db.session.add(row)
    site.bump_version()
    db.session.commit()
    return row


def update_word_filter(row: WordFilter, phrase: str, action: str, replacement: str = "") -> None:
    """Change a word filter row. Commits."""
    row.phrase, row.action, row.replacement = _clean_filter(phrase, action, replacement, row.id)
    site.bump_version()
    db.session.commit()


def delete_word_filter(row: WordFilter) -> None:
    """Remove a phrase from the word filter. Commits."""
    db.session.delete(row)
    site.bump_version()
    db.session.commit()


# -- screening a post -------------------------------------------------------------------------


def is_new_member(member: Member) -> bool:
    """True while the link and image limits apply to ``member`` (few published posts)."""
    threshold = int(site.setting("new_member_posts_threshold") or 0)
    return member.post_count < threshold


def _counts(body: str) -> tuple[int, int]:
    """(external links, images) in a post's rendered text."""
    html = render(body, set())
    return len(_EXTERNAL_LINK.findall(html)), len(_IMAGE.findall(html))


def _count_limits(member: Member, body: str, previous: str | None = None) -> None:
    """Refuse a new member's post with too many links or images. For an edit
    (``previous`` is the text before), only when the edit adds to an excess."""
    if not is_new_member(member):
        return
    max_links = int(site.setting("new_member_max_links"))
    max_images = int(site.setting("new_member_max_images"))
    links, images = _counts(body)
    if previous is not None and (links > max_links or images > max_images):
        old_links, old_images = _counts(previous)
        if links <= max(old_links, max_links):
            links = 0
        if images <= max(old_images, max_images):
            images = 0
    if links > max_links:
        raise ServiceError(
            _(
                "New members may put at most %(n)d links in a post (this one has %(found)d).",
                n=max_links,
                found=links,
            ),
            "body",
        )
    if images > max_images:
        raise ServiceError(
            _(
                "New members may put at most %(n)d images in a post (this one has %(found)d).",
                n=max_images,
                found=images,
            ),
            "body",
        )


def screen(
    member: Member,
    board_id: int,
    body: str,
    title: str | None = None,
    *,
    new_post: bool = True,
    previous: str = "",
) -> Screened:
    """Check a new post (``new_post``) or an edit against the safeguards (module docstring).

    Returns the body (and title) to store and, for a new post, the reasons it is held.
    Raises :class:`ServiceError` (field ``body`` or ``title``) when it is refused. An edit
    (``previous``: the post's text and title before it) cannot bring in what a new post
    could not: a phrase that holds posts for approval (a published post is not put back
    in the queue, so the edit is refused), or links and images above a new member's limits.
    """
    if exempt(member, board_id):
        body, _held = filter_words(body, allow_hold=False)
        if title is not None:
            title, _held = filter_words(title, allow_hold=False)
        return Screened(body, title)
    reasons: list[str] = []
    if title is not None:
        try:
            title, held = filter_words(title)
        except ServiceError as exc:
            exc.field = "title"
            raise
        reasons += held
    body, held = filter_words(body)
    reasons += held
    if not new_post:
        before = previous.casefold()
        added = [p for p in dict.fromkeys(reasons) if p.casefold() not in before]
        if added:
            raise ServiceError(
                _(
                    "“%(phrase)s” needs a moderator's approval, so it cannot be added by "
                    "editing. Please change your text.",
                    phrase=added[0],
                ),
                "body",
            )
        _count_limits(member, body, previous)
        return Screened(body, title)
    _count_limits(member, body)
    hold_n = int(site.setting("new_member_hold_posts") or 0)
    result = Screened(body, title)
    if hold_n and member.post_count < hold_n:
        result.hold_reasons.append("new_member")
    result.hold_reasons += [f"word:{p}" for p in dict.fromkeys(reasons)]
    return result


# -- posting rates ----------------------------------------------------------------------------


def validate_rate(value: str) -> str:
    """A posting rate in Flask-Limiter notation (``10 per hour``; several with ``;``), cleaned;
    empty means the site default. Raises :class:`ServiceError` on ``post_rate``."""
    value = " ".join((value or "").split())
    if not value:
        return ""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if not items or len(value) > 40 or any(item.amount < 1 for item in items):
        raise ServiceError(_("Write a rate like “10 per hour” or “5/minute;100/day”."), "post_rate")
    return value


def _generosity(value: str) -> float:
    """Posts per second the tightest of the rate's limits allows (higher: more generous)."""
    return min(item.amount / item.get_expiry() for item in parse_many(value))


def _group_rates() -> dict[int, str]:
    def load() -> dict[int, str]:
        rows = db.session.execute(
            select(Group.id, Group.post_rate).where(Group.post_rate != "")
        ).all()
        rates = {}
        for gid, rate in rows:
            try:
                _generosity(rate)
            except ValueError:
                continue
            rates[gid] = rate
        return rates

    return site.cached("group_post_rates", load)


def posting_rate(member: Member | None) -> str:
    """The posting rate limit for ``member``: the most generous of their groups' rates,
    else the configuration's ``RATELIMIT_POSTING``."""
    rates = _group_rates()
    mine = [rates[g] for g in permissions.group_ids(member) if g in rates]
    if not mine:
        return current_app.config["RATELIMIT_POSTING"]
    return max(mine, key=_generosity)


def set_post_rate(group: Group, value: str) -> None:
    """Set a group's posting rate (:func:`validate_rate`; empty: the site default). Commits."""
    group.post_rate = validate_rate(value)
    site.bump_version()
    db.session.commit()
