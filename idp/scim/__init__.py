"""SCIM 2.0 provisioning (RFC 7643 schemas, RFC 7644 protocol) under /scim/v2.

`protocol` holds the SCIM names, errors and the scim2-models glue; `users` and `groups`
map our rows to SCIM resources and apply provisioning through the account services;
`filters` turns a SCIM filter (parsed by scim2-filter-parser) into SQL; `views` is the
HTTP adapter.
"""

from __future__ import annotations


def register(app) -> None:
    """The /scim/v2 blueprint."""
    from idp.scim.views import bp

    app.register_blueprint(bp)
