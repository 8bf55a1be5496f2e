"""Summarise py-spy raw (collapsed) stacks of a gunicorn worker: share of samples per
code area and the top functions (inclusive).

    python bench/stack_summary.py stacks.txt

A sample belongs to the first "owner" area (client lookup, secret check, commit, token
verification, signing) found anywhere on its stack - so SQLAlchemy frames under
`query_client` count as the client lookup - else to the area of its innermost frame that
matches one (a werkzeug leaf under Authlib counts as Authlib).
"""

from __future__ import annotations

import re
import sys
from collections import Counter

OWNER_AREAS = [
    ("client lookup: SELECT client + selectin secrets (query_client)", r"\.query_client \("),
    ("client secret HMAC check", r"match_client_secret"),
    ("commit + usage flush after the view", r"_commit_and_flush_usage"),
    ("JWT verify + DB checks (introspection)", r"decode_access_token|check_access_token"),
    ("JWT signing (joserfc + RSA/EC key op)", r"TokenSigner\.sign "),
]
LEAF_AREAS = [
    ("Flask-Limiter", r"flask_limiter/|/limits/"),
    ("Authlib (request wrapping, grant dispatch)", r"authlib/"),
    ("joserfc (other)", r"joserfc/"),
    ("idp code (hooks, grant, views)", r"idp/"),
    ("SQLAlchemy (session begin/teardown)", r"sqlalchemy/|flask_sqlalchemy/"),
    ("Flask/Werkzeug (routing, request, response)", r"flask/|werkzeug/|flask_wtf/"),
    ("gunicorn (HTTP parse, socket I/O)", r"gunicorn/"),
]


def area_of(frames: list[str]) -> str:
    for label, rx in OWNER_AREAS:
        if any(re.search(rx, frame) for frame in frames):
            return label
    for frame in reversed(frames):
        for label, rx in LEAF_AREAS:
            if re.search(rx, frame):
                return label
    return "other (interpreter, threading, GC)"


def main(path: str) -> None:
    total = 0
    areas: Counter = Counter()
    funcs: Counter = Counter()
    for line in open(path):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        areas[area_of(frames)] += n
        for name in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            funcs[name] += n
    print(f"# {total} samples of one worker (py-spy --gil: the thread holding the GIL)")
    print("# share by area")
    for label, n in areas.most_common():
        print(f"  {100 * n / max(total, 1):5.1f}%  {label}")
    print("# top functions, inclusive share")
    for name, n in funcs.most_common(40):
        print(f"  {100 * n / max(total, 1):5.1f}%  {name[:140]}")


if __name__ == "__main__":
    main(sys.argv[1])
