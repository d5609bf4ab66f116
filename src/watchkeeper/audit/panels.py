"""The audit log's panel on a service's page: its recent changes (watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditFilter
from watchkeeper.panels import Panel, PanelItem, age, unless_denied


@unless_denied
def for_service(session: Session, *, service: str, actor) -> Panel | None:
    now = clock.utcnow()
    events = [e for e in audit.list_events(session, filter=AuditFilter(target=f"service:{service}", limit=50), actor=actor)
              if e.target == f"service:{service}" or e.target.startswith(f"service:{service}/")]
    items = [PanelItem(e.action, None, f"{e.actor} · {age(e.at, now)} ago", "muted", e.at) for e in events]
    return Panel.of("changes", "Recent changes", items, summary=f"{len(events)} recorded", tone="ok",
                    empty="No change recorded.", more_href=f"/audit?target=service:{service}")
