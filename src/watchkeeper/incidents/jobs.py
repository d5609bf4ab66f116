"""Incident job handlers (run by the worker as its system actor)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.incidents import postmortems


def verify_action_items(session: Session, payload: dict, ctx) -> dict:
    """Verify the done action items whose fix has held for `verify_after` (periodic)."""
    return {"verified": postmortems.verify_due(session)}
