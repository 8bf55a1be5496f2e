"""Delivering authorization responses to the client: query or form_post, always with `iss`.

RFC 9207 2: `iss` in every authorization response, errors included. RFC 6749 4.1.2.1:
without a verified redirect URI, errors are shown to the person, never redirected.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import Response, redirect, render_template
from flask_babel import gettext as _

from idp.http import settings


def with_issuer(location: str) -> str:
    """Add our issuer identifier to an authorization response URI."""
    return add_params_to_uri(location, {"iss": settings().issuer})


def to_client(location: str, params: dict) -> Response:
    """Deliver an authorization response by the requested response mode (query/form_post)."""
    location = with_issuer(location)
    if params.get("response_mode") == "form_post":
        parts = urlsplit(location)
        target = parts._replace(query="").geturl()
        fields = parse_qsl(parts.query, keep_blank_values=True)
        return Response(render_template("oauth/form_post.html", action=target, fields=fields))
    return redirect(location, code=302)


def error_to_client(error: OAuth2Error, params: dict) -> Response:
    """Redirect an error to the client when its redirect URI is known, else show a page."""
    if not error.redirect_uri:
        return Response(render_template(
            "error.html", title=_("This sign-in link is not valid"),
            message=error.description or error.error,
            detail=_("The application that sent you here is not registered for this address.")),
            status=400)
    status, body, headers = error(None)
    location = dict(headers).get("Location")
    return to_client(location, params)
