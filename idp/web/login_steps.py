"""The steps between a correct password and an issued session (as authentik's stages).

After the password step the person holds a *partial login* in the signed flow cookie:
who they are, the methods used so far (amr) and the pending authorization id. Each
registered step may ask for one more page (the MFA code, enrolment, a forced password
change); only when none does is the session started and the authorization resumed.
Nothing is issued before every step has passed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from flask import redirect, session, url_for

from idp.extensions import db
from idp.models.accounts import User

KEY = "partial_login"
MAX_AGE = 600

# A step returns the URL of the page the person must visit next, or None when it has
# nothing to ask; it flushes what it records and never commits (`advance` commits once).
# Order matters: second factor first, then what needs a full login.
StepFn = Callable[[User, dict], "str | None"]
STEPS: list[StepFn] = []


def register_step(step: StepFn) -> StepFn:
    """Add a step (idempotent, so re-imports do not duplicate it)."""
    if step not in STEPS:
        STEPS.append(step)
    return step


def begin(user: User, amr: list[str], rid: str | None) -> None:
    """Start a partial login after the password step."""
    session[KEY] = {"uid": str(user.id), "amr": list(amr), "rid": rid, "at": time.time(),
                    "done": []}


def current() -> tuple[User, dict] | tuple[None, None]:
    """The person and state of the partial login, if one is in progress and fresh."""
    state = session.get(KEY)
    if not state or time.time() - state["at"] > MAX_AGE:
        return None, None
    user = db.session.get(User, uuid.UUID(state["uid"]))
    if user is None or not user.is_active:
        return None, None
    return user, state


def update(**changes) -> None:
    """Record progress (e.g. a method added to amr, a step marked done)."""
    state = dict(session.get(KEY) or {})
    state.update(changes)
    session[KEY] = state


def add_method(method: str) -> None:
    state = session.get(KEY) or {}
    amr = list(state.get("amr", []))
    if method not in amr:
        amr.append(method)
    update(amr=amr)


def mark_done(step_name: str) -> None:
    state = session.get(KEY) or {}
    update(done=[*state.get("done", []), step_name])


def pass_second_factor(*amr: str) -> None:
    """The second factor passed (a code, a passkey): record its amr values and the acr."""
    from idp.mfa.acr import ACR_MFA

    for method in amr:
        add_method(method)
    update(acr=ACR_MFA)
    mark_done("mfa")


def advance():
    """Send the person to the next required page, or finish the login."""
    from idp.web.login import complete_login

    user, state = current()
    if user is None:  # took too long: sign in again, still on the way to the same app
        rid = (session.get(KEY) or {}).get("rid")
        session.pop(KEY, None)
        return redirect(url_for("web.login", expired=1, rid=rid))
    for step in STEPS:
        target = step(user, state)
        if target:
            db.session.commit()
            return redirect(target)
    session.pop(KEY, None)
    return complete_login(user, state["amr"], state.get("rid"), acr=state.get("acr"),
                          provider=state.get("provider"),
                          upstream_id_token=state.get("upstream_id_token"))
