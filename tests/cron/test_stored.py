"""A heartbeat stored before its schedule was refused: an older release accepted 6-field lines
(croniter read the sixth field as seconds) and lines that never run."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.factories.monitoring import make_monitor
from watchkeeper.monitoring.models import Monitor
from watchkeeper.monitoring.probes import service as monitoring
from tests.factories.auth import SYSTEM


@pytest.mark.parametrize("stored", ["0 3 * * * 30", "0 0 30 2 *"])
def test_a_ping_to_a_heartbeat_whose_stored_schedule_is_now_refused_is_recorded_and_says_what_to_fix(session, client, stored):
    make_monitor(session, name="legacy", heartbeat={"cron": "0 3 * * *"})
    # The product can no longer store this (drop to the ORM): an older release did.
    row = session.execute(select(Monitor).where(Monitor.name == "legacy")).scalar_one()
    session.execute(update(Monitor).where(Monitor.id == row.id).values(spec={**row.spec, "cron": stored}))
    session.commit()
    m = monitoring.get_monitor(session, actor=SYSTEM, name="legacy")
    r = client.get(m.ping_path)
    # was a 503 "retry the ping" for ever (and, before, a monitor that could never page)
    assert r.status_code == 200 and r.text == "OK legacy down\n"
    session.expire_all()  # the row loaded above is stale: the ping wrote through the app
    error = monitoring.get_monitor(session, actor=SYSTEM, name="legacy").last_error
    assert error.startswith(f"its stored schedule is refused: cron {stored!r} ")
    assert error.endswith("correct `cron` in watchkeeper.yaml and apply (or update the monitor), then the next ping brings it up")
