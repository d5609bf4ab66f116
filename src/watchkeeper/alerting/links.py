"""Signed, expiring one-click links in messages: /ack/<token>.

token = base64url(json claims) "." base64url(HMAC-SHA256(key, claims)), where the key is
derived from the server secret. Claims: action (ack, resolve, actionable, noise), target
("g:<group id>" for the alerts of a notification, "a:<alert id>" for one alert), receiver
(who the message went to; recorded as the actor) and expiry. Opening the link shows a
confirmation page; only the POST from that page acts, so link scanners in mail gateways
that fetch every URL cannot acknowledge anything.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import json

from watchkeeper import clock
from watchkeeper.config import Settings
from watchkeeper.errors import PermissionDenied

ACTIONS = ("ack", "resolve", "actionable", "noise")
DEFAULT_TTL = dt.timedelta(days=7)


class LinkInvalid(PermissionDenied):
    code = "alert.link_invalid"


@dataclasses.dataclass(frozen=True)
class Claims:
    action: str
    target: str
    receiver: str
    expires_at: dt.datetime

    @property
    def kind(self) -> str:
        return self.target.split(":", 1)[0]

    @property
    def ident(self) -> int:
        return int(self.target.split(":", 1)[1])


def _key(settings: Settings) -> bytes:
    return hmac.new(settings.signing_secret(), b"watchkeeper.alerting.links", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(settings: Settings, *, action: str, target: str, receiver: str, ttl: dt.timedelta = DEFAULT_TTL) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown link action {action!r}")
    exp = int((clock.utcnow() + ttl).timestamp())
    body = json.dumps({"a": action, "t": target, "r": receiver, "e": exp}, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(settings), body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def verify(settings: Settings, token: str) -> Claims:
    """Raises LinkInvalid (403) for a forged, malformed or expired link."""
    try:
        body_b64, mac_b64 = token.split(".", 1)
        body, mac = _unb64(body_b64), _unb64(mac_b64)
    except (ValueError, TypeError):
        raise LinkInvalid("this link is malformed; open the alert in Watchkeeper instead") from None
    if not hmac.compare_digest(hmac.new(_key(settings), body, hashlib.sha256).digest(), mac):
        raise LinkInvalid("this link's signature is not valid (edited, or signed by another server); open the alert in Watchkeeper instead")
    data = json.loads(body)
    expires = dt.datetime.fromtimestamp(int(data["e"]), dt.timezone.utc)
    if expires <= clock.utcnow():
        raise LinkInvalid(f"this link expired at {expires:%Y-%m-%d %H:%M} UTC; open the alert in Watchkeeper instead",
                          code="alert.link_expired")
    if data.get("a") not in ACTIONS:
        raise LinkInvalid("this link names an unknown action")
    return Claims(action=data["a"], target=data["t"], receiver=data.get("r", ""), expires_at=expires)


def url(settings: Settings, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}/ack/{token}"
