"""A CSV import run in the background: its input, progress and outcome, per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from idp.models.base import Base, utcnow


class ImportJob(Base):
    """One import (or dry run) of a CSV: `processed` of `total` rows so far."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    # Kept so a dry run can be committed without uploading the file again. Deferred: the
    # worker reloads the job after every chunk's commit, and 100,000 rows are megabytes.
    csv_text: Mapped[str] = mapped_column(Text, deferred=True)
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # running, done, failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    # created / updated / unchanged / error counts.
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    # [{"row", "email", "message"}] of the rows that were not imported.
    errors: Mapped[list] = mapped_column(JSON, default=list)
    message: Mapped[str | None] = mapped_column(String(500))
    # The caller who started it: a user id, or "client:<id>".
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # The lease of the worker running it: renewed with every committed chunk. A job whose
    # heartbeat is older than LEASE_SECONDS (idp.accounts.import_jobs) has lost its worker
    # and is taken over; the token fences the old worker should it wake up.
    heartbeat_at: Mapped[datetime | None]
    lease: Mapped[str | None] = mapped_column(String(32))
    takeovers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
