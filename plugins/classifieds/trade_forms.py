"""The forms of the trade pages (Flask-WTF: every one carries the CSRF token): a rating,
the ratee's reply, a scam report with evidence and photos, and the moderators' actions on a
scam report. They check shape only; the rules (who may rate, once, after a confirmed
trade …) live in :mod:`.services`, whose refusals the views put beside the field they
name. Buttons without fields (confirm, decline, cancel) use the core's ``ActionForm``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.web.forms import SelectChoice

#: Longest rating comment and reply (the model's columns).
COMMENT_MAX = 500
#: Longest scam evidence text.
EVIDENCE_MAX = 2000
#: Longest moderator's reason.
REASON_MAX = 200

#: The scores a rating may have, as the radio buttons send them.
SCORES = {"1": 1, "0": 0, "-1": -1}


def score_choices() -> list[SelectChoice]:
    """Positive, neutral, negative (labels translated when shown)."""
    return [
        SelectChoice("1", _l("Positive")),
        SelectChoice("0", _l("Neutral")),
        SelectChoice("-1", _l("Negative")),
    ]


class RateForm(FlaskForm):
    """A rating of the other party of a confirmed trade."""

    score = RadioField(
        _l("How did the trade go?"),
        choices=score_choices(),
        validators=[DataRequired(_l("Choose positive, neutral or negative."))],
    )
    comment = TextAreaField(
        _l("Comment"),
        validators=[Optional(), Length(max=COMMENT_MAX)],
        description=_l("What others should know about trading with this member."),
    )


class ReplyForm(FlaskForm):
    """The rated member's one reply to a rating."""

    reply = TextAreaField(
        _l("Your reply"),
        validators=[DataRequired(_l("Write your reply.")), Length(max=COMMENT_MAX)],
    )


class ScamForm(FlaskForm):
    """A scam report: what happened, and up to nine photos (screenshots of the chat, the
    payment, the parcel). Photos stored by an attempt that showed an error come back as
    hidden ``kept`` inputs (read by the view, as the listing form's), so they are not lost."""

    evidence = TextAreaField(
        _l("What happened?"),
        validators=[
            DataRequired(_l("Describe what happened.")),
            Length(max=EVIDENCE_MAX),
        ],
        description=_l("Dates, amounts, what was promised and what you received."),
    )
    images = MultipleFileField(
        _l("Photos or screenshots (up to 9)"),
        render_kw={"accept": "image/*"},
    )


class ScamActionForm(FlaskForm):
    """A moderator's action on a scam report (the pressed button names it)."""

    action = StringField(validators=[DataRequired(), Length(max=20)])
    rating_id = HiddenField()
    reason = StringField(
        _l("Reason (for the log)"), validators=[Optional(), Length(max=REASON_MAX)]
    )
