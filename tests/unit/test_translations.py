"""The catalogs (issue 16): every marked string of the hosted pages, mails and errors is
translated in each shipped language, and the committed .mo files match their .po files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from idp.languages import LANGUAGES, match_language, match_ui_locales

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "translations.py"


def _catalog_tool():
    spec = importlib.util.spec_from_file_location("translations_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_marked_string_is_translated_and_compiled():
    tool = _catalog_tool()
    assert sorted(tool.languages()) == sorted(lang for lang in LANGUAGES if lang != "en")
    assert tool.problems() == []


def test_a_new_string_without_translations_fails_the_check(monkeypatch):
    """A string the code marks but no catalog holds is reported for every language."""
    tool = _catalog_tool()
    found = tool.extracted()
    wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in found if m.id}
    assert {"Sign in with a passkey", "Your account was locked"} <= wanted  # page and mail
    found.add("A sentence nobody translated yet")
    monkeypatch.setattr(tool, "extracted", lambda: found)
    missing = [p for p in tool.problems() if "A sentence nobody translated yet" in p]
    assert len(missing) == len(tool.languages()) == 5


@pytest.mark.parametrize(("tag", "expected"), [
    ("de", "de"), ("de-CH", "de"), ("DE_at", "de"), ("pt-BR", "pt_BR"), ("pt", "pt_BR"),
    ("pt-PT", "pt_BR"), ("ja-JP", "ja"), ("fr-CA", "fr"), ("es-419", "es"), ("en-GB", "en"),
    ("nl", None), ("", None), (None, None), ("x" * 40, None),
])
def test_tags_map_onto_the_shipped_languages(tag, expected):
    assert match_language(tag) == expected


def test_ui_locales_takes_the_first_shipped_language_of_the_list():
    assert match_ui_locales("nl-NL fr-CA de") == "fr"
    assert match_ui_locales("nl sv") is None
    assert match_ui_locales(None) is None
