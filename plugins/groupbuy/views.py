"""The group-buy pages under ``/groupbuy``: the campaign form (new and edit), a draft's
preview, opening and cancelling, joining (then the payments core's checkout), cancelling
one's reservation, asking the buyers (Q&A), the list of open campaigns, the member's own
orders and the inviters' leaderboard. The leader's dashboard is :mod:`.leader_views`; the
campaign on its thread page is the kind's template ``groupbuy/campaign_head.html``, whose
context :func:`head_context` builds.

Views parse the request, authorise, call :mod:`.services` and render; a service's refusal
is shown beside the input it names with what the member typed kept. Every write is a POST
form with the CSRF token: the core's CSRFProtect checks it, except on the campaign form's
two views, which check it themselves (see :func:`_photo_sized_request`). A refused join
goes back to the thread page: the typed input and the errors travel in the session.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from forum import plugins
from forum.extensions import csrf
from forum.markup import render as render_markdown
from forum.models import Board, Member, Thread
from forum.services import groups as core_groups
from forum.services import permissions, posting
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.admin_forms import as_aware, to_utc
from forum.web.forms import ActionForm
from forum.web.util import config_limit, page_arg, viewer

from . import forms, services
from .blueprint import bp
from .common import MAX_PHOTOS, PLUGIN

JOIN_STATE = "groupbuy_join"  # session: {campaign id: {"values": …, "errors": …}}
REFS = "groupbuy_ref"  # session: {campaign id: inviter's member id}
QA = "qa"

# -- helpers -------------------------------------------------------------------------------


def _int(raw: Any) -> int | None:
    """A positive id from a query or form value, else None."""
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 12 else None


def _checked_post() -> None:
    """Refuse a POST whose CSRF token is missing or wrong (buttons without fields)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def may_manage(member: Member | None, campaign: Any) -> bool:
    """Whether ``member`` runs ``campaign``: its leader or a site admin."""
    if member is None:
        return False
    return member.id == campaign.leader_id or permissions.is_admin(member)


def require_manager(campaign_id: int) -> tuple[Member, Any]:
    """The viewer and the campaign, if the viewer manages it (else 403; 404 if none)."""
    campaign = services.get_campaign(campaign_id)
    me = viewer()
    if not may_manage(me, campaign):
        raise PermissionDenied(_("Only the leader of this group-buy may do this."))
    return me, campaign


def campaign_url(campaign: Any, anchor: str = "") -> str:
    """The campaign's page: its thread once open, else its preview."""
    if campaign.thread_id:
        return url_for("main.thread", thread_id=campaign.thread_id, _anchor=anchor or None)
    return url_for("groupbuy.campaign", campaign_id=campaign.id, _anchor=anchor or None)


def _cents_text(cents: int | None) -> str:
    """Cents as the form shows them (``12900`` → ``129.00``)."""
    if cents is None:
        return ""
    return f"{cents // 100}.{cents % 100:02d}"


@bp.app_template_global("groupbuy_status_label")
def status_label(status: str) -> str:
    """Templates: a campaign's status in the reader's language."""
    return {
        "draft": _("Draft"),
        "open": _("Open"),
        "succeeded": _("Deal on"),
        "failed": _("Not enough people"),
        "fulfilled": _("Completed"),
        "cancelled": _("Cancelled"),
    }.get(status, status)


@bp.app_template_global("groupbuy_order_label")
def order_label(status: str) -> str:
    """Templates: an order's status in the reader's language."""
    return {
        "reserved": _("Awaiting payment"),
        "paid": _("Paid"),
        "released": _("Reservation expired"),
        "cancelled": _("Cancelled"),
    }.get(status, status)


@bp.app_template_global("groupbuy_fulfilment_label")
def fulfilment_label(how: str) -> str:
    """Templates: how an order was handed over."""
    return {"picked_up": _("Picked up"), "shipped": _("Shipped"), "": _("Not yet")}.get(how, how)


@bp.app_template_global("groupbuy_time_left")
def time_left(seconds: int | float | None) -> str:
    """Templates: the time to the deadline in words (``2 days 3 hours``)."""
    if seconds is None or seconds <= 0:
        return _("Ended")
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)d days %(h)d hours", d=days, h=hours)
    if hours:
        return _("%(h)d hours %(m)d minutes", h=hours, m=minutes)
    return _("%(m)d minutes", m=max(1, minutes))


# -- the campaign on its page --------------------------------------------------------------


def _current_tier(tiers: list[Any], people: int) -> Any:
    """The tier whose price applies to ``people`` paid participants (else the first)."""
    found = None
    for tier in tiers:
        if tier.min_people <= people:
            found = tier
    return found or (tiers[0] if tiers else None)


def _questions(campaign: Any, me: Member | None) -> dict[str, Any] | None:
    """The Q&A plugin's questions about the campaign and the boards to ask in (None when
    the plugin is off)."""
    if not plugins.is_enabled(QA):
        return None
    from forum_plugins.qa import services as qa

    found = qa.questions_for_item(PLUGIN, campaign.id)
    boards = _question_boards(me) if me is not None else []
    return {"threads": found, "boards": boards}


def _question_boards(member: Member) -> list[Board]:
    """The boards where ``member`` may start a question."""
    from forum.services.reading import boards_for_composer

    return [b for b in boards_for_composer(member) if QA_KIND in posting.allowed_kinds(b)]


QA_KIND = "question"


def _join_state(campaign: Any) -> dict[str, Any]:
    """What a refused join left for the page (typed values and errors), once."""
    states = session.get(JOIN_STATE)
    if not states or str(campaign.id) not in states:
        return {}
    state = dict(states)
    found = state.pop(str(campaign.id))
    session[JOIN_STATE] = state
    return found or {}


def head_context(thread: Thread | None, campaign: Any = None) -> dict[str, Any]:
    """Everything the campaign's head shows (the kind's ``load`` may point here): the
    campaign, its progress, tiers, photos, pickup points, the viewer's order, why they may
    not join (or the join form's values and errors), the invite link and inviters, and the
    buyers' questions. ``{}`` when the thread has no campaign."""
    if campaign is None and thread is not None:
        campaign = services.campaign_for_thread(thread.id)
    if campaign is None:
        return {}
    me = viewer()
    progress = services.progress(campaign)
    tiers = services.tiers_of(campaign)
    points = services.pickup_points_of(campaign)
    order = services.member_order(me, campaign) if me is not None else None
    live = order is not None and order.status in ("reserved", "paid")
    refusal = ""
    if me is not None and not live:
        refusal = services.join_refusal(me, campaign)
    state = _join_state(campaign) if me is not None else {}
    values = state.get("values") or {}
    errors = state.get("errors") or {}
    join_form = None
    if me is not None and not live and (not refusal or errors):
        join_form = forms.JoinForm(formdata=None, data=values or None)
        join_form.pickup_point_id.choices = [(str(p.id), p.name) for p in points]
        for name, message in errors.items():
            target = getattr(join_form, name, None) if name else None
            if target is not None and hasattr(target, "errors") and name != "csrf_token":
                target.errors = [message]
    point_names = {p.id: p for p in points}
    return {
        "campaign": campaign,
        "progress": progress,
        "tiers": tiers,
        "current_tier": _current_tier(tiers, progress.participants),
        "join_price": services.price_for(campaign, progress.participants + 1),
        "photos": services.photos_of(campaign),
        "points": points,
        "order": order,
        "order_point": point_names.get(order.pickup_point_id) if order is not None else None,
        "live": live,
        "refusal": refusal,
        "join_form": join_form,
        "join_error": errors.get("", ""),
        "may_manage": may_manage(me, campaign),
        "inviters": services.inviters(campaign),
        "invite_url": (
            url_for("groupbuy.campaign", campaign_id=campaign.id, ref=me.id, _external=True)
            if me is not None and campaign.status == "open"
            else ""
        ),
        "questions": _questions(campaign, me),
        "ask_form": forms.AskForm(formdata=None),
        "leader": _member(campaign.leader_id),
    }


def _member(member_id: int | None) -> Member | None:
    from forum.extensions import db

    return db.session.get(Member, member_id) if member_id else None


@bp.app_template_global("groupbuy_head")
def head_for(thread: Thread | None, kind_data: Any = None) -> dict[str, Any]:
    """Templates: the head's context from whatever the kind's ``load`` gave (this dict, a
    campaign, or nothing: then the thread's campaign is looked up)."""
    if isinstance(kind_data, dict) and "campaign" in kind_data:
        return kind_data
    campaign = kind_data if hasattr(kind_data, "leader_id") else None
    if campaign is None and hasattr(kind_data, "campaign"):
        campaign = kind_data.campaign
    return head_context(thread, campaign)


# -- the campaign form ---------------------------------------------------------------------


def _photo_sized_request() -> None:
    """Let the campaign form's request carry its nine photos: the site's request limit is
    one upload (``MAX_CONTENT_LENGTH``); each photo is still held to ``MAX_UPLOAD_MB`` by
    the core's uploads. The core's CSRFProtect would read the form before this view could
    raise the limit, so these views are exempt from it and check the token themselves
    (first thing on a POST, before anything is stored)."""
    one = int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024
    request.max_content_length = MAX_PHOTOS * one + 256 * 1024


def _group_choices() -> list[tuple[str, str]]:
    """The groups a campaign may be limited to (not guests)."""
    return [(g.key, g.name) for g in core_groups.list_groups() if g.key != "guest"]


def _prepare(form: forms.CampaignForm, boards: list[Board], board: Board | None) -> None:
    choices = _group_choices()
    form.members_only_groups.choices = choices
    form.early_access_groups.choices = choices
    form.board.choices = [(str(b.id), b.name) for b in boards]
    if board is not None:
        form.board.data = str(board.id)


def _campaign_input(form: forms.CampaignForm, campaign: Any = None) -> Any:
    """The service's input from the form (text as typed; the services parse and check)."""
    files = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
    removed = [i for i in (_int(v) for v in request.form.getlist("remove_photo")) if i]
    return services.CampaignInput(
        title=(form.title.data or "").strip(),
        description=form.description.data or "",
        original_price=(form.original_price.data or "").strip(),
        tiers=form.tiers(),
        min_participants=(form.min_participants.data or "").strip(),
        stock=(form.stock.data or "").strip(),
        per_member_limit=(form.per_member_limit.data or "").strip(),
        deadline=to_utc(form.deadline.data),
        pickup=bool(form.pickup.data),
        delivery=bool(form.delivery.data),
        pickup_points=form.pickup_points(),
        members_only_groups=list(form.members_only_groups.data or []),
        early_access_groups=list(form.early_access_groups.data or []),
        early_access_until=to_utc(form.early_access_until.data),
        commission_percent=(form.commission_percent.data or "").strip() or "0",
        photos=files,
        remove_photos=removed,
    )


#: Service error names → the input beside which the error shows.
_FIELD_OF = {
    "stock": "stock",
    "photos": "photos",
    "commission_bp": "commission_percent",
    "commission": "commission_percent",
    "original_price_cents": "original_price",
    "price": "original_price",
    "pickup_point": "pickup_points",
    "points": "pickup_points",
    "pickup": "pickup",
    "delivery": "pickup",
    "board": "board",
}
#: Errors shown beside a group of rows (not one input).
ROW_GROUPS = ("tiers", "pickup_points")


def _show_errors(form: forms.CampaignForm, exc: ServiceError, rows: dict[str, list[str]]) -> None:
    """A campaign refusal beside its inputs: each of ``exc.errors`` (or the one ``field``)
    beside its input, the tiers' and pickup points' beside their rows, the rest on top."""
    found = getattr(exc, "errors", None) or {exc.field or "": exc.message}
    for name, message in found.items():
        key = _FIELD_OF.get(name or "", name or "")
        if key.startswith("tier") or key in ("tiers",):
            key = "tiers"
        if key in ROW_GROUPS:
            if message not in rows.setdefault(key, []):
                rows[key].append(message)
            continue
        target = getattr(form, key, None) if key else None
        if target is not None and hasattr(target, "errors") and key != "csrf_token":
            errors = list(target.errors or [])
            if message not in errors:
                target.errors = [*errors, message]
        else:
            flash(message, "error")


def _form_page(
    form: forms.CampaignForm,
    *,
    boards: list[Board],
    campaign: Any = None,
    rows: dict[str, list[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    html = render_template(
        "groupbuy/campaign_form.html",
        form=form,
        boards=boards,
        campaign=campaign,
        photos=services.photos_of(campaign) if campaign is not None else [],
        row_errors=rows or {},
        frozen=bool(campaign is not None and campaign.joined_ever),
        max_photos=MAX_PHOTOS,
        photos_sent=bool(request.method == "POST" and request.files.getlist("photos")),
    )
    return html, status


def _initial(campaign: Any) -> dict[str, Any]:
    """The campaign form's values for an existing campaign (edit's first GET)."""
    data: dict[str, Any] = {
        "title": campaign.title,
        "description": campaign.description,
        "original_price": _cents_text(campaign.original_price_cents),
        "min_participants": str(campaign.min_participants),
        "stock": str(campaign.stock_total),
        "per_member_limit": str(campaign.per_member_limit),
        "deadline": as_aware(campaign.deadline),
        "pickup": campaign.pickup,
        "delivery": campaign.delivery,
        "members_only_groups": campaign.group_keys("members_only"),
        "early_access_groups": campaign.group_keys("early_access"),
        "early_access_until": as_aware(campaign.early_access_until),
        "commission_percent": f"{campaign.commission_bp / 100:g}",
    }
    for i, tier in enumerate(services.tiers_of(campaign)[: forms.TIER_ROWS]):
        data[f"tier_people_{i}"] = str(tier.min_people)
        data[f"tier_price_{i}"] = _cents_text(tier.price_cents)
    for i, point in enumerate(services.pickup_points_of(campaign)[: forms.POINT_ROWS]):
        data[f"point_name_{i}"] = point.name
        data[f"point_address_{i}"] = point.address
    return data


def _chosen_board(boards: list[Board]) -> Board | None:
    """The board of ``?board=`` / the form's ``board`` (an id or a slug) among ``boards``;
    403 for a board the member may not lead on, None when none was named."""
    raw = (request.form.get("board") or request.args.get("board") or "").strip()
    if not raw:
        return boards[0] if len(boards) == 1 else None
    found = next((b for b in boards if str(b.id) == raw or b.slug == raw), None)
    if found is None:
        raise PermissionDenied(_("You may not start a group-buy on this board."))
    return found


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@csrf.exempt
@login_required
@config_limit("RATELIMIT_POSTING")
def new_campaign() -> ResponseReturnValue:
    """A new campaign (``?board=<id>``; a board choice when the member leads on several):
    saved as a draft, then the leader's page."""
    _photo_sized_request()
    me = viewer()
    boards = services.leader_boards(me)
    if not boards:
        raise PermissionDenied(_("There is no board where you may start a group-buy."))
    board = _chosen_board(boards)
    form = forms.CampaignForm(formdata=request.form if request.method == "POST" else None)
    _prepare(form, boards, board)
    if request.method == "GET":
        return _form_page(form, boards=boards)
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return _form_page(form, boards=boards, status=400)
    ok = form.validate()
    rows: dict[str, list[str]] = {}
    if board is None:
        form.board.errors = [_("Choose the board to post in.")]
        ok = False
    data = _campaign_input(form)
    try:
        if not ok:
            if board is not None:
                services.check_campaign(me, board, data)  # every refusal at once
            return _form_page(form, boards=boards, rows=rows, status=400)
        campaign = services.create_campaign(me, board, data)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        _show_errors(form, exc, rows)
        return _form_page(form, boards=boards, rows=rows, status=400)
    flash(_("The group-buy is saved as a draft. Open it when it is ready."), "success")
    return redirect(url_for("groupbuy.manage", campaign_id=campaign.id))


@bp.route("/c/<int:campaign_id>/edit", methods=["GET", "POST"])
@csrf.exempt
@login_required
@config_limit("RATELIMIT_POSTING")
def edit_campaign(campaign_id: int) -> ResponseReturnValue:
    """Change a campaign (its leader and admins): prices, tiers, minimum, stock and limit
    stay as they are once someone has joined."""
    _photo_sized_request()
    me, campaign = require_manager(campaign_id)
    if request.method == "GET":
        form = forms.CampaignForm(formdata=None, data=_initial(campaign))
        _prepare(form, [], None)
        return _form_page(form, boards=[], campaign=campaign)
    form = forms.CampaignForm(formdata=request.form)
    _prepare(form, [], None)
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired. Please send it again."), "error")
        return _form_page(form, boards=[], campaign=campaign, status=400)
    ok = form.validate()
    rows: dict[str, list[str]] = {}
    data = _campaign_input(form, campaign)
    try:
        if not ok:
            board = _board(campaign.board_id)
            if board is not None:
                services.check_campaign(me, board, data)
            return _form_page(form, boards=[], campaign=campaign, rows=rows, status=400)
        services.update_campaign(me, campaign, data)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        _show_errors(form, exc, rows)
        return _form_page(form, boards=[], campaign=campaign, rows=rows, status=400)
    flash(_("The group-buy is saved."), "success")
    if campaign.thread_id:
        return redirect(campaign_url(campaign))
    return redirect(url_for("groupbuy.manage", campaign_id=campaign.id))


def _board(board_id: int) -> Board | None:
    from forum.extensions import db

    return db.session.get(Board, board_id)


@bp.route("/c/<int:campaign_id>/open", methods=["POST"])
@login_required
def open_campaign(campaign_id: int) -> ResponseReturnValue:
    """Open a draft: its thread starts, members may join."""
    _checked_post()
    me, campaign = require_manager(campaign_id)
    try:
        campaign = services.open_campaign(me, campaign)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("groupbuy.manage", campaign_id=campaign.id))
    flash(_("The group-buy is open. Share its link!"), "success")
    return redirect(campaign_url(campaign))


@bp.route("/c/<int:campaign_id>/cancel", methods=["POST"])
@login_required
def cancel_campaign(campaign_id: int) -> ResponseReturnValue:
    """Cancel a draft or open campaign (a reason; every payment is refunded)."""
    me, campaign = require_manager(campaign_id)
    form = forms.CancelForm()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        from .leader_views import dashboard_page

        return dashboard_page(me, campaign, cancel_form=form, status=400)
    try:
        services.cancel_campaign(me, campaign, form.reason.data.strip())
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("The group-buy is cancelled; every payment is refunded."), "success")
    return redirect(url_for("groupbuy.manage", campaign_id=campaign.id))


# -- the campaign's page, joining ----------------------------------------------------------


def _remember_inviter(campaign: Any) -> None:
    """``?ref=<member id>``: the inviter of this visitor for this campaign (not themselves)."""
    ref = _int(request.args.get("ref"))
    if ref is None:
        return
    me = viewer()
    if me is not None and me.id == ref:
        return
    refs = dict(session.get(REFS) or {})
    refs[str(campaign.id)] = ref
    if len(refs) > 50:  # keep the cookie small: the newest fifty
        refs = dict(list(refs.items())[-50:])
    session[REFS] = refs


def inviter_of(campaign: Any) -> int | None:
    """The inviter remembered for ``campaign`` in this session."""
    return _int((session.get(REFS) or {}).get(str(campaign.id)))


@bp.route("/c/<int:campaign_id>")
def campaign(campaign_id: int) -> ResponseReturnValue:
    """A campaign's link: its thread once open (``?ref=`` remembers the inviter), a draft's
    preview for its leader (404 for others)."""
    found = services.get_campaign(campaign_id)
    _remember_inviter(found)
    if found.thread_id:
        return redirect(url_for("main.thread", thread_id=found.thread_id))
    me = viewer()
    if not may_manage(me, found):
        abort(404)
    return render_template(
        "groupbuy/preview.html",
        campaign=found,
        v=head_context(None, found),
        preview=True,
        description_html=Markup(render_markdown(found.description or "")),
    )


def _join_refused(campaign: Any, values: dict[str, str], errors: dict[str, str]) -> Any:
    states = dict(session.get(JOIN_STATE) or {})
    states[str(campaign.id)] = {"values": values, "errors": errors}
    session[JOIN_STATE] = states
    return redirect(campaign_url(campaign, "groupbuy-join"))


@bp.route("/c/<int:campaign_id>/join", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def join(campaign_id: int) -> ResponseReturnValue:
    """Join: reserve the quantity, then pay at the payments core's checkout."""
    me = viewer()
    campaign = services.get_campaign(campaign_id)
    if not campaign.thread_id:
        abort(404)
    form = forms.JoinForm()
    form.pickup_point_id.choices = []
    valid = form.validate_on_submit()
    if form.errors.get("csrf_token"):
        abort(400)
    values = {
        "quantity": (form.quantity.data or "").strip()[:12],
        "pickup_point_id": (form.pickup_point_id.data or "").strip()[:12],
        "delivery_address": (form.delivery_address.data or "").strip()[: forms.ADDRESS_MAX],
    }
    errors: dict[str, str] = {}
    if not valid:
        errors = {name: messages[0] for name, messages in form.errors.items() if messages}
    raw = values["quantity"]
    quantity = int(raw) if raw.isdigit() and len(raw) < 7 else None
    if quantity is None or quantity < 1:
        errors.setdefault("quantity", _("Enter how many you want: a whole number, 1 or more."))
    if errors:
        return _join_refused(campaign, values, errors)
    try:
        order = services.join(
            me,
            campaign,
            quantity=quantity,
            pickup_point_id=_int(values["pickup_point_id"]),
            delivery_address=values["delivery_address"],
            invited_by_id=inviter_of(campaign),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        found = getattr(exc, "errors", None) or {exc.field or "": exc.message}
        known = {"quantity", "pickup_point_id", "delivery_address"}
        errors = {(k if k in known else ""): v for k, v in found.items()}
        return _join_refused(campaign, values, errors)
    return redirect(url_for("payments.checkout", public_id=order.payment_public_id))


@bp.route("/c/<int:campaign_id>/reservation/cancel", methods=["POST"])
@login_required
def cancel_reservation(campaign_id: int) -> ResponseReturnValue:
    """Give up one's unpaid reservation (the stock goes back)."""
    _checked_post()
    me = viewer()
    campaign = services.get_campaign(campaign_id)
    order = services.member_order(me, campaign)
    if order is None:
        abort(404)
    try:
        services.cancel_reservation(me, order)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Your reservation is cancelled."), "success")
    return redirect(campaign_url(campaign, "groupbuy-join"))


@bp.route("/c/<int:campaign_id>/ask", methods=["POST"])
@login_required
@config_limit("RATELIMIT_POSTING")
def ask(campaign_id: int) -> ResponseReturnValue:
    """Ask the buyers: a Q&A question about the campaign, its buyers invited to answer."""
    if not plugins.is_enabled(QA):
        abort(404)
    from forum_plugins.qa import services as qa

    me = viewer()
    campaign = services.get_campaign(campaign_id)
    if not campaign.thread_id:
        abort(404)
    form = forms.AskForm()
    boards = _question_boards(me)
    form.board.choices = [(str(b.id), b.name) for b in boards]
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        flash(_("Write your question and its details."), "error")
        return redirect(campaign_url(campaign, "groupbuy-questions"))
    board = next((b for b in boards if str(b.id) == form.board.data), boards[0] if boards else None)
    if board is None:
        raise PermissionDenied(_("There is no board where you may ask a question."))
    try:
        thread = posting.create_thread(
            me, board, form.title.data.strip(), form.body.data, kind=QA_KIND
        )
        qa.attach_item(
            thread,
            source=PLUGIN,
            item_id=campaign.id,
            title=campaign.title,
            url=campaign_url(campaign),
            buyer_ids=services.buyer_ids(campaign),
        )
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(campaign_url(campaign, "groupbuy-questions"))
    flash(_("Your question is posted; the buyers are asked to answer."), "success")
    return redirect(url_for("main.thread", thread_id=thread.id))


# -- lists ---------------------------------------------------------------------------------


def card(campaign: Any) -> dict[str, Any]:
    """A campaign on a list: it, its progress, its cover photo and the price to join now."""
    progress = services.progress(campaign)
    photos = services.photos_of(campaign)
    return {
        "campaign": campaign,
        "progress": progress,
        "cover": photos[0] if photos else None,
        "price": progress.current_price_cents,
    }


@bp.route("/")
def index() -> ResponseReturnValue:
    """The open campaigns (cards)."""
    me = viewer()
    rows, pages = services.open_campaigns(me, page=page_arg())
    return render_template(
        "groupbuy/index.html",
        cards=[card(c) for c in rows],
        page=page_arg(),
        pages=pages,
        may_lead=me is not None and bool(services.leader_boards(me)),
    )


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The member's group-buy orders (and the campaigns they lead)."""
    me = viewer()
    rows, pages = services.my_orders(me, page=page_arg())
    campaigns = {o.campaign_id: services.get_campaign(o.campaign_id) for o in rows}
    return render_template(
        "groupbuy/mine.html",
        orders=rows,
        campaigns=campaigns,
        led=_led(me),
        page=page_arg(),
        pages=pages,
    )


def _led(member: Member) -> list[Any]:
    """The campaigns ``member`` leads, newest first (the services' model, one query)."""
    from sqlalchemy import select

    from forum.extensions import db

    from .models import Campaign

    return list(
        db.session.execute(
            select(Campaign)
            .where(Campaign.leader_id == member.id)
            .order_by(Campaign.created_at.desc())
            .limit(50)
        ).scalars()
    )


@bp.route("/invites")
def invites() -> ResponseReturnValue:
    """The inviters' leaderboard (paid orders their links brought)."""
    return render_template("groupbuy/invites.html", rows=services.inviter_leaderboard(limit=20))


from . import leader_views  # noqa: E402, F401 (its routes register on the blueprint)
