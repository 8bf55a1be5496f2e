"""Layering of idp.scim: only the HTTP adapter (views) touches Flask; the rest takes
(db, ctx, caller, ...) like the other services, and no part reaches into the web pages
or the admin adapters (the bearer check in idp.admin.auth is Flask-free and shared)."""

from __future__ import annotations

import ast
from pathlib import Path

SCIM = Path(__file__).resolve().parents[2] / "idp" / "scim"


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_only_the_views_use_flask():
    for path in SCIM.glob("*.py"):
        modules = _imports(path)
        assert not [m for m in modules if m.startswith(("idp.web", "idp.admin.api",
                                                         "idp.admin.ui", "idp.admin.permissions",
                                                         "idp.admin.operations"))], path.name
        if path.name not in {"views.py"}:
            assert not [m for m in modules if m.startswith(("flask", "werkzeug"))], path.name
