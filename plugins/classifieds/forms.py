"""The market's forms (Flask-WTF: every one that writes carries the CSRF token; the market's
filters are a plain GET form without one). They check shape only: prices, typed values,
photos and the posting limits are the services' (:mod:`.services`), whose refusals the
views put beside the input they name.

A category's typed fields become inputs named ``f_<key>`` (the name the services' errors
use); in the market's filters a number or money field is two inputs, ``f_<key>_min`` and
``f_<key>_max``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    Form,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import Field, IntegerField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from forum.web.forms import SelectChoice

#: Input name prefix of a typed field (``f_<key>``), as the services name their errors.
FIELD_PREFIX = "f_"
#: Lengths of the inputs (the services check the same).
TITLE_MAX = 120
BODY_MAX = 20_000
CITY_MAX = 40
VALUE_MAX = 200
SORTS = ("newest", "price_asc", "price_desc")


def field_name(field: Any) -> str:
    """The input name of a category field (``f_<key>``)."""
    return FIELD_PREFIX + field.key


def field_label(field: Any) -> str:
    """A typed field's label with its unit (``Mileage (km)``)."""
    return f"{field.label} ({field.unit})" if field.unit else field.label


def _choices(pairs: Iterable[tuple[Any, Any]]) -> list:
    return [SelectChoice(str(value), label) for value, label in pairs]


class ListingForm(FlaskForm):
    """A new listing or the changes to one. The category's typed fields are added by
    :func:`listing_form`; the photos already stored on a refused attempt come back as
    ``kept`` ids (hidden inputs, read by the view), ``remove`` ticks some of them off."""

    board = SelectField(_l("Board"), choices=[], validate_choice=False)
    category_id = SelectField(_l("Category"), choices=[], validate_choice=False)
    title = StringField(
        _l("Title"),
        validators=[DataRequired(), Length(max=TITLE_MAX)],
        description=_l("What it is: brand, model, size."),
    )
    body = TextAreaField(
        _l("Description"),
        validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l("Its state, what comes with it, why you sell it (Markdown)."),
    )
    price = StringField(
        _l("Price (yuan)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal", "autocomplete": "off", "placeholder": "0.00"},
    )
    condition = SelectField(_l("Condition"), choices=[], validate_choice=False)
    city = StringField(
        _l("City"),
        validators=[Optional(), Length(max=CITY_MAX)],
        description=_l("Where the buyer picks it up or it ships from."),
    )
    pickup = BooleanField(_l("Pick-up in person"), default=True)
    shipping = BooleanField(_l("By post"))
    images = MultipleFileField(
        _l("Photos"),
        render_kw={"accept": "image/jpeg,image/png,image/gif,image/webp"},
        description=_l("Up to 9 photos (JPEG, PNG, GIF, WebP). The first is the cover."),
    )


def _value_input(field: Any, *, for_filter: bool = False) -> Field:
    """The unbound input of one typed field (shape only; the services parse and check)."""
    label = field_label(field)
    attrs: dict[str, Any] = {"autocomplete": "off"}
    if field.required and not for_filter:
        attrs["required"] = True
    if field.type == "select":
        blank = _l("Any") if for_filter else _l("Choose…")
        return SelectField(
            label,
            choices=[SelectChoice("", blank), *_choices((o, o) for o in field.options or [])],
            validate_choice=False,
            render_kw=attrs,
        )
    if field.type == "multi":
        if for_filter:  # one option the listing has
            return SelectField(
                label,
                choices=[SelectChoice("", _l("Any")), *_choices((o, o) for o in field.options)],
                validate_choice=False,
            )
        return SelectMultipleField(
            label, choices=_choices((o, o) for o in field.options or []), validate_choice=False
        )
    if field.type == "bool":
        blank = _l("Any") if for_filter else _l("Choose…")
        return SelectField(
            label,
            choices=[
                SelectChoice("", blank),
                SelectChoice("1", _l("Yes")),
                SelectChoice("0", _l("No")),
            ],
            validate_choice=False,
            render_kw=attrs,
        )
    if field.type in ("number", "money"):
        attrs["inputmode"] = "decimal"
        if field.type == "money":
            attrs["placeholder"] = "0.00"
    attrs["maxlength"] = VALUE_MAX
    return StringField(label, validators=[Optional(), Length(max=VALUE_MAX)], render_kw=attrs)


def listing_form(
    fields: Iterable[Any], *, formdata: Any = None, data: dict[str, Any] | None = None
) -> ListingForm:
    """A :class:`ListingForm` with an input ``f_<key>`` per typed field of the category.

    ``formdata`` (default: the request's form on POST) fills it from what was sent,
    ``data`` from a listing (``services.listing_form_data``) or a GET's query."""
    extra = {field_name(f): _value_input(f) for f in fields}
    form_class = type("ListingFormForCategory", (ListingForm,), extra) if extra else ListingForm
    kwargs: dict[str, Any] = {"data": data} if data is not None else {}
    if formdata is not None:
        kwargs["formdata"] = formdata
    return form_class(**kwargs)


class MarketFilters(Form):
    """The market's filters, read from the query string (a GET form: no CSRF token). The
    chosen category's typed fields are added by :func:`market_filters`."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    category = SelectField(
        _l("Category"), choices=[], validate_choice=False, render_kw={"data-autosubmit": "1"}
    )
    price_min = StringField(
        _l("Price from"), render_kw={"inputmode": "decimal", "placeholder": "¥", "maxlength": 20}
    )
    price_max = StringField(
        _l("to"), render_kw={"inputmode": "decimal", "placeholder": "¥", "maxlength": 20}
    )
    city = StringField(_l("City"), render_kw={"maxlength": CITY_MAX})
    status = SelectField(_l("Status"), choices=[], validate_choice=False)
    sort = SelectField(
        _l("Sort"),
        choices=[
            SelectChoice("newest", _l("Newest")),
            SelectChoice("price_asc", _l("Price: low to high")),
            SelectChoice("price_desc", _l("Price: high to low")),
        ],
        validate_choice=False,
    )


def market_filters(fields: Iterable[Any], formdata: Any) -> MarketFilters:
    """The filter form for the market's query string, with the chosen category's fields:
    one input ``f_<key>`` each, two (``f_<key>_min``, ``f_<key>_max``) for numbers."""
    extra: dict[str, Field] = {}
    for f in fields:
        if f.type in ("number", "money"):
            attrs = {"inputmode": "decimal", "maxlength": 20, "autocomplete": "off"}
            extra[field_name(f) + "_min"] = StringField(
                _l("%(label)s from", label=field_label(f)), render_kw=attrs
            )
            extra[field_name(f) + "_max"] = StringField(_l("to"), render_kw=attrs)
        else:
            extra[field_name(f)] = _value_input(f, for_filter=True)
    form_class = (
        type("MarketFiltersForCategory", (MarketFilters,), extra) if extra else MarketFilters
    )
    return form_class(formdata=formdata)


class BuyerForm(FlaskForm):
    """The buyer a listing is reserved for, or sold to (a username)."""

    buyer = StringField(
        _l("Buyer's username"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "off", "autocapitalize": "none"},
    )


class ContactForm(FlaskForm):
    """The first message to a seller (pre-filled with the listing)."""

    body = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=5000)])


class CategoryForm(FlaskForm):
    """A category of listings (admins)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=40)])
    description = StringField(_l("Description"), validators=[Optional(), Length(max=200)])
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=10_000)]
    )


class FieldForm(FlaskForm):
    """A typed field of a category (admins)."""

    key = StringField(
        _l("Key"),
        validators=[DataRequired(), Length(max=30)],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
        description=_l("Lower-case letters, digits and _ (starts with a letter): used in links."),
    )
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=40)])
    type = SelectField(_l("Type"), choices=[], validate_choice=False)
    required = BooleanField(_l("Required"))
    in_list = BooleanField(_l("Shown on the market's cards"))
    options_text = TextAreaField(
        _l("Options"),
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 4},
        description=_l("For a choice: one option per line (at least two)."),
    )
    unit = StringField(
        _l("Unit"), validators=[Optional(), Length(max=12)], description=_l("Such as km or GB.")
    )
    position = IntegerField(
        _l("Position"), default=0, validators=[Optional(), NumberRange(min=0, max=10_000)]
    )
