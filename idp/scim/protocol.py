"""The scim2-models glue (validation, PATCH, projection); the names, the SCIM error and
versions live in names.py (re-exported here)."""

from __future__ import annotations

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

from idp.scim.names import (  # noqa: F401 - re-exported for the resource modules
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    ERROR,
    LIST_RESPONSE,
    MAX_COUNT,
    MEDIA_TYPE,
    PATCH_OP,
    SEARCH_REQUEST,
    ScimError,
    from_domain_error,
    version_of,
)

UserModel = User[EnterpriseUser]
GroupModel = Group


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
