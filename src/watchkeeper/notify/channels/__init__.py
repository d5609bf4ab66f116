"""Channel kinds, listed explicitly: kind → implementation."""

from __future__ import annotations

from watchkeeper.notify.channels.base import Channel, DeliveryError, Sent
from watchkeeper.notify.channels.chat import Chat
from watchkeeper.notify.channels.email import Email
from watchkeeper.notify.channels.webhook import Webhook

CHANNELS: dict[str, Channel] = {"email": Email(), "webhook": Webhook(), "chat": Chat()}

__all__ = ["CHANNELS", "Channel", "DeliveryError", "Sent"]
