"""A human description of a browser from its User-Agent ("Firefox on Windows")."""

from __future__ import annotations

import re

# Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari.
_BROWSERS = [("Edge", r"Edg(e|A|iOS)?/"), ("Opera", r"OPR/|Opera"), ("Firefox", r"Firefox/|FxiOS/"),
             ("Chrome", r"Chrome/|CriOS/|Chromium/"), ("Safari", r"Safari/"),
             ("curl", r"^curl/"), ("Python", r"python-requests|python-httpx|Python-urllib")]
_SYSTEMS = [("Android", r"Android"), ("iPhone", r"iPhone"), ("iPad", r"iPad"),
            ("Windows", r"Windows"), ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"),
            ("Linux", r"Linux|X11")]


def describe_device(user_agent: str | None) -> str:
    """'Browser on System', or 'Unknown device'."""
    ua = user_agent or ""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, ua)), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, ua)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown device"
