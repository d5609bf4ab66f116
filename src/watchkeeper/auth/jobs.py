"""Periodic auth housekeeping: expired sessions and old login attempts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.models import LoginAttempt, WebSession


def prune(session: Session, payload: dict[str, Any], ctx: object) -> dict:  # reads nothing of its JobContext
    now = clock.utcnow()
    sessions = session.execute(delete(WebSession).where(WebSession.expires_at < now)).rowcount
    attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - dt.timedelta(days=30))).rowcount
    return {"sessions": sessions, "attempts": attempts}
