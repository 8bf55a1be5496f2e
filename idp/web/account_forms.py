"""Form shapes of the account and self-service pages (rules live in the services)."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

_PW = [DataRequired(), Length(max=1024)]


def _opt(max_len: int):
    return [Optional(), Length(max=max_len)]


class ProfileForm(FlaskForm):
    name = StringField("Full name", validators=_opt(200))
    given_name = StringField("Given name", validators=_opt(100))
    middle_name = StringField("Middle name", validators=_opt(100))
    family_name = StringField("Family name", validators=_opt(100))
    nickname = StringField("Nickname", validators=_opt(100))
    phone_number = StringField("Phone number", validators=_opt(40))
    website = StringField("Website", validators=_opt(500))
    profile = StringField("Profile page", validators=_opt(500))
    picture = StringField("Picture URL", validators=_opt(500))
    gender = StringField("Gender", validators=_opt(50))
    birthdate = DateField("Birthdate", validators=[Optional()])
    zoneinfo = StringField("Time zone", validators=_opt(64))
    locale = StringField("Locale", validators=_opt(35))
    submit = SubmitField("Save")


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=_PW)
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Change password")


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=_PW)
    end_other_sessions = BooleanField("Sign out my other sessions", default=True)


class RegisterForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired(), Length(max=320)])
    username = StringField("Username (optional)", validators=_opt(150))
    password = PasswordField("Password", validators=_PW)
    confirm = PasswordField("Repeat password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    invite = HiddenField()
    submit = SubmitField("Create account")


class ForgotForm(FlaskForm):
    email = StringField("Email or username", validators=[DataRequired(), Length(max=320)])
    submit = SubmitField("Send reset link")


class ResetForm(NewPasswordForm):
    submit = SubmitField("Set new password")


class ActionForm(FlaskForm):
    """A button-only form (revoke a session, sign out everywhere, resend)."""

    submit = SubmitField("Go")


def policy_hints(policy) -> dict:
    """What the page and the strength indicator say about a PasswordPolicy."""
    classes = [(policy.require_upper, "upper", "an upper-case letter"),
               (policy.require_lower, "lower", "a lower-case letter"),
               (policy.require_digit, "digit", "a digit"),
               (policy.require_special, "special", "a special character")]
    return {"min_length": policy.min_length, "preset": policy.preset,
            "classes": [label for on, _, label in classes if on],
            "class_keys": [key for on, key, _ in classes if on]}
