"""Executable steps: fenced blocks marked `{step=NAME}` in a runbook, run by permitted people.

Nothing runs without a person's explicit confirmation (`confirm=True`), a runner on the
admin's allow-list (`runbooks.runners` in watchkeeper.yaml; a step naming any other runner is
refused) and permission runbook.run on one of the document's services. A run is queued as a
worker job (`runbooks.run_step`, one attempt). A shell runner runs the step's text with its
`argv` on the worker host in its own process group, with only the named environment variables;
at the timeout the whole group is killed and the run recorded as timed_out. An HTTP runner
sends `METHOD URL` (+ body) through the egress policy, to allowed URL prefixes only. Output
(stdout and stderr together) is kept up to the runner's `max_output` bytes, cut at a character
boundary, with control characters other than newline and tab removed.

The request and the outcome are audited; the outcome is published as a ServiceActivity
("runbook.step_ran", with `incident_id` when the step was run from an incident), which the
incidents domain appends to its timelines. A dry run shows the exact command and runs nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from watchkeeper import clock, events
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor
from watchkeeper.egress import Egress
from watchkeeper.errors import Conflict, InvalidInput, NotFound
from watchkeeper.queue import service as queue
from watchkeeper.runbooks import service as runbooks
from watchkeeper.runbooks.models import RunbookDocument, StepRun
from watchkeeper.runbooks.schemas import DryRun, StepRunRead

JOB_KIND = "runbooks.run_step"
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _read(run: StepRun, *, with_output: bool = True) -> StepRunRead:
    read = StepRunRead.model_validate(run, from_attributes=True)
    if not with_output:
        read.output = None
    return read


def _find(session: Session, path: str, step: str) -> tuple[RunbookDocument, dict]:
    doc = session.execute(select(RunbookDocument).where(RunbookDocument.path == path)).scalar_one_or_none()
    if doc is None:
        raise NotFound(f"no runbook at '{path[:300]}'; `watchkeeper runbook list` shows them", code="runbook.not_found")
    found = next((s for s in doc.steps if s["name"] == step), None)
    if found is None:
        names = ", ".join(s["name"] for s in doc.steps) or "none"
        raise NotFound(f"'{path[:300]}' has no step '{step[:64]}' (its steps: {names})", code="runbook.step_not_found")
    return doc, found


def _runner(session: Session, name: str) -> dict | None:
    settings = runbooks.settings_row(session)
    if settings is None:
        return None
    return next((r for r in settings.runners if r["name"] == name), None)


def _timeout(runner: dict, step: dict) -> int:
    limit = int(dt.timedelta(seconds=_seconds(runner["timeout"])).total_seconds())
    return min(limit, step.get("timeout_seconds") or limit)


def _seconds(value) -> float:
    from watchkeeper import durations

    return durations.parse(value).total_seconds()


def _command(runner: dict, step: dict) -> list[str] | str:
    if runner["kind"] == "shell":
        return [*runner["argv"], step["command"]]
    return step["command"].strip()


def _http_request(text: str, runner: dict) -> tuple[str, str, str]:
    head, _, body = text.strip().partition("\n")
    parts = head.split()
    if len(parts) != 2 or parts[0].upper() not in _HTTP_METHODS:
        raise InvalidInput("an http step starts with `METHOD URL` (GET, POST, PUT, PATCH or DELETE)", field="step")
    method, url = parts[0].upper(), parts[1]
    if not any(url.startswith(prefix) for prefix in runner["allow_urls"]):
        raise Conflict(f"the URL {url[:200]!r} is not under the runner '{runner['name']}''s allow_urls", code="runbook.url_not_allowed")
    return method, url, body.strip()


def _prepare(session: Session, *, path: str, step: str, actor: Actor) -> tuple[RunbookDocument, dict, dict | None, str | None]:
    doc, found = _find(session, path, step)
    runbooks._require_doc(session, actor, "runbook.run", doc)
    runner = _runner(session, found["runner"])
    why = None
    if runner is None:
        allowed = ", ".join(r["name"] for r in (runbooks.settings_row(session).runners if runbooks.settings_row(session) else [])) or "none"
        why = (f"runner '{found['runner']}' is not on the allow-list (allowed: {allowed}); an admin adds it under "
               "runbooks.runners in watchkeeper.yaml")
    elif runner["kind"] == "http":
        try:
            _http_request(found["command"], runner)
        except (InvalidInput, Conflict) as exc:
            why = exc.message
    return doc, found, runner, why


def dry_run(session: Session, *, path: str, step: str, actor: Actor) -> DryRun:
    """The exact command a run would execute, and whether it would be allowed. Runs nothing.
    Permission runbook.run."""
    _doc, found, runner, why = _prepare(session, path=path, step=step, actor=actor)
    return DryRun(path=path, step=step, runner=found["runner"], runner_kind=runner["kind"] if runner else "unknown",
                  command=_command(runner, found) if runner else found["command"],
                  timeout_seconds=_timeout(runner, found) if runner else 0, would_run=why is None, reason=why,
                  command_sha256=_sha(found["command"]))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_step(session: Session, *, path: str, step: str, actor: Actor, confirm: bool, incident_id: int | None = None,
             command_sha256: str | None = None) -> StepRunRead:
    """Queue one run of a step. Refused without `confirm`, with a runner off the allow-list,
    without permission runbook.run on the document's services, or — given the sha256 of the
    text the person confirmed — when the step changed since (a sync in between). Audited; a
    worker runs it."""
    doc, found, runner, why = _prepare(session, path=path, step=step, actor=actor)
    if not confirm:
        raise InvalidInput(f"running step '{step}' needs explicit confirmation (confirm=true); nothing was run. "
                           "A dry run shows the exact command", field="confirm", code="runbook.confirmation_required")
    if command_sha256 is not None and command_sha256 != _sha(found["command"]):
        raise Conflict(f"step '{step}' of '{path}' changed since you confirmed it (the folder was synced); read it again "
                       "and confirm the new command; nothing was run", code="runbook.step_changed")
    if why is not None:
        raise Conflict(why + "; nothing was run", code="runbook.runner_not_allowed")
    if incident_id is not None and incident_id < 1:
        raise InvalidInput("incident_id must be a positive number", field="incident_id")
    command = _command(runner, found)
    run = StepRun(path=path, step=step, runner=runner["name"], runner_kind=runner["kind"],
                  command=command[-1] if isinstance(command, list) else command, services=list(doc.services),
                  status="queued", requested_by=actor.name, queued_at=clock.utcnow(), timeout_seconds=_timeout(runner, found),
                  incident_id=incident_id, truncated=False, timed_out=False)
    session.add(run)
    session.flush()
    audit.record(session, actor=actor, action="runbook.run", target=f"runbook:{path}#{step}",
                 after={"run_id": run.id, "runner": runner["name"], "command": command, "incident_id": incident_id,
                        "confirmed": True})
    queue.enqueue(session, kind=JOB_KIND, payload={"run_id": run.id})
    return _read(run)


def get_run(session: Session, *, step_run_id: int, actor: Actor) -> StepRunRead:
    """One run with its captured output (permission runbook.read on the document's services)."""
    run = session.get(StepRun, step_run_id, populate_existing=True)
    if run is None:
        raise NotFound(f"no step run with id {step_run_id}", code="runbook.run_not_found")
    doc = session.execute(select(RunbookDocument).where(RunbookDocument.path == run.path)).scalar_one_or_none()
    if doc is not None:
        runbooks._require_doc(session, actor, "runbook.read", doc)
    else:
        runbooks._require_services(session, actor, "runbook.read", run.services)
    return _read(run)


def list_runs(session: Session, *, path: str, actor: Actor, limit: int = 50) -> list[StepRunRead]:
    """A document's step runs, newest first (without output)."""
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", field="limit")
    doc = session.execute(select(RunbookDocument).where(RunbookDocument.path == path)).scalar_one_or_none()
    if doc is None:
        raise NotFound(f"no runbook at '{path[:300]}'", code="runbook.not_found")
    runbooks._require_doc(session, actor, "runbook.read", doc)
    rows = session.execute(select(StepRun).where(StepRun.path == path).order_by(StepRun.id.desc()).limit(limit)).scalars()
    return [_read(r, with_output=False) for r in rows]


# ---------------------------------------------------------------------------- running (the worker)


REAP_MARGIN = dt.timedelta(minutes=2)


def reap(session: Session) -> int:
    """Fail the runs a dead worker left `running` past their timeout (+2 minutes): nobody will
    finish them. Audited; returns how many."""
    now = clock.utcnow()
    count = 0
    for run in session.execute(select(StepRun).where(StepRun.status == "running")).scalars():
        started = clock.ensure_aware(run.started_at) if run.started_at else now
        if now - started > dt.timedelta(seconds=run.timeout_seconds) + REAP_MARGIN:
            run.status, run.finished_at = "failed", now
            run.reason = "the worker running it stopped before it finished; whether the command completed is unknown"
            count += 1
            audit.record(session, actor=Actor.system("worker", "worker"), action="runbook.step_ran",
                         target=f"runbook:{run.path}#{run.step}", after={"run_id": run.id, "status": "failed", "reaped": True})
    session.flush()
    return count


def clean_output(data: bytes, limit: int) -> tuple[str, bool]:
    """`data` as text of at most `limit` bytes, cut at a character boundary, without control
    characters other than newline and tab; and whether it was cut."""
    cut = len(data) > limit
    text = data[:limit].decode("utf-8", errors="ignore" if cut else "replace")
    if cut:
        text = data[:limit].decode("utf-8", errors="replace").rstrip("\ufffd")
    text = "".join(c for c in text if c in "\n\t" or (ord(c) >= 0x20 and ord(c) != 0x7F))
    return text, cut


def _shell(runner: dict, command: str, timeout: int, cwd: str) -> tuple[int | None, bytes, bool]:
    """Run; returns (exit code or None when killed, captured bytes up to the limit + 1, killed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update({name: os.environ[name] for name in runner.get("env", []) if name in os.environ})
    limit = int(runner.get("max_output", 65536))
    proc = subprocess.Popen([*runner["argv"], command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, cwd=cwd, env=env, start_new_session=True)
    captured = bytearray()

    def drain() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            if len(captured) <= limit:
                captured.extend(chunk[: limit + 1 - len(captured)])

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    killed = False
    try:
        code: int | None = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        code = None
    reader.join(timeout=5)
    return code, bytes(captured), killed


def _http(runner: dict, command: str, timeout: int, egress: Egress) -> tuple[int | None, bytes, bool]:
    method, url, body = _http_request(command, runner)
    try:
        with egress.client(timeout=timeout, follow_redirects=False) as client:
            response = client.request(method, url, content=body.encode() if body else None,
                                      headers={"content-type": "application/json"} if body.startswith(("{", "[")) else None)
        text = f"HTTP {response.status_code}\n".encode() + response.content[: int(runner.get("max_output", 65536)) + 1]
        return (0 if response.status_code < 400 else response.status_code), text, False
    except httpx.TimeoutException:
        return None, b"the request timed out", True
    except httpx.HTTPError as exc:
        return 1, f"request failed: {exc}".encode(), False


def execute(session_factory: Callable[[], Session], *, run_id: int, egress: Egress, cwd: str | None = None) -> StepRunRead:
    """Run one queued step run (the `runbooks.run_step` job). Its own short transactions mark
    it running and record the outcome; none is open while the step runs."""
    with session_factory() as session:
        claimed = session.execute(update(StepRun).where(StepRun.id == run_id, StepRun.status == "queued")
                                  .values(status="running", started_at=clock.utcnow())).rowcount
        session.commit()
        run = session.get(StepRun, run_id)
        if run is None:
            raise NotFound(f"no step run with id {run_id}", code="runbook.run_not_found")
        if not claimed:
            return _read(run)
        settings = runbooks.settings_row(session)
        runner = next((r for r in (settings.runners if settings else []) if r["name"] == run.runner), None)
        folder = str(runbooks.folder_path(settings.path)) if settings else None
        command, timeout, kind = run.command, run.timeout_seconds, run.runner_kind
    started = time.monotonic()
    reason = None
    if runner is None or runner["kind"] != kind:
        code, data, killed = 1, b"", False
        reason = f"runner '{run.runner}' was removed from the allow-list before the step ran; nothing was run"
    elif kind == "shell":
        workdir = runner.get("cwd") or cwd or folder or "/"
        try:
            code, data, killed = _shell(runner, command, timeout, workdir if os.path.isdir(workdir) else "/")
        except OSError as exc:
            code, data, killed = 127, f"cannot start {runner['argv'][0]}: {exc.strerror}".encode(), False
    else:
        try:
            code, data, killed = _http(runner, command, timeout, egress)
        except (InvalidInput, Conflict) as exc:
            code, data, killed, reason = 1, b"", False, exc.message
    seconds = time.monotonic() - started
    output, truncated = clean_output(data, int(runner.get("max_output", 65536)) if runner else 65536)
    with session_factory() as session:
        run = session.get(StepRun, run_id)
        run.finished_at = clock.utcnow()
        run.duration_seconds = round(seconds, 3)
        run.exit_code, run.timed_out, run.output, run.truncated = code, killed, output, truncated
        run.status = "timed_out" if killed else ("succeeded" if code == 0 else "failed")
        run.reason = reason or (f"killed after the {timeout}s timeout" if killed else
                                (None if code == 0 else f"exited with code {code}"))
        session.flush()
        system = Actor.system("worker", "worker")
        audit.record(session, actor=system, action="runbook.step_ran", target=f"runbook:{run.path}#{run.step}",
                     after={"run_id": run.id, "requested_by": run.requested_by, "status": run.status, "exit_code": code,
                            "timed_out": killed, "duration_seconds": run.duration_seconds, "incident_id": run.incident_id})
        events.publish(session, events.ServiceActivity(
            kind="runbook.step_ran", services=tuple(run.services), at=run.finished_at, actor=run.requested_by,
            summary=f"{run.requested_by} ran step '{run.step}' of {run.path}: {run.status}"
                    + (f" (exit {code})" if code not in (None, 0) else ""),
            link=f"/runbooks/view?path={run.path}", incident_id=run.incident_id,
            details={"run_id": run.id, "path": run.path, "step": run.step, "status": run.status, "exit_code": code}))
        session.commit()
        return _read(run)
