"""The public status page's data: components (the services `incidents.status_page.services`
makes public), current incidents with their PUBLIC updates only, scheduled maintenance, 90-day
uptime bars from monitor results, and the Atom feed.

Public by design and built defensively: every field is chosen here, never copied from a row.
An incident shows only under a name derived from its severity and public components (its
internal title may name alerts or customers), with only its public entries' Markdown, and
without who wrote them; private services, internal notes, people and roles never leave this
module. An incident appears once it has at least one public update (communications publishes
it); until then only monitors and maintenance move a component's status."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from xml.sax.saxutils import escape

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor
from watchkeeper.incidents import settings, timeline
from watchkeeper.incidents.markdown import plain, render
from watchkeeper.incidents.models import Incident
from watchkeeper.incidents.schemas import OPEN, Status

DAYS = 90
HISTORY = dt.timedelta(days=14)
UPCOMING = dt.timedelta(days=14)
_READER = Actor.system("status-page", "system")
RANK = {"operational": 0, "maintenance": 1, "degraded_performance": 2, "partial_outage": 3, "major_outage": 4}
LABEL = {"operational": "Operational", "maintenance": "Under maintenance", "degraded_performance": "Degraded performance",
         "partial_outage": "Partial outage", "major_outage": "Major outage"}
IMPACT = {"SEV1": "major_outage", "SEV2": "partial_outage", "SEV3": "degraded_performance", "SEV4": "degraded_performance"}
PUBLIC_STATUS = {"triggered": "investigating", "acknowledged": "investigating", "investigating": "investigating",
                 "identified": "identified", "monitoring": "monitoring", "resolved": "resolved"}


class DayBar(BaseModel):
    date: dt.date
    uptime_percent: float | None


class Component(BaseModel):
    name: str
    display_name: str
    status: str
    status_label: str
    uptime_percent: float | None
    days: list[DayBar]


class PublicUpdate(BaseModel):
    at: dt.datetime
    status: str
    message: str
    html: str


class PublicIncident(BaseModel):
    id: int
    name: str
    impact: str
    status: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    components: list[str]
    updates: list[PublicUpdate]


class PublicMaintenance(BaseModel):
    components: list[str]
    starts_at: dt.datetime
    ends_at: dt.datetime
    in_progress: bool


class PublicStatus(BaseModel):
    title: str
    logo_url: str | None
    generated_at: dt.datetime
    status: str
    status_label: str
    components: list[Component]
    incidents: list[PublicIncident]
    history: list[PublicIncident]
    maintenance: list[PublicMaintenance]


_CACHE: dict[tuple, dict[dt.date, float | None]] = {}
CACHE_SECONDS = 300  # the page is public: 90 days of roll-ups are read at most every 5 minutes per component


def _daily_uptime(session: Session, monitors: list[str], days: list[dt.date], now: dt.datetime) -> dict[dt.date, float | None]:
    bind = session.get_bind()
    key = (str(getattr(bind, "engine", bind).url), tuple(monitors), int(now.timestamp()) // CACHE_SECONDS)
    if key not in _CACHE:
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = _read_daily_uptime(session, monitors, days, now)
    return _CACHE[key]


def _read_daily_uptime(session: Session, monitors: list[str], days: list[dt.date], now: dt.datetime) -> dict[dt.date, float | None]:
    from watchkeeper.monitoring.metrics import language, store

    buckets: dict[dt.date, list[float]] = defaultdict(list)
    start = dt.datetime.combine(days[0], dt.time(), tzinfo=dt.UTC)
    for name in monitors:
        selector = language.Selector("probe_success", (language.Matcher("monitor", "=", name),))
        for series in store.read_series(session, selector, start=start, end=now, step=dt.timedelta(hours=1)):
            for ts, value in series.points:
                buckets[dt.datetime.fromtimestamp(ts, dt.UTC).date()].append(value)
    return {d: (round(100.0 * sum(buckets[d]) / len(buckets[d]), 3) if buckets.get(d) else None) for d in days}


def _public_incident(session: Session, row: Incident, public: dict[str, str]) -> PublicIncident | None:
    entries = timeline.entries(session, [row.id], public_only=True)
    if not entries:
        return None
    components = [public[s] for s in row.services if s in public]
    impact = IMPACT.get(row.severity, "degraded_performance")
    status = PUBLIC_STATUS.get(row.status, "resolved")
    updates = []
    for e in reversed(entries):  # newest first, as status pages show them
        shown = (e.details or {}).get("to") or (e.details or {}).get("status") or status
        updates.append(PublicUpdate(at=e.at, status=PUBLIC_STATUS.get(shown, status), message=e.body or "",
                                    html=render(e.body or "")))
    return PublicIncident(id=row.id, name=f"{LABEL[impact]}: {', '.join(components)}", impact=impact, status=status,
                          started_at=row.started_at, resolved_at=row.resolved_at, components=components, updates=updates)


def public_status(session: Session) -> PublicStatus:
    """Everything /status shows. No actor: the page is public, and this function decides what is."""
    from watchkeeper.catalog import service as catalog
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.monitoring.probes import service as probes

    cfg = settings.status_page(session)
    now = clock.utcnow()
    services = [s for s in (catalog.find_service(session, name=n) for n in cfg.services) if s is not None]
    public = {s.name: s.display_name or s.name for s in services}
    rows = session.execute(select(Incident).where(Incident.drill.is_(False)).where(
        Incident.status.in_([s.value for s in OPEN]) | (Incident.resolved_at >= now - HISTORY))
        .order_by(Incident.detected_at.desc(), Incident.id.desc())).scalars()
    current, history = [], []
    for row in rows:
        if not set(row.services or []) & set(public):
            continue
        shown = _public_incident(session, row, public)
        if shown is None:
            continue
        (current if Status(row.status) in OPEN else history).append(shown)
    windows = []
    for name, shown_name in public.items():
        for w in maintenance.list_windows(session, actor=_READER, service=name):
            if w.active_now and w.current_end:
                windows.append(PublicMaintenance(components=[shown_name], starts_at=now, ends_at=w.current_end, in_progress=True))
            elif w.next_start and w.next_end and w.next_start <= now + UPCOMING:
                windows.append(PublicMaintenance(components=[shown_name], starts_at=w.next_start, ends_at=w.next_end,
                                                 in_progress=False))
    windows.sort(key=lambda m: m.starts_at)
    days = [(now - dt.timedelta(days=DAYS - 1 - i)).date() for i in range(DAYS)]
    components = []
    for svc in services:
        monitors = [m for m in probes.monitors_for_service(session, service=svc.name)]
        state = "operational"
        if any(m.status == "down" for m in monitors):
            state = "partial_outage"
        for inc in current:
            if public[svc.name] in inc.components and RANK[inc.impact] > RANK[state]:
                state = inc.impact
        if state == "operational" and any(m.in_progress and public[svc.name] in m.components for m in windows):
            state = "maintenance"
        daily = _daily_uptime(session, [m.name for m in monitors], days, now) if monitors else {d: None for d in days}
        known = [v for v in daily.values() if v is not None]
        components.append(Component(name=svc.name, display_name=public[svc.name], status=state, status_label=LABEL[state],
                                    uptime_percent=round(sum(known) / len(known), 3) if known else None,
                                    days=[DayBar(date=d, uptime_percent=daily[d]) for d in days]))
    overall = max((c.status for c in components), key=RANK.__getitem__, default="operational")
    label = "All systems operational" if overall == "operational" else LABEL[overall]
    return PublicStatus(title=cfg.title, logo_url=cfg.logo_url, generated_at=now, status=overall, status_label=label,
                        components=components, incidents=current, history=history, maintenance=windows)


def atom(status: PublicStatus, base_url: str) -> str:
    """The public updates as an Atom feed (RFC 4287), newest first."""
    base = base_url.rstrip("/")
    items = [(u, i) for i in [*status.incidents, *status.history] for u in i.updates]
    items.sort(key=lambda x: x[0].at, reverse=True)
    updated = items[0][0].at if items else status.generated_at
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<title>{escape(status.title)}</title>", f'<link href="{escape(base)}/status"/>',
           f'<link rel="self" href="{escape(base)}/status/feed.atom"/>', f"<id>{escape(base)}/status</id>",
           f"<updated>{updated.isoformat()}</updated>"]
    for u, i in items[:100]:
        out += ["<entry>", f"<title>{escape(i.name)} — {escape(u.status)}</title>",
                f"<id>{escape(base)}/status#incident-{i.id}-{int(u.at.timestamp() * 1000)}</id>",
                f'<link href="{escape(base)}/status#incident-{i.id}"/>', f"<updated>{u.at.isoformat()}</updated>",
                f"<author><name>{escape(status.title)}</name></author>",
                f"<summary>{escape(plain(u.message, 300))}</summary>",
                f'<content type="html">{escape(u.html)}</content>', "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"
