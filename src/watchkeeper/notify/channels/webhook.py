"""Generic webhook: a JSON POST, signed so the receiver can check it came from us.

Headers sent:
    Content-Type: application/json
    Idempotency-Key: <outbox key>          (the same on every retry: drop repeats by it)
    X-Watchkeeper-Timestamp: <unix seconds>
    X-Watchkeeper-Signature: sha256=<hex>  HMAC-SHA256(secret, f"{timestamp}.{body}")
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import ClassVar

import httpx

from watchkeeper.egress import DEFAULT as DEFAULT_EGRESS
from watchkeeper.egress import Egress, refused
from watchkeeper.notify.channels.base import DeliveryError, Progress, SecretLookup, Sent, need_secret, no_progress
from watchkeeper.notify.schemas import Message, SendStage, WebhookChannel


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, *, max_age: float = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the signature and check the timestamp is fresh."""
    now = time.time() if now is None else now
    try:
        fresh = abs(now - float(timestamp)) <= max_age
    except ValueError:
        return False
    return fresh and hmac.compare_digest(signature(secret, timestamp, body), header)


class Webhook:
    kind: ClassVar[str] = "webhook"

    def send(self, settings: WebhookChannel, message: Message, *, key: str, secret: SecretLookup,
             progress: Progress = no_progress, repeat: bool = False, egress: Egress = DEFAULT_EGRESS) -> Sent:
        url = str(settings.url) if settings.url else need_secret(secret, settings.url_env, "webhook URL")
        body = json.dumps(message.data or {"subject": message.subject, "text": message.text}, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {**settings.headers, "Content-Type": "application/json", "Idempotency-Key": key,
                   "X-Watchkeeper-Timestamp": timestamp, "User-Agent": "watchkeeper"}
        for name, env in settings.secret_headers.items():
            headers[name] = need_secret(secret, env, f"value of header {name}")
        if repeat:
            headers["X-Watchkeeper-Possible-Duplicate"] = "true"
        if settings.secret_env:
            headers["X-Watchkeeper-Signature"] = signature(need_secret(secret, settings.secret_env, "webhook signing secret"), timestamp, body)
        progress(SendStage.TRANSMITTING.value)  # from here the receiver may act on the request
        try:
            with egress.client(timeout=settings.timeout.total_seconds()) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            if refused(exc):  # retrying cannot help: the receiver's address is not allowed
                raise DeliveryError(f"webhook not sent: {refused(exc)}", retryable=False) from None
            raise DeliveryError(f"webhook request failed: {type(exc).__name__}: {exc}", retryable=True) from None
        text = response.text[:500]
        if response.status_code < 300:
            progress(SendStage.ACCEPTED.value)
            return Sent(response=f"{response.status_code} {text}".strip())
        retryable = response.status_code >= 500 or response.status_code in (408, 425, 429)
        raise DeliveryError(f"webhook answered {response.status_code}" + ("" if retryable else "; fix the receiver or its URL"),
                            retryable=retryable, response=f"{response.status_code} {text}".strip())
