from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def wired(readiness_wiring):
    """Readiness, sign-off and audit-suite tests run with the production wiring (see the root
    conftest); pure tests stay unparametrised."""


@pytest.fixture
def people(session):
    """Catalog people who attest and sign: alice (engineer) and pat (product owner)."""
    from watchkeeper.auth.service import Actor
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate
    from watchkeeper.errors import NotFound

    system = Actor.system("factory", "system")
    for handle in ("alice", "pat"):
        try:
            teams.lookup_person(session, handle=handle)
        except NotFound:
            teams.create_person(session, data=PersonCreate(handle=handle), actor=system)
    return ["alice", "pat"]
