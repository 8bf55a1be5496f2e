"""RFC 7644 4 discovery: ServiceProviderConfig, ResourceTypes and Schemas.

The schemas are scim2-models' RFC 7643 schemas cut down to the attributes we keep, so a
client (and scim2-tester) learns exactly what round-trips here.
"""

from __future__ import annotations

from functools import cache

from scim2_models import Context, EnterpriseUser, Group, User

from idp.scim.protocol import CORE_GROUP, CORE_USER, ENTERPRISE_USER, MAX_COUNT

SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
# attribute -> kept sub-attributes (None: a simple attribute)
KEPT = {
    CORE_USER: {"userName": None, "name": {"givenName", "familyName", "middleName"},
                "displayName": None, "nickName": None, "profileUrl": None, "active": None,
                "emails": {"value", "type", "primary"},
                "phoneNumbers": {"value", "type", "primary"},
                "groups": {"value", "$ref", "display", "type"}},
    ENTERPRISE_USER: {"employeeNumber": None, "department": None, "manager": {"value"}},
    CORE_GROUP: {"displayName": None, "members": {"value", "$ref", "type"}},
}
# A person here needs an email (sign-in, mail) and always is active or not: RFC 7643 7 lets
# a service mark what it requires.
REQUIRED_HERE = {"emails", "active"}


def _trimmed(model) -> dict:
    document = model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    kept = KEPT[document["id"]]
    attributes = []
    for attribute in document["attributes"]:
        if attribute["name"] not in kept:
            continue
        subs = kept[attribute["name"]]
        if attribute["name"] in REQUIRED_HERE:
            attribute["required"] = True
            for sub in attribute.get("subAttributes", []):
                sub["required"] = sub["required"] or sub["name"] == "value"
        if subs is not None:
            attribute["subAttributes"] = [s for s in attribute.get("subAttributes", [])
                                          if s["name"] in subs]
        attributes.append(attribute)
    document["attributes"] = attributes
    return document


@cache
def _schemas() -> tuple[dict, ...]:
    return tuple(_trimmed(m) for m in (User, EnterpriseUser, Group))


def schemas(base: str) -> list[dict]:
    return [{**s, "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{s['id']}"}}
            for s in _schemas()]


def resource_types(base: str) -> list[dict]:
    user = {"schemas": [RESOURCE_TYPE], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "People", "schema": CORE_USER,
            "schemaExtensions": [{"schema": ENTERPRISE_USER, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"}}
    group = {"schemas": [RESOURCE_TYPE], "id": "Group", "name": "Group",
             "endpoint": "/Groups", "description": "Groups", "schema": CORE_GROUP,
             "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"}}
    return [user, group]


def service_provider_config(base: str, docs_uri: str) -> dict:
    """What this service supports (RFC 7643 5); the tests hold us to each `supported`."""
    return {
        "schemas": [SPC], "documentationUri": docs_uri,
        "patch": {"supported": True}, "bulk": {"supported": False, "maxOperations": 0,
                                               "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False}, "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": True,
            "description": "A client-credentials access token with scope idp:scim, or a "
                           "long-lived SCIM token of the same client (docs/scim.md).",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6750"}],
        "meta": {"resourceType": "ServiceProviderConfig",
                 "location": f"{base}/ServiceProviderConfig"},
    }
