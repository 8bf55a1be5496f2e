"""The languages the hosted pages and mails ship in, and how a BCP 47 tag maps onto one.

Pure (no Flask): discovery advertises them as `ui_locales_supported`, idp/i18n.py chooses
among them per request.
"""

from __future__ import annotations

DEFAULT = "en"
# Babel identifiers of the shipped catalogs; BCP 47 tags (`pt-BR`) are mapped onto them.
LANGUAGES = ("en", "de", "fr", "es", "pt_BR", "ja")
MAX_TAGS = 10  # ui_locales is a space-separated list; a longer one is not a person's choice


def bcp47(language: str) -> str:
    """`pt_BR` -> `pt-BR`."""
    return language.replace("_", "-")


UI_LOCALES_SUPPORTED = [bcp47(lang) for lang in LANGUAGES]


def match_language(tag: str | None) -> str | None:
    """The shipped language for one BCP 47 tag (`de-CH` -> de, `pt` -> pt_BR), or None."""
    if not tag or len(tag) > 35:
        return None
    wanted = tag.strip().replace("_", "-").lower()
    for language in LANGUAGES:
        if wanted == bcp47(language).lower():
            return language
    primary = wanted.split("-", 1)[0]
    return next((lang for lang in LANGUAGES if lang.split("_", 1)[0] == primary), None)


def match_ui_locales(value: str | None) -> str | None:
    """The first shipped language in a space-separated `ui_locales` list, or None."""
    tags = (value or "").split()[:MAX_TAGS]
    return next((m for m in map(match_language, tags) if m), None)
