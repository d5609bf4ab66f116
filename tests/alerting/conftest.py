"""Real local peers for the alert pipeline: an aiosmtpd SMTP server and an HTTP receiver that
records every request, each on a free loopback port; and a worker bound to the test database."""

from __future__ import annotations

import asyncio
import socket
import time
from email import message_from_bytes, policy

import pytest

from tests.fakes.webhook import Recorder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Messages received by the SMTP server; `stop()`/`start()` simulate an outage.

    `rcpt_delay` / `data_delay` slow the server down before it answers RCPT and after it has
    received a whole message (before its 250 reply), to widen those windows in crash tests;
    `in_rcpt` / `in_data` count sessions inside them right now, `arrivals` the time (time.time())
    each message was received."""

    def __init__(self, port: int, *, rcpt_delay: float = 0.0, data_delay: float = 0.0):
        self.port = port
        self.messages = []
        self.arrivals: list[float] = []
        self.rcpt_delay, self.data_delay = rcpt_delay, data_delay
        self.in_rcpt = self.in_data = 0
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        box = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if box.rcpt_delay:
                    box.in_rcpt += 1
                    try:
                        await asyncio.sleep(box.rcpt_delay)
                    finally:
                        box.in_rcpt -= 1
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                box.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                box.arrivals.append(time.time())
                if box.data_delay:
                    box.in_data += 1
                    try:
                        await asyncio.sleep(box.data_delay)
                    finally:
                        box.in_data -= 1
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def bodies(self) -> list[str]:
        return [m.get_body(preferencelist=("plain",)).get_content() for m in self.messages]


@pytest.fixture
def smtp_server():
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def webhook_server():
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def worker(container):
    from watchkeeper import app as composition

    return composition.worker(container)
