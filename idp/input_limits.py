"""Shape limits every piece of client input obeys, whatever the route (ASVS 16.5).

A NUL byte cannot be stored in a PostgreSQL text column and JSON nested past the
interpreter's recursion limit crashes the parser: both are refused as bad input (400)
here, once, instead of surfacing as a 500 from whichever layer meets them first.
"""

from __future__ import annotations

import json
from typing import Any

NUL = "\x00"
# Deeper than anything our APIs accept (tenant settings, passkey responses, cursors).
MAX_JSON_DEPTH = 32


class InputRejected(ValueError):
    """Client input breaks a shape limit; a ValueError so JSON parsers report it as such."""


def has_nul(*values: str | None) -> bool:
    """True if any of `values` holds a NUL character."""
    return any(value and NUL in value for value in values)


def _number(text: str) -> int | float:
    """A JSON number with no fractional part is an integer (JSON Schema 2020-12 counts 145.0
    as one), so `"expires_in": 145.0` is read like 145."""
    value = float(text)
    return int(value) if value.is_integer() else value


def loads_bounded(data: str | bytes, **kwargs) -> Any:
    """json.loads, refusing nesting deeper than MAX_JSON_DEPTH and NUL in any string."""
    kwargs.setdefault("parse_float", _number)
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise InputRejected("JSON nested too deeply") from None
    check_json_value(value)
    return value


def check_json_value(value: Any) -> None:
    """InputRejected if a parsed JSON value is too deep or holds a NUL (iterative walk)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise InputRejected("JSON nested too deeply")
        if isinstance(item, str):
            if NUL in item:
                raise InputRejected("JSON string holds a NUL character")
        elif isinstance(item, dict):
            if any(NUL in key for key in item):
                raise InputRejected("JSON key holds a NUL character")
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
