"""The one Settings object. No other module reads os.environ.

Settings come from `WATCHKEEPER_*` environment variables (secrets may also come from
`WATCHKEEPER_<NAME>_FILE`, the path of a file holding the value). They are built once at
the entry point (`Settings.load()`) and passed down.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from watchkeeper import egress

DEFAULT_DATABASE_URL = "sqlite:///./watchkeeper.db"
_PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "password"}
_FILE_SECRETS = ("secret_key",)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATCHKEEPER_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL of the store: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB.",
    )
    config_file: Path | None = Field(
        None, description="watchkeeper.yaml applied at `serve` start-up (optional)."
    )
    data_dir: Path = Field(
        Path("./.watchkeeper"),
        description="Directory for local state kept outside the database: the audit signing key.",
    )
    audit_key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM) that signs audit checkpoints; default DATA_DIR/audit-signing.pem.",
    )
    audit_checkpoint_every: int = Field(
        1000, ge=1, description="Sign a checkpoint after this many new audit events (the worker also checkpoints hourly)."
    )
    audit_anchor_file: Path | None = Field(
        None,
        description="Append every signed audit checkpoint to this file (put it on another disk or host, append-only); "
                    "`audit verify` then detects a rewrite of the whole database too. docs/security.md.",
    )
    audit_anchor_url: str | None = Field(
        None, max_length=2000, pattern=r"^https?://",
        description="POST every signed audit checkpoint as JSON to this http(s) URL (a log collector outside the database).",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs links and cookies; default: generated once into DATA_DIR/secret-key.",
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port `serve` listens on.")
    public_url: str = Field(
        "http://127.0.0.1:8080", description="Base URL people use to reach this server (links in messages)."
    )
    secure_cookies: bool = Field(
        False, description="Mark session cookies Secure; turn on whenever the UI is served over HTTPS."
    )
    trusted_proxies: str = Field(
        "", description="Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For and "
                        "X-Forwarded-Proto are believed; empty: none (the client is the TCP peer).",
    )
    egress_deny: str = Field(
        "link-local,metadata",
        description="Addresses the server must never connect to when it fetches a URL or host a user named (monitors, "
                    "webhooks, rule and SLO Prometheus URLs, web checks): comma-separated addresses, CIDR ranges or "
                    "the groups link-local, metadata, loopback, private. Checked at connect time on the resolved "
                    "address; see docs/security.md.",
    )
    egress_allow: str = Field(
        "", description="Exceptions to WATCHKEEPER_EGRESS_DENY, in the same form; the most specific range wins.",
    )
    session_hours: int = Field(12, ge=1, description="Lifetime of a UI login session.")
    login_max_failures: int = Field(
        5, ge=1, description="Failed logins one client address may make per username within the login window; then "
                             "it waits 15 s, doubling per further failure up to the window. Other addresses are not held back."
    )
    login_window_seconds: int = Field(900, ge=1, description="Window over which failed logins are counted.")
    log_json: bool = Field(False, description="Write logs as JSON lines (for production log shippers).")
    log_level: str = Field("INFO", description="Log level: DEBUG, INFO, WARNING or ERROR.")
    worker_enabled: bool = Field(True, description="Run the worker inside `serve` (turn off when running `worker` processes).")
    worker_process: bool = Field(True, description="Run `serve`'s worker in a child process, so jobs never compete with "
                                 "requests for the interpreter lock (false: a thread of the server process).")
    worker_id: str | None = Field(None, description="Name of this worker in leases; default host:pid.")
    worker_location: str = Field("default", description="Probe location label carried by this worker.")
    worker_poll_seconds: float = Field(1.0, gt=0, description="How often an idle worker looks for jobs.")
    worker_lease_seconds: int = Field(60, ge=5, description="How long a claimed job is leased before another worker may take it.")
    worker_concurrency: int = Field(4, ge=1, description="Jobs one worker process runs at once.")
    worker_heartbeat_seconds: float = Field(2.0, gt=0, description="How often a worker records that it is alive and "
                                            "looks for the claims of dead workers to take back.")
    worker_dead_after_seconds: float = Field(6.0, gt=0, description="On SQLite, a worker whose heartbeat is older than "
                                             "this is dead and its claimed jobs and sends are taken back (keep it at "
                                             "least 3x the heartbeat). PostgreSQL needs no timeout: a worker's "
                                             "advisory lock disappears with its connection.")
    leader_lease_seconds: int = Field(15, ge=3, description="Lease of a singleton duty on SQLite (PostgreSQL uses an advisory lock).")
    probe_concurrency: int = Field(500, ge=1, description="Checks one worker process runs at the same time (bounded by open files).")
    # On-call pages to people (oncall/escalation.py): the SMTP server that mails a person's email.
    smtp_host: str | None = Field(None, description="SMTP server that delivers on-call pages to people's email "
                                  "addresses; unset: people are paged only through their webhook contact methods.")
    smtp_port: int = Field(25, ge=1, le=65535, description="Port of WATCHKEEPER_SMTP_HOST.")
    smtp_security: str = Field("none", pattern="^(none|starttls|tls)$", description="none, starttls (port 587) or tls (465).")
    smtp_username: str | None = Field(None, description="SMTP login, when the server needs one.")
    smtp_password_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="Name of the environment "
                                          "variable (or VAR_FILE) holding the SMTP password; the password is never stored.")
    smtp_from: str = Field("watchkeeper@localhost", description="Sender address of on-call pages.")
    metrics_max_series: int = Field(
        100_000, ge=1, description="Most metric series the store holds. A push that would create more is refused "
                                   "(422); scraped samples of new series beyond it are dropped with a warning. "
                                   "Probe and SLO series are never refused (they do count towards the total).")
    metrics_raw_retention_days: int = Field(7, ge=1, description="Keep raw metric samples and probe results this many days.")
    metrics_minute_retention_days: int = Field(30, ge=1, description="Keep 1-minute metric roll-ups this many days.")
    metrics_hour_retention_days: int = Field(400, ge=1, description="Keep 1-hour metric roll-ups this many days.")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            raw = value.get_secret_value()
            if raw.lower() in _PLACEHOLDER_SECRETS or len(raw) < 16:
                raise ValueError("secret_key is a placeholder or shorter than 16 characters; generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return value

    @field_validator("egress_deny", "egress_allow")
    @classmethod
    def _egress(cls, value: str, info) -> str:
        egress.parse(value, setting=f"WATCHKEEPER_{info.field_name.upper()}")
        return value

    @classmethod
    def load(cls, **overrides) -> "Settings":
        """Build settings from the environment, `_FILE` secrets and explicit overrides."""
        extra: dict = {}
        for name in _FILE_SECRETS:
            path = os.environ.get(f"WATCHKEEPER_{name.upper()}_FILE")
            if path and f"WATCHKEEPER_{name.upper()}" not in os.environ:
                extra[name] = Path(path).read_text().strip()
        extra.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**extra)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def audit_key_path(self) -> Path:
        return self.audit_key_file or self.data_dir / "audit-signing.pem"

    def secret_from_env(self, name: str) -> str | None:
        """The value of the environment variable `name`, or of the file named by `name`_FILE:
        how config files refer to secrets (SMTP passwords, webhook keys) without storing them."""
        value = os.environ.get(name)
        if value:
            return value
        path = os.environ.get(f"{name}_FILE")
        if path and Path(path).exists():
            return Path(path).read_text().strip()
        return None

    def signing_secret(self) -> bytes:
        """The server secret; generated once into DATA_DIR when not configured."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / "secret-key"
        if not path.exists():
            import secrets

            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
