"""Writing the in-memory usage counters to the database in one short transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from idp.models.oauth import Client, ClientSecret, ClientUsageDay
from idp.oauth.clients.usage import UsageRecorder


def flush_usage(db: Session, usage: UsageRecorder) -> None:
    """Add counted tokens per day and stamp last use; failures keep the counts for later."""
    counts, last, secrets = usage.drain()
    if not (counts or last or secrets):
        return
    try:
        for (client_id, day), n in counts.items():
            row = db.execute(select(ClientUsageDay).where(
                ClientUsageDay.client_id == client_id,
                ClientUsageDay.day == date.fromisoformat(day)).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                db.add(ClientUsageDay(client_id=client_id, day=date.fromisoformat(day),
                                      token_count=n))
            else:
                row.token_count += n
        for client_id, (at, ip) in last.items():
            db.execute(update(Client).where(Client.id == client_id)
                       .values(last_used_at=at, last_used_ip=ip))
        for secret_id, at in secrets.items():
            db.execute(update(ClientSecret).where(ClientSecret.id == secret_id)
                       .values(last_used_at=at))
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        usage.restore(counts, last, secrets)
