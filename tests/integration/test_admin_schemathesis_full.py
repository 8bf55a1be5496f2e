"""schemathesis with every default check, positive and negative data, against the OpenAPI
document: the bounded run finds no failure (no 5xx, no schema or contract mismatch)."""

from __future__ import annotations

import pytest

from tests.integration.admin_support import bearer, make_person

schemathesis = pytest.importorskip("schemathesis")


@pytest.fixture
def client(app):
    return app.test_client()


def _run(operation, mode, auth, failures, calls):
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=8, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(headers=auth)
        calls.append(response.status_code)
        case.validate_response(response, headers=auth)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - all reported together
        failures.append(f"{operation.label} [{mode.value}]: {exc.__class__.__name__}: "
                        f"{str(exc)[:1500]}")


def test_schemathesis_all_checks_find_no_failure(app, client):
    from schemathesis.generation import GenerationMode

    auth = bearer(client, app)
    make_person(app, "schema-full", department="QA")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    calls: list[int] = []
    for result in schema.get_all_operations():
        for mode in GenerationMode:
            _run(result.ok(), mode, auth, failures, calls)
    assert not failures, f"{len(failures)} failing operations:\n" + "\n\n".join(failures)
    assert 500 not in calls and len(calls) > 200
