"""1,000 people provisioned in one run and listed page by page, each person on exactly one
page (issue 15), on PostgreSQL only. The 50 ms page budget is a benchmark, not a timed test
(DEVELOPERS: speed lives in bench/): it is asserted only with IDP_BENCH=1 —
`IDP_BENCH=1 IDP_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test
python3 -m pytest -s tests/integration/test_scim_scale.py` (bench/README.md). Each page
counts its best of five answers."""

from __future__ import annotations

import os
import time

import pytest

from tests.conftest import PG_URL
from tests.integration.scim_support import ENTERPRISE, new_user, scim_headers

pytestmark = pytest.mark.skipif(not PG_URL, reason="timed on PostgreSQL (IDP_TEST_DATABASE_URL)")
PEOPLE, PAGE, BUDGET = 1000, 100, 0.050


def test_thousand_people_provisioned_and_listed_fast(app, client):
    scim = scim_headers(client, app)
    for n in range(PEOPLE):
        response = client.post("/scim/v2/Users", headers=scim, json=new_user(
            f"person{n:04d}", externalId=f"ext-{n}", displayName=f"Person {n}",
            **{ENTERPRISE: {"department": f"dept-{n % 7}", "employeeNumber": str(n)}}))
        assert response.status_code == 201, response.get_data(as_text=True)
    client.get("/scim/v2/Users?count=1", headers=scim)  # warm caches (token, schema models)
    seen, slowest = set(), 0.0
    for start in range(1, PEOPLE + 1, PAGE):
        best = BUDGET * 10
        for _ in range(5):
            began = time.perf_counter()
            response = client.get(f"/scim/v2/Users?startIndex={start}&count={PAGE}",
                                  headers=scim)
            best = min(best, time.perf_counter() - began)
        slowest = max(slowest, best)
        body = response.get_json()
        assert response.status_code == 200 and body["totalResults"] == PEOPLE
        assert len(body["Resources"]) == PAGE
        seen |= {r["id"] for r in body["Resources"]}
    assert len(seen) == PEOPLE  # every person on exactly one page
    print(f"slowest of {PEOPLE // PAGE} pages: {slowest * 1000:.1f} ms")
    if os.environ.get("IDP_BENCH"):
        assert slowest < BUDGET, f"slowest page {slowest * 1000:.1f} ms"
    found = client.get('/scim/v2/Users?filter=externalId eq "ext-777"', headers=scim).get_json()
    assert [r["userName"] for r in found["Resources"]] == ["person0777"]
