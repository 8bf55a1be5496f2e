"""The OpenAPI document matches the routes, and the API holds up under schemathesis."""

from __future__ import annotations

import re

import pytest

from tests.integration.admin_support import bearer, make_person


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


def test_schemathesis_no_server_errors_and_responses_match_schema(app, client):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    auth = bearer(client, app)
    make_person(app, "schema-person", department="QA")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    failures, calls = [], []

    def make_test(operation):
        @settings(max_examples=6, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers=auth)
            calls.append(response.status_code)
            case.validate_response(response, checks=checks)

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            make_test(operation)()
        except Exception as exc:  # noqa: BLE001 - reported below, all operations together
            failures.append(f"{operation.label}: {exc.__class__.__name__}: {str(exc)[:400]}")
    assert not failures, "\n".join(failures[:10])
    assert len(calls) > 100 and 500 not in calls
    assert {200, 201, 204} & set(calls) and {404, 422} <= set(calls)
