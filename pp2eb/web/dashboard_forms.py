"""Forms of the dashboard pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError


class ExportForm(FlaskForm):
    """Export existing invoices: a date range, previewed before it is booked."""

    since = DateField(_l("From invoice date"), validators=[DataRequired()])
    until = DateField(_l("Up to and including"), validators=[Optional()])
    confirm = HiddenField()
    submit = SubmitField(_l("Preview"))

    def validate_until(self, field) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end date lies before the start date."))


class SkipForm(FlaskForm):
    """Skip an order on purpose, with the reason a bookkeeper will read later."""

    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Skip this order"))
