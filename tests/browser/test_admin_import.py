"""In Chromium: an admin imports 10,000 people from a CSV; the job page shows the progress
bar moving while the import runs in the background, then the counts and the rows not
imported (with a CSV download). Screenshots: import-*.png at 1280 and 390 pixels wide."""

from __future__ import annotations

import pytest

from tests.browser.test_admin_applications import _admin_login, _both_widths, _cli

pytestmark = pytest.mark.browser

ADMIN = ("imogen", "imogen@example.com", "Bulk-Loader-Pass-1!")
ROWS = 10_000


def _csv(tmp_path) -> str:
    lines = ["email,name,department"]
    lines += [f"bulk{i}@example.com,Bulk Person {i},Dept {i % 7}" for i in range(ROWS)]
    lines[101] = "not-an-address,Broken,Ops"
    lines[9001] = "bulk9000@example.com,Bulk Person 9000,Ops,extra,cells"
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_import_of_ten_thousand_rows_shows_progress(idp_server, browser, shot, tmp_path):
    issuer = idp_server["issuer"]
    _cli(idp_server, "users", "create", "--email", ADMIN[1], "--username", ADMIN[0],
         "--role", "superadmin", "--password-stdin", stdin=ADMIN[2] + "\n")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    polls: list = []  # shown if the test fails: what the page's status polls answered
    page.on("response", lambda r: polls.append((r.status, r.url.rsplit("/", 1)[-1]))
            if "/admin/import/" in r.url else None)
    page.on("pageerror", lambda e: polls.append(("pageerror", str(e))))
    _admin_login(page, issuer, ADMIN)

    page.goto(f"{issuer}/admin/import")
    assert page.get_attribute("nav a[aria-current=page]", "href").endswith("/admin/import")
    page.set_input_files("#file", _csv(tmp_path))
    page.uncheck("input[name=dry_run]")
    _both_widths(page, shot, "import-01-choose")
    page.click("form.inline-form button[type=submit]")
    page.wait_for_url("**/admin/import/*")

    # The bar moves while the rows are imported: seen part-way, not only at the end.
    page.wait_for_function(
        "() => { const bar = document.getElementById('import-progress');"
        " return bar && bar.value > 0 && bar.value < bar.max; }", timeout=60_000)
    assert "of 10000 rows processed" in page.inner_text("#import-count")
    assert page.inner_text("nav a[aria-current=page]") == "Import"
    _both_widths(page, shot, "import-02-progress")

    try:
        page.wait_for_selector("#import-summary", timeout=480_000)
    except Exception:
        print(polls[-20:], page.inner_text("main")[:400])
        raise
    summary = page.inner_text("#import-summary")
    assert "9998 created, 0 updated, 0 unchanged" in summary and "2 rows with errors" in summary
    assert page.get_attribute("#import-progress", "value") == str(ROWS)
    errors = page.inner_text("#import-errors")
    assert "not-an-address" in errors and "9002" in errors
    with page.expect_download() as download:
        page.click("text=Download the errors as CSV")
    assert download.value.path().read_text().splitlines()[0] == "row,email,message"
    _both_widths(page, shot, "import-03-done")

    page.goto(f"{issuer}/admin/users?q=bulk9999")
    assert "bulk9999@example.com" in page.inner_text("main")
    context.close()
