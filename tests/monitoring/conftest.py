from __future__ import annotations

import pytest

from watchkeeper import events
from watchkeeper.signals.events import SignalChanged


@pytest.fixture
def published():
    """Every SignalChanged published during the test, in order (a real subscriber)."""
    seen: list[SignalChanged] = []
    events.subscribe(SignalChanged, lambda session, event: seen.append(event), name="tests.monitoring.published")
    yield seen
    events.unsubscribe(SignalChanged, "tests.monitoring.published")
