"""Probe kinds, registered in one explicit dict: kind → its spec model and its probe.

Each kind's module holds its spec (the pydantic model of `http:`, `tcp:`, …) beside the async
function that checks it: `probe(spec, ctx) -> ProbeResult`. Heartbeats have a spec but no
probe: the job pings Watchkeeper instead.

Every probe returns a result instead of raising: the error text is one line a person can act
on (the failing assertion, or the connection error). `run` adds the per-check timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from watchkeeper.monitoring.probes.kinds import command, dns, http, prometheus, tcp, tls
from watchkeeper.monitoring.probes.kinds.base import HttpClients, ProbeContext, ProbeResult, fail
from watchkeeper.monitoring.probes.kinds.command import CommandSpec
from watchkeeper.monitoring.probes.kinds.dns import DnsSpec
from watchkeeper.monitoring.probes.kinds.heartbeat import HeartbeatSpec
from watchkeeper.monitoring.probes.kinds.http import HttpSpec, JsonAssertion
from watchkeeper.monitoring.probes.kinds.prometheus import PrometheusSpec, ScrapeSpec
from watchkeeper.monitoring.probes.kinds.tcp import TcpSpec
from watchkeeper.monitoring.probes.kinds.tls import TlsSpec

ProbeSpec = HttpSpec | TcpSpec | DnsSpec | TlsSpec | HeartbeatSpec | CommandSpec | PrometheusSpec | ScrapeSpec

S = TypeVar("S", HttpSpec, TcpSpec, DnsSpec, TlsSpec, HeartbeatSpec, CommandSpec, PrometheusSpec, ScrapeSpec)


@dataclasses.dataclass(frozen=True)
class ProbeKind(Generic[S]):
    spec: type[S]
    probe: Callable[[S, ProbeContext], Awaitable[ProbeResult]] | None = None  # None: not probed

    @property
    def name(self) -> str:
        return self.spec.kind


# In this order in messages and in the monitor schemas.
KINDS: dict[str, ProbeKind[Any]] = {k.name: k for k in (
    ProbeKind(HttpSpec, http.probe),
    ProbeKind(TcpSpec, tcp.probe),
    ProbeKind(DnsSpec, dns.probe),
    ProbeKind(TlsSpec, tls.probe),
    ProbeKind(HeartbeatSpec),
    ProbeKind(CommandSpec, command.probe),
    ProbeKind(PrometheusSpec, prometheus.probe),
    ProbeKind(ScrapeSpec, prometheus.scrape),
)}


def parse_spec(kind: str, raw: dict) -> ProbeSpec:
    """A stored spec (JSON) as the model of its kind. Raises pydantic's ValidationError."""
    return KINDS[kind].spec.model_validate(raw)


async def run(spec: ProbeSpec, ctx: ProbeContext) -> ProbeResult:
    """Run one check with its timeout. Never raises for a failing target."""
    probe = KINDS[spec.kind].probe
    if probe is None:
        return fail(f"monitors of kind '{spec.kind}' are not probed (heartbeats wait for pings)")
    start = time.perf_counter()
    try:
        # A little slack so a probe's own, more specific timeout message wins the race.
        return await asyncio.wait_for(probe(spec, ctx), timeout=ctx.timeout + 0.2)
    except (asyncio.TimeoutError, TimeoutError):
        return fail(f"timed out after {ctx.timeout:g}s", latency_ms=(time.perf_counter() - start) * 1000)
    except Exception as exc:  # noqa: BLE001 - a probe bug must not stop the runner
        return fail(f"probe error: {type(exc).__name__}: {exc}", latency_ms=(time.perf_counter() - start) * 1000)


__all__ = [
    "KINDS", "CommandSpec", "DnsSpec", "HeartbeatSpec", "HttpClients", "HttpSpec", "JsonAssertion", "ProbeContext",
    "ProbeKind", "ProbeResult", "ProbeSpec", "PrometheusSpec", "ScrapeSpec", "TcpSpec", "TlsSpec", "fail", "parse_spec", "run",
]
