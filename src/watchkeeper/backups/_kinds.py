"""What each kind of backup job runs, and how its restore test restores and verifies. Nothing
here touches Watchkeeper's database: `service.py` records what these return.

restic     `restic backup` (snapshots tagged wk:<job>), `forget --keep-* --prune`; restore
           test: `check --read-data-subset`, `restore` into a temporary directory, every file of
           the snapshot listing (`ls --json`) present with its size, then the user's command.
postgres   `pg_dump --format=custom` to <dir>/<job>-<UTC time>.dump; restore test: a temporary
           database, `pg_restore --exit-on-error`, the user's SQL and command, the database dropped.
sqlite     SQLite's online backup API in one step (a read transaction: consistent while other
           processes write) to <dir>/<job>-<UTC time>.sqlite3; restore test: a temporary copy,
           `PRAGMA integrity_check`, the user's SQL and command.
command    the user's program; its exit code decides. Its restore test is the user's command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import secrets
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from watchkeeper.backups import _retention, _tools

RESTIC = os.environ.get("WATCHKEEPER_RESTIC", "restic")
PG_DUMP = os.environ.get("WATCHKEEPER_PG_DUMP", "pg_dump")
PG_RESTORE = os.environ.get("WATCHKEEPER_PG_RESTORE", "pg_restore")
STAMP = "%Y%m%dT%H%M%S%fZ"
SUFFIX = {"postgres": ".dump", "sqlite": ".sqlite3"}
LS_LIMIT = 64 * 1024 * 1024


class Failed(Exception):
    """A run failed; str() is the one-line reason recorded on the run."""


@dataclasses.dataclass
class Outcome:
    artifact: str | None = None
    size_bytes: int | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    output: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Job:
    """The parts of a stored backup job a run needs."""

    name: str
    kind: str
    source: dict[str, Any]
    retention: dict[str, Any]
    restore_test: dict[str, Any]
    timeout: float


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise Failed("the run's timeout was reached before it finished")
        return left


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise Failed(f"environment variable {name} is not set in the worker's environment")
    return value


def _step(out: Outcome, label: str, result: _tools.Result) -> _tools.Result:
    out.output.append(f"$ {label} (exit {result.returncode}, {result.seconds:.1f}s)\n{result.output}".rstrip())
    if not result.ok:
        raise Failed(f"{label}: {result.why()}")
    return result


# ---------------------------------------------------------------------------- backup


def backup(job: Job, *, started: dt.datetime) -> Outcome:
    out = Outcome()
    deadline = Deadline(job.timeout)
    try:
        {"restic": _restic_backup, "postgres": _pg_backup, "sqlite": _sqlite_backup, "command": _command_backup}[job.kind](
            job, out, deadline, started)
    except Failed as exc:
        exc.outcome = out  # what ran before the failure is recorded with it
        raise
    return out


def _restic_env(src: dict) -> tuple[dict[str, str], list[str]]:
    password = _env(src["password_env"])
    return {"RESTIC_PASSWORD": password, "RESTIC_REPOSITORY": src["repository"]}, [password]


def _restic_backup(job: Job, out: Outcome, deadline: Deadline, started: dt.datetime) -> None:
    src = job.source
    env, hidden = _restic_env(src)
    argv = [RESTIC, "backup", "--json", "--quiet", "--tag", f"wk:{job.name}"]
    for tag in src.get("tags", []):
        argv += ["--tag", tag]
    for pattern in src.get("excludes", []):
        argv += ["--exclude", pattern]
    argv += ["--", *src["paths"]]
    result = _step(out, "restic backup", _tools.run(argv, timeout=deadline.left(), env=env, secrets=hidden))
    summary = next((json.loads(line) for line in reversed(result.output.splitlines())
                    if line.startswith("{") and '"summary"' in line), None)
    if not summary or not summary.get("snapshot_id"):
        raise Failed("restic backup printed no snapshot id")
    out.artifact = summary["snapshot_id"]
    out.size_bytes = summary.get("total_bytes_processed")
    out.details = {k: summary.get(k) for k in ("files_new", "files_changed", "total_files_processed", "data_added")}
    keep = [f"--keep-{k.removeprefix('keep_')}={v}" for k, v in job.retention.items() if v is not None]
    if keep:
        _step(out, "restic forget --prune", _tools.run(
            [RESTIC, "forget", "--tag", f"wk:{job.name}", "--prune", *keep], timeout=deadline.left(), env=env, secrets=hidden))
        out.details["retention"] = keep


def split_dsn(dsn: str) -> tuple[str, dict[str, str], list[str]]:
    """The DSN without its password (argv is visible to every local user), the password as
    PGPASSWORD, and the secrets to scrub from output."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if "://" in dsn and "+" in dsn.split("://", 1)[0]:
        dsn = "postgresql://" + dsn.split("://", 1)[1]  # a SQLAlchemy URL (WATCHKEEPER_DATABASE_URL) names its driver
    try:
        parts = conninfo_to_dict(dsn)
    except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError for a bad DSN
        raise Failed(f"the DSN is not a valid libpq connection string or URI ({type(exc).__name__})") from None
    password = parts.pop("password", None)
    env = {"PGPASSWORD": str(password)} if password else {}
    return make_conninfo(**{k: str(v) for k, v in parts.items()}), env, [str(password)] if password else [dsn]


def _file_for(job: Job, started: dt.datetime) -> Path:
    directory = Path(job.source["directory"])
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Failed(f"cannot create {directory}: {exc.strerror}") from None
    return directory / f"{job.name}-{started.astimezone(dt.timezone.utc).strftime(STAMP)}{SUFFIX[job.kind]}"


def _pg_backup(job: Job, out: Outcome, deadline: Deadline, started: dt.datetime) -> None:
    pg_dump_to(_env(job.source["dsn_env"]), _file_for(job, started), out, deadline)
    _file_retention(job, out)


def pg_dump_to(dsn: str, target: Path, out: Outcome, deadline: Deadline) -> None:
    """`pg_dump --format=custom` of `dsn` to `target` (written aside and renamed when complete)."""
    conninfo, env, hidden = split_dsn(dsn)
    partial = target.with_name(target.name + ".partial")
    try:
        _step(out, "pg_dump", _tools.run([PG_DUMP, "--format=custom", f"--file={partial}", f"--dbname={conninfo}"],
                                         timeout=deadline.left(), env=env, secrets=hidden))
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    out.artifact, out.size_bytes = str(target), target.stat().st_size


def _sqlite_backup(job: Job, out: Outcome, deadline: Deadline, started: dt.datetime) -> None:
    sqlite_copy(job.source["database"], _file_for(job, started), out, deadline)
    _file_retention(job, out)


def sqlite_copy(database: str, target: Path, out: Outcome, deadline: Deadline) -> None:
    """A consistent copy of the SQLite database at `database` to `target`, checked with
    PRAGMA integrity_check before it is renamed into place."""
    if not Path(database).is_file():
        raise Failed(f"SQLite database {database} does not exist")
    partial = target.with_name(target.name + ".partial")
    t0 = time.monotonic()
    try:
        src = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=deadline.left())
        dst = sqlite3.connect(partial)
        try:
            # One step: the whole copy is made inside one read transaction, so it is the
            # database as of one commit even while other processes keep writing (a stepped
            # copy restarts whenever another connection writes, and might never finish).
            src.backup(dst)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            src.close()
            dst.close()
        if check != "ok":
            raise Failed(f"the copy of {database} fails PRAGMA integrity_check: {check[:200]}")
        partial.rename(target)
    except sqlite3.Error as exc:
        raise Failed(f"SQLite online backup of {database} failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    out.output.append(f"sqlite online backup of {database} to {target} ({time.monotonic() - t0:.1f}s)")
    out.artifact, out.size_bytes = str(target), target.stat().st_size


def dump_files(job: Job) -> list[tuple[str, dt.datetime]]:
    """This job's dump files in its directory, with the time each was taken (from the name)."""
    directory = Path(job.source["directory"])
    found = []
    for path in directory.glob(f"{job.name}-*{SUFFIX[job.kind]}") if directory.is_dir() else ():
        stamp = path.name[len(job.name) + 1: -len(SUFFIX[job.kind])]
        try:
            at = dt.datetime.strptime(stamp, STAMP).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue  # not one of ours (another job whose name starts with ours)
        found.append((str(path), at))
    return found


def _file_retention(job: Job, out: Outcome) -> None:
    policy = {k: v for k, v in job.retention.items() if v is not None}
    if not policy:
        return
    files = dump_files(job)
    kept = _retention.keep(files, **policy)
    removed = sorted(name for name, _ in files if name not in kept and name != out.artifact)
    for name in removed:
        Path(name).unlink(missing_ok=True)
    out.details["retention"] = {"kept": len(files) - len(removed), "removed": [os.path.basename(n) for n in removed]}


def _command_backup(job: Job, out: Outcome, deadline: Deadline, started: dt.datetime) -> None:
    _step(out, os.path.basename(job.source["argv"][0]), _tools.run(job.source["argv"], timeout=deadline.left()))


# ---------------------------------------------------------------------------- restore test


def restore_test(job: Job, *, artifact: str | None) -> Outcome:
    """Restore `artifact` (the latest good backup) into a scratch location, verify, clean up.
    Raises Failed with the reason the restore or a verification failed."""
    out = Outcome()
    deadline = Deadline(job.timeout)
    if job.kind != "command" and not artifact:
        raise Failed("there is no successful backup to restore yet")
    try:
        with tempfile.TemporaryDirectory(prefix=f"wk-restore-{job.name}-") as scratch:
            {"restic": _restic_restore, "postgres": _pg_restore, "sqlite": _sqlite_restore, "command": _command_restore}[job.kind](
                job, out, deadline, artifact, Path(scratch))
    except Failed as exc:
        exc.outcome = out
        raise
    out.details["cleaned_up"] = True
    return out


def _verify_command(job: Job, out: Outcome, deadline: Deadline, scratch: Path, env: dict[str, str], hidden: list[str]) -> None:
    argv = job.restore_test.get("command")
    if argv:
        _step(out, "verification command", _tools.run(argv, timeout=deadline.left(), env=env, cwd=str(scratch), secrets=hidden))
        out.details["command"] = "passed"


def _check_expect(job: Job, out: Outcome, value: Any) -> None:
    got = "" if value is None else str(value)
    expect = job.restore_test["expect"]
    out.details["sql"] = {"got": got[:200], "expect": expect}
    if got != expect:
        raise Failed(f"verification SQL returned {got[:100]!r}, expected {expect[:100]!r}")


def _restic_restore(job: Job, out: Outcome, deadline: Deadline, artifact: str | None, scratch: Path) -> None:
    env, hidden = _restic_env(job.source)
    subset = job.restore_test.get("read_data_subset", "5%")
    _step(out, f"restic check --read-data-subset={subset}", _tools.run(
        [RESTIC, "check", f"--read-data-subset={subset}"], timeout=deadline.left(), env=env, secrets=hidden))
    target = scratch / "restored"
    _step(out, "restic restore", _tools.run([RESTIC, "restore", artifact, "--target", str(target)],
                                            timeout=deadline.left(), env=env, secrets=hidden))
    listing = _tools.run([RESTIC, "ls", "--json", artifact], timeout=deadline.left(), env=env, secrets=hidden, keep_stdout=LS_LIMIT)
    _step(out, "restic ls", listing)
    if len(listing.stdout_bytes) >= LS_LIMIT:
        out.details["compared"] = "skipped: the snapshot listing is larger than 64 MiB"
    else:
        files = [n for n in map(json.loads, listing.stdout_bytes.decode().splitlines()[1:])
                 if n.get("struct_type") == "node" and n.get("type") == "file"]
        missing, wrong = [], []
        for node in files:
            path = target / node["path"].lstrip("/")
            if not path.is_file():
                missing.append(node["path"])
            elif path.stat().st_size != node.get("size", 0):
                wrong.append(node["path"])
        if missing or wrong:
            first = (missing or wrong)[0]
            raise Failed(f"restored tree differs from snapshot {artifact}: {len(missing)} files missing, "
                         f"{len(wrong)} of the wrong size (first: {first[:200]})")
        out.details["files"] = len(files)
        out.details["bytes"] = sum(n.get("size", 0) for n in files)
    _verify_command(job, out, deadline, scratch, {"WK_RESTORE_PATH": str(target)}, hidden)


def _pg_restore(job: Job, out: Outcome, deadline: Deadline, artifact: str | None, scratch: Path) -> None:
    import psycopg
    from psycopg.conninfo import make_conninfo

    if not Path(artifact).is_file():
        raise Failed(f"the dump {artifact} is gone (removed by hand or by retention?)")
    server_env = job.restore_test.get("scratch_dsn_env") or job.source["dsn_env"]
    server = _env(server_env)
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=min(30, max(1, int(deadline.left()))))
    except psycopg.Error as exc:
        raise Failed(f"cannot connect to the scratch server ({server_env}): {str(exc).splitlines()[0][:200]}") from None
    name = f"wk_restore_{job.name.replace('-', '_')[:30]}_{secrets.token_hex(4)}"
    scratch_dsn = make_conninfo(server, dbname=name)
    conninfo, env, hidden = split_dsn(scratch_dsn)
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        out.details["database"] = name
        _step(out, "pg_restore", _tools.run(
            [PG_RESTORE, "--exit-on-error", "--no-owner", "--no-acl", f"--dbname={conninfo}", artifact],
            timeout=deadline.left(), env=env, secrets=hidden))
        if job.restore_test.get("sql"):
            try:
                with psycopg.connect(scratch_dsn, autocommit=True) as conn:
                    conn.execute(f"SET statement_timeout = {int(deadline.left() * 1000)}")
                    row = conn.execute(job.restore_test["sql"]).fetchone()
            except psycopg.Error as exc:
                raise Failed(f"verification SQL failed: {str(exc).splitlines()[0][:200]}") from None
            _check_expect(job, out, row[0] if row else None)
        _verify_command(job, out, deadline, scratch, {"WK_RESTORE_DSN": scratch_dsn}, hidden)
    finally:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


def _sqlite_restore(job: Job, out: Outcome, deadline: Deadline, artifact: str | None, scratch: Path) -> None:
    if not Path(artifact).is_file():
        raise Failed(f"the copy {artifact} is gone (removed by hand or by retention?)")
    restored = scratch / "restored.sqlite3"
    shutil.copyfile(artifact, restored)
    try:
        conn = sqlite3.connect(restored)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise Failed(f"the restored database fails PRAGMA integrity_check: {check[:200]}")
            out.details["integrity_check"] = "ok"
            if job.restore_test.get("sql"):
                try:
                    row = conn.execute(job.restore_test["sql"]).fetchone()
                except sqlite3.Error as exc:
                    raise Failed(f"verification SQL failed: {exc}") from None
                _check_expect(job, out, row[0] if row else None)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise Failed(f"the restored copy is not a readable SQLite database: {exc}") from None
    _verify_command(job, out, deadline, scratch, {"WK_RESTORE_PATH": str(restored)}, [])


def _command_restore(job: Job, out: Outcome, deadline: Deadline, artifact: str | None, scratch: Path) -> None:
    if not job.restore_test.get("command"):
        raise Failed("a command job's restore test needs restore_test.command (the script that restores and checks)")
    _verify_command(job, out, deadline, scratch, {"WK_RESTORE_PATH": str(scratch)}, [])
