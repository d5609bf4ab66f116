"""Run a user's deploy hook: a command on the worker's host (argv, no shell, its own process
group, killed at the timeout) or an HTTP request through the egress policy. Placeholders
{service}, {version}, {from_version}, {environment} and {weight} are replaced in each argument
(plain text replacement, nothing else is interpreted) and passed as WK_* variables (command) or
as the JSON body (HTTP). Internal: called by the worker's rollback, drill and rollout jobs."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from typing import Any

from watchkeeper import egress
from watchkeeper.deploys.schemas import Hook

MAX_OUTPUT = 8 * 1024


@dataclasses.dataclass(frozen=True)
class HookResult:
    ok: bool
    seconds: float
    reason: str | None = None
    output: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "seconds": round(self.seconds, 3), "reason": self.reason, "output": self.output}


def _tail(data: bytes) -> str:
    text = data[-MAX_OUTPUT:].decode("utf-8", "replace")
    return ("[…] " if len(data) > MAX_OUTPUT else "") + text


def _argv(args: list[str], values: dict[str, str]) -> list[str]:
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        out.append(arg)
    return out


def run(hook: Hook, *, values: dict[str, str], settings: Any = None) -> HookResult:
    """Run `hook` once and wait for it (at most its timeout)."""
    t0 = time.monotonic()
    if hook.command is not None:
        return _command(hook, values, t0)
    return _http(hook, values, settings, t0)


def _command(hook: Hook, values: dict[str, str], t0: float) -> HookResult:
    spec = hook.command
    argv = _argv(spec.command, values)
    env = {**os.environ, **{f"WK_{k.upper()}": v for k, v in values.items()}}
    timeout = spec.timeout.total_seconds()
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
    except OSError as exc:
        return HookResult(False, time.monotonic() - t0, f"cannot start {argv[0][:200]}: {exc.strerror or exc}")
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        return HookResult(False, time.monotonic() - t0, f"{argv[0][:200]} did not finish within {timeout:g}s and was killed", _tail(out or b""))
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        last = (out or b"").decode("utf-8", "replace").strip().splitlines()
        said = f": {last[-1][:200]}" if last else ""
        return HookResult(False, seconds, f"{argv[0][:200]} exited with code {proc.returncode}{said}", _tail(out or b""))
    return HookResult(True, seconds, None, _tail(out or b""))


def _http(hook: Hook, values: dict[str, str], settings: Any, t0: float) -> HookResult:
    spec = hook.http
    headers = {}
    if spec.token_env:
        token = settings.secret_from_env(spec.token_env) if settings is not None else os.environ.get(spec.token_env)
        if not token:
            return HookResult(False, 0.0, f"environment variable {spec.token_env} (the hook's token) is not set on the worker")
        headers["Authorization"] = f"Bearer {token}"
    policy = egress.Egress.from_settings(settings) if settings is not None else egress.DEFAULT
    try:
        with policy.client(timeout=spec.timeout.total_seconds()) as client:
            response = client.request(spec.method, spec.url, json=values, headers=headers)
    except Exception as exc:  # noqa: BLE001 - any transport error is the hook's failure, in one line
        refused = egress.refused(exc)
        why = f"refused by the egress policy: {refused}" if refused else f"{type(exc).__name__}: {str(exc)[:200]}"
        return HookResult(False, time.monotonic() - t0, f"{spec.method} {spec.url[:200]} failed: {why}")
    seconds = time.monotonic() - t0
    body = response.content[-MAX_OUTPUT:].decode("utf-8", "replace")
    if not 200 <= response.status_code < 300:
        return HookResult(False, seconds, f"{spec.method} {spec.url[:200]} answered {response.status_code}", body)
    return HookResult(True, seconds, None, body)
