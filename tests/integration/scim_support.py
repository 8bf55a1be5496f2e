"""Helpers for the SCIM tests: a provisioning client's token and SCIM requests."""

from __future__ import annotations

import base64

from idp.extensions import db
from idp.oauth.clients.service import ClientSpec, create_client
from idp.request_context import system_context
from idp.tenancy.tenants import query_tenant

SCIM = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def scim_client(app, roles=("tenant_admin",), tenant: str | None = None) -> tuple[str, str]:
    """A service client as the docs create it: `--role R --scope idp:scim`."""
    with app.app_context():
        spec = ClientSpec(name="directory", grant_types=["client_credentials"],
                          redirect_uris=[], post_logout_redirect_uris=[], scopes=["idp:scim"],
                          roles=list(roles))
        client, secret = create_client(db.session, system_context(),
                                       app.extensions["idp"].keyring,
                                       query_tenant(db.session, tenant), spec)
        db.session.commit()
        return client.id, secret


def scim_headers(client, app, roles=("tenant_admin",), tenant: str | None = None,
                 scope: str = "idp:scim") -> dict:
    """Authorization (client credentials, scope idp:scim) and the SCIM content type."""
    cid, secret = scim_client(app, roles, tenant)
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    response = client.post("/token", data={"grant_type": "client_credentials", "scope": scope},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}",
            "Content-Type": SCIM}


def new_user(user_name: str, **extra) -> dict:
    body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True,
            "emails": [{"value": f"{user_name.split('@')[0]}@example.com", "type": "work",
                        "primary": True}]}
    body.update(extra)
    return body


def patch_op(*operations) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}
