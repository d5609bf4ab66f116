from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.monitoring.probes import service as monitoring
from watchkeeper.monitoring.probes.schemas import MonitorCreate, MonitorRead

SYSTEM = Actor.system("factory", "system")


def make_monitor(session: Session, *, name: str = "shop-home", actor: Actor | None = None, **fields) -> MonitorRead:
    """A monitor through the service layer; an http check of http://127.0.0.1:9/ unless a spec is given."""
    if not any(k in fields for k in ("http", "tcp", "dns", "tls", "heartbeat", "command", "prometheus", "scrape")):
        fields["http"] = {"url": "http://127.0.0.1:9/"}
    return monitoring.create_monitor(session, data=MonitorCreate(name=name, **fields), actor=actor or SYSTEM)
