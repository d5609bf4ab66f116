"""Probe kinds, registered in one explicit dict: kind → async function (spec, ctx) → ProbeResult.

Every probe returns a result instead of raising: the error text is one line a person can act
on (the failing assertion, or the connection error). `run` adds the per-check timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from watchkeeper.monitoring.probes import command, dns, http, prometheus, tcp, tls
from watchkeeper.monitoring.probes.base import HttpClients, ProbeContext, ProbeResult, fail

Probe = Callable[[object, ProbeContext], Awaitable[ProbeResult]]

PROBES: dict[str, Probe] = {
    "http": http.probe,
    "tcp": tcp.probe,
    "dns": dns.probe,
    "tls": tls.probe,
    "command": command.probe,
    "prometheus": prometheus.probe,
    "scrape": prometheus.scrape,
}


async def run(kind: str, spec: object, ctx: ProbeContext) -> ProbeResult:
    """Run one check with its timeout. Never raises for a failing target."""
    probe = PROBES.get(kind)
    if probe is None:
        return fail(f"monitors of kind '{kind}' are not probed (heartbeats wait for pings)")
    start = time.perf_counter()
    try:
        # A little slack so a probe's own, more specific timeout message wins the race.
        return await asyncio.wait_for(probe(spec, ctx), timeout=ctx.timeout + 0.2)
    except (asyncio.TimeoutError, TimeoutError):
        return fail(f"timed out after {ctx.timeout:g}s", latency_ms=(time.perf_counter() - start) * 1000)
    except Exception as exc:  # noqa: BLE001 - a probe bug must not stop the runner
        return fail(f"probe error: {type(exc).__name__}: {exc}", latency_ms=(time.perf_counter() - start) * 1000)


__all__ = ["PROBES", "HttpClients", "ProbeContext", "ProbeResult", "run", "fail"]
