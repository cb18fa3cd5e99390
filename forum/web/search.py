"""The ``/search`` page: a query with filters (board, author, thread kind, dates, titles
only), relevance or newest first, highlighted excerpts, pages. GET only: nothing changes.

The view parses the arguments; the rules (which boards the viewer may read, what a query
may be) are in :mod:`forum.search`. A bad argument shows a message on the page, never a 500.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateField, SearchField, SelectField, StringField
from wtforms.validators import Length, Optional

from forum import plugins, search
from forum.extensions import db, limiter
from forum.models import Board
from forum.search.text import QueryError
from forum.services import permissions
from forum.web.forms import SelectChoice
from forum.web.util import viewer

bp = Blueprint("search", __name__)

#: Searching is cheap but not free: a bound per address.
SEARCH_LIMIT = "60 per minute"

SORT_CHOICES = [
    SelectChoice("relevance", _l("Best match")),
    SelectChoice("newest", _l("Newest first")),
]
SORTS = ("relevance", "newest")


class SearchForm(FlaskForm):
    """The search form (GET, so no CSRF token)."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search for"), validators=[Optional()])
    board = SelectField(_l("Board"), choices=[], validate_choice=False)
    author = StringField(_l("Author"), validators=[Optional(), Length(max=40)])
    kind = SelectField(_l("Thread kind"), choices=[], validate_choice=False)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
    titles = BooleanField(_l("Titles only"))
    sort = SelectField(_l("Order"), choices=SORT_CHOICES, default="relevance")

    def filters_active(self) -> bool:
        """True when a filter other than the words is set (the filters panel opens)."""
        return bool(
            self.board.data
            or self.author.data
            or self.kind.data
            or self.since.data
            or self.until.data
            or self.titles.data
        )


def _board_choices() -> list:
    readable = permissions.visible_board_ids(viewer(), "read")
    rows = (
        db.session.execute(
            select(Board.slug, Board.name)
            .where(Board.id.in_(readable))
            .order_by(Board.category_id, Board.position, Board.id)
        ).all()
        if readable
        else []
    )
    return [SelectChoice("", _l("All boards")), *(SelectChoice(r.slug, r.name) for r in rows)]


def _kind_choices() -> list:
    kinds = [SelectChoice("", _l("Any kind")), SelectChoice("discussion", _l("Discussion"))]
    kinds.extend(
        SelectChoice(name, spec.label) for name, (_p, spec) in plugins.thread_kinds().items()
    )
    return kinds


def _utc_start(day: date | None) -> datetime | None:
    """The start of ``day`` in the viewer's time zone, as naive UTC."""
    if day is None:
        return None
    local = datetime.combine(day, time(0), tzinfo=get_timezone())
    return local.astimezone(UTC).replace(tzinfo=None)


@bp.route("/search")
@limiter.limit(SEARCH_LIMIT)
def index():
    form = SearchForm(request.args)
    form.board.choices = _board_choices()
    form.kind.choices = _kind_choices()
    form.validate()
    if form.sort.data not in SORTS:
        form.sort.data = "relevance"
    page_raw = request.args.get("page", "1")
    page = int(page_raw) if page_raw.isdigit() and len(page_raw) < 6 else 1
    asked = bool((form.q.data or "").strip() or form.filters_active())
    found = None
    error = None
    if asked:
        until = form.until.data if not form.until.errors else None
        since = form.since.data if not form.since.errors else None
        try:
            filters = search.make_filters(
                viewer(),
                board=form.board.data or None,
                author=(form.author.data or "").strip() or None,
                kind=form.kind.data or None,
                since=_utc_start(since),
                until=_utc_start(until + timedelta(days=1)) if until else None,
                titles_only=bool(form.titles.data),
            )
            found = search.search_posts(
                viewer(), form.q.data, filters, sort=form.sort.data or "relevance", page=page
            )
        except QueryError as exc:
            error = exc.message
    return render_template(
        "search.html", form=form, found=found, error=error, query_max=search.QUERY_MAX
    )
