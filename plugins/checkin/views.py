"""The check-ins pages under ``/checkin``: the camps, a camp's page (joining, today's
check-in, the streak and heatmap, leaderboards, the feed, make-up cards), a check-in with
its comments, the full leaderboard, the reminder hour, and the profile card.

Views parse the request, authorise, call :mod:`.services` and render; a service's refusal
(:class:`~forum.services.errors.ServiceError`) is shown beside the input it names, with what
the member typed kept. Every write is a POST form with the CSRF token (the core's
CSRFProtect checks it). Likes are plain forms too; the theme's ``likes.js`` sends them with
``fetch`` and asks for JSON, so the page is not reloaded.
"""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from forum.extensions import db
from forum.models import Member, Upload
from forum.plugin_api import plugin_settings
from forum.services import groups, uploads
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.forms import ActionForm
from forum.web.util import config_limit, form_error, page_arg, viewer

from . import forms, services
from .models import Camp, Checkin, CheckinComment

bp = Blueprint(
    "checkin",
    __name__,
    url_prefix="/checkin",
    template_folder="templates",
    static_folder="static",
)

#: Leaderboard lines on the camp page (the full board shows :data:`FULL_BOARD`).
BOARD_PREVIEW = 10
FULL_BOARD = 100
#: Weeks of the heatmap (26 columns fit a phone).
HEATMAP_WEEKS = 26


# -- helpers -------------------------------------------------------------------------------


def _settings() -> Any:
    return plugin_settings(services.PLUGIN)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def _camp_url(camp: Camp, **args: Any) -> str:
    return url_for("checkin.camp", camp_id=camp.id, **args)


def _board_args(camp: Camp) -> tuple[str, str]:
    """``?by=`` and ``?period=`` checked against what the camp offers (unknown: defaults)."""
    by = request.args.get("by", "streak")
    keys = {f"metric:{m['key']}" for m in camp.metric_list}
    if by not in services.LEADERBOARD_BY and by not in keys:
        by = "streak"
    period = request.args.get("period", "all")
    if period not in services.PERIODS or by == "streak":
        period = "all"
    return by, period


def _board_tabs(camp: Camp) -> list[tuple[str, str]]:
    """(by, label) of a camp's leaderboards."""
    tabs = [("streak", _("Streak")), ("total", _("Check-ins"))]
    tabs += [(f"metric:{m['key']}", m["label"]) for m in camp.metric_list]
    return tabs


def _period_tabs() -> list[tuple[str, str]]:
    return [
        ("all", _("All time")),
        ("day", _("Today")),
        ("week", _("This week")),
        ("month", _("This month")),
    ]


def _unit_of(camp: Camp, by: str) -> str:
    if by == "streak":
        return _("days")
    if by == "total":
        return _("check-ins")
    key = by.removeprefix("metric:")
    return next((m.get("unit") or "" for m in camp.metric_list if m["key"] == key), "")


def _heat_levels(days: list[services.CalendarDay], single: bool) -> list[tuple[Any, int, int]]:
    """(day, count, colour level 0..3) per heatmap cell; a camp's day has 0 or 1 check-in,
    so it is drawn at the strongest colour."""
    cells = []
    for cell in days:
        level = (3 if cell.count else 0) if single else min(cell.count, 3)
        cells.append((cell.day, cell.count, level))
    return cells


def _camp_weeks(camp: Camp, member: Member) -> int:
    """Weeks of a camp's heatmap: back to the week it started (at least 8, at most
    :data:`HEATMAP_WEEKS`)."""
    since = (services.local_today(member) - camp.starts_on).days
    return max(8, min(HEATMAP_WEEKS, since // 7 + 2))


def _window_state(camp: Camp, member: Member | None) -> str:
    """``before`` (camp not started), ``ended``, ``closed`` (outside the daily window) or
    ``open``, at the member's local time."""
    local = services.local_now(member)
    today = local.date()
    if camp.status != "open" or (camp.ends_on is not None and today > camp.ends_on):
        return "ended"
    if today < camp.starts_on:
        return "before"
    minute = local.hour * 60 + local.minute
    if not camp.window_start <= minute <= camp.window_end:
        return "closed"
    return "open"


def _group_choices() -> list[tuple[str, str]]:
    choices = [("", _("Everyone signed in"))]
    choices += [
        (str(g.id), g.name) for g in groups.list_groups() if g.key not in ("guest", "member")
    ]
    return choices


def _minutes(value: time | None, default: int) -> int:
    return default if value is None else value.hour * 60 + value.minute


def _as_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def _camp_fields(form: forms.CampForm) -> dict[str, Any] | None:
    """The service's keyword arguments from a valid camp form (None: an error is shown)."""
    group = None
    raw_group = (form.join_group.data or "").strip()
    if raw_group:
        try:
            group = groups.get_group(int(raw_group))
        except (ValueError, NotFound):
            form.join_group.errors = [_("Choose a group.")]
            return None
    metrics = []
    used = {row.form.key.data for row in form.metrics if row.form.key.data}
    counter = 1
    for row in form.metrics:
        entry = row.form
        if not (entry.label.data or "").strip():
            continue
        key = (entry.key.data or "").strip()
        if not key:
            while f"n{counter}" in used:
                counter += 1
            key = f"n{counter}"
            used.add(key)
        metrics.append(
            {
                "key": key,
                "label": entry.label.data.strip(),
                "unit": (entry.unit.data or "").strip(),
                "min": (entry.min.data or "0").strip(),
                "max": (entry.max.data or "0").strip(),
                "decimals": entry.decimals.data or "0",
                "required": bool(entry.required.data),
            }
        )
    return {
        "title": form.title.data,
        "description": form.description.data or "",
        "starts_on": form.starts_on.data,
        "ends_on": form.ends_on.data,
        "window_start": _minutes(form.window_start.data, 0),
        "window_end": _minutes(form.window_end.data, 1439),
        "require_note": bool(form.require_note.data),
        "require_photo": bool(form.require_photo.data),
        "metrics": metrics,
        "join_group": group,
        "join_fee": (form.join_fee.data or "0").strip(),
        "deposit": (form.deposit.data or "0").strip(),
        "min_days": (form.min_days.data or "").strip() or None,
    }


def _camp_form_error(form: forms.CampForm, exc: ServiceError) -> None:
    """A camp refusal beside its input; the numbers' errors go above their rows."""
    if exc.field == "metrics":
        form.metrics.errors = [exc.message]
        return
    form_error(form, exc)


# -- camps ---------------------------------------------------------------------------------


@bp.route("/")
def index() -> ResponseReturnValue:
    """The camps: open ones first (``?status=open|settled`` filters)."""
    status = request.args.get("status") or None
    if status not in (None, "open", "settled"):
        status = None
    me = viewer()
    found = services.camps(me, status=status, page=page_arg())
    return render_template(
        "checkin/index.html",
        page=found,
        status=status,
        may_create=services.can_create_camps(me),
        format_minute=services.format_minute,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_camp() -> ResponseReturnValue:
    """Create a camp (admins and the ``creator_groups``)."""
    me = viewer()
    if not services.can_create_camps(me):
        raise PermissionDenied(_("You may not create camps."))
    form = forms.CampForm()
    form.join_group.choices = _group_choices()
    if request.method == "GET":
        form.starts_on.data = services.local_today(me)
        form.window_start.data = _as_time(0)
        form.window_end.data = _as_time(1439)
    if form.validate_on_submit():
        fields = _camp_fields(form)
        if fields is not None:
            try:
                camp = services.create_camp(me, **fields)
            except ServiceError as exc:
                _camp_form_error(form, exc)
            else:
                flash(_("The camp is open. Invite members to join it."), "success")
                return redirect(_camp_url(camp))
    return render_template("checkin/camp_form.html", form=form, camp=None)


@bp.route("/c/<int:camp_id>/edit", methods=["GET", "POST"])
@login_required
def edit_camp(camp_id: int) -> ResponseReturnValue:
    """Change a camp (its owner and admins)."""
    me = viewer()
    camp = services.get_camp(camp_id)
    if not services.can_edit_camp(me, camp):
        raise PermissionDenied(_("You may not edit this camp."))
    if request.method == "GET":
        data = {
            "title": camp.title,
            "description": camp.description,
            "starts_on": camp.starts_on,
            "ends_on": camp.ends_on,
            "window_start": _as_time(camp.window_start),
            "window_end": _as_time(camp.window_end),
            "require_note": camp.require_note,
            "require_photo": camp.require_photo,
            "join_group": str(camp.join_group_id or ""),
            "join_fee": str(camp.join_fee),
            "deposit": str(camp.deposit),
            "min_days": str(camp.min_days or ""),
            "metrics": [
                {**m, "min": str(m["min"]), "max": str(m["max"]), "decimals": str(m["decimals"])}
                for m in camp.metric_list
            ],
        }
        form = forms.CampForm(data=data)
        while len(form.metrics) < min(len(camp.metric_list) + 1, services.METRICS_MAX):
            form.metrics.append_entry()
    else:
        form = forms.CampForm()
    form.join_group.choices = _group_choices()
    if form.validate_on_submit():
        fields = _camp_fields(form)
        if fields is not None:
            try:
                services.update_camp(me, camp, **fields)
            except ServiceError as exc:
                _camp_form_error(form, exc)
            else:
                flash(_("The camp is saved."), "success")
                return redirect(_camp_url(camp))
    return render_template(
        "checkin/camp_form.html", form=form, camp=camp, joined=camp.member_count > 0
    )


def _camp_page(
    camp: Camp,
    *,
    entry: forms.EntryForm | None = None,
    makeup: forms.MakeupForm | None = None,
) -> str:
    """The camp page, with the check-in and make-up forms as given (to show their errors)."""
    me = viewer()
    mine = services.participant(camp, me)
    active = mine is not None and mine.outcome == "active"
    today = services.todays_checkin(me, camp) if active else None
    streak = services.streaks(me, camp) if mine is not None else None
    heat = (
        _heat_levels(services.calendar(me, camp, weeks=_camp_weeks(camp, me)), single=True)
        if mine is not None
        else []
    )
    missed = services.makeup_days(me, camp) if active else []
    if active and entry is None and today is None:
        entry = forms.entry_form(camp)
    if missed and makeup is None:
        makeup = forms.entry_form(camp, forms.MakeupForm, prefix="makeup")
    if makeup is not None:
        makeup.day.choices = [(d.isoformat(), d.isoformat()) for d in missed]
    by, period = _board_args(camp)
    ranks = services.leaderboard(camp, by=by, period=period, limit=BOARD_PREVIEW)
    feed = services.feed(camp, page=page_arg(), viewer=me)
    settings = _settings()
    return render_template(
        "checkin/camp.html",
        camp=camp,
        mine=mine,
        active=active,
        today=today,
        streak=streak,
        heat=heat,
        local_today=services.local_today(me),
        window=_window_state(camp, me),
        entry=entry,
        makeup=makeup,
        missed=missed,
        makeup_cost=int(settings["makeup_cost"]),
        makeup_per_month=int(settings["makeup_per_month"]),
        metric_fields=forms.metric_names(camp),
        by=by,
        period=period,
        tabs=_board_tabs(camp),
        period_tabs=_period_tabs(),
        ranks=ranks,
        unit=_unit_of(camp, by),
        feed=feed,
        required=services.required_days(camp, mine) if mine is not None else None,
        may_edit=services.can_edit_camp(me, camp),
        format_minute=services.format_minute,
        upload_url=uploads.url_of,
        comment_form=forms.CommentForm() if me is not None else None,
    )


@bp.route("/c/<int:camp_id>")
def camp(camp_id: int) -> ResponseReturnValue:
    """A camp's page."""
    return _camp_page(services.get_camp(camp_id))


@bp.route("/c/<int:camp_id>/join", methods=["GET", "POST"])
@login_required
def join(camp_id: int) -> ResponseReturnValue:
    """Confirm (GET: what it costs) and join (POST)."""
    me = viewer()
    camp = services.get_camp(camp_id)
    mine = services.participant(camp, me)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            services.join(me, camp)
        except ServiceError as exc:
            flash(exc.message, "error")
            return redirect(_camp_url(camp))
        if mine is not None and mine.outcome == "active":
            flash(_("You are already in this camp."), "success")
        elif camp.deposit:
            flash(
                _(
                    "Welcome! Your deposit of %(n)d points is held until the camp ends.",
                    n=camp.deposit,
                ),
                "success",
            )
        else:
            flash(_("Welcome to the camp! Check in every day."), "success")
        return redirect(_camp_url(camp) + "#today")
    if request.method == "POST":
        abort(400)
    if mine is not None and mine.outcome == "active":
        return redirect(_camp_url(camp))
    return render_template(
        "checkin/confirm.html",
        camp=camp,
        action="join",
        mine=mine,
        forfeit=_settings()["forfeit"],
        format_minute=services.format_minute,
    )


@bp.route("/c/<int:camp_id>/leave", methods=["GET", "POST"])
@login_required
def leave(camp_id: int) -> ResponseReturnValue:
    """Confirm (GET: a deposit is forfeited) and leave (POST)."""
    me = viewer()
    camp = services.get_camp(camp_id)
    mine = services.participant(camp, me)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            services.leave(me, camp)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            flash(_("You have left the camp."), "success")
        return redirect(_camp_url(camp))
    if mine is None or mine.outcome != "active":
        return redirect(_camp_url(camp))
    return render_template(
        "checkin/confirm.html",
        camp=camp,
        action="leave",
        mine=mine,
        forfeit=_settings()["forfeit"],
        format_minute=services.format_minute,
    )


def _require_active(camp: Camp, me: Member) -> None:
    """403 for a member who is not taking part (the forms are not shown to them)."""
    mine = services.participant(camp, me)
    if mine is None or mine.outcome != "active":
        raise PermissionDenied(_("Join the camp before checking in."))


def _photo(form: forms.EntryForm, me: Member) -> tuple[bool, Upload | None]:
    """The check-in's photo: a new file (checked and re-encoded by the core's uploads), or
    the one kept from an attempt that showed an error. (False, None) when the file was
    refused (the error is on the field)."""
    file = form.photo.data
    if file is not None and getattr(file, "filename", ""):
        try:
            upload = uploads.save_image(me, file.stream)
        except ServiceError as exc:
            form.photo.errors = [exc.message]
            return False, None
        return True, upload
    kept = request.form.get(f"{form._prefix}kept_photo", "")
    if kept.isdigit():
        upload = db.session.get(Upload, int(kept))
        if upload is not None and upload.member_id == me.id:
            return True, upload
    return True, None


def _entry_values(form: forms.EntryForm, camp: Camp) -> dict[str, str]:
    return {
        name.removeprefix("metric_"): (getattr(form, name).data or "")
        for name in forms.metric_names(camp)
    }


def _entry_error(form: forms.EntryForm, exc: ServiceError) -> None:
    """A check-in refusal beside its input; ``window``, ``camp`` and ``points`` at the top
    of the page (the form may not be shown again: outside the window, say)."""
    if exc.field in ("photo", "note", "day") or (exc.field or "").startswith("metric_"):
        form_error(form, exc)
    else:
        flash(exc.message, "error")


@bp.route("/c/<int:camp_id>/check-in", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def check_in(camp_id: int) -> ResponseReturnValue:
    """Today's check-in."""
    me = viewer()
    camp = services.get_camp(camp_id)
    _require_active(camp, me)
    form = forms.entry_form(camp)
    if form.validate_on_submit():
        ok, upload = _photo(form, me)
        if ok:
            try:
                row = services.check_in(
                    me, camp, note=form.note.data or "", upload=upload,
                    metrics=_entry_values(form, camp),
                )  # fmt: skip
            except ServiceError as exc:
                _entry_error(form, exc)
                form.kept = upload
            else:
                streak = services.streaks(me, camp)
                flash(_("Checked in! Your streak: %(n)d days.", n=streak.current), "success")
                return redirect(_camp_url(camp) + f"#checkin-{row.id}")
    return _camp_page(camp, entry=form)


@bp.route("/c/<int:camp_id>/make-up", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def make_up(camp_id: int) -> ResponseReturnValue:
    """A make-up card for a missed day."""
    me = viewer()
    camp = services.get_camp(camp_id)
    _require_active(camp, me)
    form = forms.entry_form(camp, forms.MakeupForm, prefix="makeup")
    if form.validate_on_submit():
        try:
            day = date.fromisoformat(form.day.data or "")
        except ValueError:
            form.day.errors = [_("Choose a day.")]
            return _camp_page(camp, makeup=form)
        ok, upload = _photo(form, me)
        if ok:
            try:
                row = services.make_up(
                    me, camp, day, note=form.note.data or "", upload=upload,
                    metrics=_entry_values(form, camp),
                )  # fmt: skip
            except ServiceError as exc:
                _entry_error(form, exc)
                form.kept = upload
            else:
                flash(_("%(day)s is filled with a make-up card.", day=day.isoformat()), "success")
                return redirect(_camp_url(camp) + f"#checkin-{row.id}")
    return _camp_page(camp, makeup=form)


@bp.route("/c/<int:camp_id>/leaderboard")
def leaderboard(camp_id: int) -> ResponseReturnValue:
    """A camp's full leaderboard (``?by=streak|total|metric:<key>&period=…``)."""
    camp = services.get_camp(camp_id)
    by, period = _board_args(camp)
    return render_template(
        "checkin/leaderboard.html",
        camp=camp,
        by=by,
        period=period,
        tabs=_board_tabs(camp),
        period_tabs=_period_tabs(),
        ranks=services.leaderboard(camp, by=by, period=period, limit=FULL_BOARD),
        unit=_unit_of(camp, by),
    )


# -- one check-in: likes and comments ------------------------------------------------------


def _checkin_page(row: Checkin, form: forms.CommentForm | None = None) -> str:
    me = viewer()
    row.liked = me is not None and services.has_liked(me, row)
    return render_template(
        "checkin/checkin.html",
        row=row,
        camp=row.camp,
        comments=services.comments(row),
        form=form or (forms.CommentForm() if me is not None else None),
        upload_url=uploads.url_of,
        may_delete=lambda c: services.can_delete_comment(me, c),
    )


@bp.route("/k/<int:checkin_id>")
def checkin(checkin_id: int) -> ResponseReturnValue:
    """One check-in, with its comments."""
    return _checkin_page(services.get_checkin(checkin_id))


@bp.route("/k/<int:checkin_id>/like", methods=["POST"])
@login_required
@config_limit("RATELIMIT_LIKES")
def like(checkin_id: int) -> ResponseReturnValue:
    """Like a check-in, or take the like back (JSON for the theme's ``likes.js``, else a
    redirect)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    row = services.get_checkin(checkin_id)
    try:
        liked = services.toggle_like(viewer(), row)
    except ServiceError as exc:
        if _wants_json():
            return jsonify(error=exc.message), 409
        flash(exc.message, "error")
        return redirect(services.checkin_url(row))
    if _wants_json():
        return jsonify(liked=liked, count=row.like_count, checkin_id=row.id)
    back = request.form.get("back", "")
    if back == "page":
        return redirect(url_for("checkin.checkin", checkin_id=row.id))
    return redirect(services.checkin_url(row))


@bp.route("/k/<int:checkin_id>/comment", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def comment(checkin_id: int) -> ResponseReturnValue:
    """Comment on a check-in."""
    row = services.get_checkin(checkin_id)
    form = forms.CommentForm()
    if form.validate_on_submit():
        try:
            made = services.comment(viewer(), row, form.body.data)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            flash(_("Your comment is posted."), "success")
            return redirect(url_for("checkin.checkin", checkin_id=row.id) + f"#comment-{made.id}")
    return _checkin_page(row, form)


@bp.route("/comment/<int:comment_id>/delete", methods=["POST"])
@login_required
def delete_comment(comment_id: int) -> ResponseReturnValue:
    """Delete a comment (its author, the camp's owner, admins)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    row: CheckinComment = services.get_comment(comment_id)
    services.delete_comment(viewer(), row)
    flash(_("The comment is deleted."), "success")
    return redirect(url_for("checkin.checkin", checkin_id=row.checkin_id))


# -- reminders and the profile -------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    """The hour of the daily reminder."""
    me = viewer()
    form = forms.ReminderForm()
    if request.method == "GET":
        hour = services.reminder_hour(me)
        form.reminder_hour.data = "" if hour is None else str(hour)
    if form.validate_on_submit():
        raw = (form.reminder_hour.data or "").strip()
        try:
            services.set_reminder_hour(me, raw or None)
        except ServiceError as exc:
            form_error(form, exc)
        else:
            if raw:
                hour = services.format_minute(int(raw) * 60)
                flash(_("You will be reminded at %(time)s.", time=hour), "success")
            else:
                flash(_("Reminders are off."), "success")
            return redirect(url_for("checkin.settings"))
    return render_template("checkin/settings.html", form=form)


def render_profile_card(member: Member) -> Markup:
    """The member's overall check-in streak and heatmap for the profile's ``profile_card``
    slot; nothing for a member who never checked in. Two queries."""
    streak = services.streaks(member)
    if not streak.longest:
        return Markup("")
    days = services.calendar(member, weeks=HEATMAP_WEEKS)
    return Markup(
        render_template(
            "checkin/_profile_card.html",
            member=member,
            streak=streak,
            heat=_heat_levels(days, single=False),
            local_today=services.local_today(member),
            total=sum(d.count for d in days),
        )
    )
