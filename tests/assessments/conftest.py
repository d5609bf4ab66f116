from __future__ import annotations

import pytest

from watchkeeper.assessments import measures
from watchkeeper.readiness import registry


@pytest.fixture(autouse=True)
def wired(request):
    """The composition root's wiring (gate, providers, subscriptions) for tests that use a
    database (tests on their own database build the app themselves); providers a test adds are
    removed afterwards. Pure tests stay unparametrised."""
    saved, saved_measures = registry.snapshot(), measures.snapshot()
    if "session" in request.fixturenames:
        request.getfixturevalue("container")  # builds the app, which wires it
    yield
    registry.restore(saved)
    measures.restore(saved_measures)

