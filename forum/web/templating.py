"""Jinja filters and globals the theme uses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Flask, g, render_template, request, url_for
from flask_babel import get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError

from forum import plugins
from forum.extensions import db
from forum.services import permissions, site
from forum.web.util import pop_posted_draft

log = logging.getLogger("forum.plugins")

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _reader_zone_and_lang() -> tuple[ZoneInfo, str]:
    cached = g.get("_forum_zone_lang")
    if cached is None:
        lang = str(get_locale() or "zh_Hans")
        try:
            zone = _zone(str(get_timezone()))
        except Exception:  # an unknown zone name in old data: fall back to UTC
            zone = _zone("UTC")
        cached = g._forum_zone_lang = (zone, "en" if lang == "en" else "zh")
    return cached


def local(value: datetime) -> datetime:
    """A stored (naive UTC) timestamp in the reader's time zone."""
    zone, _lang = _reader_zone_and_lang()
    return value.replace(tzinfo=UTC).astimezone(zone)


def _short(t: datetime, lang: str) -> str:
    this_year = t.year == datetime.now(t.tzinfo).year
    if lang == "en":
        day = f"{_MONTHS_EN[t.month - 1]} {t.day}"
        return f"{day}, {t:%H:%M}" if this_year else f"{day}, {t.year}"
    return f"{t.month}月{t.day}日 {t:%H:%M}" if this_year else f"{t.year}年{t.month}月{t.day}日"


def when(value: datetime | None) -> str:
    """A short absolute timestamp in the reader's time zone and language (11月23日 13:05).

    Absolute, so a cached page never goes wrong; the theme's script turns recent ones into
    "3 minutes ago" in the browser.
    """
    if value is None:
        return ""
    return _short(local(value), _reader_zone_and_lang()[1])


def full_time(value: datetime | None) -> str:
    """An exact timestamp in the reader's time zone (for title attributes)."""
    return f"{local(value):%Y-%m-%d %H:%M}" if value else ""


def iso(value: datetime | None) -> str:
    """The UTC timestamp in ISO 8601, for ``<time datetime>`` (read by the theme's script)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def timetag(value: datetime | None) -> Markup:
    """``<time>`` with the exact time as title and ISO datetime for the theme's script."""
    if value is None:
        return Markup("")
    zone, lang = _reader_zone_and_lang()
    t = value.replace(tzinfo=UTC).astimezone(zone)
    # Every part is digits and fixed words: nothing to escape.
    return Markup(
        f'<time datetime="{value:%Y-%m-%dT%H:%M:%SZ}" title="{t:%Y-%m-%d %H:%M}">'
        f"{_short(t, lang)}</time>"
    )


def avatar(member, size: int = 40) -> Markup:
    """A member's avatar image, or their initial in a circle when they have none."""
    url = avatar_url(member)
    if url:
        return Markup(
            '<img class="avatar avatar-s%d" src="%s" width="%d" height="%d" alt="" loading="lazy">'
        ) % (size, url, size, size)
    initial = (member.display_name or member.username)[:1].upper()
    return Markup('<span class="avatar avatar-letter avatar-s%d" aria-hidden="true">%s</span>') % (
        size,
        initial,
    )


def avatar_url(member) -> str | None:
    """The URL of a member's avatar, or None (the theme then draws an initial)."""
    return "/uploads/" + member.avatar if getattr(member, "avatar", None) else None


def page_url(page: int, **extra) -> str:
    """The current URL with ``page`` (and other arguments) replaced."""
    args = request.args.to_dict()
    args.update(extra)
    args["page"] = page
    if page == 1:
        args.pop("page")
    query = urlencode(args)
    return request.path + ("?" + query if query else "")


def page_window(current: int, total: int, around: int = 2) -> list[int | None]:
    """Page numbers to show in a pager: first, last, and a few around ``current``."""
    shown = {1, total, *range(max(1, current - around), min(total, current + around) + 1)}
    out: list[int | None] = []
    prev = 0
    for n in sorted(shown):
        if n - prev > 1:
            out.append(None)
        out.append(n)
        prev = n
    return out


def slot(name: str, **context) -> Markup:
    """The HTML enabled plugins put into the theme's slot ``name`` (empty when none does).

    ``context`` is what the page shows there (``board``, ``thread``, ``post``, ``member``);
    a plugin whose hook raises is logged and left out (:func:`forum.plugins.render_slot`).
    """
    return plugins.render_slot(name, **context)


def slots_used() -> bool:
    """True when an enabled plugin fills template slots: a page calls this once to skip the
    per-post slots of its loop when none does (a call costs a few microseconds)."""
    return plugins.has_impls("forum_template_slot")


def nav_items() -> list:
    """The links enabled plugins add to the top navigation, for the current viewer."""
    return plugins.nav_items(_viewer())


def trust_facts(member) -> list:
    """The trust facts enabled plugins supply about ``member`` (label, value, hint); the
    whole card, the core's facts included, is the ``trust_card(member)`` global."""
    return plugins.trust_facts([member]).get(member.id, [])


def kind_label(kind: str):
    """The label of thread kind ``kind`` for a badge, or None.

    None for a plain discussion, and for a kind whose plugin is disabled or gone (those
    threads show as discussions).
    """
    if kind == "discussion":
        return None
    found = plugins.thread_kinds().get(kind)
    return found[1].label if found is not None else None


def kind_header(thread, post) -> Markup:
    """The kind's template for ``thread`` (shown above its first post ``post``), or nothing.

    Rendered with ``thread``, ``post`` and ``kind_data`` (the kind's ``load(thread)``, else
    None), in a card (``kind-head kind-<name>``). Only for a kind of an enabled plugin that
    has a template; a plugin whose loader or template raises is logged with its name and
    left out, and the page renders without it.
    """
    if thread.kind == "discussion":
        return Markup("")
    found = plugins.thread_kinds().get(thread.kind)
    if found is None or not found[1].template:
        return Markup("")
    plugin, kind = found
    try:
        data = kind.load(thread) if kind.load is not None else None
        html = render_template(kind.template, thread=thread, post=post, kind_data=data)
    except Exception as exc:
        log.exception("plugin %s: thread kind %s failed", plugin, kind.name)
        if isinstance(exc, SQLAlchemyError):  # leave the session usable for the rest
            db.session.rollback()
        return Markup("")
    if not html.strip():
        return Markup("")
    # The kind's name is lower case letters, digits and _ (checked at plugin load).
    return Markup('<section class="card kind-head kind-%s">%s</section>') % (
        kind.name,
        Markup(html),
    )


def _bound_gettext(func):
    """Jinja's new-style ``gettext`` around one catalog's lookup (escapes, then ``%`` formats)."""

    @pass_context
    def gettext(__context, __string: str, **variables) -> str:
        rv = func(__string)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return gettext


def _bound_ngettext(func):
    """Jinja's new-style ``ngettext`` around one catalog's lookup."""

    @pass_context
    def ngettext(__context, __singular: str, __plural: str, __num: int, **variables) -> str:
        variables.setdefault("num", __num)
        rv = func(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return ngettext


def register(app: Flask) -> None:
    """Add the filters and globals to ``app``'s Jinja environment."""

    @app.context_processor
    def catalog_for_this_render() -> dict:
        # Flask-Babel looks the catalog up again on every _() call (~100 per page); a page
        # is rendered in one language, so bind the catalog once per render.
        translations = get_translations()
        return {
            "gettext": _bound_gettext(translations.ugettext),
            "ngettext": _bound_ngettext(translations.ungettext),
        }

    env = app.jinja_env
    env.filters["when"] = when
    env.filters["full_time"] = full_time
    env.filters["iso"] = iso
    env.filters["timetag"] = timetag
    env.filters["avatar"] = avatar
    env.globals.update(
        avatar_url=avatar_url,
        page_url=page_url,
        page_window=page_window,
        site_settings=site.settings,
        can=lambda perm, board_id: permissions.can(_viewer(), perm, board_id),
        is_admin=lambda: permissions.is_admin(_viewer()),
        static_url=lambda filename: url_for(
            "static", filename=filename, v=app.config["FORUM_VERSION"]
        ),
        Markup=Markup,
        clear_draft=pop_posted_draft,
        get_locale=get_locale,
        slot=slot,
        slots_used=slots_used,
        nav_items=nav_items,
        trust_facts=trust_facts,
        kind_label=kind_label,
        kind_header=kind_header,
    )


def _viewer():
    return current_user._get_current_object() if current_user.is_authenticated else None
