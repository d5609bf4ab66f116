"""MTTA, MTTR and time-to-detect, and the weekly incident review.

Definitions (docs/incidents.md): time to detect = detected − started; time to acknowledge
(TTA) = acknowledged − detected; time to resolve (TTR) = resolved − detected. MTTA and MTTR
are the means over the incidents that have the end point. An incident belongs to the week (in
the review's time zone, Monday 00:00 to Monday 00:00 local) in which it was detected, however
long it lasts. Drills are counted apart. An SLA breach is an acknowledgement or resolution
later than the severity's target (or an incident still open past its resolve target)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock, durations
from watchkeeper.auth.service import Actor, require
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents import settings
from watchkeeper.incidents.models import ActionItem, Incident, Postmortem
from watchkeeper.validation import zone


class Stats(BaseModel):
    count: int = 0
    acknowledged: int = 0
    resolved: int = 0
    mtta_seconds: float | None = None
    mttr_seconds: float | None = None
    mttd_seconds: float | None = None


class Breach(BaseModel):
    incident_id: int
    severity: str
    what: str  # ack | resolve
    target_seconds: float
    took_seconds: float | None  # None: still open past the target


class ReviewIncident(BaseModel):
    id: int
    title: str
    severity: str
    status: str
    services: list[str]
    team: str
    detected_at: dt.datetime
    tta_seconds: float | None
    ttr_seconds: float | None
    drill: bool


class WeeklyReview(BaseModel):
    week_start: dt.datetime = Field(description="Monday 00:00 in `timezone`, as an aware time.")
    week_end: dt.datetime
    timezone: str
    incidents: list[ReviewIncident]
    drills: list[ReviewIncident]
    overall: Stats
    by_severity: dict[str, Stats]
    by_service: dict[str, Stats]
    by_team: dict[str, Stats]
    breaches: list[Breach]
    postmortems_due: list[int] = Field(description="Incidents whose required postmortem falls due this week, unpublished.")
    postmortems_overdue: list[int]
    action_items_open: int
    action_items_overdue: int
    action_items_verified: int = Field(description="Verified this week.")
    noisiest_alerts: list[dict]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def _stats(rows: list[Incident]) -> Stats:
    tta = [(r.acknowledged_at - r.detected_at).total_seconds() for r in rows if r.acknowledged_at]
    ttr = [(r.resolved_at - r.detected_at).total_seconds() for r in rows if r.resolved_at]
    ttd = [(r.detected_at - r.started_at).total_seconds() for r in rows]
    return Stats(count=len(rows), acknowledged=len(tta), resolved=len(ttr), mtta_seconds=_mean(tta), mttr_seconds=_mean(ttr),
                 mttd_seconds=_mean(ttd))


def week_bounds(day: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """Monday 00:00 local of the week holding `day`, and the next Monday 00:00 local."""
    z = zone(tz)
    monday = day - dt.timedelta(days=day.weekday())
    start = dt.datetime.combine(monday, dt.time(), tzinfo=z)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), tzinfo=z)
    return start, end


def _review_row(r: Incident) -> ReviewIncident:
    return ReviewIncident(id=r.id, title=r.title, severity=r.severity, status=r.status, services=list(r.services), team=r.team,
                          detected_at=r.detected_at,
                          tta_seconds=(r.acknowledged_at - r.detected_at).total_seconds() if r.acknowledged_at else None,
                          ttr_seconds=(r.resolved_at - r.detected_at).total_seconds() if r.resolved_at else None, drill=r.drill)


def weekly_review(session: Session, *, day: dt.date, actor: Actor, timezone: str = "UTC") -> WeeklyReview:
    """The review of the week holding `day` in `timezone`, over the incidents the actor may see.
    Permission `incident.read`."""
    require(actor, "incident.read")
    start, end = week_bounds(day, timezone)
    now = clock.utcnow()
    rows = [r for r in session.execute(select(Incident).where(
        Incident.detected_at >= start, Incident.detected_at < end, Incident.status.notin_(["cancelled", "merged"]))
        .order_by(Incident.detected_at, Incident.id)).scalars() if incidents.visible(actor, r)]
    real = [r for r in rows if not r.drill]
    sevs = settings.severities(session)
    by_sev, by_svc, by_team = defaultdict(list), defaultdict(list), defaultdict(list)
    breaches = []
    for r in real:
        by_sev[r.severity].append(r)
        by_team[r.team].append(r)
        for s in r.services:
            by_svc[s].append(r)
        sev = sevs.get(r.severity)
        if sev is None:
            continue
        if r.acknowledged_at and r.acknowledged_at - r.detected_at > sev.ack_within:
            breaches.append(Breach(incident_id=r.id, severity=r.severity, what="ack", target_seconds=sev.ack_within.total_seconds(),
                                   took_seconds=(r.acknowledged_at - r.detected_at).total_seconds()))
        took = (r.resolved_at or now) - r.detected_at
        if took > sev.resolve_within:
            breaches.append(Breach(incident_id=r.id, severity=r.severity, what="resolve",
                                   target_seconds=sev.resolve_within.total_seconds(),
                                   took_seconds=took.total_seconds() if r.resolved_at else None))
    due, overdue = [], []
    rules = settings.postmortem_rules(session)
    published = set(session.execute(select(Postmortem.incident_id).where(Postmortem.status == "published")).scalars())
    for r in session.execute(select(Incident).where(Incident.resolved_at.is_not(None), Incident.drill.is_(False),
                                                    Incident.severity.in_(rules.required_for))).scalars():
        if r.id in published or not incidents.visible(actor, r):
            continue
        when = r.resolved_at + rules.due_within
        if start <= when < end:
            due.append(r.id)
        if when < min(end, now):
            overdue.append(r.id)
    visible_ids = {r.id for r in session.execute(select(Incident)).scalars() if incidents.visible(actor, r)}
    items = [i for i in session.execute(select(ActionItem)).scalars() if i.incident_id in visible_ids]
    noisy: list[dict] = []
    if actor.can("alert.read"):
        from watchkeeper.alerting import service as alerting

        rows_q = alerting.quality_report(session, actor=actor, since=start)
        noisy = [r.model_dump() for r in sorted(rows_q, key=lambda q: (-q.noise, -q.fired, q.alertname))[:5] if r.fired]
    return WeeklyReview(
        week_start=start, week_end=end, timezone=timezone, incidents=[_review_row(r) for r in real],
        drills=[_review_row(r) for r in rows if r.drill], overall=_stats(real),
        by_severity={k: _stats(v) for k, v in sorted(by_sev.items())}, by_service={k: _stats(v) for k, v in sorted(by_svc.items())},
        by_team={k: _stats(v) for k, v in sorted(by_team.items())}, breaches=breaches, postmortems_due=due,
        postmortems_overdue=sorted(overdue),
        action_items_open=sum(1 for i in items if i.status in ("open", "reopened")),
        action_items_overdue=sum(1 for i in items if i.status in ("open", "reopened") and i.due_at and i.due_at < min(end, now)),
        action_items_verified=sum(1 for i in items if i.verified_at and start <= i.verified_at < end),
        noisiest_alerts=noisy,
    )


def _d(seconds: float | None) -> str:
    return durations.format(dt.timedelta(seconds=round(seconds))) if seconds is not None else "—"


def review_markdown(review: WeeklyReview) -> str:
    """The weekly review as Markdown (for the email and the wiki)."""
    o = review.overall
    lines = [f"# Incident review: week of {review.week_start:%Y-%m-%d} ({review.timezone})", "",
             f"- **Incidents:** {o.count} (acknowledged {o.acknowledged}, resolved {o.resolved}); drills: {len(review.drills)}",
             f"- **MTTA:** {_d(o.mtta_seconds)} · **MTTR:** {_d(o.mttr_seconds)} · **Time to detect:** {_d(o.mttd_seconds)}",
             f"- **SLA breaches:** {len(review.breaches)}",
             f"- **Postmortems:** {len(review.postmortems_due)} due this week, {len(review.postmortems_overdue)} overdue",
             (f"- **Action items:** {review.action_items_open} open, {review.action_items_overdue} overdue, "
              f"{review.action_items_verified} verified this week"), "", "## By severity", "",
             "| Severity | Incidents | MTTA | MTTR |", "|---|---|---|---|"]
    lines += [f"| {k} | {s.count} | {_d(s.mtta_seconds)} | {_d(s.mttr_seconds)} |" for k, s in review.by_severity.items()]
    lines += ["", "## Incidents", "", "| # | Severity | Title | Services | TTA | TTR |", "|---|---|---|---|---|---|"]
    lines += [f"| {i.id} | {i.severity} | {i.title.replace('|', '/')} | {', '.join(i.services)} | {_d(i.tta_seconds)} | "
              f"{_d(i.ttr_seconds)} |" for i in review.incidents]
    if review.breaches:
        lines += ["", "## SLA breaches", ""] + [
            f"- #{b.incident_id} ({b.severity}) {b.what}: target {_d(b.target_seconds)}, took "
            f"{_d(b.took_seconds) if b.took_seconds is not None else 'still open'}" for b in review.breaches]
    if review.noisiest_alerts:
        lines += ["", "## Noisiest alerts", ""] + [f"- {a['alertname']}: fired {a['fired']}, noise {a['noise']}"
                                                    for a in review.noisiest_alerts]
    return "\n".join(lines) + "\n"
