"""The admin area under ``/admin``: boards, groups and permissions, a member's page, plugins,
site settings (the dashboard and the member list: :mod:`forum.web.admin_dashboard`).

Every page needs an admin (guests are sent to sign in, everybody else gets 403). The views
parse forms and call the services in ``forum.services``; they hold no rules of their own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.routing import BuildError

from forum import plugins
from forum.extensions import db
from forum.models import Board, Category, Member
from forum.models.base import utcnow
from forum.services import boards, groups, members, permissions, plugin_state, safeguards, site
from forum.services.errors import ServiceError
from forum.web.admin_forms import (
    BanForm,
    BoardForm,
    CategoryForm,
    GroupForm,
    MembershipForm,
    RenameGroupForm,
    SettingsForm,
    as_aware,
    choices,
    parse_matrix,
    parse_positions,
    permission_label,
    plugin_settings_form,
    site_time,
    site_zone,
    to_utc,
)
from forum.web.forms import ActionForm
from forum.web.members import timezone_choices
from forum.web.util import form_error, safe_next, viewer

log = logging.getLogger("forum.admin")
bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not permissions.is_admin(viewer()):
        abort(403)


@bp.context_processor
def admin_helpers() -> dict:
    return {
        "site_time": site_time,
        "site_zone": lambda: site_zone().key,
        "permission_label": permission_label,
    }


@bp.app_context_processor
def admin_navigation() -> dict:
    # App-wide, so that a plugin's own admin pages can extend ``admin/_layout.html`` too.
    return {"admin_plugin_pages": admin_plugin_pages}


def admin_plugin_pages() -> list[tuple[str, str, str]]:
    """(URL, label, endpoint) of the links enabled plugins add to the admin navigation.

    A page whose endpoint does not build (a typo, a missing blueprint) is left out and logged.
    """
    links = []
    for plugin, page in plugins.admin_pages():
        try:
            links.append((url_for(page.endpoint), str(page.label), page.endpoint))
        except BuildError:
            log.warning("plugin %s: admin page %r does not build; left out", plugin, page.endpoint)
    return links


def _checked_post() -> None:
    """Refuse a POST whose CSRF token is missing or wrong (buttons without fields)."""
    if not ActionForm().validate_on_submit():
        abort(400)


# -- settings (the dashboard and member list: forum.web.admin_dashboard) -------------------------


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    form = SettingsForm(data=site.settings() if request.method == "GET" else None)
    form.default_timezone.choices = choices(timezone_choices()[1:])
    if form.validate_on_submit():
        site.update_settings(form.values())
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.settings"))
    return render_template("admin/settings.html", form=form)


# -- categories and boards --------------------------------------------------------------------


def _category_choices() -> list:
    return choices((c.id, c.name) for c, _boards in boards.category_tree())


@bp.route("/boards", methods=["GET", "POST"])
def board_list():
    form = CategoryForm(prefix="c")
    if form.validate_on_submit():
        try:
            boards.create_category(form.name.data, form.position.data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Category created."), "success")
            return redirect(url_for("admin.board_list"))
    return render_template("admin/boards.html", tree=boards.category_tree(), form=form)


@bp.route("/boards/order", methods=["POST"])
def board_order():
    _checked_post()
    boards.set_positions(parse_positions(request.form, "c"), parse_positions(request.form, "b"))
    flash(_("Order saved."), "success")
    return redirect(url_for("admin.board_list"))


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int):
    category = db.get_or_404(Category, category_id)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            boards.update_category(category, form.name.data, form.position.data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Category saved."), "success")
            return redirect(url_for("admin.board_list"))
    return render_template("admin/category.html", category=category, form=form)


@bp.route("/categories/<int:category_id>/delete", methods=["POST"])
def category_delete(category_id: int):
    category = db.get_or_404(Category, category_id)
    _checked_post()
    try:
        boards.delete_category(category)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.category_edit", category_id=category.id))
    flash(_("Category deleted."), "success")
    return redirect(url_for("admin.board_list"))


def _kind_choices(board: Board | None) -> list:
    """The thread kinds a board form offers: the core's, every enabled plugin's, and the
    ones the board allows already whose plugin is switched off or gone (kept while ticked)."""
    available = plugins.thread_kinds()
    options = [("discussion", _("Discussion"))]
    options += [(name, str(kind.label)) for name, (_plugin, kind) in available.items()]
    if board is not None:
        installed = {k.name: k for p in plugins.manager().loaded() for k in p.thread_kinds}
        for name in board.kinds:
            if name == "discussion" or name in available:
                continue
            if name in installed:
                label = _("%(kind)s (plugin disabled)", kind=installed[name].label)
            else:
                label = _("%(kind)s (plugin not available)", kind=name)
            options.append((name, label))
    return choices(options)


def _posted_kinds(form: BoardForm) -> dict:
    """``thread_kinds=…`` for the boards service when the form had the kind boxes.

    The form sends an empty ``thread_kinds`` before its checkboxes, so "nothing ticked" is
    told apart from a post without the boxes at all (which keeps the board's kinds).
    """
    if "thread_kinds" not in request.form:
        return {}
    return {"thread_kinds": [k for k in form.thread_kinds.data or [] if k]}


@bp.route("/boards/new", methods=["GET", "POST"])
def board_new():
    form = BoardForm()
    form.category.choices = _category_choices()
    form.thread_kinds.choices = _kind_choices(None)
    if not form.category.choices:
        flash(_("Create a category first."), "error")
        return redirect(url_for("admin.board_list"))
    if request.method == "GET":
        form.category.data = request.args.get("category", type=int)
        form.thread_kinds.data = ["discussion"]
    if form.validate_on_submit():
        try:
            board = boards.create_board(
                db.get_or_404(Category, form.category.data),
                form.slug.data,
                form.name.data,
                form.description.data or "",
                form.position.data,
                **_posted_kinds(form),
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Board created."), "success")
            return redirect(url_for("admin.board_edit", board_id=board.id))
    return render_template("admin/board.html", form=form, board=None)


@bp.route("/boards/<int:board_id>", methods=["GET", "POST"])
def board_edit(board_id: int):
    board = db.get_or_404(Board, board_id)
    form = BoardForm(obj=board if request.method == "GET" else None)
    form.category.choices = _category_choices()
    form.thread_kinds.choices = _kind_choices(board)
    if request.method == "GET":
        form.category.data = board.category_id
        form.thread_kinds.data = board.kinds
    if form.validate_on_submit():
        try:
            boards.update_board(
                board,
                category_id=form.category.data,
                slug=form.slug.data,
                name=form.name.data,
                description=(form.description.data or "").strip(),
                **_posted_kinds(form),
                **({"position": form.position.data} if form.position.data is not None else {}),
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Board saved."), "success")
            return redirect(url_for("admin.board_list"))
    return render_template("admin/board.html", form=form, board=board)


@bp.route("/boards/<int:board_id>/delete", methods=["POST"])
def board_delete(board_id: int):
    board = db.get_or_404(Board, board_id)
    _checked_post()
    try:
        boards.delete_board(board)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.board_edit", board_id=board.id))
    flash(_("Board deleted."), "success")
    return redirect(url_for("admin.board_list"))


# -- the permission matrix --------------------------------------------------------------------


def _save_matrix(board_id: int | None) -> None:
    _checked_post()
    group_ids = [g.id for g in groups.matrix_groups()]
    grants = parse_matrix(request.form, group_ids, permissions.all_permission_names())
    groups.save_matrix(board_id, grants)
    flash(_("Permissions saved."), "success")


@bp.route("/boards/<int:board_id>/permissions", methods=["GET", "POST"])
def board_permissions(board_id: int):
    board = db.get_or_404(Board, board_id)
    if request.method == "POST":
        _save_matrix(board.id)
        return redirect(url_for("admin.board_permissions", board_id=board.id))
    return render_template(
        "admin/permissions.html",
        board=board,
        groups=groups.matrix_groups(),
        names=permissions.all_permission_names(),
        grants=groups.effective_grants(board.id),
        own=groups.groups_with_own_rows(board.id),
    )


@bp.route("/boards/<int:board_id>/permissions/reset", methods=["POST"])
def board_permissions_reset(board_id: int):
    board = db.get_or_404(Board, board_id)
    _checked_post()
    groups.reset_board(board.id)
    flash(_("This board follows the group defaults again."), "success")
    return redirect(url_for("admin.board_permissions", board_id=board.id))


# -- plugins ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PluginRow:
    """One line of the plugin list: the plugin and what the admin may do with it."""

    info: plugins.PluginInfo
    state: str  # "enabled", "disabled" or "broken"
    own_page: bool  # False for a plugin refused because another one took its name
    switched_on: bool  # the stored switch (a broken plugin may still have it on)

    @property
    def homepage(self) -> str:
        """The plugin's home page, if it is a web address (never a ``javascript:`` link)."""
        url = self.info.meta.homepage or ""
        return url if url.startswith(("https://", "http://")) else ""


def _plugin_row(info: plugins.PluginInfo, enabled: frozenset[str]) -> PluginRow:
    own = plugins.manager().get(info.name) is info
    if info.broken:
        switched_on = own and plugin_state.is_enabled_in_db(info.name)
        return PluginRow(info, "broken", own, switched_on)
    on = info.name in enabled
    return PluginRow(info, "enabled" if on else "disabled", own, on)


def _installed_plugin(name: str) -> plugins.PluginInfo:
    info = plugins.manager().get(name)
    if info is None:
        abort(404)
    return info


@bp.route("/plugins")
def plugin_list():
    enabled = plugins.enabled_names()
    rows = [_plugin_row(info, enabled) for info in plugins.manager().all()]
    return render_template("admin/plugins.html", rows=rows)


@bp.route("/plugins/<name>", methods=["GET", "POST"])
def plugin_detail(name: str):
    info = _installed_plugin(name)
    form = None
    if not info.broken and info.settings:
        form = plugin_settings_form(info.settings, plugin_state.plugin_settings(name))
        if form.validate_on_submit():  # the CSRF token; the service checks the values
            errors = plugin_state.save_settings(name, request.form)
            if not errors:
                flash(_("Settings saved."), "success")
                return redirect(url_for("admin.plugin_detail", name=name))
            form.show_errors(errors)
            flash(_("Nothing was saved: please correct the marked settings."), "error")
    elif request.method == "POST":
        abort(400)
    return render_template(
        "admin/plugin.html",
        row=_plugin_row(info, plugins.enabled_names()),
        form=form,
    )


@bp.route("/plugins/<name>/enable", methods=["POST"])
def plugin_enable(name: str):
    info = _installed_plugin(name)
    _checked_post()
    try:
        plugin_state.enable(name)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The plugin %(name)s is enabled.", name=info.label), "success")
    return redirect(safe_next(url_for("admin.plugin_list")))


@bp.route("/plugins/<name>/disable", methods=["POST"])
def plugin_disable(name: str):
    info = _installed_plugin(name)
    _checked_post()
    try:
        plugin_state.disable(name)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The plugin %(name)s is disabled; its data is kept.", name=info.label), "success")
    return redirect(safe_next(url_for("admin.plugin_list")))


# -- groups -----------------------------------------------------------------------------------


@bp.route("/groups", methods=["GET", "POST"])
def group_list():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            groups.create_group(form.name.data, form.key.data or "", form.description.data or "")
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Group created."), "success")
            return redirect(url_for("admin.group_list"))
    return render_template(
        "admin/groups.html",
        form=form,
        all_groups=groups.list_groups(),
        counts=groups.member_counts(),
        is_builtin=groups.is_builtin,
        groups=groups.matrix_groups(),
        names=permissions.all_permission_names(),
        grants=groups.effective_grants(None),
    )


@bp.route("/groups/defaults", methods=["POST"])
def group_defaults():
    _save_matrix(None)
    return redirect(url_for("admin.group_list") + "#defaults")


@bp.route("/groups/<int:group_id>", methods=["GET", "POST"])
def group_edit(group_id: int):
    group = groups.get_group(group_id)
    form = RenameGroupForm(obj=group if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            rate = safeguards.validate_rate(form.post_rate.data or "")
            groups.rename_group(group, form.name.data, form.description.data or "")
            if rate != group.post_rate:
                safeguards.set_post_rate(group, rate)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Group saved."), "success")
            return redirect(url_for("admin.group_list"))
    return render_template(
        "admin/group.html", group=group, form=form, builtin=groups.is_builtin(group)
    )


@bp.route("/groups/<int:group_id>/delete", methods=["POST"])
def group_delete(group_id: int):
    group = groups.get_group(group_id)
    _checked_post()
    try:
        groups.delete_group(group)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.group_edit", group_id=group.id))
    flash(_("Group deleted."), "success")
    return redirect(url_for("admin.group_list"))


# -- members ----------------------------------------------------------------------------------


def _member_page(member: Member, membership_form=None, ban_form=None):
    membership_form = membership_form or MembershipForm(prefix="m", formdata=None)
    membership_form.group.choices = choices((g.id, g.name) for g in groups.assignable_groups())
    if ban_form is None:
        ban_form = BanForm(prefix="b", formdata=None)
        if member.status == "banned":
            ban_form.reason.data = member.ban_reason
            ban_form.until.data = as_aware(member.banned_until)
    return render_template(
        "admin/member.html",
        member=member,
        rows=members.memberships(member),
        member_group_name=groups.get_group(permissions.group_id("member")).name,
        membership_form=membership_form,
        ban_form=ban_form,
        now=utcnow(),
        source_labels={
            "admin": _("set by an admin"),
            "payment": _("payment"),
            "application": _("application"),
            "invite": _("invitation"),
            "system": _("system"),
        },
    )


@bp.route("/members/<int:member_id>")
def member_detail(member_id: int):
    return _member_page(members.get_member(member_id))


@bp.route("/members/<int:member_id>/groups", methods=["POST"])
def member_set_group(member_id: int):
    member = members.get_member(member_id)
    form = MembershipForm(prefix="m")
    form.group.choices = choices((g.id, g.name) for g in groups.assignable_groups())
    if form.validate_on_submit():
        try:
            members.set_membership(
                member,
                groups.get_group(form.group.data),
                expires_at=to_utc(form.expires_at.data),
                source="admin",
                actor=viewer(),
            )
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Groups saved."), "success")
            return redirect(url_for("admin.member_detail", member_id=member.id))
    return _member_page(member, membership_form=form)


@bp.route("/members/<int:member_id>/groups/<int:group_id>/remove", methods=["POST"])
def member_remove_group(member_id: int, group_id: int):
    member = members.get_member(member_id)
    group = groups.get_group(group_id)
    _checked_post()
    try:
        members.remove_membership(member, group, actor=viewer())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Removed from the group %(name)s.", name=group.name), "success")
    return redirect(url_for("admin.member_detail", member_id=member.id))


@bp.route("/members/<int:member_id>/ban", methods=["POST"])
def member_ban(member_id: int):
    member = members.get_member(member_id)
    form = BanForm(prefix="b")
    if form.validate_on_submit():
        try:
            members.ban(member, form.reason.data, to_utc(form.until.data), actor=viewer())
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("%(name)s is banned.", name=member.username), "success")
            return redirect(url_for("admin.member_detail", member_id=member.id))
    return _member_page(member, ban_form=form)


@bp.route("/members/<int:member_id>/unban", methods=["POST"])
def member_unban(member_id: int):
    member = members.get_member(member_id)
    _checked_post()
    members.unban(member, actor=viewer())
    flash(_("The ban on %(name)s is lifted.", name=member.username), "success")
    return redirect(url_for("admin.member_detail", member_id=member.id))


@bp.route("/members/<int:member_id>/approve", methods=["POST"])
def member_approve(member_id: int):
    member = members.get_member(member_id)
    _checked_post()
    try:
        members.approve(member, actor=viewer())
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("%(name)s is approved.", name=member.username), "success")
    return redirect(safe_next(url_for("admin.member_detail", member_id=member.id)))
