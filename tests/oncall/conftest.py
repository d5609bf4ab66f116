"""On-call test peers: the alert tests' real aiosmtpd server (tests/alerting/conftest.py)."""

from __future__ import annotations

import pytest

from tests.alerting.conftest import Mailbox, free_port


@pytest.fixture
def smtp_server():
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()
