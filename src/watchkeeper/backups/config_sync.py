"""Reconcile the `backups:` section of watchkeeper.yaml through the backups service (the
descriptor names RECONCILERS; configfile/plan.py runs them after the catalog's)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate
from watchkeeper.domain import Reconciler


def _fields(b: BackupCreate) -> dict:
    return b.model_dump(mode="json", exclude_none=True)


def _current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    return {b.name: (b.managed_by, _fields(backups.as_create(b))) for b in backups.list_backups(session, actor=actor)}


RECONCILERS: list[Reconciler] = [
    Reconciler(kind="backup", section=("backups",),
               desired=lambda cfg: {b.name: _fields(b) for b in cfg.backups},
               current=_current,
               create=lambda s, f, a: backups.create_backup(s, data=BackupCreate.model_validate(f), actor=a, managed_by="config"),
               update=lambda s, name, f, a: backups.update_backup(
                   s, data=BackupCreate.model_validate({**_current(s, a)[name][1], **f}), actor=a),
               delete=lambda s, name, a: backups.delete_backup(s, name=name, actor=a), ignore=("name",),
               adopt=lambda s, name, a: backups.adopt_backup(s, name=name, actor=a)),
]
