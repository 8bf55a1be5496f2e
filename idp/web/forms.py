"""Form shapes (Flask-WTF: CSRF on every form); rules live in the services."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField("Username or email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    rid = HiddenField()
    submit = SubmitField("Sign in")


class ConsentForm(FlaskForm):
    rid = HiddenField(validators=[DataRequired()])
    approve = SubmitField("Allow")
    deny = SubmitField("Deny")


class LogoutForm(FlaskForm):
    submit = SubmitField("Sign out")


class LinkForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Link and sign in")
