"""Form shapes (Flask-WTF: CSRF on every form); rules live in the services."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("Username or email"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    rid = HiddenField()
    submit = SubmitField(_l("Sign in"))


class ConsentForm(FlaskForm):
    rid = HiddenField(validators=[DataRequired()])
    approve = SubmitField(_l("Allow"))
    deny = SubmitField(_l("Deny"))


class LogoutForm(FlaskForm):
    submit = SubmitField(_l("Sign out"))


class LinkForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField(_l("Link and sign in"))
