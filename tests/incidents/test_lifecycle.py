"""The status lifecycle: every allowed move works and every other move is refused with one line."""

from __future__ import annotations

import itertools

import pytest

from tests.incidents.conftest import declare
from watchkeeper.incidents import lifecycle
from watchkeeper.incidents import service as incidents
from watchkeeper.incidents.models import Incident
from watchkeeper.incidents.schemas import Status, StatusChange

S = Status
# The whole table, written out: (from, to) pairs that are allowed. Everything else is refused.
ALLOWED = {
    (S.TRIGGERED, S.ACKNOWLEDGED), (S.TRIGGERED, S.CANCELLED),
    (S.ACKNOWLEDGED, S.INVESTIGATING), (S.ACKNOWLEDGED, S.IDENTIFIED), (S.ACKNOWLEDGED, S.MONITORING),
    (S.ACKNOWLEDGED, S.RESOLVED), (S.ACKNOWLEDGED, S.CANCELLED),
    (S.INVESTIGATING, S.IDENTIFIED), (S.INVESTIGATING, S.MONITORING), (S.INVESTIGATING, S.RESOLVED),
    (S.INVESTIGATING, S.CANCELLED),
    (S.IDENTIFIED, S.INVESTIGATING), (S.IDENTIFIED, S.MONITORING), (S.IDENTIFIED, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING), (S.MONITORING, S.IDENTIFIED), (S.MONITORING, S.RESOLVED),
}
ALL_PAIRS = list(itertools.product(list(Status), list(Status)))
INVALID = [p for p in ALL_PAIRS if p not in ALLOWED]


def test_the_table_in_code_is_the_table_in_this_test():
    assert {(a, b) for a, targets in lifecycle.ALLOWED.items() for b in targets} == ALLOWED
    assert len(INVALID) == 64 - 17


@pytest.mark.parametrize(("current", "target"), INVALID, ids=[f"{a.value}->{b.value}" for a, b in INVALID])
def test_every_invalid_move_has_a_one_line_reason(current, target):
    reason = lifecycle.refusal(7, current, target)
    assert reason and "\n" not in reason and "incident #7" in reason
    if current == target:
        assert reason == f"incident #7 is already {current.value}"
    elif current in (S.RESOLVED, S.CANCELLED, S.MERGED):
        assert "final" in reason
    elif target != S.MERGED:
        assert "allowed next:" in reason


def _incident_at(session, actor, status: Status) -> int:
    """A real incident driven to `status` through the service (merged: by merging it)."""
    inc = declare(session, actor)
    row = session.get(Incident, inc.id)
    if status == S.MERGED:
        other = declare(session, actor, title="other")
        incidents.merge(session, incident_id=inc.id, into_id=other.id, actor=actor)
        return inc.id
    row.status, row.acknowledged_at = S.TRIGGERED.value, None  # start every path at the beginning
    path = {S.TRIGGERED: [], S.ACKNOWLEDGED: [S.ACKNOWLEDGED], S.INVESTIGATING: [S.ACKNOWLEDGED, S.INVESTIGATING],
            S.IDENTIFIED: [S.ACKNOWLEDGED, S.IDENTIFIED], S.MONITORING: [S.ACKNOWLEDGED, S.MONITORING],
            S.RESOLVED: [S.ACKNOWLEDGED, S.RESOLVED], S.CANCELLED: [S.CANCELLED]}[status]
    for step in path:
        incidents.change_status(session, incident_id=inc.id, data=StatusChange(status=step), actor=actor)
    return inc.id


@pytest.mark.parametrize("current", list(Status), ids=[s.value for s in Status])
def test_the_service_refuses_every_invalid_move_and_changes_nothing(session, world, current):
    """From each status, every target the table refuses (one real incident per status)."""
    alice = world["alice"].actor
    incident_id = _incident_at(session, alice, current)
    before = incidents.get_incident(session, incident_id=incident_id, actor=alice)
    refused_targets = [b for a, b in INVALID if a == current]
    assert refused_targets
    for target in refused_targets:
        with pytest.raises(incidents.InvalidTransition) as refused:
            incidents.change_status(session, incident_id=incident_id, data=StatusChange(status=target), actor=alice)
        assert refused.value.message == lifecycle.refusal(incident_id, current, target)
        after = incidents.get_incident(session, incident_id=incident_id, actor=alice)
        assert after.status == current and len(after.timeline) == len(before.timeline)


@pytest.mark.parametrize("current", [s for s in Status if lifecycle.ALLOWED[s]], ids=lambda s: s.value)
def test_every_allowed_move_works_and_sets_its_timestamps(session, world, current):
    alice = world["alice"].actor
    for target in [b for a, b in sorted(ALLOWED) if a == current]:
        incident_id = _incident_at(session, alice, current)
        out = incidents.change_status(session, incident_id=incident_id, data=StatusChange(status=target), actor=alice)
        assert out.status == target
        assert (out.acknowledged_at is not None) == (target != S.CANCELLED or current != S.TRIGGERED)
        assert (out.resolved_at is not None) == (target == S.RESOLVED)
        assert (out.mitigated_at is not None) == (target in (S.MONITORING, S.RESOLVED) or current == S.MONITORING)
        assert (out.closed_at is not None) == (target in (S.RESOLVED, S.CANCELLED))
        last = incidents.get_incident(session, incident_id=incident_id, actor=alice).timeline[-1]
        assert (last.kind, last.summary) == ("status", f"Status {current.value} → {target.value}")
