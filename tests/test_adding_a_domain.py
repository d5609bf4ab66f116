"""The worked example of docs/adding-a-domain.md, executed: a small domain `notes` written into
a temporary package, plus one line in the composition root, reaches every adapter — the API,
the CLI, the worker and its scheduler, watchkeeper.yaml and `apply`, the readiness engine —
without editing anything outside its package.

It runs in a subprocess so the example's table and registrations never leak into the rest of
the suite's process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = {
    "__init__.py": '"""Notes about services: the worked example of docs/adding-a-domain.md."""\n',
    "models.py": """
        from sqlalchemy import Integer, String
        from sqlalchemy.orm import Mapped, mapped_column

        from watchkeeper.db.base import Base


        class Note(Base):
            __tablename__ = "notes_note"

            id: Mapped[int] = mapped_column(Integer, primary_key=True)
            name: Mapped[str] = mapped_column(String(100), unique=True)
            service: Mapped[str] = mapped_column(String(100))
            text: Mapped[str] = mapped_column(String(500))
            managed_by: Mapped[str] = mapped_column(String(20))
    """,
    "schemas.py": """
        from pydantic import BaseModel, ConfigDict, Field

        from watchkeeper.validation import Strict


        class NoteCreate(Strict):
            name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,99}$")
            service: str = Field(max_length=100)
            text: str = Field(max_length=500)


        class NoteRead(BaseModel):
            model_config = ConfigDict(from_attributes=True)

            name: str
            service: str
            text: str
            managed_by: str
    """,
    "service.py": """
        from sqlalchemy import func, select

        from watchkeeper.audit import service as audit
        from watchkeeper.auth.service import require

        from wkx_notes.models import Note
        from wkx_notes.schemas import NoteCreate, NoteRead


        def create_note(session, *, data: NoteCreate, actor, managed_by: str = "api") -> NoteRead:
            require(actor, "note.create", service=data.service)
            note = Note(**data.model_dump(), managed_by=managed_by)
            session.add(note)
            session.flush()
            audit.record(session, actor=actor, action="note.create", target=f"note:{note.name}", after=data.model_dump())
            return NoteRead.model_validate(note)


        def delete_note(session, *, name: str, actor) -> None:
            note = session.execute(select(Note).where(Note.name == name)).scalar_one()
            require(actor, "note.delete", service=note.service)
            session.delete(note)
            audit.record(session, actor=actor, action="note.delete", target=f"note:{name}")


        def list_notes(session, *, actor) -> list[NoteRead]:
            require(actor, "note.read")
            return [NoteRead.model_validate(n) for n in session.execute(select(Note).order_by(Note.name)).scalars()]


        def count(session) -> int:
            return session.execute(select(func.count()).select_from(Note)).scalar_one()
    """,
    "jobs.py": """
        from wkx_notes import service


        def digest(session, payload, ctx):
            return {"notes": service.count(session)}
    """,
    "evidence.py": """
        from sqlalchemy import select

        from watchkeeper.evidence import Evidence, Status

        from wkx_notes.models import Note


        def notes_written(session, service) -> Evidence:
            found = session.execute(select(Note.name).where(Note.service == service.name)).first()
            if found:
                return Evidence(Status.PASS, f"note {found[0]} describes the service")
            return Evidence(Status.FAIL, "write a note: `watchkeeper apply` with a notes: entry")
    """,
    "api.py": """
        from fastapi import APIRouter

        from watchkeeper.api.deps import CurrentActor, SessionDep

        from wkx_notes import service
        from wkx_notes.schemas import NoteRead

        router = APIRouter(tags=["notes"])


        @router.get("/notes", response_model=list[NoteRead], summary="List notes")
        def list_notes(session: SessionDep, actor: CurrentActor):
            return service.list_notes(session, actor=actor)
    """,
    "cli.py": """
        import typer

        from watchkeeper.cli.common import emit, local_actor, session_scope

        from wkx_notes import service

        notes_app = typer.Typer(help="Notes about services.", no_args_is_help=True)


        @notes_app.command("list")
        def list_(ctx: typer.Context) -> None:
            \"\"\"List every note.\"\"\"
            with session_scope(ctx) as session:
                emit(ctx, [n.model_dump() for n in service.list_notes(session, actor=local_actor())])
    """,
    "config_sync.py": """
        from watchkeeper.domain import Reconciler

        from wkx_notes import service
        from wkx_notes.schemas import NoteCreate


        def _current(session, actor):
            return {n.name: (n.managed_by, {"name": n.name, "service": n.service, "text": n.text})
                    for n in service.list_notes(session, actor=actor)}


        RECONCILERS = [
            Reconciler(
                kind="note", section=("notes",),
                desired=lambda cfg: {n.name: n.model_dump() for n in cfg.notes},
                current=_current,
                create=lambda s, f, a: service.create_note(s, data=NoteCreate.model_validate(f), actor=a, managed_by="config"),
                update=lambda s, name, f, a: None,
                delete=lambda s, name, a: service.delete_note(s, name=name, actor=a),
                ignore=("name",),
            ),
        ]
    """,
    "domain.py": """
        import datetime as dt

        from watchkeeper.domain import ConfigSection, Domain, JobSpec, Periodic, Provider, Verb

        DOMAIN = Domain(
            name="notes",
            package="wkx_notes",
            models=("wkx_notes.models",),
            jobs=(JobSpec("notes.digest", "wkx_notes.jobs:digest", max_attempts=2),),
            periodic=(Periodic("notes-digest", "notes.digest", dt.timedelta(hours=1)),),
            api=("wkx_notes.api:router",),
            cli=(Verb("notes", "Notes about services.", "wkx_notes.cli:notes_app"),),
            config=(ConfigSection("notes", "wkx_notes.schemas:NoteCreate", "list", "Notes about services."),),
            reconcilers="wkx_notes.config_sync:RECONCILERS",
            providers=(Provider("notes_written", "wkx_notes.evidence:notes_written"),),
        )
    """,
}

SCRIPT = """
import io, json, contextlib, sys
from pathlib import Path

# The one line a new domain adds to the composition root (here at run time, not in the file).
from watchkeeper import domains
domains.DESCRIPTORS = domains.DESCRIPTORS + ("wkx_notes.domain",)

from fastapi.testclient import TestClient
from sqlalchemy import select

from watchkeeper import app as composition
from watchkeeper.api.app import create_app
from watchkeeper.cli.main import main
from watchkeeper.config import Settings
from watchkeeper.configfile.schema import WatchkeeperConfig
from watchkeeper.queue import service as queue
from watchkeeper.queue.models import Job
from watchkeeper.readiness import registry

url, workdir = sys.argv[1], Path(sys.argv[2])
out = {}
container = composition.build(Settings(database_url=url, data_dir=workdir / "data", secret_key="x" * 32))
composition.prepare_database(container)
import wkx_notes.models  # its migration, in a real domain; here the table is created directly
wkx_notes.models.Note.__table__.create(container.engine)

out["config_keys"] = list(WatchkeeperConfig.model_fields)
out["provider"] = registry.provider_for("notes_written").__module__
out["worker_jobs"] = sorted(k for k in composition.worker(container).jobs if k.startswith("notes."))
out["schedules"] = [p.name for p in composition.worker(container).periodic if p.kind == "notes.digest"]

with TestClient(create_app(container), base_url="http://127.0.0.1") as client:
    out["openapi_has_route"] = "/api/v1/notes" in client.app.openapi()["paths"]
    out["anonymous_status"] = client.get("/api/v1/notes").status_code

config = workdir / "watchkeeper.yaml"
config.write_text("services:\\n  - {name: api, team: ops}\\nteams:\\n  - {name: ops}\\n"
                  "notes:\\n  - {name: owner, service: api, text: ops owns the api}\\n")

def run(*args):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            main(["--database-url", url, *args])
        except SystemExit as exc:
            out.setdefault("exits", []).append(exc.code)
    return buf.getvalue()

run("apply", "--file", str(config))
out["plan_after_apply"] = run("apply", "--dry-run", "--file", str(config))
out["cli_list"] = json.loads(run("--json", "notes", "list"))

with container.session() as session:
    queue.enqueue(session, kind="notes.digest")
    session.commit()
composition.worker(container).run_once()
with container.session() as session:
    job = session.execute(select(Job).where(Job.kind == "notes.digest")).scalar_one()
    out["job"] = [job.status, job.result]
    from watchkeeper.catalog import service as catalog
    svc = catalog.lookup_service(session, name="api")
    out["evidence"] = registry.provider_for("notes_written")(session, svc).status.value
print("RESULT " + json.dumps(out))
"""


def test_a_domain_added_with_its_package_and_one_line_reaches_every_adapter(tmp_path: Path):
    package = tmp_path / "wkx_notes"
    package.mkdir()
    for name, text in PACKAGE.items():
        (package / name).write_text(textwrap.dedent(text).lstrip())
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    url = f"sqlite:///{tmp_path / 'wk.db'}"
    proc = subprocess.run([sys.executable, "-c", SCRIPT, url, str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=tmp_path)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert "notes" in out["config_keys"], "watchkeeper.yaml did not gain the section"
    assert out["provider"] == "wkx_notes.evidence", "the readiness engine does not ask the provider"
    assert out["worker_jobs"] == ["notes.digest"] and out["schedules"] == ["notes-digest"]
    assert out["openapi_has_route"] and out["anonymous_status"] == 401, "the API does not serve the route behind auth"
    assert out["cli_list"] == [{"name": "owner", "service": "api", "text": "ops owns the api", "managed_by": "config"}]
    assert out["plan_after_apply"].startswith("No changes"), "a second apply would change something"
    assert out["job"] == ["succeeded", {"notes": 1}]
    assert out["evidence"] == "pass"
    assert out["exits"] == [0, 0, 0], out["exits"]
