"""The stored `incidents:` section (severities, auto-declare policies, status page, process
document, postmortem rules), written by `apply` through put_setting/delete_setting and read by
the rest of the domain. Severities not declared fall back to the built-in SEV1–SEV4 so an
incident can always be declared; readiness counts only declared ones."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import InvalidInput
from watchkeeper.incidents.models import Setting
from watchkeeper.incidents.schemas import (
    DEFAULT_SEVERITIES,
    NotifyConfig,
    PolicyConfig,
    PostmortemConfig,
    ProcessDocument,
    SeverityConfig,
    StatusPageConfig,
)

KINDS = ("severity", "policy", "settings")
SINGLETONS = {"status_page": StatusPageConfig, "process_document": ProcessDocument, "postmortems": PostmortemConfig,
              "notify": NotifyConfig}


def _rows(session: Session, kind: str) -> list[Setting]:
    return list(session.execute(select(Setting).where(Setting.kind == kind).order_by(Setting.position, Setting.name)).scalars())


def declared_severities(session: Session) -> list[SeverityConfig]:
    """The severities watchkeeper.yaml defines (may be none)."""
    return [SeverityConfig.model_validate(r.value) for r in _rows(session, "severity")]


def severities(session: Session) -> dict[str, SeverityConfig]:
    """SEV1–SEV4: the declared definition of each, else the built-in default."""
    out = {s.name: s for s in DEFAULT_SEVERITIES}
    out.update({s.name: s for s in declared_severities(session)})
    return dict(sorted(out.items()))


def policies(session: Session) -> list[PolicyConfig]:
    return [PolicyConfig.model_validate(r.value) for r in _rows(session, "policy")]


def _singleton(session: Session, name: str):
    row = session.execute(select(Setting).where(Setting.kind == "settings", Setting.name == name)).scalar_one_or_none()
    model = SINGLETONS[name]
    if row is None:
        return None if name == "process_document" else model()
    return model.model_validate(row.value)


def status_page(session: Session) -> StatusPageConfig:
    return _singleton(session, "status_page")


def process_document(session: Session) -> ProcessDocument | None:
    return _singleton(session, "process_document")


def postmortem_rules(session: Session) -> PostmortemConfig:
    return _singleton(session, "postmortems")


def notify_rules(session: Session) -> NotifyConfig:
    return _singleton(session, "notify")


def list_settings(session: Session, *, kind: str, actor: Actor) -> dict[str, tuple[str, dict]]:
    """Stored settings of one kind by name: (managed_by, value). Permission `incident.read`."""
    require(actor, "incident.read")
    return {r.name: (r.managed_by, dict(r.value)) for r in _rows(session, kind)}


def _validate(kind: str, name: str, value: dict) -> dict:
    if kind == "severity":
        return SeverityConfig.model_validate({**value, "name": name}).model_dump(mode="json")
    if kind == "policy":
        return PolicyConfig.model_validate({**value, "name": name}).model_dump(mode="json")
    if kind == "settings" and name in SINGLETONS:
        return SINGLETONS[name].model_validate(value).model_dump(mode="json")
    raise InvalidInput(f"unknown incidents setting {kind}/{name}", field="incidents")


def put_setting(session: Session, *, kind: str, name: str, value: dict, actor: Actor, managed_by: str = "config") -> None:
    """Create or replace one setting. Permission `incident.configure` (global). Audited."""
    require(actor, "incident.configure")
    value = _validate(kind, name, value)
    row = session.execute(select(Setting).where(Setting.kind == kind, Setting.name == name)).scalar_one_or_none()
    before = dict(row.value) if row else None
    if row is None:
        row = Setting(kind=kind, name=name, value=value, managed_by=managed_by,
                      position=int(name[3:]) if kind == "severity" else len(_rows(session, kind)))
        session.add(row)
    else:
        row.value, row.managed_by = value, managed_by
    session.flush()
    session.info.pop("incidents.snapshot", None)  # the alert subscribers' cached policies
    audit.record(session, actor=actor, action="incident.configure", target=f"incidents:{kind}:{name}", before=before, after=value)


def delete_setting(session: Session, *, kind: str, name: str, actor: Actor) -> None:
    """Remove one setting. Permission `incident.configure` (global). Audited."""
    require(actor, "incident.configure")
    session.execute(delete(Setting).where(Setting.kind == kind, Setting.name == name))
    session.flush()
    session.info.pop("incidents.snapshot", None)
    audit.record(session, actor=actor, action="incident.configure", target=f"incidents:{kind}:{name}", after=None)
