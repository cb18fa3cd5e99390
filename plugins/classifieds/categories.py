"""The market's categories and their typed fields (分类信息), defined by site admins."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.extensions import db
from forum.models import Member
from forum.models.base import utcnow
from forum.services import permissions
from forum.services.errors import NotFound, PermissionDenied, ServiceError

from .models import FIELD_TYPES, Category, CategoryField, Listing, ListingValue

NAME_MAX = 40
DESCRIPTION_MAX = 200
KEY = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
OPTION_MAX = 60
OPTIONS_MAX = 50


def _require_admin(actor: Member | None) -> None:
    if not permissions.is_admin(actor):
        raise PermissionDenied(_("Only administrators may change the market's categories."))


def categories() -> list[Category]:
    """Every category by position, with its fields loaded (two queries)."""
    return list(
        db.session.execute(select(Category).order_by(Category.position, Category.id)).scalars()
    )


def get_category(category_id: int) -> Category:
    """The category (fields loaded), else :class:`NotFound`."""
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound("category")
    return category


def save_category(
    actor: Member | None,
    category: Category | None = None,
    *,
    name: str,
    description: str = "",
    position: int = 0,
) -> Category:
    """Create (``category=None``) or change a category. Site admins only. Commits."""
    _require_admin(actor)
    name = " ".join((name or "").split())
    description = (description or "").strip()
    if not name:
        raise ServiceError(_("Name the category."), "name")
    if len(name) > NAME_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=NAME_MAX), "name")
    if len(description) > DESCRIPTION_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=DESCRIPTION_MAX), "description")
    if category is None:
        category = Category(name=name, created_at=utcnow())
        db.session.add(category)
    category.name = name
    category.description = description
    category.position = int(position or 0)
    db.session.commit()
    return category


def delete_category(actor: Member | None, category: Category) -> None:
    """Delete a category with its fields. Site admins only. Its listings stay, without a
    category (``category_id`` → NULL); the typed values of its fields go with them. Commits."""
    _require_admin(actor)
    db.session.execute(
        update(Listing).where(Listing.category_id == category.id).values(category_id=None)
    )
    field_ids = [f.id for f in category.fields]
    if field_ids:
        db.session.execute(delete(ListingValue).where(ListingValue.field_id.in_(field_ids)))
    db.session.delete(category)
    db.session.commit()


def _parse_options(options_text: str) -> list[str]:
    options: list[str] = []
    for line in (options_text or "").splitlines():
        option = " ".join(line.split())
        if not option or option in options:
            continue
        if len(option) > OPTION_MAX:
            raise ServiceError(
                _("An option has at most %(n)d characters.", n=OPTION_MAX), "options_text"
            )
        options.append(option)
    if len(options) > OPTIONS_MAX:
        raise ServiceError(_("At most %(n)d options.", n=OPTIONS_MAX), "options_text")
    return options


def save_field(
    actor: Member | None,
    category: Category,
    field: CategoryField | None = None,
    *,
    key: str,
    label: str,
    type: str,  # noqa: A002 (the contract's name)
    required: bool = False,
    in_list: bool = False,
    options_text: str = "",
    unit: str = "",
    position: int = 0,
) -> CategoryField:
    """Create or change a typed field of ``category``. Site admins only. Commits.

    ``key``: lower-case letters, digits and ``_``, starting with a letter, unique in the
    category; ``options_text``: one option per line (select and multi need at least two)."""
    _require_admin(actor)
    key = (key or "").strip()
    label = " ".join((label or "").split())
    unit = (unit or "").strip()
    if not KEY.match(key):
        raise ServiceError(
            _("Lower-case letters, digits and _, starting with a letter (at most 30)."), "key"
        )
    if not label:
        raise ServiceError(_("Give the field a label."), "label")
    if len(label) > NAME_MAX:
        raise ServiceError(_("At most %(n)d characters.", n=NAME_MAX), "label")
    if type not in FIELD_TYPES:
        raise ServiceError(_("Choose a type."), "type")
    if len(unit) > 12:
        raise ServiceError(_("At most %(n)d characters.", n=12), "unit")
    options = _parse_options(options_text) if type in ("select", "multi") else []
    if type in ("select", "multi") and len(options) < 2:
        raise ServiceError(_("Give at least two options, one per line."), "options_text")
    clash = db.session.execute(
        select(CategoryField.id).where(
            CategoryField.category_id == category.id, CategoryField.key == key
        )
    ).scalar()
    if clash is not None and (field is None or clash != field.id):
        raise ServiceError(_("The category has a field with this key already."), "key")
    if field is None:
        field = CategoryField(category_id=category.id, key=key)
        db.session.add(field)
    field.key = key
    field.label = label
    field.type = type
    field.required = bool(required)
    field.in_list = bool(in_list)
    field.options = options
    field.unit = unit
    field.position = int(position or 0)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ServiceError(_("The category has a field with this key already."), "key") from None
    db.session.expire(category, ["fields"])
    return field


def delete_field(actor: Member | None, field: CategoryField) -> None:
    """Delete a typed field and every listing's value of it. Site admins only. Commits."""
    _require_admin(actor)
    category_id = field.category_id
    db.session.delete(field)
    db.session.commit()
    category = db.session.get(Category, category_id)
    if category is not None:
        db.session.expire(category, ["fields"])
