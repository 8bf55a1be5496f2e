"""The message catalogs of the hosted pages and mails (idp/translations/).

    python scripts/translations.py extract   # strings -> messages.pot (babel.cfg)
    python scripts/translations.py update    # merge messages.pot into each messages.po
    python scripts/translations.py compile   # each messages.po -> messages.mo (committed)
    python scripts/translations.py check     # exit 1 if a string lacks a translation or a
                                             # .mo is older than its .po (tests run this)

The compiled .mo files are committed, so a fresh clone with `pip install -e .` serves every
language without a build step; tests/unit/test_translations.py fails when they are stale.
"""

from __future__ import annotations

import io
import subprocess  # noqa: S404 - pybabel, with fixed arguments
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "idp" / "translations"
POT = CATALOGS / "messages.pot"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def languages() -> list[str]:
    return sorted(p.name for p in CATALOGS.iterdir() if (p / "LC_MESSAGES" / "messages.po").exists())


def po_path(lang: str) -> Path:
    return CATALOGS / lang / "LC_MESSAGES" / "messages.po"


def extracted() -> Catalog:
    """Every marked string of the code and templates, as babel.cfg maps them."""
    method_map = [("idp/**.py", "python"), ("templates/**.html", "jinja2")]
    catalog = Catalog(project="idp")
    for filename, lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, keywords=KEYWORDS):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def compiled(lang: str) -> bytes:
    with open(po_path(lang), "rb") as handle:
        catalog = read_po(handle, locale=lang)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def problems() -> list[str]:
    """Strings in the code that a catalog lacks or leaves empty; stale .mo files."""
    wanted = [m.id for m in extracted() if m.id]
    found = []
    for lang in languages():
        with open(po_path(lang), "rb") as handle:
            catalog = read_po(handle, locale=lang)
        for msgid in wanted:
            message = catalog.get(msgid)
            strings = message.string if message is not None else None
            if not strings or (isinstance(strings, tuple) and not all(strings)) or message.fuzzy:
                found.append(f"{lang}: no translation of {msgid!r}")
        mo = po_path(lang).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != compiled(lang):
            found.append(f"{lang}: {mo.relative_to(ROOT)} is stale; run scripts/translations.py compile")
    return found


def main(action: str) -> int:
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    if action == "extract":
        subprocess.run([*pybabel, "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",  # noqa: S603
                        "-k", "lazy_gettext", "--no-location", "--sort-output", "--project", "idp",
                        "-o", str(POT), str(ROOT)], check=True)
    elif action == "update":
        subprocess.run([*pybabel, "update", "-i", str(POT), "-d", str(CATALOGS),  # noqa: S603
                        "--width", "100"], check=True)  # the template has no locations
    elif action == "compile":
        for lang in languages():
            po_path(lang).with_suffix(".mo").write_bytes(compiled(lang))
    elif action == "check":
        found = problems()
        print("\n".join(found) or "catalogs complete")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
