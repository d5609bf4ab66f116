"""The status lifecycle: which move is allowed from which status, and the one line that says why
another is not. Pure; the service applies it.

    triggered -> acknowledged -> investigating -> identified -> monitoring -> resolved
    (cancelled from triggered, acknowledged or investigating: it was not an incident)

Forward steps may be skipped once acknowledged (acknowledged -> resolved is allowed: a flap
somebody looked at); identified and monitoring may go back to investigating (the fix did not
hold). resolved, cancelled and merged are final: a recurrence is a new incident, linked to the
old one's postmortem.
"""

from __future__ import annotations

from watchkeeper.incidents.schemas import Status

S = Status

ALLOWED: dict[Status, tuple[Status, ...]] = {
    S.TRIGGERED: (S.ACKNOWLEDGED, S.CANCELLED),
    S.ACKNOWLEDGED: (S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.CANCELLED),
    S.INVESTIGATING: (S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.CANCELLED),
    S.IDENTIFIED: (S.INVESTIGATING, S.MONITORING, S.RESOLVED),
    S.MONITORING: (S.INVESTIGATING, S.IDENTIFIED, S.RESOLVED),
    S.RESOLVED: (),
    S.CANCELLED: (),
    S.MERGED: (),
}


def refusal(incident_id: int, current: Status, target: Status) -> str | None:
    """None when `current -> target` is allowed, else the one line the caller shows."""
    if target in ALLOWED[current]:
        return None
    where = f"incident #{incident_id}"
    if target == current:
        return f"{where} is already {current.value}"
    if current in (S.RESOLVED, S.CANCELLED, S.MERGED):
        return f"{where} is {current.value} and final; declare a new incident if the problem is back"
    if target == S.MERGED:
        return f"{where}: merge it into another incident instead (`watchkeeper incident merge`)"
    if current == S.TRIGGERED:
        return f"{where} is triggered: acknowledge it first (allowed next: acknowledged, cancelled)"
    allowed = ", ".join(s.value for s in ALLOWED[current])
    if target == S.TRIGGERED:
        return f"{where} cannot go back to triggered once {current.value} (allowed next: {allowed})"
    if target == S.ACKNOWLEDGED:
        return f"{where} was already acknowledged (allowed next: {allowed})"
    if target == S.CANCELLED:
        return f"{where} cannot be cancelled once {current.value}: the cause is known; resolve it (allowed next: {allowed})"
    return f"{where} cannot move from {current.value} to {target.value} (allowed next: {allowed})"
