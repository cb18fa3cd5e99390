"""The market pages under ``/market``: the market (filters, cards, pages), the listing form
(new and edit), the seller's actions (renew, reserve, unreserve, sold to a buyer), contacting
the seller, and the admin page of categories and their typed fields. The trades, ratings
and scam reports are :mod:`.trade_views`; the listing's head on the thread page is the
template ``classifieds/listing_head.html`` (the thread kind's).

Views parse the request, authorise, call :mod:`.services` and render; a service's refusal
is shown beside the input it names with what the member typed kept (typed fields and
photos too). Every write is a POST form with the CSRF token (the core's CSRFProtect checks
it; the listing form's two views check it themselves, see :func:`_photo_sized_request`).
The listing form works without JavaScript: its category picker has a button that
sends the form back to be shown with the chosen category's fields (``reload``), keeping
the text and storing the photos chosen so far; ``classifieds.js`` presses it on change.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from forum.extensions import csrf, db
from forum.models import Board, Member, Thread, Upload
from forum.services import permissions, posting
from forum.services.errors import NotFound, PermissionDenied, ServiceError
from forum.web.forms import ActionForm
from forum.web.util import config_limit, form_error, page_arg, viewer

from . import forms, services
from .blueprint import bp

# -- helpers -------------------------------------------------------------------------------


def _int(raw: Any) -> int | None:
    """A positive id from a query or form value, else None."""
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 12 else None


def _checked_post() -> None:
    """Refuse a POST whose CSRF token is missing or wrong (buttons without fields)."""
    if not ActionForm().validate_on_submit():
        abort(400)


def _thread_url(listing: Any) -> str:
    return url_for("main.thread", thread_id=listing.thread_id)


def _category_choices(categories: list[Any], blank: str) -> list[tuple[str, str]]:
    return [("", blank), *((str(c.id), c.name) for c in categories)]


def _chosen(categories: list[Any], category_id: int | None) -> Any:
    return next((c for c in categories if c.id == category_id), None)


def _owned_uploads(member: Member, ids: list[int]) -> list[Upload]:
    """The uploads among ``ids`` that ``member`` stored, in the order of ``ids``."""
    if not ids:
        return []
    rows = db.session.scalars(
        select(Upload).where(Upload.id.in_(ids), Upload.member_id == member.id)
    ).all()
    by_id = {u.id: u for u in rows}
    return [by_id[i] for i in ids if i in by_id]


def _id_list(name: str) -> list[int]:
    """The distinct ids a form sent as ``name`` (several inputs), in their order."""
    out: list[int] = []
    for raw in request.form.getlist(name):
        value = _int(raw)
        if value is not None and value not in out:
            out.append(value)
    return out


@bp.app_template_global("classifieds_price")
def price_text(cents: int, currency: str = "CNY") -> str:
    """Templates: a price in cents as the market shows it (``¥1,200``, ``¥12.50``)."""
    return services.format_price(cents, currency)


@bp.app_template_global("classifieds_labels")
def labels() -> dict[str, dict[str, str]]:
    """Templates: the words for a listing's ``status`` and ``condition`` values."""
    return {"status": services.status_labels(), "condition": services.condition_labels()}


# -- the market ----------------------------------------------------------------------------


def _filter_values(filters: forms.MarketFilters, category: Any) -> dict[str, str]:
    """The typed-field filters the member set: ``key`` → text, or ``min..max`` for numbers."""
    values: dict[str, str] = {}
    if category is None:
        return values
    for f in category.fields:
        name = forms.field_name(f)
        if f.type in ("number", "money"):
            low = (filters[name + "_min"].data or "").strip()
            high = (filters[name + "_max"].data or "").strip()
            if low or high:
                values[f.key] = f"{low}..{high}"
        else:
            value = (filters[name].data or "").strip()
            if value:
                values[f.key] = value
    return values


def _filter_errors(filters: forms.MarketFilters, errors: dict[str, str]) -> None:
    """Put the market's refusals of filter input beside their inputs."""
    for key, message in (errors or {}).items():
        names = [key, f"{key}_min", {"category_id": "category"}.get(key, "")]
        for name in names:
            if name in filters._fields:
                filters[name].errors = [*filters[name].errors, message]
                break
        else:
            flash(message, "error")


@bp.route("")
def market() -> ResponseReturnValue:
    """The market: cards of the listings, the filters (a GET form), pages."""
    me = viewer()
    categories = services.categories()
    category = _chosen(categories, _int(request.args.get("category")))
    filters = forms.market_filters(category.fields if category else [], request.args)
    filters.category.choices = _category_choices(categories, _("All categories"))
    filters.status.choices = [
        ("", _("For sale")),
        *services.status_labels().items(),
        ("all", _("All listings")),
    ]
    sort = filters.sort.data if filters.sort.data in forms.SORTS else "newest"
    found = services.market(
        me,
        category_id=category.id if category else None,
        q=(filters.q.data or "").strip()[:100],
        price_min=(filters.price_min.data or "").strip(),
        price_max=(filters.price_max.data or "").strip(),
        city=(filters.city.data or "").strip()[: forms.CITY_MAX],
        status=(filters.status.data or "").strip(),
        sort=sort,
        fields=_filter_values(filters, category),
        board=(request.args.get("board") or "").strip() or None,
        page=page_arg(),
    )
    _filter_errors(filters, found.errors)
    field_inputs = []
    if category is not None:
        for f in category.fields:
            name = forms.field_name(f)
            if f.type in ("number", "money"):
                field_inputs.append((f, filters[name + "_min"], filters[name + "_max"]))
            else:
                field_inputs.append((f, filters[name], None))
    filtered = any(
        request.args.get(k)
        for k in request.args
        if k not in ("page", "sort") and (request.args.get(k) or "").strip()
    )
    return render_template(
        "classifieds/market.html",
        found=found,
        filters=filters,
        category=category,
        field_inputs=field_inputs,
        filtered=filtered,
        may_post=me is None or bool(services.market_boards(me)),  # guests: sign in first
    )


# -- the listing form ----------------------------------------------------------------------


def _listing_input(form: forms.ListingForm, category: Any, image_ids: list[int]) -> Any:
    """The service's input from the form (raw text; the service parses and checks)."""
    values: dict[str, Any] = {}
    for f in category.fields if category else []:
        data = form[forms.field_name(f)].data
        if f.type == "multi":
            values[f.key] = [str(v) for v in data or []]
        else:
            values[f.key] = str(data or "").strip()
    return services.ListingInput(
        title=(form.title.data or "").strip(),
        body=form.body.data or "",
        category_id=category.id if category else None,
        price=(form.price.data or "").strip(),
        condition=form.condition.data or "",
        city=(form.city.data or "").strip(),
        pickup=bool(form.pickup.data),
        shipping=bool(form.shipping.data),
        values=values,
        image_ids=image_ids,
    )


def _photos(form: forms.ListingForm, member: Member, kept: list[int]) -> list[int] | None:
    """The photos of the listing: those kept from before (not ticked off), then the files
    chosen now, stored through the services. None when a file was refused (the error is
    on the photo input, nothing new is stored)."""
    removed = set(_id_list("remove"))
    kept = [i for i in kept if i not in removed]
    files = [f for f in request.files.getlist(form.images.name) if f and f.filename]
    if not files:
        return kept
    try:
        stored = services.save_images(member, files, kept=len(kept))
    except ServiceError as exc:
        form.images.errors = [exc.message]
        return None
    return kept + [u.id for u in stored]


def _service_error(form: forms.ListingForm, exc: ServiceError) -> None:
    """A listing refusal beside its input (``trade`` beside the trade methods); a refusal
    that carries several (``exc.errors``: input → message) puts each beside its own."""
    found = getattr(exc, "errors", None) or {exc.field: exc.message}
    for name, message in found.items():
        field = {"trade": "pickup", "category": "category_id"}.get(name or "", name)
        target = getattr(form, field, None) if field else None
        if target is not None and hasattr(target, "errors"):
            if message not in target.errors:
                target.errors = [*target.errors, message]
        else:
            flash(message, "error")


def _render_form(
    form: forms.ListingForm,
    *,
    categories: list[Any],
    category: Any,
    photos: list[Upload],
    listing: Any = None,
    boards: list[Board] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    typed = [form[forms.field_name(f)] for f in category.fields] if category else []
    html = render_template(
        "classifieds/listing_form.html",
        form=form,
        category=category,
        categories=categories,
        typed=list(zip(category.fields if category else [], typed, strict=True)),
        photos=photos,
        upload_url=services.thumb_url,  # the kept photos as thumbnails
        listing=listing,
        boards=boards or [],
        max_images=services.MAX_IMAGES,
        # a new listing starts with "what are you selling?" (the categories as links)
        choosing=(
            request.method == "GET" and listing is None and bool(categories)
            and "category" not in request.args
        ),
    )  # fmt: skip
    return html, status


def _prepare(form: forms.ListingForm, categories: list[Any], category: Any) -> None:
    form.category_id.choices = _category_choices(categories, _("Other (no category)"))
    form.category_id.data = str(category.id) if category else ""
    form.condition.choices = list(services.condition_labels().items())
    if not form.condition.data:
        form.condition.data = "good"


def _listing_form_page(
    member: Member,
    *,
    board: Board | None,
    boards: list[Board],
    listing: Any = None,
    initial: Any = None,
) -> ResponseReturnValue:
    """The new-listing and edit pages: the form (GET), the category picker's re-render and
    the submit (POST). ``initial``: the listing's input (edit) for the first GET."""
    categories = services.categories()
    page = partial(_render_form, categories=categories, listing=listing, boards=boards)
    if request.method == "GET":
        form, category, kept = _form_from_query(categories, initial)
    else:
        category = _chosen(categories, _int(request.form.get("category_id")))
        form = forms.listing_form(category.fields if category else [], formdata=request.form)
        kept = _id_list("kept")
    _prepare(form, categories, category)
    if len(boards) > 1 and listing is None:
        form.board.choices = [(b.slug, b.name) for b in boards]
        if board is not None:
            form.board.data = board.slug
    owner = _seller(listing) or member
    if request.method == "GET":
        return page(form, category=category, photos=_owned_uploads(owner, kept))
    if not ActionForm().validate_on_submit():  # (CSRFProtect leaves these views to us)
        flash(_("The form has expired. Please send it again."), "error")
        return page(form, category=category, photos=_owned_uploads(owner, kept), status=400)
    reload = bool(request.form.get("reload"))  # the category picker: its fields, no errors
    ok = reload or form.validate()  # (validate() resets the inputs' errors: photos' after)
    kept = [u.id for u in _owned_uploads(owner, kept)]
    stored = _photos(form, owner, kept)
    photo_ids = stored if stored is not None else kept
    if reload:
        for f in form:
            f.errors = []
        return page(form, category=category, photos=_owned_uploads(owner, photo_ids))
    if listing is None and board is None:
        form.board.errors = [_("Choose the board to post in.")]
        ok = False
    done = _submit(
        form, member, board, listing, _listing_input(form, category, photo_ids),
        ok=ok and stored is not None,
    )  # fmt: skip
    if done is not None:
        return done
    photos = _owned_uploads(owner, photo_ids)
    return page(form, category=category, photos=photos, status=400)


def _form_from_query(categories: list[Any], initial: Any) -> tuple[Any, Any, list[int]]:
    """(form, category, photo ids) of a GET: the category of ``?category=`` (else the
    listing's), the listing's input when editing."""
    wanted = _int(request.args.get("category"))
    if initial is not None:
        wanted = wanted or initial.category_id
    category = _chosen(categories, wanted)
    data: dict[str, Any] | None = None
    if initial is not None:
        data = {
            "title": initial.title,
            "body": initial.body,
            "price": initial.price,
            "condition": initial.condition,
            "city": initial.city,
            "pickup": initial.pickup,
            "shipping": initial.shipping,
        }
        data.update({forms.FIELD_PREFIX + k: v for k, v in (initial.values or {}).items()})
    form = forms.listing_form(category.fields if category else [], formdata=None, data=data)
    return form, category, list(initial.image_ids) if initial is not None else []


def _submit(
    form: forms.ListingForm,
    member: Member,
    board: Board | None,
    listing: Any,
    data: Any,
    *,
    ok: bool,
) -> ResponseReturnValue | None:
    """Create or update the listing when the form is ``ok``; else let the services check
    it anyway, so that every refusal shows at once. The redirect, or None (refused: the
    errors are on the form)."""
    try:
        if not ok:
            if board is not None or listing is not None:
                services.check_listing(
                    member,
                    board or _board_of(listing),
                    data,
                    limits=listing is None,
                    owner=_seller(listing),
                )
            return None
        if listing is not None:
            services.update_listing(member, listing, data)
            flash(_("The listing is saved."), "success")
            return redirect(_thread_url(listing))
        thread = services.create_listing(member, board, data)
    except ServiceError as exc:
        _service_error(form, exc)
        return None
    if getattr(thread, "held", False):
        flash(_("Your listing is waiting for approval by a moderator."), "info")
    else:
        flash(_("Your listing is in the market."), "success")
    return redirect(url_for("main.thread", thread_id=thread.id))


def _seller(listing: Any) -> Member | None:
    """The seller of ``listing`` (None for a new listing): a moderator's edit keeps the
    seller's photos."""
    if listing is None:
        return None
    return db.session.get(Member, listing.seller_id)


def _board_of(listing: Any) -> Board | None:
    """The board of a listing's thread."""
    thread = db.session.get(Thread, listing.thread_id)
    return db.session.get(Board, thread.board_id) if thread is not None else None


def _photo_sized_request() -> None:
    """Let the listing form's request carry its nine photos: the site's request limit is
    one upload (``MAX_CONTENT_LENGTH``); each photo is still held to ``MAX_UPLOAD_MB`` by
    the core's uploads. The core's CSRFProtect would read the form before this view could
    raise the limit, so these views are exempt from it and check the token themselves
    (first thing on a POST, before anything is stored)."""
    one = int(current_app.config["MAX_UPLOAD_MB"]) * 1024 * 1024
    request.max_content_length = services.MAX_IMAGES * one + 256 * 1024


@bp.route("/new", methods=["GET", "POST"])
@csrf.exempt
@login_required
@config_limit("RATELIMIT_POSTING")
def new_listing() -> ResponseReturnValue:
    """A new listing (``?board=<slug>``; a board choice when several market boards)."""
    _photo_sized_request()
    me = viewer()
    boards = services.market_boards(me)
    slug = (request.form.get("board") or request.args.get("board") or "").strip()
    if slug:
        board = next((b for b in boards if b.slug == slug), None)
        if board is None:  # unknown, not a market board, or not the member's to post in
            posting.get_board(slug, me)  # 404 for a board they may not see
            raise PermissionDenied(_("You may not post listings on this board."))
    elif len(boards) == 1:
        board = boards[0]
    elif boards:
        board = None  # the form offers the boards
    else:
        raise PermissionDenied(_("There is no market board you may post listings in."))
    return _listing_form_page(me, board=board, boards=boards)


@bp.route("/<int:thread_id>/edit", methods=["GET", "POST"])
@csrf.exempt
@login_required
@config_limit("RATELIMIT_POSTING")
def edit_listing(thread_id: int) -> ResponseReturnValue:
    """Change a listing (its seller and moderators)."""
    _photo_sized_request()
    me = viewer()
    listing, _view = _allowed(thread_id, "may_edit", _("You may not edit this listing."))
    initial = services.listing_form_data(listing) if request.method == "GET" else None
    return _listing_form_page(me, board=None, boards=[], listing=listing, initial=initial)


# -- the seller's actions ------------------------------------------------------------------


def _seller_action(thread_id: int, action: Any, done: str) -> ResponseReturnValue:
    _checked_post()
    listing = services.get_listing(thread_id, viewer())
    try:
        action(listing)
    except (NotFound, PermissionDenied):
        raise
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(_thread_url(listing))


@bp.route("/<int:thread_id>/renew", methods=["POST"])
@login_required
def renew(thread_id: int) -> ResponseReturnValue:
    """Renew a listing (back on top, a new expiry date)."""
    return _seller_action(
        thread_id, lambda listing: services.renew(viewer(), listing), _("The listing is renewed.")
    )


@bp.route("/<int:thread_id>/reserve", methods=["POST"])
@login_required
def reserve(thread_id: int) -> ResponseReturnValue:
    """Mark a listing reserved for a buyer (username)."""
    form = forms.BuyerForm()
    if not form.validate_on_submit():
        if form.errors.get("csrf_token"):
            abort(400)
        flash(_("Name the buyer it is reserved for."), "error")
        return redirect(_thread_url(services.get_listing(thread_id, viewer())))
    buyer = form.buyer.data.strip()
    return _seller_action(
        thread_id,
        lambda listing: services.reserve(viewer(), listing, buyer),
        _("The listing is reserved for %(name)s.", name=buyer),
    )


@bp.route("/<int:thread_id>/unreserve", methods=["POST"])
@login_required
def unreserve(thread_id: int) -> ResponseReturnValue:
    """The listing is available again."""
    return _seller_action(
        thread_id,
        lambda listing: services.unreserve(viewer(), listing),
        _("The listing is available again."),
    )


def _form_page(
    template: str, form: Any, listing: Any, view: Any, action: Any, field: str
) -> ResponseReturnValue:
    """A one-form page about a listing (sold, contact): on a valid POST ``action(listing)``
    answers with the redirect; a refusal shows beside ``field`` (400)."""
    if form.validate_on_submit():
        try:
            return action(listing)
        except (NotFound, PermissionDenied):
            raise
        except ServiceError as exc:
            exc.field = field
            form_error(form, exc)
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form, listing=listing, view=view), status


def _allowed(thread_id: int, flag: str, refusal: str) -> tuple[Any, Any]:
    """The listing and its view, if the viewer's ``flag`` there is set (else 403)."""
    me = viewer()
    listing = services.get_listing(thread_id, me)
    view = services.listing_view(listing, me)
    if not getattr(view, flag):
        raise PermissionDenied(refusal)
    return listing, view


@bp.route("/<int:thread_id>/sold", methods=["GET", "POST"])
@login_required
def sold(thread_id: int) -> ResponseReturnValue:
    """Sold to a named buyer: a pending trade the buyer confirms (then the trade page)."""
    me = viewer()
    listing, view = _allowed(thread_id, "may_sell", _("You may not mark this listing sold."))
    form = forms.BuyerForm()

    def mark(listing: Any) -> ResponseReturnValue:
        trade = services.mark_sold(me, listing, form.buyer.data.strip())
        flash(_("Done: %(name)s is asked to confirm the trade.", name=form.buyer.data), "success")
        return redirect(url_for("classifieds.trade", trade_id=trade.id))

    if request.method == "GET":
        form.buyer.data = view.reserved_for
    return _form_page("classifieds/sold.html", form, listing, view, mark, "buyer")


@bp.route("/<int:thread_id>/contact", methods=["GET", "POST"])
@login_required
@config_limit("RATELIMIT_MESSAGES")
def contact(thread_id: int) -> ResponseReturnValue:
    """A private conversation with the seller, its first message pre-filled."""
    me = viewer()
    listing, view = _allowed(thread_id, "may_contact", _("You may not contact this seller."))
    form = forms.ContactForm()

    def send(listing: Any) -> ResponseReturnValue:
        conversation = services.contact_seller(me, listing, form.body.data)
        return redirect(url_for("messages.conversation", conversation_id=conversation.id))

    if request.method == "GET":
        form.body.data = services.contact_text(listing)
    return _form_page("classifieds/contact.html", form, listing, view, send, "body")


# -- admin: categories and their typed fields ----------------------------------------------


def _require_admin() -> Member:
    me = viewer()
    if not permissions.is_admin(me):
        abort(403)
    return me


def _field_form(field: Any = None, **kwargs: Any) -> forms.FieldForm:
    form = forms.FieldForm(obj=field, **kwargs) if field is not None else forms.FieldForm(**kwargs)
    form.type.choices = list(services.field_type_labels().items())
    if field is not None and request.method == "GET":
        form.options_text.data = "\n".join(field.options or [])
    return form


def _admin_page(
    *,
    category: Any = None,
    new_category: forms.CategoryForm | None = None,
    edit_category: forms.CategoryForm | None = None,
    new_field: forms.FieldForm | None = None,
    edit_field: tuple[Any, forms.FieldForm] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    categories = services.categories()
    if category is not None and edit_category is None:
        edit_category = forms.CategoryForm(obj=category, prefix="c", formdata=None)
    if category is not None and new_field is None:
        new_field = _field_form(prefix="nf", formdata=None)
    html = render_template(
        "classifieds/admin_categories.html",
        categories=categories,
        category=category,
        new_category=new_category or forms.CategoryForm(prefix="n", formdata=None),
        edit_category=edit_category,
        new_field=new_field,
        edit_field=edit_field,
        type_labels=services.field_type_labels(),
    )
    return html, status


def _saved(form: Any, save: Any, done: str) -> Any:
    """``save()`` for a valid admin form, then ``done`` said; a refusal goes beside its
    input. The saved row, or None (the page is shown again)."""
    if not form.validate_on_submit():
        return None
    try:
        made = save()
    except ServiceError as exc:
        form_error(form, exc)
        return None
    flash(done, "success")
    return made


def _category_values(form: forms.CategoryForm) -> dict[str, Any]:
    return {
        "name": (form.name.data or "").strip(),
        "description": (form.description.data or "").strip(),
        "position": form.position.data or 0,
    }


def _to_category(category: Any) -> ResponseReturnValue:
    return redirect(url_for("classifieds.admin_category", category_id=category.id))


@bp.route("/admin/categories", methods=["GET", "POST"])
@login_required
def admin_categories() -> ResponseReturnValue:
    """The categories (list, new one)."""
    me = _require_admin()
    form = forms.CategoryForm(prefix="n")
    save = partial(services.save_category, me, **_category_values(form))
    made = _saved(form, save, _("The category is created. Now add its fields."))
    if made is not None:
        return _to_category(made)
    return _admin_page(new_category=form, status=400 if request.method == "POST" else 200)


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@login_required
def admin_category(category_id: int) -> ResponseReturnValue:
    """One category: its name and description, its fields, a new field."""
    me = _require_admin()
    category = services.get_category(category_id)
    if request.method == "GET":
        return _admin_page(category=category)
    if request.form.get("action") == "field":
        field_form = _field_form(prefix="nf")
        save = partial(services.save_field, me, category, **_field_values(field_form))
        if _saved(field_form, save, _("The field is added.")) is not None:
            return _to_category(category)
        return _admin_page(category=category, new_field=field_form, status=400)
    form = forms.CategoryForm(prefix="c")
    save = partial(services.save_category, me, category, **_category_values(form))
    if _saved(form, save, _("The category is saved.")) is not None:
        return _to_category(category)
    return _admin_page(category=category, edit_category=form, status=400)


@bp.route("/admin/categories/<int:category_id>/delete", methods=["POST"])
@login_required
def admin_category_delete(category_id: int) -> ResponseReturnValue:
    """Delete a category (its listings stay, without a category)."""
    me = _require_admin()
    _checked_post()
    category = services.get_category(category_id)
    services.delete_category(me, category)
    flash(_("The category is deleted; its listings stay, without a category."), "success")
    return redirect(url_for("classifieds.admin_categories"))


def _field_values(form: forms.FieldForm) -> dict[str, Any]:
    return {
        "key": (form.key.data or "").strip(),
        "label": (form.label.data or "").strip(),
        "type": form.type.data or "",
        "required": bool(form.required.data),
        "in_list": bool(form.in_list.data),
        "options_text": form.options_text.data or "",
        "unit": (form.unit.data or "").strip(),
        "position": form.position.data or 0,
    }


def _field_of(category: Any, field_id: int) -> Any:
    found = next((f for f in category.fields if f.id == field_id), None)
    if found is None:
        abort(404)
    return found


@bp.route("/admin/categories/<int:category_id>/fields/<int:field_id>", methods=["GET", "POST"])
@login_required
def admin_field(category_id: int, field_id: int) -> ResponseReturnValue:
    """Change one typed field."""
    me = _require_admin()
    category = services.get_category(category_id)
    field = _field_of(category, field_id)
    form = _field_form(field if request.method == "GET" else None, prefix="f")
    save = partial(services.save_field, me, category, field, **_field_values(form))
    if _saved(form, save, _("The field is saved.")) is not None:
        return _to_category(category)
    status = 400 if request.method == "POST" else 200
    return _admin_page(category=category, edit_field=(field, form), status=status)


@bp.route("/admin/categories/<int:category_id>/fields/<int:field_id>/delete", methods=["POST"])
@login_required
def admin_field_delete(category_id: int, field_id: int) -> ResponseReturnValue:
    """Delete a typed field (its values go with it)."""
    me = _require_admin()
    _checked_post()
    category = services.get_category(category_id)
    services.delete_field(me, _field_of(category, field_id))
    flash(_("The field is deleted."), "success")
    return _to_category(category)
