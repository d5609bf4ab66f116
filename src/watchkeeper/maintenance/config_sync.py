"""Reconcile the `maintenance_windows:` section of watchkeeper.yaml through the maintenance
service (the maintenance descriptor names RECONCILERS; configfile/plan.py runs them)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.maintenance import service as maintenance
from watchkeeper.maintenance.schemas import WindowCreate


def _window_fields(w: WindowCreate) -> dict:
    """A window as compared: instants in UTC, so `02:00+01:00` in the file equals the stored `01:00Z`."""
    data = w.model_dump(mode="json")
    for key in ("starts_at", "until"):
        value = getattr(w, key)
        data[key] = value.astimezone(dt.timezone.utc).isoformat() if value is not None else None
    return data


def _windows_current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {w.name: (w.managed_by, _window_fields(maintenance.as_create(w)))
            for w in maintenance.list_windows(session, actor=actor, include_past=True) if w.cancelled_at is None}


# After the services they cover (the catalog's reconcilers come first in the composition root).
RECONCILERS: list[Reconciler] = [
    Reconciler(kind="maintenance_window", section=("maintenance_windows",),
               desired=lambda cfg: {w.name: _window_fields(w) for w in cfg.maintenance_windows},
               current=_windows_current,
               create=lambda s, f, a: maintenance.create_window(s, data=WindowCreate.model_validate(f), actor=a, managed_by="config"),
               update=lambda s, name, f, a: maintenance.update_window(
                   s, data=WindowCreate.model_validate({**_windows_current(s, a)[name][1], **f}), actor=a),
               delete=lambda s, name, a: maintenance.cancel_window(s, name=name, actor=a), ignore=("name",),
               adopt=lambda s, name, a: maintenance.adopt_window(s, name=name, actor=a)),
]
