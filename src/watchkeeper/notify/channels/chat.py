"""Chat (Slack, Teams, Discord, ntfy, Telegram, …) through apprise: one URL scheme per service,
maintained upstream, instead of a hand-written client per vendor."""

from __future__ import annotations

import logging
from typing import ClassVar

from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress
from watchkeeper.notify.channels.base import DeliveryError, Progress, SecretLookup, Sent, need_secret, no_progress
from watchkeeper.notify.schemas import ChatChannel, Message, SendStage


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


class Chat:
    kind: ClassVar[str] = "chat"

    def send(self, settings: ChatChannel, message: Message, *, key: str, secret: SecretLookup,
             progress: Progress = no_progress, repeat: bool = False, egress: Egress = DEFAULT_EGRESS) -> Sent:
        import apprise

        url = need_secret(secret, settings.url_env, "apprise URL")
        client = apprise.Apprise()
        if not client.add(url):
            raise DeliveryError(f"the apprise URL in {settings.url_env} is not valid; see https://appriseit.com for the formats",
                                retryable=False)
        capture = _Capture()
        logger = logging.getLogger("apprise")
        logger.addHandler(capture)
        title = f"(possible repeat) {message.subject}" if repeat else message.subject
        progress(SendStage.TRANSMITTING.value)  # apprise talks to the service from here on
        try:
            ok = client.notify(title=title, body=message.short or message.text)
        finally:
            logger.removeHandler(capture)
        detail = "; ".join(capture.lines)[-500:]
        if not ok:
            raise DeliveryError(f"chat delivery failed: {detail or 'apprise reported a failure'}", retryable=True, response=detail or None)
        progress(SendStage.ACCEPTED.value)
        return Sent(response=detail or "delivered")
