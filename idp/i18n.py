"""The language of hosted pages and mails (Flask-Babel, catalogs in idp/translations/).

Chosen in this order (SPEC "Languages and branding", issue 16): `ui_locales` (OIDC Core
3.1.2.1) on this request or remembered from /authorize in the flow cookie, then the
signed-in person's `locale`, then `Accept-Language`, then English.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from babel import Locale
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale

from idp.extensions import db
from idp.languages import DEFAULT, LANGUAGES, bcp47, match_language, match_ui_locales
from idp.models.accounts import User

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
FLOW_KEY = "ui_locale"
# Machine-facing JSON APIs (admin, SCIM, client registration) and the console: English.
ENGLISH_ONLY = {"admin_ui", "admin_api", "admin_openapi", "scim", "registration"}

babel = Babel()


def _person_locale() -> str | None:
    # Only a session this request already loaded: choosing a language never opens,
    # touches or commits one in the middle of a view.
    signed_in = g.get("idp_session")
    if signed_in is None:
        return None
    user = db.session.get(User, signed_in.user_id)
    return match_language(user.locale) if user is not None else None


def select_locale() -> str:
    """The language of this request's pages (the order in the module docstring)."""
    if not has_request_context():  # a CLI command: mails go out in `in_language`'s choice
        return DEFAULT
    if request.blueprint in ENGLISH_ONLY:
        return DEFAULT  # the console is not translated; its <html lang> must not claim so
    chosen = match_ui_locales(request.args.get("ui_locales")) or session.get(FLOW_KEY)
    if chosen in LANGUAGES:
        return chosen
    person = _person_locale()
    if person:
        return person
    for tag, _quality in request.accept_languages:
        found = match_language(tag)
        if found:
            return found
    return DEFAULT


def remember_ui_locales() -> None:
    """Keep `ui_locales` from /authorize (or any page) for the rest of the journey."""
    given = request.args.get("ui_locales")
    if not given and request.endpoint == "oauth.authorize" and request.method == "POST":
        given = request.form.get("ui_locales")  # /authorize accepts POST (OIDC Core 3.1.2.1)
    remember_language(given)


def remember_language(ui_locales: str | None) -> None:
    """Keep the first shipped language of `ui_locales` in the flow cookie (also for the
    parameters of a pushed request or a request object, which never reach the URL)."""
    chosen = match_ui_locales(ui_locales)
    if chosen and session.get(FLOW_KEY) != chosen:
        session[FLOW_KEY] = chosen


def html_lang() -> str:
    """The BCP 47 tag of the page language, for `<html lang>` (`pt-BR`)."""
    locale = get_locale()
    return bcp47(str(locale)) if locale else DEFAULT


def html_dir() -> str:
    """`rtl` for right-to-left scripts, else `ltr`."""
    locale = get_locale()
    return "rtl" if locale and locale.character_order == "right-to-left" else "ltr"


def in_language(tag: str | None):
    """A context in which gettext uses the person's language (mails sent for them)."""
    return force_locale(match_language(tag) or get_locale() or DEFAULT)


def language_names() -> list[tuple[str, str]]:
    """(BCP 47 tag, name in its own language) of each shipped language."""
    names = [(bcp47(lang), Locale.parse(lang).get_display_name(lang)) for lang in LANGUAGES]
    return [(tag, name[:1].upper() + name[1:]) for tag, name in names]


# Credentials or signed objects in a query are never copied into the page's links.
NOT_IN_LINKS = frozenset({"id_token_hint", "request", "code", "token", "client_assertion"})


def language_link(tag: str) -> str:
    """This page in another language: its path and query with `ui_locales=tag`, less any
    parameter that carries a token (an `id_token_hint` must not end up in page links)."""
    args = [(k, v) for k, v in request.args.items(multi=True)
            if k not in NOT_IN_LINKS and k != "ui_locales"]
    return f"{request.path}?{urlencode([*args, ('ui_locales', tag)])}"


def install(app: Flask) -> None:
    """Flask-Babel with our selector, and the template helpers `html_lang`, `html_dir`."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
    app.before_request(remember_ui_locales)
    app.jinja_env.globals.update(html_lang=html_lang, html_dir=html_dir,
                                 language_names=language_names, language_link=language_link)
