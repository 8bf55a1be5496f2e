"""The OpenAPI document matches the routes and the permissions (schemathesis runs in
test_admin_schemathesis_full.py)."""

from __future__ import annotations

import re

import pytest

from tests.integration.admin_support import bearer


@pytest.fixture
def client(app):
    """A client that keeps no request context, so admin and person clients can alternate."""
    return app.test_client()


def _routes(app) -> set[tuple[str, str]]:
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            out |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return out


def test_document_and_routes_agree(app, client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == _routes(app), {
        "undocumented routes": sorted(_routes(app) - documented),
        "documented but missing": sorted(documented - _routes(app))}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{([^}]+)}", path)), (path, method)
            assert "Permission:" in op["description"]


def test_documented_permissions_match_the_decorators(app, client):
    """Calling each route with a role lacking its documented permission answers 403."""
    from idp.admin.openapi import OPERATIONS

    member = bearer(client, app, roles=("member",))
    for (path, method), spec in OPERATIONS.items():
        url = "/api/v1" + re.sub(r"{[^}]+}", "00000000-0000-0000-0000-000000000000", path)
        response = client.open(url, method=method.upper(), json={}, headers=member)
        assert response.status_code == 403, (path, method, spec[1])
