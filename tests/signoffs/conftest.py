from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def wired(readiness_wiring):
    """Readiness, sign-off and audit-suite tests run with the production wiring (see the root
    conftest); pure tests stay unparametrised."""

