"""Which clients are owed a logout token when a session ends (Back-Channel Logout 1.0, 2.7).

The rows are written in the transaction that ends the session, so a logout and its
notifications commit (or roll back) together; `idp.oauth.backchannel` delivers them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp.models.oauth import BackchannelLogout, Client, TokenGrant
from idp.models.sessions import UserSession
from idp.request_context import RequestContext

# Set on the database session when rows were queued; the HTTP adapter wakes the deliverer.
QUEUED_FLAG = "backchannel_logout_queued"


def queue_backchannel_logouts(db: Session, ctx: RequestContext, session: UserSession) -> int:
    """One pending logout per client that holds tokens from this session and asked for it."""
    client_ids = db.execute(
        select(Client.id).distinct()
        .join(TokenGrant, TokenGrant.client_id == Client.id)
        .where(TokenGrant.session_id == session.id, Client.backchannel_logout_uri.is_not(None))
    ).scalars().all()
    for client_id in client_ids:
        db.add(BackchannelLogout(client_id=client_id, user_id=session.user_id,
                                 session_id=session.id, created_at=ctx.now,
                                 next_attempt_at=ctx.now))
    if client_ids:
        db.info[QUEUED_FLAG] = True
    return len(client_ids)
