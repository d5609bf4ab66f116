"""Timeline entries: written by the service and the subscribers, read in order (at, id), and
exported as Markdown."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.incidents.models import Entry
from watchkeeper.incidents.schemas import EntryRead, IncidentDetail

MAX_SUMMARY = 500


def add(session: Session, incident_id: int, *, kind: str, summary: str, who: str | None = None, body: str | None = None,
        visibility: str = "internal", link: str | None = None, details: dict[str, Any] | None = None,
        at: dt.datetime | None = None) -> EntryRead:
    """Append one entry (callers checked permission or are subscribers of a checked change)."""
    entry = Entry(incident_id=incident_id, at=at or clock.utcnow(), kind=kind[:60], actor=who, summary=summary[:MAX_SUMMARY],
                  body=body, visibility=visibility, link=link, details=details or {})
    session.add(entry)
    session.flush()
    return EntryRead.model_validate(entry)


def entries(session: Session, incident_ids: list[int], *, public_only: bool = False) -> list[EntryRead]:
    query = select(Entry).where(Entry.incident_id.in_(incident_ids)).order_by(Entry.at, Entry.id)
    if public_only:
        query = query.where(Entry.visibility == "public")
    return [EntryRead.model_validate(e) for e in session.execute(query).scalars()]


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def to_markdown(incident: IncidentDetail) -> str:
    """The incident as a Markdown document: facts, roles, alerts, then the timeline."""
    lines = [f"# Incident #{incident.id}: {incident.title}", ""]
    if incident.drill:
        lines += ["> **Drill** — a game day, not a real incident.", ""]
    lines += [
        f"- **Severity:** {incident.severity}", f"- **Status:** {incident.status.value}",
        f"- **Services:** {', '.join(incident.services)}",
        f"- **Customer-facing:** {'yes' if incident.customer_facing else 'no'}",
        f"- **Started:** {_when(incident.started_at)}", f"- **Detected:** {_when(incident.detected_at)}",
        f"- **Acknowledged:** {_when(incident.acknowledged_at)}", f"- **Mitigated:** {_when(incident.mitigated_at)}",
        f"- **Resolved:** {_when(incident.resolved_at)}",
        (f"- **Commander:** {incident.commander or '—'} · **Communications:** {incident.communications or '—'} · "
         f"**Scribe:** {incident.scribe or '—'}"),
    ]
    if incident.impact:
        lines += ["", "## Impact", "", incident.impact]
    if incident.alerts:
        lines += ["", "## Alerts", ""] + [f"- {a.alertname} on {a.service or '—'} (`{a.fingerprint}`)" for a in incident.alerts]
    lines += ["", "## Timeline", "", "| Time (UTC) | Who | What |", "|---|---|---|"]
    for e in incident.timeline:
        what = e.summary.replace("|", "\\|")
        if e.visibility == "public":
            what += " *(public)*"
        if e.incident_id != incident.id:
            what += f" *(from #{e.incident_id})*"
        lines.append(f"| {e.at.strftime('%Y-%m-%d %H:%M:%S')} | {(e.actor or 'system').replace('|', '')} | {what} |")
    notes = [e for e in incident.timeline if e.body and e.kind in ("note", "update", "status")]
    if notes:
        lines += ["", "## Notes and updates", ""]
        for e in notes:
            lines += [f"### {e.at.strftime('%Y-%m-%d %H:%M')} — {e.actor or 'system'} ({e.kind}, {e.visibility})", "", e.body, ""]
    return "\n".join(lines).rstrip() + "\n"
