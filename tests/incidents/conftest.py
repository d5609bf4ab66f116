"""Incident fixtures: team payments with tier-1 PROD checkout and tier-2 search, people ann/ben,
the default severities, and the policy `critical-tier1-prod` (critical alert on a tier-1 PROD
service → SEV2)."""

from __future__ import annotations

import pytest

from tests.factories.catalog import SYSTEM, make_service
from watchkeeper.catalog import teams
from watchkeeper.catalog.schemas import PersonCreate
from watchkeeper.incidents import settings
from watchkeeper.incidents.schemas import IncidentCreate


@pytest.fixture
def world(session, personas, frozen_clock):
    make_service(session, name="checkout", team="payments", tier=1, stage="PROD")
    make_service(session, name="ledger", team="payments", tier=1, stage="PROD")
    make_service(session, name="search", team="search", tier=2, stage="MVP")
    for handle in ("ann", "ben"):
        teams.create_person(session, data=PersonCreate(handle=handle), actor=SYSTEM)
    settings.put_setting(session, kind="policy", name="critical-tier1-prod",
                         value={"severity": "SEV2", "alert_severity": ["critical"], "tiers": [1], "stages": ["PROD"]}, actor=SYSTEM)
    session.commit()
    return personas


def declare(session, actor, *, services=("checkout",), severity="SEV3", title="Checkout errors", **kw):
    from watchkeeper.incidents import service as incidents

    return incidents.declare(session, data=IncidentCreate(title=title, severity=severity, services=list(services), **kw), actor=actor)
