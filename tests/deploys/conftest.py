from __future__ import annotations

import pytest

from watchkeeper import app as wk_app
from watchkeeper import events


@pytest.fixture
def activity():
    """Every ServiceActivity published during the test, in order (a real subscriber of the timeline port)."""
    seen: list[events.ServiceActivity] = []
    events.subscribe(events.ServiceActivity, lambda session, event: seen.append(event), name="tests.deploys.activity")
    yield seen
    events.unsubscribe(events.ServiceActivity, "tests.deploys.activity")


@pytest.fixture
def run_worker(container):
    """Run every queued job once on a real worker (the production job table)."""

    def run() -> int:
        return wk_app.worker(container).run_once()

    return run
