"""Reconcile the `runbooks:` section of watchkeeper.yaml (the runbooks descriptor names
RECONCILERS; configfile/plan.py runs them). One object, `runbooks`: the section's settings plus
`documents`, a digest of the folder's files and git HEAD, so `apply` syncs the folder when a
file changed and plans nothing when none did. A file that does not parse fails the apply with
one line naming the file and line."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.errors import InvalidInput
from watchkeeper.runbooks import service as runbooks
from watchkeeper.runbooks.schemas import RunbooksConfig

NAME = "runbooks"
MISSING = "folder-missing"


def _desired(cfg) -> dict[str, dict]:
    section: RunbooksConfig | None = getattr(cfg, "runbooks", None)
    if section is None:
        return {}
    path = str(runbooks.folder_path(section.path, base=getattr(cfg, "_source_dir", None)))
    try:
        folder = runbooks.load_folder(path)
    except InvalidInput:
        digest = MISSING  # configured anyway: lint and readiness say the folder is missing
    else:
        if folder.errors:
            raise folder.errors[0]
        digest = folder.digest()
    return {NAME: {**section.model_dump(mode="json"), "path": path, "documents": digest}}


def _current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
    config = runbooks.current_config(session, actor=actor)
    if config is None:
        return {}
    row = runbooks.settings_row(session)
    digest = MISSING if row.last_sync_error and row.last_sync_error.startswith(runbooks.MISSING_FOLDER) else runbooks.stored_digest(session)
    return {NAME: (row.managed_by, {**config.model_dump(mode="json"), "documents": digest})}


def _put(session: Session, fields: dict, actor: Actor) -> None:
    data = RunbooksConfig.model_validate({k: v for k, v in fields.items() if k != "documents"})
    runbooks.configure(session, data=data, actor=actor)
    runbooks.sync(session, actor=actor, strict=True)


def _update(session: Session, name: str, changes: dict, actor: Actor) -> None:
    current = _current(session, actor)[name][1]
    _put(session, {**current, **changes}, actor)


RECONCILERS: list[Reconciler] = [
    Reconciler(kind="runbooks", section=("runbooks",), desired=_desired, current=_current, create=_put, update=_update,
               delete=lambda s, name, a: runbooks.unconfigure(s, actor=a), ignore=()),
]
