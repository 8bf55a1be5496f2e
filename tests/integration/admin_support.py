"""Helpers for the admin tests: tenants, people with roles, service tokens, admin sessions."""

from __future__ import annotations

import base64

from idp.accounts.users import create_user
from idp.extensions import db
from idp.models.tenancy import Tenant
from idp.oauth.clients.service import ClientSpec, create_client
from idp.rbac.roles import assign_role
from idp.request_context import system_context
from idp.tenancy.tenants import query_tenant
from tests.factories import PASSWORD, csrf_from

ROLES = ["superadmin", "tenant_admin", "helpdesk", "auditor", "member"]


def make_tenant(app, slug: str) -> str:
    with app.app_context():
        tenant = Tenant(slug=slug, name=slug.title(), settings={})
        db.session.add(tenant)
        db.session.commit()
        return str(tenant.id)


def make_person(app, username: str, *, roles=(), tenant: str | None = None, password=PASSWORD,
                **profile) -> str:
    with app.app_context():
        tenant_row = query_tenant(db.session, tenant)
        user = create_user(db.session, system_context(), tenant_row,
                           email=f"{username}@example.com", username=username,
                           password=password, profile=profile or None,
                           config=app.extensions["idp"].config)
        for role in roles:
            assign_role(db.session, system_context(), user, role, tenant_row)
        db.session.commit()
        return str(user.id)


def service_client(app, roles, tenant: str | None = None) -> tuple[str, str]:
    with app.app_context():
        spec = ClientSpec(name="svc", grant_types=["client_credentials"], redirect_uris=[],
                          post_logout_redirect_uris=[], scopes=[], roles=list(roles))
        client, secret = create_client(db.session, system_context(),
                                       app.extensions["idp"].keyring,
                                       query_tenant(db.session, tenant), spec)
        db.session.commit()
        return client.id, secret


def bearer(client, app, roles=("superadmin",), tenant: str | None = None) -> dict:
    """Authorization header for a service client holding `roles` (client credentials)."""
    cid, secret = service_client(app, roles, tenant)
    basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "scope": "idp:admin"},
                           headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def no_admin_mfa(app, tenant: str | None = None) -> None:
    """Tenant setting: admin roles need no second factor (these tests are not about MFA)."""
    with app.app_context():
        row = query_tenant(db.session, tenant)
        row.settings = {**(row.settings or {}), "mfa_required_roles": []}
        db.session.commit()


def browser_login(client, username: str, password: str = PASSWORD, *, second_factor=True):
    """Sign in through /login (with a second factor, as admin rights need: an authenticator
    app is set up on first use, then one backup code per sign-in); returns the CSRF token
    usable in X-CSRFToken. `second_factor=False`: a password-only session."""
    from tests.mfa_flow import password_step, submit_code

    codes = _backup_codes(client.application, username) if second_factor else None
    if not second_factor:
        no_admin_mfa(client.application)
    response = password_step(client, username, password)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    if codes is not None:
        assert "/login/mfa" in response.headers["Location"], response.headers["Location"]
        response = submit_code(client, codes.pop())
        assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    page = client.get("/account")
    return csrf_from(page.get_data(as_text=True))


def _backup_codes(app, username: str) -> list[str]:
    """The person's unused backup codes, kept on the app; TOTP + codes made on first use."""
    from idp.accounts.users import query_user
    from tests.mfa_flow import enrol_totp, make_backup_codes

    store = app.config.setdefault("TEST_BACKUP_CODES", {})
    if username not in store:
        with app.app_context():
            user_id = str(query_user(db.session, username).id)
        enrol_totp(app, user_id)
        store[username] = make_backup_codes(app, user_id)
    return store[username]



def finished_import(app, client, response) -> str:
    """The import job page once its background run ended (after the upload's redirect)."""
    from idp.admin.import_runner import import_runner

    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    import_runner(app).join(60)
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page.get_data(as_text=True)
