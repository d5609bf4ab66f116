"""What the alert subscribers need to decide in memory whether an alert event concerns
incidents at all: the auto-declare policies, the services with an open incident and the
fingerprints linked to one. Computed once per transaction (two queries) and forgotten whenever
this domain writes something that changes it, so ingesting thousands of alerts that concern no
incident costs no query per alert."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.incidents import settings
from watchkeeper.incidents.models import AlertLink, Incident
from watchkeeper.incidents.schemas import OPEN, PolicyConfig

_KEY = "incidents.snapshot"


@dataclasses.dataclass(frozen=True)
class Snapshot:
    policies: tuple[PolicyConfig, ...]
    open_services: frozenset[str]
    linked: frozenset[str]


def get(session: Session) -> Snapshot:
    txn = session.get_transaction()
    held = session.info.get(_KEY)
    if held is not None and held[0] is txn:
        return held[1]
    open_rows = session.execute(select(Incident.services).where(Incident.status.in_([s.value for s in OPEN]),
                                                                Incident.drill.is_(False))).scalars()
    services = frozenset(s for row in open_rows for s in (row or []))
    linked = frozenset(session.execute(select(AlertLink.fingerprint).join(Incident, Incident.id == AlertLink.incident_id)
                                       .where(Incident.status.in_([s.value for s in OPEN]))).scalars())
    snap = Snapshot(tuple(settings.policies(session)), services, linked)
    session.info[_KEY] = (txn, snap)
    return snap


def forget(session: Session) -> None:
    session.info.pop(_KEY, None)
