"""SCIM names, the SCIM error and resource versions: what every SCIM request needs,
without scim2-models (whose pydantic models take a large share of the package's start-up;
protocol.py loads them on the first SCIM request, issue 20)."""

from __future__ import annotations

import hashlib
import json

from idp.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MEDIA_TYPE = "application/scim+json"
MAX_COUNT = 1000  # RFC 7644 3.4.2.4: a page never holds more (advertised as filter.maxResults)


class ScimError(Exception):
    """An RFC 7644 3.12 error: HTTP status, optional scimType, detail."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None,
                 headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}  # Retry-After with a 429

    def body(self) -> dict:
        out = {"schemas": [ERROR], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            out["scimType"] = self.scim_type
        return out


def from_domain_error(exc: DomainError) -> ScimError:
    """The account services' rule violations in SCIM's terms (RFC 7644 Table 9)."""
    if isinstance(exc, NotFound):
        return ScimError(404, "Resource not found.")
    if isinstance(exc, Unauthorized):
        return ScimError(401, exc.message)
    if isinstance(exc, Forbidden):
        return ScimError(403, exc.message)
    if isinstance(exc, Conflict):
        # Plain conflicts are clashes of names; last-admin and self-action rules are not.
        return ScimError(409, exc.message, "uniqueness" if exc.code == "conflict" else None)
    return ScimError(400, exc.message, "invalidValue")


def version_of(document: dict) -> str:
    """A weak ETag (RFC 7644 3.14) over the resource's content, `meta` left out."""
    content = json.dumps({k: v for k, v in document.items() if k != "meta"}, sort_keys=True,
                         default=str)
    return 'W/"' + hashlib.sha256(content.encode()).hexdigest()[:20] + '"'
