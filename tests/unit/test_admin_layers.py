"""Layering: `idp.web` and `idp.admin` never import each other; services never import
the admin adapters."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "idp"


def _imports(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
            elif isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
    return found


def test_web_and_admin_are_independent():
    assert not [i for i in _imports("admin") if i[1].startswith("idp.web")]
    assert not [i for i in _imports("web") if i[1].startswith("idp.admin")]


def test_services_do_not_import_adapters():
    for package in ("accounts", "audit", "events", "federation", "sessions"):
        bad = [i for i in _imports(package) if i[1].startswith(("idp.admin", "idp.web", "flask"))]
        assert not bad, bad
