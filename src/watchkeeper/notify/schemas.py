"""Channel settings (one pydantic model per kind; field metadata drives validation, the docs
and redaction), the message shape, and the outbox's read models."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter, model_validator

from watchkeeper.durations import Duration
from watchkeeper.validation import Strict

ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
EnvName = Annotated[str, Field(pattern=ENV_NAME, description="Name of an environment variable holding the secret (also read from NAME_FILE).")]


class _Channel(Strict):
    guarantee: Literal["at-least-once", "at-most-once"] = Field(
        "at-least-once",
        description="A message whose send was cut off by a crash inside the exchange with the receiver (it may or "
                    "may not have arrived): at-least-once sends it again, marked as a possible duplicate; "
                    "at-most-once holds it as 'unconfirmed' for a person to check and retry. A send cut off before "
                    "anything was handed over is always sent again.")


class EmailChannel(_Channel):
    """Email over SMTP. `security`: none, starttls (upgrade on port 587) or tls (implicit, 465)."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["email"]
    to: list[str] = Field(min_length=1, description="Recipient addresses.")
    from_: str = Field("watchkeeper@localhost", alias="from", description="Sender address.")
    smtp_host: str = Field("localhost", description="SMTP server host.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP server port.")
    security: Literal["none", "starttls", "tls"] = Field("none", description="Transport security.")
    username: str | None = Field(None, description="SMTP login, when the server needs one.")
    password_env: EnvName | None = Field(None, json_schema_extra={"secret": True})
    timeout: Duration = Field(dt.timedelta(seconds=10), description="Connect and send timeout.")


class WebhookChannel(_Channel):
    """JSON POST, signed with HMAC-SHA256 when `secret_env` is set (see docs/notifications.md)."""

    type: Literal["webhook"]
    url: HttpUrl | None = Field(None, description="Target URL (use url_env if the URL itself holds a token).")
    url_env: EnvName | None = Field(None, json_schema_extra={"secret": True})
    secret_env: EnvName | None = Field(None, json_schema_extra={"secret": True})
    headers: dict[str, str] = Field(default_factory=dict, description=(
        "Extra headers. They are stored; credential values (Authorization, *token*, *key*, ...) are shown as <redacted>. "
        "Keep secrets out of the database with secret_headers."))
    secret_headers: dict[str, EnvName] = Field(default_factory=dict, json_schema_extra={"secret": True}, description=(
        "Header name → environment variable (or VAR_FILE) holding its value, read by the worker at each send."))
    timeout: Duration = Field(dt.timedelta(seconds=10), description="Request timeout.")

    @model_validator(mode="after")
    def _one_url(self) -> "WebhookChannel":
        if (self.url is None) == (self.url_env is None):
            raise ValueError("a webhook channel needs exactly one of url or url_env")
        return self


class ChatChannel(_Channel):
    """Chat through an apprise URL (slack://, msteams://, discord://, ntfy://, tgram://, json://…).
    Apprise URLs carry tokens, so only the name of the variable holding it is configured."""

    type: Literal["chat"]
    url_env: EnvName = Field(json_schema_extra={"secret": True})


ChannelConfig = Annotated[EmailChannel | WebhookChannel | ChatChannel, Field(discriminator="type")]
CHANNEL_ADAPTER: TypeAdapter = TypeAdapter(ChannelConfig)


class Message(BaseModel):
    """What a channel sends. Rendered once, when the outbox row is written, so every retry
    sends exactly the same thing."""

    subject: str
    text: str
    html: str | None = None
    short: str | None = Field(None, description="Chat-sized body; falls back to text.")
    data: dict[str, Any] = Field(default_factory=dict, description="The webhook JSON body.")


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"
    UNCONFIRMED = "unconfirmed"


class SendStage(StrEnum):
    """How far an attempt got, recorded (committed) as it goes, so that after a crash recovery
    can tell a message that certainly did not go out from one that may have."""

    CLAIMED = "claimed"  # nothing handed to the receiver yet: certainly not delivered
    TRANSMITTING = "transmitting"  # inside the exchange (SMTP DATA, the HTTP request): may have arrived
    ACCEPTED = "accepted"  # the receiver confirmed (SMTP 250 after DATA, HTTP 2xx): delivered


class AttemptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    stage: str | None = None
    latency_ms: float | None
    response: str | None
    error: str | None
    retryable: bool | None


class OutboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    idempotency_key: str
    ref: str | None
    receiver: str
    channel_kind: str
    status: OutboxStatus
    attempts: int
    max_attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    possible_duplicate: bool = Field(False, description="Sent again after a send whose outcome was unknown: the "
                                                        "recipient may have it twice (same Message-ID / Idempotency-Key).")
    subject: str = ""
    history: list[AttemptRead] = Field(default_factory=list)


class OutboxFilter(BaseModel):
    status: OutboxStatus | None = None
    ref: str | None = None
    limit: int = Field(100, ge=1, le=1000)


class RetryPolicy(BaseModel):
    max_attempts: int = Field(12, ge=1, le=100)
    backoff_base: Duration = dt.timedelta(seconds=5)
    backoff_max: Duration = dt.timedelta(minutes=5)

    def delay(self, attempt: int) -> dt.timedelta:
        """Delay after failed attempt number `attempt` (1-based): base·2^(n-1), capped."""
        seconds = self.backoff_base.total_seconds() * 2 ** max(attempt - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.backoff_max.total_seconds()))
