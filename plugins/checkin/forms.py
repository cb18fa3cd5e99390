"""The check-ins forms (Flask-WTF: every one carries the CSRF token). They check shape only;
the rules (dates, windows, numbers' ranges, points) live in :mod:`.services`, whose refusals
the views put beside the field they name."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import DateField, FieldList, FormField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from forum.web.forms import IMAGE_TYPES

from . import services

#: Rows of number inputs the camp form offers (at most :data:`services.METRICS_MAX`).
METRIC_ROWS = 2


class MetricForm(Form):
    """One number a check-in records (``key`` is kept hidden: members see the label)."""

    key = HiddenField()
    label = StringField(_l("Number"), validators=[Optional(), Length(max=40)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=12)])
    min = StringField(_l("Lowest"), default="0", render_kw={"inputmode": "decimal"})
    max = StringField(_l("Highest"), default="1000", render_kw={"inputmode": "decimal"})
    decimals = SelectField(
        _l("Digits after the point"),
        choices=[("0", "0"), ("1", "1"), ("2", "2"), ("3", "3")],
        default="0",
    )
    required = BooleanField(_l("Required every day"))


class CampForm(FlaskForm):
    """A new camp, or the changes to one."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=services.TITLE_MAX)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=services.DESCRIPTION_MAX)],
        description=_l("What the camp is about and its rules (Markdown)."),
    )
    starts_on = DateField(_l("First day"), validators=[DataRequired()])
    ends_on = DateField(
        _l("Last day"),
        validators=[Optional()],
        description=_l("Leave empty for a camp without an end (no deposit then)."),
    )
    window_start = TimeField(_l("Check-ins open at"), default=None, validators=[Optional()])
    window_end = TimeField(_l("Check-ins close at"), default=None, validators=[Optional()])
    require_note = BooleanField(_l("A note is required"))
    require_photo = BooleanField(_l("A photo is required"))
    join_group = SelectField(_l("Who may join"), choices=[], validate_choice=False)
    join_fee = StringField(
        _l("Join fee (points)"),
        default="0",
        render_kw={"inputmode": "numeric"},
        description=_l("Paid to the camp's owner on joining; not returned."),
    )
    deposit = StringField(
        _l("Deposit (points)"),
        default="0",
        render_kw={"inputmode": "numeric"},
        description=_l("Held until the camp ends: returned to those who complete it."),
    )
    min_days = StringField(
        _l("Days needed to complete"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
        description=_l("Leave empty: every day from joining to the end."),
    )
    metrics = FieldList(
        FormField(MetricForm), min_entries=METRIC_ROWS, max_entries=services.METRICS_MAX
    )


class EntryForm(FlaskForm):
    """A check-in (today's, or a make-up card's): note, photo, and the camp's numbers
    (``metric_<key>`` inputs, added per camp by :func:`entry_form`)."""

    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=services.NOTE_MAX)])
    photo = FileField(_l("Photo"), validators=[Optional(), IMAGE_TYPES])


class MakeupForm(EntryForm):
    """A make-up card: the missed day it fills, and what a check-in carries."""

    day = SelectField(_l("Day to fill"), choices=[], validate_choice=False)


def entry_form(camp: Any, base: type[EntryForm] = EntryForm, **kwargs: Any) -> EntryForm:
    """An instance of ``base`` with one text input ``metric_<key>`` per number of ``camp``
    (labelled with its name and unit; a decimal keyboard on phones)."""
    fields: dict[str, Any] = {}
    for metric in camp.metric_list:
        label = metric["label"] + (f" ({metric['unit']})" if metric.get("unit") else "")
        decimals = int(metric.get("decimals") or 0)
        attrs = {"inputmode": "decimal" if decimals else "numeric", "autocomplete": "off"}
        if metric.get("required"):
            attrs["required"] = True
        fields[f"metric_{metric['key']}"] = StringField(
            label,
            validators=[Optional(), Length(max=20)],
            render_kw=attrs,
            description=f"{metric['min']}–{metric['max']}",
        )
    form_class = type(f"{base.__name__}ForCamp", (base,), fields)
    form = form_class(**kwargs)
    form.kept = None  # a photo stored by an attempt that showed an error (views._photo)
    return form


def metric_names(camp: Any) -> list[str]:
    """The form attribute names of ``camp``'s number inputs, in order."""
    return [f"metric_{m['key']}" for m in camp.metric_list]


class CommentForm(FlaskForm):
    """A comment on a check-in."""

    body = TextAreaField(
        _l("Comment"), validators=[DataRequired(), Length(max=services.COMMENT_MAX)]
    )


class ReminderForm(FlaskForm):
    """The hour of the daily reminder (the member's local time), or none."""

    reminder_hour = SelectField(
        _l("Remind me at"),
        choices=[("", _l("No reminders"))] + [(str(h), f"{h:02d}:00") for h in range(24)],
        validate_choice=False,
        description=_l("On days you have not checked in yet, in your own time zone."),
    )
