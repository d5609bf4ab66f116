"""Command probe: run a program (no shell), check its exit status and output."""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from typing import Any, ClassVar

from pydantic import Field, field_validator

from watchkeeper.monitoring.probes.kinds.base import ProbeContext, ProbeResult, fail, short
from watchkeeper.validation import Strict


class CommandSpec(Strict):
    kind: ClassVar[str] = "command"

    command: list[str] = Field(min_length=1, description="Program and arguments (no shell); a string is split like a shell would.")
    expect_exit: list[int] = Field(default_factory=lambda: [0])
    output_contains: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None

    @field_validator("command", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise ValueError(f"command {value!r} does not split into words: {exc}") from None
        return value

MAX_OUTPUT = 4096


async def probe(spec: CommandSpec, ctx: ProbeContext) -> ProbeResult:
    start = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *spec.command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL, env={**os.environ, **spec.env} if spec.env else None, cwd=spec.cwd,
        )
    except (OSError, ValueError) as exc:
        return fail(f"cannot start {spec.command[0]!r}: {exc}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=ctx.timeout)
    except (asyncio.TimeoutError, TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        if asyncio.current_task() is not None and asyncio.current_task().cancelling():
            raise
        return fail(f"{spec.command[0]} timed out after {ctx.timeout:g}s and was killed",
                    latency_ms=(time.perf_counter() - start) * 1000)
    latency_ms = (time.perf_counter() - start) * 1000
    output = out[:MAX_OUTPUT].decode(errors="replace")
    details = {"exit_status": proc.returncode, "output": output}
    if proc.returncode not in spec.expect_exit:
        last = short(output.strip().splitlines()[-1], 200) if output.strip() else "no output"
        expected = ", ".join(str(c) for c in spec.expect_exit)
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"exit status {proc.returncode} (expected {expected}): {last}")
    if spec.output_contains is not None and spec.output_contains not in output:
        return ProbeResult(ok=False, latency_ms=latency_ms, details=details,
                           error=f"output does not contain {spec.output_contains!r}")
    return ProbeResult(ok=True, latency_ms=latency_ms, details=details)
