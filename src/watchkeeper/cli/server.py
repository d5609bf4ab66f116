"""serve, worker, migrate, init, jobs."""

from __future__ import annotations

import gc
import logging
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper import logs
from watchkeeper.app import build, prepare_database
from watchkeeper.cli.common import emit, local_actor, session_scope, state
from watchkeeper.config import Settings
from watchkeeper.db import migrate as migrations

log = logging.getLogger(__name__)
SWITCH_INTERVAL = 0.0005
EXAMPLE = Path(__file__).resolve().parent.parent / "configfile" / "example.yaml"


def _announce_admin(password: str | None) -> None:
    if password:
        typer.echo(
            "\n  First start: created user 'admin' with one-time password:\n\n"
            f"      {password}\n\n"
            "  It is shown only now. Sign in and change it (`watchkeeper user set-password admin`).\n",
            err=True,
        )


def serve(
    ctx: typer.Context,
    config: Annotated[Optional[Path], typer.Option("--config", "-f", help="watchkeeper.yaml to apply at start-up.", envvar="WATCHKEEPER_CONFIG_FILE")] = None,
    host: Annotated[Optional[str], typer.Option(help="Listen address (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Listen port (default 8080).")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Serve only; run `watchkeeper worker` separately.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="With --config: also delete config-owned objects the file no "
                                        "longer declares, as `apply --prune` does.")] = False,
) -> None:
    """Run the API, the web UI and (unless --no-worker) the worker, which runs in a child process.

    With --config the file is applied at start-up like `apply`: created and updated, never
    deleted from unless --prune is given."""
    import uvicorn

    from watchkeeper.api.app import create_app
    from watchkeeper.configfile import loader, plan
    from watchkeeper import app as composition

    st = state(ctx)
    settings = st.settings(host=host, port=port, config_file=config)
    logs.configure(json_output=settings.log_json, level=settings.log_level)
    container = build(settings)
    st._container = container
    _announce_admin(prepare_database(container))
    if settings.config_file:
        cfg = loader.load_file(settings.config_file)
        with container.session() as session:
            result = plan.apply(session, cfg, actor=local_actor("apply"), source_text=settings.config_file.read_text(),
                                prune=prune)
            session.commit()
        summary = result.summary()
        log.info("config applied", extra={"file": str(settings.config_file), **summary})
        if summary["kept"]:
            kept = [f"{c.kind} '{c.name}'" for c in result.changes if c.detail == plan.KEPT]
            log.warning("config-owned objects not in this file were kept; `apply --prune` deletes them",
                        extra={"file": str(settings.config_file), "kept": kept[:20], "count": len(kept)})
    stop = threading.Event()
    worker_thread = supervisor = None
    if settings.worker_enabled and not no_worker:
        if settings.worker_process and not _in_memory(settings.database_url):
            supervisor = _WorkerSupervisor(settings)
            supervisor.start()
        else:
            worker = composition.worker(container, with_loops=True)
            worker_thread = threading.Thread(target=worker.run, args=(stop,), name="wk-worker", daemon=True)
            worker_thread.start()
    app = create_app(container)
    # What start-up built (routes, models, templates, pools) lives as long as the process: take
    # it out of the garbage collector's walk, so a full collection no longer stalls requests
    # (p99 of heartbeat pings 160 ms -> 40 ms under load; bench/pings.py).
    gc.collect()
    gc.freeze()
    # Request threads hand the interpreter lock back and forth on every database round trip; a
    # thread returning from one waits for the lock for up to the switch interval (5 ms by
    # default) while another runs Python. 0.5 ms took the alert-ingest p99 at 1,000 alerts/s
    # from ~50 ms to ~35 ms, throughput unchanged (bench/ingest.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    typer.echo(f"Watchkeeper listening on http://{settings.host}:{settings.port}", err=True)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                    access_log=False, log_config=None, **proxy_options(settings))
    finally:
        stop.set()
        if worker_thread:
            worker_thread.join(timeout=settings.worker_lease_seconds)
        if supervisor:
            supervisor.stop(timeout=settings.worker_lease_seconds)


def proxy_options(settings: Settings) -> dict:
    """uvicorn's proxy-header options: X-Forwarded-For is believed only from the configured
    proxies (uvicorn alone would believe it from 127.0.0.1, so anything on the host could pick
    the client address that login throttling and the audit log record)."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies or None}


def _in_memory(database_url: str) -> bool:
    """An in-memory SQLite database exists only in this process: its worker must be a thread."""
    return database_url.startswith("sqlite") and (":memory:" in database_url or database_url.rstrip("/") in ("sqlite:", "sqlite:/"))


def _start_worker_process(settings):
    """Start `serve`'s worker as a child process (spawned: a fresh interpreter, no inherited
    threads or connections). It stops when `serve` stops, and also when `serve` dies without
    a chance to stop it (kill -9), so no orphan keeps working beside a restarted server."""
    import multiprocessing
    import os

    child = multiprocessing.get_context("spawn").Process(
        target=_worker_process_main, args=(settings, os.getpid()), name="watchkeeper-worker", daemon=False)
    child.start()
    log.info("worker process started", extra={"pid": child.pid})
    return child


class _WorkerSupervisor:
    """Keeps `serve`'s worker child running: if it dies (a crash, the OOM killer), it is
    started again after a back-off of 1 s doubling to 60 s, so a server never goes on serving
    with nobody sending its notifications. The error is logged each time."""

    MAX_BACKOFF = 60.0

    def __init__(self, settings):
        self.settings = settings
        self.child = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        self.child = _start_worker_process(self.settings)
        threading.Thread(target=self._watch, name="wk-worker-supervisor", daemon=True).start()

    def _watch(self) -> None:
        import time

        backoff = 1.0
        started = time.monotonic()
        while not self._stopping.is_set():
            self.child.join(timeout=1.0)
            if self.child.is_alive() or self._stopping.is_set():
                if time.monotonic() - started > self.MAX_BACKOFF:
                    backoff = 1.0  # it has run a while: the next crash restarts quickly again
                continue
            log.error("worker process exited; starting it again",
                      extra={"pid": self.child.pid, "exitcode": self.child.exitcode, "in_seconds": backoff})
            if self._stopping.wait(backoff):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.child = _start_worker_process(self.settings)
            started = time.monotonic()
            backoff = min(backoff * 2, self.MAX_BACKOFF)

    def stop(self, *, timeout: float) -> None:
        with self._lock:
            self._stopping.set()
            child = self.child
        if child is not None:
            _stop_worker_process(child, timeout=timeout)


def _stop_worker_process(child, *, timeout: float) -> None:
    if child.is_alive():
        child.terminate()  # SIGTERM: no new claims, in-flight jobs finish
        child.join(timeout)
    if child.is_alive():
        log.warning("worker process did not stop in time; killing it", extra={"pid": child.pid})
        child.kill()
        child.join(5)


def _worker_process_main(settings, parent_pid: int) -> None:
    """Body of the worker child process of `serve`."""
    import os

    from watchkeeper import app as composition

    _die_with_parent()
    logs.configure(json_output=settings.log_json, level=settings.log_level)
    stop = threading.Event()
    _stop_on_signals(stop)

    def watch_parent() -> None:  # where PR_SET_PDEATHSIG is unavailable
        while not stop.wait(1.0):
            if os.getppid() != parent_pid:
                log.warning("serve process is gone; worker stopping")
                stop.set()

    threading.Thread(target=watch_parent, name="wk-parent-watch", daemon=True).start()
    container = build(settings)
    try:
        worker = composition.worker(container, with_loops=True)
        gc.collect()
        gc.freeze()
        worker.run(stop)
    finally:
        container.dispose()


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`. A handler runs in the main thread between two bytecodes,
    even inside an earlier handler that is halfway through `stop.set()` and holds its lock
    (Ctrl-C reaches the whole process group while `serve` also terminates its worker): the
    nested set() would wait for that lock forever. So the handler takes no lock; a new
    thread sets the event."""
    import _thread

    def handler(signum, frame) -> None:
        _thread.start_new_thread(stop.set, ())

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when its parent dies."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run the jobs that are ready now, then exit.")] = False,
    location: Annotated[Optional[str], typer.Option(help="Probe location label of this worker.")] = None,
) -> None:
    """Run a worker process. Start as many as you like against one PostgreSQL database."""
    from watchkeeper import app as composition

    st = state(ctx)
    settings = st.settings(worker_location=location)
    logs.configure(json_output=settings.log_json, level=settings.log_level)
    container = build(settings)
    st._container = container
    _announce_admin(prepare_database(container))
    w = composition.worker(container, with_loops=True)
    if once:
        w.leader_tick()
        done = w.run_once()
        w.leadership.release()
        emit(ctx, {"jobs_run": done})
        return
    stop = threading.Event()
    _stop_on_signals(stop)
    w.run(stop)


def migrate(
    ctx: typer.Context,
    revision: Annotated[str, typer.Option(help="Target revision (default: newest).")] = "heads",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead (e.g. base). Destroys data.")] = False,
) -> None:
    """Bring the database schema up to date (serve and worker do this on start)."""
    container = state(ctx).container()
    if down:
        migrations.downgrade(container.engine, revision)
        emit(ctx, {"downgraded_to": revision})
        return
    if revision == "heads":
        _announce_admin(prepare_database(container))
    else:
        with migrations.exclusive(container.engine):
            migrations.upgrade(container.engine, revision)
    emit(ctx, {"schema": sorted(migrations.current(container.engine))})


def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Where to write watchkeeper.yaml (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing watchkeeper.yaml.")] = False,
) -> None:
    """Write a commented example watchkeeper.yaml to start from."""
    from watchkeeper.errors import Conflict

    target = directory / "watchkeeper.yaml"
    if target.exists() and not force:
        raise Conflict(f"{target} already exists; pass --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE, target)
    emit(ctx, {"written": str(target), "next": f"watchkeeper validate -f {target} && watchkeeper apply -f {target}"})


jobs_app = typer.Typer(help="Inspect the worker's job queue.", no_args_is_help=True)


@jobs_app.command("list")
def jobs_list(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="queued, running, succeeded or dead.")] = None,
    kind: Annotated[Optional[str], typer.Option(help="Job kind, e.g. audit.checkpoint.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
) -> None:
    """List jobs, newest first."""
    from watchkeeper.queue import service as queue
    from watchkeeper.queue.schemas import JobFilter

    with session_scope(ctx) as session:
        rows = queue.list_jobs(session, filter=JobFilter(status=status, kind=kind, limit=limit), actor=local_actor())
    emit(ctx, [r.model_dump() for r in rows], columns=["id", "kind", "status", "attempts", "run_after", "claimed_by", "last_error"])


@jobs_app.command("retry")
def jobs_retry(ctx: typer.Context, job_id: Annotated[int, typer.Argument(help="Id of a dead job.")]) -> None:
    """Give a dead job one more attempt."""
    from watchkeeper.queue import service as queue

    with session_scope(ctx) as session:
        job = queue.retry_job(session, job_id=job_id, actor=local_actor())
    emit(ctx, job.model_dump(), columns=None)
