"""Layering (issue 13, item 10): dependencies point down, from adapters to services to
models, and no rule is reached through a function-level import.

- services (accounts, audit, events, sessions, mfa, rbac, models) import neither Flask
  nor an adapter (a module that imports Flask, or idp.web / idp.admin / idp.cli);
- models import nothing of ours above them;
- `idp.oauth` never imports `idp.web`; `idp.web` and `idp.admin` never import each other;
- function-level imports only where listed below.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "idp"
SERVICES = ("accounts", "audit", "events", "sessions", "mfa", "rbac", "tenancy", "gdpr", "models",
            "federation")
FRAMEWORK = ("flask", "werkzeug", "authlib.integrations")
ADAPTER_PACKAGES = ("idp.web", "idp.admin", "idp.cli")

# Documented memory savers: heavy libraries a serving worker never loads, imported by
# the command or function that needs them.
MEMORY_SAVERS = {
    ("app_setup.py", "flask_migrate"),  # Alembic: a tenth of a worker, migrations only
    ("accounts/passwords.py", "bcrypt"),  # only for importing legacy bcrypt hashes
    ("events/amqp.py", "pika"),  # only when IDP_AMQP_URL is set
    # pysaml2 + xmlschema: a third of start-up, only when a SAML provider is registered
    ("federation/providers.py", "idp.federation.saml"),
}
# Function-level imports that predate this test: per file, the count may only go down.
LEGACY_FUNCTION_IMPORTS = {"accounts/bulk.py": 3}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _parsed() -> dict[str, tuple[str, ast.Module]]:
    return {_module_name(p): (str(p.relative_to(ROOT)), ast.parse(p.read_text()))
            for p in ROOT.rglob("*.py")}


def _imports(tree: ast.Module, *, nested: bool | None = None) -> list[tuple[int, str]]:
    """(line, module) of each import; nested=True only function-level, False only top."""
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if nested is not None and (id(node) not in top) != nested:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _is(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


@cache
def _adapters() -> frozenset[str]:
    """Our modules that import a web framework, plus the adapter packages."""
    return frozenset(name for name, (_, tree) in _parsed().items()
                     if any(_is(m, FRAMEWORK) for _, m in _imports(tree))
                     or _is(name, ADAPTER_PACKAGES))


def _violations(packages, forbidden) -> list[str]:
    bad = []
    for name, (path, tree) in _parsed().items():
        if _is(name, [f"idp.{p}" for p in packages]):
            bad += [f"{path}:{line} imports {mod}" for line, mod in _imports(tree)
                    if forbidden(mod)]
    return bad


def test_services_import_neither_flask_nor_adapters():
    adapters = _adapters()
    bad = _violations(SERVICES, lambda m: _is(m, FRAMEWORK) or m in adapters
                      or _is(m, ADAPTER_PACKAGES))
    assert not bad, bad


def test_models_import_nothing_above_them():
    bad = _violations(["models"], lambda m: m.startswith("idp.") and not _is(m, ["idp.models"]))
    assert not bad, bad


def test_oauth_does_not_import_web():
    assert not _violations(["oauth"], lambda m: _is(m, ["idp.web"]))


def test_web_and_admin_are_independent():
    assert not _violations(["admin"], lambda m: _is(m, ["idp.web"]))
    assert not _violations(["web"], lambda m: _is(m, ["idp.admin"]))


def test_no_function_level_imports_in_oauth_and_services():
    bad = []
    for name, (path, tree) in _parsed().items():
        if not _is(name, [f"idp.{p}" for p in ("oauth", *SERVICES)]):
            continue
        found = [m for _, m in _imports(tree, nested=True) if (path, m) not in MEMORY_SAVERS]
        if len(found) > LEGACY_FUNCTION_IMPORTS.get(path, 0):
            bad.append(f"{path}: {found}")
    assert not bad, bad


def test_the_checks_see_a_violation():
    """The walker finds a nested Flask import (the rules above are not vacuous)."""
    tree = ast.parse("def f():\n    from flask import g\n")
    assert _imports(tree, nested=True) == [(2, "flask")]
    assert "idp.http" in _adapters() and "idp.oauth.views" in _adapters()
