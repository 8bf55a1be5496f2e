"""Form shapes of the MFA pages (Flask-WTF: CSRF on every form)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Verify"))


class PasskeyAssertionForm(FlaskForm):
    credential = HiddenField(validators=[DataRequired(), Length(max=16384)])
    rid = HiddenField()


class PasskeyRegisterForm(FlaskForm):
    name = StringField(_l("Name of this passkey"), validators=[Length(max=100)])
    credential = HiddenField(validators=[DataRequired(), Length(max=16384)])


class RemoveFactorForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired(), Length(max=16)])
    factor_id = HiddenField(validators=[DataRequired(), Length(max=64)])
    confirm = HiddenField(validators=[Length(max=8)])  # "yes" once the person confirmed
    submit = SubmitField(_l("Remove"))


class ActionForm(FlaskForm):
    """A button that only needs CSRF protection."""

    submit = SubmitField(_l("Continue"))


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code from your authenticator app, or a backup code"),
                       validators=[Optional(), Length(max=64)])
    credential = HiddenField(validators=[Optional(), Length(max=16384)])  # or a passkey
    submit = SubmitField(_l("Confirm"))
