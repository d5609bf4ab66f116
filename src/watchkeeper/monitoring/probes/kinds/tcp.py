"""TCP probe: connect, optionally send a line and expect text in the reply."""

from __future__ import annotations

import time
from typing import ClassVar

import httpcore
from pydantic import Field

from watchkeeper.monitoring.probes.kinds.base import ProbeContext, ProbeResult, describe_exc, fail, open_connection, short
from watchkeeper.validation import Strict


class TcpSpec(Strict):
    kind: ClassVar[str] = "tcp"

    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    send: str | None = Field(None, description="Text to send after connecting.")
    expect: str | None = Field(None, description="Text the first reply must contain.")


async def probe(spec: TcpSpec, ctx: ProbeContext) -> ProbeResult:
    start = time.perf_counter()
    try:
        reader, writer = await open_connection(ctx, spec.host, spec.port)
    except (OSError, httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
        return fail(f"connection to {spec.host}:{spec.port} failed: {describe_exc(exc)}",
                    latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    try:
        if spec.send is not None:
            writer.write(spec.send.encode())
            await writer.drain()
        if spec.expect is not None:
            data = await reader.read(4096)
            text = data.decode(errors="replace")
            if spec.expect not in text:
                return fail(f"reply does not contain {spec.expect!r} (got {short(text, 80)!r})", latency_ms=latency_ms)
    except OSError as exc:
        return fail(f"connection to {spec.host}:{spec.port} broke: {describe_exc(exc)}", latency_ms=latency_ms)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
    return ProbeResult(ok=True, latency_ms=latency_ms)
