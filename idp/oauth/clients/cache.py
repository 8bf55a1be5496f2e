"""A per-process cache of clients for the token endpoint's hot path.

Looking a client up (two ORM queries) cost a third of a client-credentials request.
Clients change rarely, so each process keeps them, detached and fully loaded, for
`ttl` seconds. A change committed through any ORM session of this process clears the
cache at once; other processes see it within `ttl` (one second by default). Decisions
that must be exact at once — introspection, UserInfo — read the client from the
database, not from here.
"""

from __future__ import annotations

import threading
import time

from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from idp.models.oauth import Client, ClientSecret


class ClientCache:
    def __init__(self, session_factory, ttl: float = 1.0):
        self._session_factory = session_factory
        self._ttl = ttl
        self._entries: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()
        _CACHES.append(self)

    def get(self, client_id: str) -> Client | None:
        """The client (detached, secrets loaded), or None when unknown."""
        hit = self._entries.get(client_id)
        now = time.monotonic()
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with self._session_factory() as db:
            client = db.execute(
                select(Client).options(selectinload(Client.secrets)).where(Client.id == client_id)
            ).scalar_one_or_none()
            if client is not None:
                db.expunge_all()
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[client_id] = (now, client)
        return client

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CACHES: list[ClientCache] = []


@event.listens_for(Session, "after_commit")
def _clear_on_client_change(session: Session) -> None:
    if session.info.pop("idp_clients_changed", False):
        for cache in _CACHES:
            cache.clear()


@event.listens_for(Session, "before_flush")
def _note_client_change(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Client | ClientSecret):
            session.info["idp_clients_changed"] = True
            return
