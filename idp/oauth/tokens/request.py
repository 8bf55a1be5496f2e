"""The shape every /token request must have, decided once for the full and fast paths.

RFC 6749 3.2: parameters travel in the request body ("application/x-www-form-urlencoded")
and "Request and response parameters MUST NOT be included more than once". RFC 6749 2.3:
"The client MUST NOT use more than one authentication method in each request".
"""

from __future__ import annotations

import re

_PLAIN_NAME = re.compile(r"^[a-z_]{1,40}$")


def token_request_problem(query: str | bytes, pairs: list[tuple[str, str]],
                          basic_auth: bool) -> str | None:
    """Why this /token request is malformed (an error_description), or None."""
    if query:
        return "Send the parameters in the request body, not in the query string."
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # Only a plain name is quoted back (RFC 6749 5.2 limits error_description).
        what = f"The parameter '{repeated[0]}'" if _PLAIN_NAME.match(repeated[0]) else "A parameter"
        return f"{what} is repeated."
    methods = [basic_auth, "client_secret" in names, "client_assertion" in names]
    if sum(methods) > 1:
        return "Use one client authentication method per request."
    return None
