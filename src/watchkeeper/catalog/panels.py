"""The catalog's panel on a service's page: what it depends on and what depends on it
(watchkeeper/panels.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.catalog import service as catalog
from watchkeeper.panels import Panel, PanelItem, unless_denied


@unless_denied
def for_service(session: Session, *, service: str, actor: Actor) -> Panel | None:
    svc = catalog.get_service(session, name=service, actor=actor)
    items = []
    for direction, names in (("depends on", svc.depends_on), ("used by", svc.dependents)):
        for name in names:
            other = catalog.find_service(session, name=name)
            stage = other.stage.value if other else "not in the catalog"
            # A dependency below this service's stage is a risk worth a glance.
            tone = "warn" if direction == "depends on" and other and other.stage.rank < svc.stage.rank else "muted"
            items.append(PanelItem(f"{direction} {name}", f"/services/{name}" if other else None, stage, tone))
    return Panel.of("dependencies", "Dependencies", items, tone=None if items else "ok",
                    summary=f"{len(svc.depends_on)} upstream, {len(svc.dependents)} downstream",
                    empty="No dependencies recorded.")
