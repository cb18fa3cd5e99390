"""The membership forms (Flask-WTF: every one carries the CSRF token). They check shape only;
the rules (prices, seats, codes, required answers) live in :mod:`.services`, whose refusals
the views put beside the field they name."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields import DateField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from forum.web.forms import SelectChoice

from .models import PERIOD_UNITS, RULE_KINDS


def _checkboxes(label: Any, **kw: Any) -> SelectMultipleField:
    """A list of checkboxes (the view fills in the choices; the service checks them)."""
    return SelectMultipleField(
        label,
        choices=[],
        coerce=int,
        validate_choice=False,
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        **kw,
    )


def money_cents(text: str | None) -> int | None:
    """``"99"`` / ``"99.5"`` / ``"¥99.50"`` → 9950 cents; None for an empty box;
    ValueError for anything else (more than two decimals, letters, negative)."""
    raw = (text or "").strip().lstrip("¥￥$").replace(",", "").replace("，", "")
    if not raw:
        return None
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(raw)
    return int(amount * 100)


def _is_money(_form: Any, field: Any) -> None:
    try:
        money_cents(field.data)
    except ValueError:
        raise ValidationError(_l("Enter an amount such as 99 or 99.50.")) from None


PERIOD_LABELS = {
    "day": _l("Days"),
    "month": _l("Months"),
    "year": _l("Years"),
    "lifetime": _l("Lifetime"),
}

RULE_LABELS = {
    "inactive_days": _l("No post or check-in for N days"),
    "warnings_over": _l("More than N warnings"),
}


class TierForm(FlaskForm):
    """A tier: what it costs, for how long, what it grants."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=40)])
    slug = StringField(
        _l("Address name"),
        validators=[Optional(), Length(max=40)],
        description=_l("Lower-case letters, digits and '-'. Empty: made from the name."),
    )
    price = StringField(
        _l("Price"),
        validators=[_is_money],
        render_kw={"inputmode": "decimal", "placeholder": "99"},
        description=_l("In yuan (or the currency beside it). Empty or 0: sold for points only."),
    )
    currency = StringField(_l("Currency"), default="CNY", validators=[Length(max=3)])
    points_price = IntegerField(
        _l("Price in points"),
        validators=[Optional(), NumberRange(min=1)],
        description=_l("Optional: members may pay with points instead."),
    )
    period_unit = SelectField(
        _l("Period"),
        choices=[SelectChoice(u, PERIOD_LABELS[u]) for u in PERIOD_UNITS],
        default="year",
    )
    period_count = IntegerField(
        _l("Number of periods"), default=1, validators=[DataRequired(), NumberRange(min=1)]
    )
    seats = IntegerField(
        _l("Seats"),
        validators=[Optional(), NumberRange(min=0)],
        description=_l("Empty: no limit."),
    )
    perks = TextAreaField(
        _l("Perks"),
        validators=[Optional(), Length(max=5000)],
        description=_l("One perk a line (Markdown: start lines with '- ')."),
    )
    group_ids = _checkboxes(_l("Groups it grants"))
    position = IntegerField(_l("Position"), default=0, validators=[Optional()])
    active = BooleanField(_l("On sale"), default=True)


class QuestionForm(FlaskForm):
    """An entry question."""

    text = StringField(_l("Question"), validators=[DataRequired(), Length(max=500)])
    required = BooleanField(_l("An answer is required"), default=True)
    position = IntegerField(_l("Position"), default=0, validators=[Optional()])


class ReviewForm(FlaskForm):
    """Approve or reject an application (the reason is told to the applicant)."""

    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=500)],
        description=_l("Told to the applicant. Needed to reject."),
    )


class InviteCreateForm(FlaskForm):
    """A new invite code."""

    tier_id = SelectField(_l("Tier"), coerce=int, choices=[], validate_choice=False)
    code = StringField(
        _l("Code"),
        validators=[Optional(), Length(max=32)],
        description=_l("Empty: ten random letters and digits."),
        render_kw={"autocomplete": "off"},
    )
    max_uses = IntegerField(
        _l("Uses"), default=1, validators=[DataRequired(), NumberRange(min=1, max=100_000)]
    )
    expires_on = DateField(
        _l("Valid until"), validators=[Optional()], description=_l("Empty: no end.")
    )
    note = StringField(
        _l("Note"),
        validators=[Optional(), Length(max=200)],
        description=_l("For you: who the code is for."),
    )


class RuleForm(FlaskForm):
    """A clean-out rule."""

    kind = SelectField(_l("When"), choices=[SelectChoice(k, RULE_LABELS[k]) for k in RULE_KINDS])
    threshold = IntegerField(
        _l("N (days or warnings)"),
        default=30,
        validators=[DataRequired(), NumberRange(min=1, max=100_000)],
    )
    notice_days = IntegerField(
        _l("Days of notice"),
        default=7,
        validators=[Optional(), NumberRange(min=0, max=365)],
        description=_l("Warned first, removed this many days later."),
    )
    group_ids = _checkboxes(_l("Groups it clears out of"))
    enabled = BooleanField(_l("Enabled"), default=True)


class InviteForm(FlaskForm):
    """Redeem an invite code."""

    code = StringField(
        _l("Invite code"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"},
    )


class _ApplicationBase(FlaskForm):
    """The entry application; :func:`application_form` adds one box per question."""


def answer_field(question_id: int) -> str:
    """The form field of a question's answer (also the services' error field)."""
    return f"q{question_id}"


def application_form(questions: Sequence[Any], **kw: Any) -> FlaskForm:
    """A form with a text box per entry question (``q<id>``), labelled with its text."""

    class ApplicationForm(_ApplicationBase):
        pass

    for q in questions:
        validators = [DataRequired() if q.required else Optional(), Length(max=2000)]
        setattr(
            ApplicationForm,
            answer_field(q.id),
            TextAreaField(q.text, validators=validators, render_kw={"rows": 3}),
        )
    return ApplicationForm(**kw)
