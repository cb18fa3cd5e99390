"""Admin pages beside :mod:`forum.web.admin`: the dashboard (``/admin/``) and the member
list with its filters and bulk actions (``/admin/members``).

Same guard as the rest of the admin area (admins only). The numbers come from
:mod:`forum.services.dashboard`, the bulk actions are :mod:`forum.services.members`'
``bulk_*`` functions; the views only parse and render.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from markupsafe import Markup, escape
from werkzeug.routing import BuildError

from forum.services import dashboard, groups, members, site
from forum.services.errors import ServiceError
from forum.services.paging import page_count
from forum.web import admin
from forum.web.admin_forms import (
    MemberBulkForm,
    MemberFilterForm,
    SelectChoice,
    choices,
    site_zone,
    to_utc,
)
from forum.web.util import form_error, page_arg, viewer

bp = Blueprint("admin_dashboard", __name__, url_prefix="/admin")
bp.before_request(admin.require_admin)
bp.context_processor(admin.admin_helpers)

PER_PAGE = 50
#: Members waiting for approval listed on the dashboard (the rest: the filtered list).
PENDING_SHOWN = 10

#: How the dashboard words each moderation log action (others: "actor: action subject").
LOG_SENTENCES = {
    "ban": _l("%(actor)s banned %(subject)s"),
    "unban": _l("%(actor)s lifted the ban on %(subject)s"),
    "approve": _l("%(actor)s approved %(subject)s"),
    "group_add": _l("%(actor)s added %(subject)s to a group"),
    "group_remove": _l("%(actor)s removed %(subject)s from a group"),
    "warn": _l("%(actor)s warned %(subject)s"),
    "suspend": _l("%(actor)s suspended %(subject)s"),
    "hide": _l("%(actor)s hid a post by %(subject)s"),
    "delete": _l("%(actor)s deleted a post by %(subject)s"),
    "dismiss": _l("%(actor)s dismissed a report about %(subject)s"),
    "hold": _l("%(actor)s held a post by %(subject)s for approval"),
    "unhide": _l("%(actor)s showed a post by %(subject)s again"),
    "delete_post": _l("%(actor)s deleted a post by %(subject)s"),
    "delete_thread": _l("%(actor)s deleted a thread by %(subject)s"),
}


def log_sentence(entry: dashboard.LogLine) -> Markup:
    """One log entry as a sentence, the subject linked to their profile (names escaped)."""
    actor = escape(entry.actor or _("system"))
    if entry.subject:
        href = url_for("members.profile", username=entry.subject)
        subject = Markup('<a href="{}">{}</a>').format(href, entry.subject)
    else:
        subject = escape(f"{entry.target_type} {entry.target_id or ''}".strip())
    template = LOG_SENTENCES.get(entry.action)
    if template is None:
        return Markup("{}: {} {}").format(actor, entry.action, subject)
    # The translated text is trusted; only the names are escaped (above).
    return Markup(escape(str(template)).replace("%(actor)s", actor).replace("%(subject)s", subject))


def _first_url(*endpoints: str) -> str | None:
    """The URL of the first endpoint that exists (pages other parts of the forum add)."""
    for endpoint in endpoints:
        try:
            return url_for(endpoint)
        except BuildError:
            continue
    return None


@bp.route("/")
def index():
    board = dashboard.dashboard(site_zone())
    pending, _total = members.pending_members(1, PENDING_SHOWN)
    return render_template(
        "admin/index.html",
        board=board,
        pending=pending,
        mode=site.setting("registration_mode"),
        queue_url=_first_url("moderation.queue", "moderation.admin_queue"),
        log_url=_first_url("moderation.log", "moderation.admin_log"),
        log_sentence=log_sentence,
    )


# -- the member list and its bulk actions -----------------------------------------------------


def _group_choices(options: list, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + choices((g.id, g.name) for g in options)


def _bulk_calls() -> dict[str, Callable[[MemberBulkForm], members.BulkResult]]:
    actor = viewer()

    def ids(form: MemberBulkForm) -> list[int]:
        return form.members.data or []

    return {
        "group_add": lambda f: members.bulk_set_membership(
            ids(f), f.group.data, expires_at=to_utc(f.expires_at.data), actor=actor
        ),
        "group_remove": lambda f: members.bulk_remove_membership(ids(f), f.group.data, actor=actor),
        "ban": lambda f: members.bulk_ban(
            ids(f), f.reason.data or "", to_utc(f.until.data), actor=actor
        ),
        "unban": lambda f: members.bulk_unban(ids(f), actor=actor),
        "approve": lambda f: members.bulk_approve(ids(f), actor=actor),
    }


def _done_message(action: str, result: members.BulkResult) -> str:
    n = result.changed
    text = {
        "group_add": ngettext(
            "%(num)d member's groups changed.", "%(num)d members' groups changed.", n
        ),
        "group_remove": ngettext(
            "%(num)d member removed from the group.", "%(num)d members removed from the group.", n
        ),
        "ban": ngettext("%(num)d member banned.", "%(num)d members banned.", n),
        "unban": ngettext("%(num)d ban lifted.", "%(num)d bans lifted.", n),
        "approve": ngettext("%(num)d member approved.", "%(num)d members approved.", n),
    }[action]
    if result.unchanged:
        text += " " + ngettext(
            "%(num)d selected member was already so.",
            "%(num)d selected members were already so.",
            result.unchanged,
        )
    return text


def _list_args() -> dict[str, str]:
    """The list's filters and page from the address, without the one-off ``all=1``."""
    return {k: v for k, v in request.args.items() if k != "all"}


@bp.route("/members", methods=["GET", "POST"])
def member_list():
    options = groups.assignable_groups()
    filters = MemberFilterForm(request.args)
    filters.group.choices = _group_choices(options, _("Any group"))
    filters.validate()
    bulk = MemberBulkForm(prefix="bulk")
    bulk.group.choices = _group_choices(options, _("Choose a group"))
    if request.method == "POST":
        if not bulk.validate_on_submit():
            if bulk.meta.csrf and bulk.csrf_token.errors:
                abort(400)
            flash(_("Nothing was changed: please check the marked fields."), "error")
        else:
            try:
                result = _bulk_calls()[bulk.action.data](bulk)
            except ServiceError as exc:
                if exc.field and exc.field != "members":
                    form_error(bulk, exc)  # next to the input it is about
                    flash(_("Nothing was changed: please check the marked fields."), "error")
                else:
                    flash(exc.message, "error")
            else:
                flash(_done_message(bulk.action.data, result), "success")
                return redirect(url_for("admin_dashboard.member_list", **_list_args()))
    page = page_arg()
    found, total = members.list_members(filters.filters(), page, PER_PAGE)
    pages = page_count(total, PER_PAGE)
    if page > pages:
        abort(404)
    if request.method == "GET" and request.args.get("all") == "1":
        ticked = {m.id for m in found}
    else:
        ticked = set(bulk.members.data or [])
    return render_template(
        "admin/members.html",
        form=filters,
        bulk=bulk,
        query=filters.filters().text,
        found=found,
        memberships=members.current_memberships(m.id for m in found),
        ticked=ticked,
        total=total,
        page=page,
        pages=pages,
        me=viewer(),
        list_args=_list_args(),
    )
