"""SCIM names, the SCIM error, and the scim2-models glue (validation, PATCH, projection)."""

from __future__ import annotations

import hashlib
import json

from pydantic import ValidationError
from scim2_models import (
    Context,
    EnterpriseUser,
    Group,
    PatchOp,
    ResponseParameters,
    SCIMException,
    User,
)

from idp.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MEDIA_TYPE = "application/scim+json"
UserModel = User[EnterpriseUser]
GroupModel = Group
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


def from_scim_exception(exc: SCIMException) -> ScimError:
    return ScimError(exc.status, exc.detail, exc.scim_type or None)


def from_validation_error(exc: ValidationError) -> ScimError:
    """A payload scim2-models refused; its error types carry the scimType (scim_<type>)."""
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0] if errors else {"type": "", "msg": "invalid", "loc": ()}
    kind = str(first["type"])
    where = ".".join(str(p) for p in first.get("loc", ()))
    scim_type = kind[5:] if kind.startswith("scim_") else "invalidValue"
    return ScimError(400, f"{where}: {first['msg']}" if where else first["msg"], scim_type)


def validate_resource(model, payload) -> object:
    """The payload as a scim2-models resource (lenient about what it may ignore)."""
    if not isinstance(payload, dict):
        raise ScimError(400, "Send a JSON object.", "invalidSyntax")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    except SCIMException as exc:
        raise from_scim_exception(exc) from None


def apply_patch(model, resource, payload) -> None:
    """RFC 7644 3.5.2: apply a PatchOp to `resource` in place (scim2-models does the paths,
    value filters such as members[value eq "x"] and the Entra ID forms)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("Operations"), list):
        raise ScimError(400, "Send a PatchOp with Operations.", "invalidSyntax")
    payload = {**payload, "schemas": [PATCH_OP],
               "Operations": [op for raw in payload["Operations"] for op in _vendor_forms(raw)]}
    try:
        PatchOp[model].model_validate(payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST
                                      ).patch(resource)
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    except SCIMException as exc:
        raise from_scim_exception(exc) from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # an operation the library could not apply to this resource is the client's error
        raise ScimError(400, f"The operation cannot be applied: {exc}", "invalidValue") from None


def _vendor_forms(op) -> list:
    """Entra ID's PATCH forms that RFC 7644 words differently, rewritten to the standard ones:
    `remove` of `members` carrying the members to remove (one filtered remove each), and
    a manager given as a bare id."""
    if not isinstance(op, dict):
        raise ScimError(400, "Each operation is an object.", "invalidSyntax")
    name, path, value = str(op.get("op", "")).lower(), op.get("path"), op.get("value")
    if name == "remove" and isinstance(path, str) and path.lower() == "members" \
            and isinstance(value, list):
        return [{"op": "remove", "path": f'members[value eq {json.dumps(_member_id(v))}]'}
                for v in value]
    if isinstance(path, str) and path.lower().endswith("manager") and isinstance(value, str):
        return [{**op, "value": {"value": value}}]
    return [op]


def _member_id(value) -> str:
    ref = value.get("value") if isinstance(value, dict) else value
    if not isinstance(ref, str):
        raise ScimError(400, "A member is {\"value\": \"<id>\"}.", "invalidValue")
    return ref


def response_parameters(model, attributes: str | None, excluded: str | None):
    """RFC 7644 3.9 `attributes` / `excludedAttributes`, checked by scim2-models."""
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters[model].model_validate(
            {"attributes": attributes or None, "excludedAttributes": excluded or None})
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def render(model, document: dict, params=None) -> dict:
    """A resource as the response carries it, with `attributes` / `excludedAttributes`
    applied by scim2-models. Our documents are built in SCIM's form already, so without
    a selection they go out as they are (a page of 100 stays well under 50 ms)."""
    if params is None:
        return document
    resource = model.model_validate(document)
    return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE,
                               response_parameters=params)


def version_of(document: dict) -> str:
    """A weak ETag (RFC 7644 3.14) over the resource's content, `meta` left out."""
    content = json.dumps({k: v for k, v in document.items() if k != "meta"}, sort_keys=True,
                         default=str)
    return 'W/"' + hashlib.sha256(content.encode()).hexdigest()[:20] + '"'
