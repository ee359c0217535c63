"""Engine, sessions, and the tenant every transaction runs as.

Row Level Security policies read ``app.org_id``; the app sets it with
``set_config(..., true)`` (transaction-local) at the start of every transaction of a
session that carries a tenant, so a commit halfway through a request cannot drop it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from app.core.config import settings

engine = create_engine(settings.sqlalchemy_url, pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)
_SET_TENANT = text("SELECT set_config('app.org_id', :org, true)")


def get_session() -> Iterator[Session]:
    with SessionLocal() as session:
        yield session


def set_tenant(session: Session, org_id: uuid.UUID) -> None:
    """Make ``org_id`` the tenant of this session's current and future transactions."""
    session.info["org_id"] = org_id
    session.execute(_SET_TENANT, {"org": str(org_id)})


@event.listens_for(Session, "after_begin")
def _apply_tenant(session: Session, _tx: SessionTransaction, connection: Connection) -> None:
    org_id = session.info.get("org_id")
    if org_id is not None:
        connection.execute(_SET_TENANT, {"org": str(org_id)})
