"""What every probe gets and returns."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import httpx

from watchkeeper import __version__, egress

USER_AGENT = f"Watchkeeper/{__version__} (+probe)"
LOCATION_HEADER = "X-Watchkeeper-Location"


@dataclasses.dataclass
class ProbeResult:
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    warning: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    # scrape: (name, labels, value) samples for the metrics store
    samples: list[tuple[str, dict[str, str], float]] = dataclasses.field(default_factory=list)


def fail(error: str, *, latency_ms: float | None = None, **details: Any) -> ProbeResult:
    return ProbeResult(ok=False, latency_ms=latency_ms, error=error, details=details)


class HttpClients:
    """Shared httpx clients (one per TLS-verification setting). Connections are not kept alive
    between checks: each check measures and exercises a full connect, as a visitor's would.
    Every connection, redirects included, obeys the egress policy (watchkeeper.egress)."""

    def __init__(self, policy: egress.Egress = egress.DEFAULT) -> None:
        self.egress = policy
        self._clients: dict[bool, httpx.AsyncClient] = {}

    def get(self, *, verify: bool) -> httpx.AsyncClient:
        client = self._clients.get(verify)
        if client is None:
            client = self.egress.async_client(
                verify=verify,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                headers={"User-Agent": USER_AGENT},
            )
            self._clients[verify] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def no_secrets(name: str) -> str | None:
    return None


@dataclasses.dataclass
class ProbeContext:
    monitor: str
    location: str
    timeout: float
    http: HttpClients
    # Environment-variable lookup for secrets a spec names (Settings.secret_from_env).
    secret: Callable[[str], str | None] = no_secrets


async def open_connection(ctx: ProbeContext, host: str, port: int, **options: Any) -> tuple[Any, Any]:
    """asyncio.open_connection to the first address of `host` the egress policy allows (the
    connection goes to the checked address, so a rebinding name cannot slip past). Raises
    egress.EgressRefused, or OSError / httpcore.ConnectError as a connect does."""
    last: BaseException | None = None
    for address in await ctx.http.egress.resolve(host, port, ctx.timeout):
        try:
            return await asyncio.open_connection(address, port, **options)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_exc(exc: BaseException) -> str:
    """A one-line description of a network error, innermost cause included."""
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno:
            text = f"{os.strerror(exc.errno)} [errno {exc.errno}]"
        else:
            text = str(exc).strip() or type(exc).__name__
        if text not in parts:
            parts.append(text)
        exc = exc.__cause__ or exc.__context__
    return short("; ".join(parts))
