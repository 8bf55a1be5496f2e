"""Form shapes of the account and self-service pages (rules live in the services)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional
from wtforms.widgets import PasswordInput

_PW = [DataRequired(), Length(max=1024)]


def _opt(max_len: int):
    return [Optional(), Length(max=max_len)]


class ProfileForm(FlaskForm):
    name = StringField(_l("Full name"), validators=_opt(200))
    given_name = StringField(_l("Given name"), validators=_opt(100))
    middle_name = StringField(_l("Middle name"), validators=_opt(100))
    family_name = StringField(_l("Family name"), validators=_opt(100))
    nickname = StringField(_l("Nickname"), validators=_opt(100))
    phone_number = StringField(_l("Phone number"), validators=_opt(40))
    website = StringField(_l("Website"), validators=_opt(500))
    profile = StringField(_l("Profile page"), validators=_opt(500))
    picture = StringField(_l("Picture URL"), validators=_opt(500))
    gender = StringField(_l("Gender"), validators=_opt(50))
    birthdate = DateField(_l("Birthdate"), validators=[Optional()])
    zoneinfo = StringField(_l("Time zone"), validators=_opt(64))
    locale = StringField(_l("Locale"), validators=_opt(35))
    submit = SubmitField(_l("Save"))


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=_PW)
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Change password"))


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=_PW)
    end_other_sessions = BooleanField(_l("Sign out my other sessions"), default=True)


# Shown again after an error about another field (issue 16), so a typo in the address
# does not cost the password; `keep_passwords` clears them when they were the problem.
# The page is `no-store` (security_headers.py).
_KEPT = PasswordInput(hide_value=False)


def keep_passwords(form, *fields: str) -> None:
    """Clear the password fields when any of them was refused; keep them otherwise."""
    if any(getattr(form, name).errors for name in fields):
        for name in fields:
            getattr(form, name).data = ""


class RegisterForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    username = StringField(_l("Username (optional)"), validators=_opt(150))
    password = PasswordField(_l("Password"), validators=_PW, widget=_KEPT)
    confirm = PasswordField(_l("Repeat password"), widget=_KEPT,
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    invite = HiddenField()
    rid = HiddenField()
    submit = SubmitField(_l("Create account"))


class ForgotForm(FlaskForm):
    email = StringField(_l("Email or username"), validators=[DataRequired(), Length(max=320)])
    rid = HiddenField()
    submit = SubmitField(_l("Send reset link"))


class ResendForm(FlaskForm):
    email = StringField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    rid = HiddenField()
    submit = SubmitField(_l("Send the link again"))


class ResetForm(NewPasswordForm):
    submit = SubmitField(_l("Set new password"))


class ActionForm(FlaskForm):
    """A button-only form (revoke a session, sign out everywhere, resend)."""

    submit = SubmitField(_l("Go"))


def policy_hints(policy) -> dict:
    """What the page and the strength indicator say about a PasswordPolicy."""
    classes = [(policy.require_upper, "upper", _l("an upper-case letter")),
               (policy.require_lower, "lower", _l("a lower-case letter")),
               (policy.require_digit, "digit", _l("a digit")),
               (policy.require_special, "special", _l("a special character"))]
    return {"min_length": policy.min_length, "preset": policy.preset,
            "classes": [label for on, _, label in classes if on],
            "class_keys": [key for on, key, _ in classes if on]}
