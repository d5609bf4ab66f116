"""The runbooks folder and its documents: configure (the `runbooks:` section), sync the folder
into tables, read documents (filtered by scope), and the review workflow.

Permissions (checked here): runbook.configure (global: the folder, the runners allow-list, a
sync now — `apply` holds it), runbook.read (on a document's services), runbook.update (ask for
a review), runbook.review (approve one; never the document's last author). Every change is
audited in the caller's transaction.

Who is who: a document's authors come from `git log`; an author is matched to a catalog person
by email and shown by handle (else by email). Reviewers and runners are Watchkeeper users,
named by user name: the same string as the person handle when the two are kept alike (the
usual set-up; docs/runbooks-domain.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from watchkeeper import clock, durations
from watchkeeper.audit import service as audit
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from watchkeeper.runbooks import gitmeta, render
from watchkeeper.runbooks.models import RunbookDocument, RunbookReview, RunbookSettings
from watchkeeper.runbooks.parsing import MAX_FILE_BYTES, ParseError, Parsed, parse_document
from watchkeeper.runbooks.schemas import (
    DocumentDetail, DocumentRead, ReviewRead, ReviewStatus, RunbooksConfig, StepRead, SyncResult,
)

MAX_DOCUMENTS = 2000
MISSING_FOLDER = "the runbooks folder"
SETTINGS_ID = 1


# ---------------------------------------------------------------------------- the folder


def folder_path(path: str, *, base: Path | None = None) -> Path:
    """The folder a configured path names: absolute as written; relative from `base` (the
    directory of the watchkeeper.yaml it was written in) or else the working directory."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(os.path.normpath((base or Path.cwd()) / p))


@dataclasses.dataclass
class Folder:
    root: Path
    documents: dict[str, Parsed]
    errors: list[ParseError]
    history: gitmeta.History

    def digest(self) -> str:
        return digest(((path, doc.sha256) for path, doc in self.documents.items()), self.history.head)


def digest(items, head: str | None) -> str:
    """One hash of what a sync would store: each file's hash and the git HEAD."""
    h = hashlib.sha256()
    for path, sha in sorted(items):
        h.update(f"{path}\0{sha}\n".encode())
    h.update((head or "").encode())
    return h.hexdigest()


def load_folder(path: str) -> Folder:
    """Read and parse every *.md file under the folder (README.md excepted, hidden folders
    skipped). Files that fail to parse are listed in `errors`, not raised."""
    root = folder_path(path)
    if not root.is_dir():
        raise InvalidInput(f"{MISSING_FOLDER} {str(root)[:300]!r} does not exist or is not a directory; "
                           "check runbooks.path in watchkeeper.yaml", field="runbooks.path")
    documents: dict[str, Parsed] = {}
    errors: list[ParseError] = []
    for file in sorted(root.rglob("*.md")):
        rel = file.relative_to(root).as_posix()
        if any(part.startswith(".") for part in file.relative_to(root).parts) or file.name.lower() == "readme.md":
            continue
        if len(documents) + len(errors) >= MAX_DOCUMENTS:
            errors.append(ParseError(rel, 1, f"more than {MAX_DOCUMENTS} documents in the folder", "split the folder"))
            break
        try:
            if file.stat().st_size > MAX_FILE_BYTES:
                raise ParseError(rel, 1, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB", "split it")
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            errors.append(ParseError(rel, 1, "the file is not UTF-8 text", "save it as UTF-8"))
            continue
        except ParseError as exc:
            errors.append(exc)
            continue
        try:
            documents[rel] = parse_document(text, file=rel)
        except ParseError as exc:
            errors.append(exc)
    return Folder(root=root, documents=documents, errors=errors, history=gitmeta.read(root))


# ---------------------------------------------------------------------------- reading


def _settings(session: Session) -> RunbookSettings | None:
    return session.get(RunbookSettings, SETTINGS_ID)


def settings_row(session: Session) -> RunbookSettings | None:
    return _settings(session)


def default_cadence(session: Session) -> dt.timedelta:
    s = _settings(session)
    return dt.timedelta(seconds=s.review_every_seconds) if s else dt.timedelta(days=90)


def team_of(session: Session, service: str, cache: dict[str, str | None] | None = None) -> str | None:
    if cache is not None and service in cache:
        return cache[service]
    svc = catalog.find_service(session, name=service)
    team = svc.team if svc else None
    if cache is not None:
        cache[service] = team
    return team


def _may(session: Session, actor: Actor, permission: str, doc: RunbookDocument, cache: dict | None = None) -> bool:
    if not doc.services:
        return actor.can(permission)
    return any(actor.can(permission, team=team_of(session, s, cache), service=s) for s in doc.services)


def may(session: Session, actor: Actor, permission: str, services: list[str]) -> bool:
    """Whether the actor holds `permission` on one of `services` (none: globally). For pages
    deciding which buttons to show; the services check again when the button is used."""
    if not services:
        return actor.can(permission)
    return any(actor.can(permission, team=team_of(session, s), service=s) for s in services)


def _require_doc(session: Session, actor: Actor, permission: str, doc: RunbookDocument) -> None:
    if _may(session, actor, permission, doc):
        return
    service = doc.services[0] if doc.services else None
    require(actor, permission, team=team_of(session, service) if service else None, service=service)


def _require_services(session: Session, actor: Actor, permission: str, services: list[str]) -> None:
    """Raise PermissionDenied unless the actor holds `permission` on one of `services` (none: globally)."""
    if not services:
        require(actor, permission)
        return
    if any(actor.can(permission, team=team_of(session, s), service=s) for s in services):
        return
    require(actor, permission, team=team_of(session, services[0]), service=services[0])


def _get(session: Session, path: str) -> RunbookDocument:
    doc = session.execute(select(RunbookDocument).where(RunbookDocument.path == path)).scalar_one_or_none()
    if doc is None:
        raise NotFound(f"no runbook at '{path[:300]}'; `watchkeeper runbook list` shows them", code="runbook.not_found")
    return doc


def last_author(doc: RunbookDocument) -> str | None:
    return doc.authors[0]["handle"] if doc.authors else None


def latest_approval(session: Session, path: str) -> RunbookReview | None:
    return session.execute(select(RunbookReview).where(RunbookReview.path == path, RunbookReview.status == "approved")
                           .order_by(RunbookReview.id.desc()).limit(1)).scalar_one_or_none()


_UNSET = object()


def latest_approvals(session: Session) -> dict[str, RunbookReview]:
    """The last approved review of every document, by path (one query, for lists and batches)."""
    out: dict[str, RunbookReview] = {}
    for review in session.execute(select(RunbookReview).where(RunbookReview.status == "approved").order_by(RunbookReview.id)).scalars():
        out[review.path] = review
    return out


def review_status(session: Session, doc: RunbookDocument, *, now: dt.datetime | None = None, approval=_UNSET,
                  cadence: dt.timedelta | None = None) -> ReviewStatus:
    """Whether the document's review is current. The newer of the front matter's last_reviewed
    and the last review approved in Watchkeeper counts. Callers judging many documents pass
    the approval (latest_approvals) and the default cadence they already read."""
    now = now or clock.utcnow()
    cadence = dt.timedelta(seconds=doc.review_every_seconds) if doc.review_every_seconds else (cadence or default_cadence(session))
    date, by = doc.reviewed_at, doc.reviewed_by
    if approval is _UNSET:
        approval = latest_approval(session, doc.path)
    if approval is not None and approval.approved_at is not None:
        approved = clock.ensure_aware(approval.approved_at).date()
        if date is None or approved >= date:
            date, by = approved, approval.reviewer
    author = last_author(doc)
    if date is None:
        return ReviewStatus(last_reviewed=None, reviewed_by=None, review_every=cadence, review_due=None, current=False,
                            reason=f"'{doc.path}' has never been reviewed; `watchkeeper runbook review approve {doc.path}` "
                                   "by someone other than its author")
    due = date + cadence
    if due < now.date():
        return ReviewStatus(last_reviewed=date, reviewed_by=by, review_every=cadence, review_due=due, current=False,
                            reason=f"'{doc.path}' was last reviewed {date.isoformat()}; its review expired {due.isoformat()} "
                                   f"(every {durations.format(cadence)})")
    if by and author and by.lower() == author.lower():
        return ReviewStatus(last_reviewed=date, reviewed_by=by, review_every=cadence, review_due=due, current=False,
                            reason=f"'{doc.path}' was reviewed by {by}, who is also its last author; another person must review it")
    return ReviewStatus(last_reviewed=date, reviewed_by=by, review_every=cadence, review_due=due, current=True,
                        reason=f"reviewed {date.isoformat()} by {by or 'someone'}; due {due.isoformat()}")


def _steps(doc: RunbookDocument) -> list[StepRead]:
    return [StepRead.model_validate(s) for s in doc.steps]


def _read(session: Session, doc: RunbookDocument, now: dt.datetime | None = None) -> DocumentRead:
    authors = list(dict.fromkeys(a["handle"] for a in doc.authors))
    return DocumentRead(path=doc.path, title=doc.title, kind=doc.kind, services=doc.services, alerts=doc.alerts,
                        owners=doc.owners, reviewers=doc.reviewers, authors=authors, last_author=last_author(doc),
                        last_commit=doc.last_commit, last_commit_at=doc.last_commit_at,
                        review=review_status(session, doc, now=now), steps=_steps(doc), synced_at=doc.synced_at)


def documents_of(session: Session, *, service: str | None = None, kind: str | None = None) -> list[RunbookDocument]:
    """Stored documents (all, of a service, of a kind), by path. For the port and lint, which check first."""
    query = select(RunbookDocument).options(defer(RunbookDocument.body)).order_by(RunbookDocument.path)
    if kind:
        query = query.where(RunbookDocument.kind == kind)
    docs = list(session.execute(query).scalars())
    return [d for d in docs if service is None or service in d.services]


def list_documents(session: Session, *, actor: Actor, service: str | None = None, kind: str | None = None) -> list[DocumentRead]:
    """Documents the actor may read, of one service or kind, or all."""
    require(actor, "runbook.read")
    if service is not None and len(service) > 100:
        raise InvalidInput("service is at most 100 characters", field="service")
    if kind is not None and kind.replace("_", "-") not in ("runbook", "incident-process", "deploy-procedure",
                                                           "rollback-procedure", "dr-plan", "other"):
        raise InvalidInput(f"kind {kind[:40]!r} is not one of runbook, incident-process, deploy-procedure, "
                           "rollback-procedure, dr-plan, other", field="kind")
    cache: dict[str, str | None] = {}
    now = clock.utcnow()
    return [_read(session, d, now) for d in documents_of(session, service=service, kind=kind.replace("_", "-") if kind else None)
            if _may(session, actor, "runbook.read", d, cache)]


def get_document(session: Session, *, path: str, actor: Actor) -> DocumentDetail:
    """One document with its body rendered to safe HTML and any pending review request."""
    doc = _get(session, path)
    _require_doc(session, actor, "runbook.read", doc)
    pending = session.execute(select(RunbookReview).where(RunbookReview.path == path, RunbookReview.status == "requested")
                              .order_by(RunbookReview.id.desc()).limit(1)).scalar_one_or_none()
    return DocumentDetail(**_read(session, doc).model_dump(), body=doc.body, html=render.to_html(doc.body, path=doc.path),
                          pending_review=_review_read(pending) if pending else None)


# ---------------------------------------------------------------------------- configuring and syncing


def as_config(row: RunbookSettings) -> RunbooksConfig:
    return RunbooksConfig.model_validate({"path": row.path, "review_every": dt.timedelta(seconds=row.review_every_seconds),
                                          "remind_before": dt.timedelta(seconds=row.remind_before_seconds),
                                          "runners": row.runners})


def current_config(session: Session, *, actor: Actor) -> RunbooksConfig | None:
    require(actor, "runbook.read")
    row = _settings(session)
    return as_config(row) if row else None


def stored_digest(session: Session) -> str | None:
    row = _settings(session)
    if row is None:
        return None
    items = session.execute(select(RunbookDocument.path, RunbookDocument.sha256)).all()
    return digest(((p, s) for p, s in items), row.head_commit)


def configure(session: Session, *, data: RunbooksConfig, actor: Actor, managed_by: str = "config") -> RunbooksConfig:
    """Set the folder, the review cadence and the runners allow-list (permission
    runbook.configure, held globally). Audited (runner env-var names only, never values)."""
    require(actor, "runbook.configure")
    row = _settings(session)
    before = as_config(row).model_dump(mode="json") if row else None
    if row is None:
        row = RunbookSettings(id=SETTINGS_ID, managed_by=managed_by)
        session.add(row)
    row.path = data.path
    row.review_every_seconds = int(data.review_every.total_seconds())
    row.remind_before_seconds = int(data.remind_before.total_seconds())
    row.runners = [r.model_dump(mode="json") for r in data.runners]
    session.flush()
    changed_before, changed_after = audit.diff(before, data.model_dump(mode="json"))
    audit.record(session, actor=actor, action="runbook.configure", target="runbooks:settings",
                 before=changed_before, after=changed_after)
    return data


def unconfigure(session: Session, *, actor: Actor) -> None:
    """Forget the folder and its synced documents (reviews and step runs stay on record). Audited."""
    require(actor, "runbook.configure")
    row = _settings(session)
    if row is None:
        return
    before = as_config(row).model_dump(mode="json")
    count = session.execute(select(RunbookDocument.id)).all()
    session.execute(RunbookDocument.__table__.delete())
    session.delete(row)
    session.flush()
    audit.record(session, actor=actor, action="runbook.unconfigure", target="runbooks:settings", before=before,
                 after={"documents_removed": len(count)})


def _handles(session: Session) -> dict[str, str]:
    """Catalog people by lower-cased email, for matching git authors."""
    out: dict[str, str] = {}
    for person in teams.list_people(session, actor=Actor.system("runbooks", "sync")):
        if person.email:
            out[person.email.lower()] = person.handle
    return out


def _assign(doc: RunbookDocument, parsed: Parsed, commits: list[gitmeta.Commit], people: dict[str, str], now: dt.datetime) -> None:
    front = parsed.front
    doc.title, doc.kind = front.title, front.kind
    doc.services, doc.alerts = list(front.services), list(front.alerts)
    doc.owners, doc.reviewers = list(front.owners), list(front.reviewers)
    doc.reviewed_at = front.last_reviewed.date if front.last_reviewed else None
    doc.reviewed_by = front.last_reviewed.by if front.last_reviewed else None
    doc.review_every_seconds = int(front.review_every.total_seconds()) if front.review_every else None
    doc.body, doc.sha256 = parsed.body, parsed.sha256
    doc.steps = [dataclasses.asdict(s) for s in parsed.steps]
    doc.links = [dataclasses.asdict(link) for link in parsed.links]
    doc.authors = [{"handle": people.get(c.email, c.email or c.name), "name": c.name, "email": c.email,
                    "at": c.at.isoformat(), "commit": c.sha} for c in commits[:200]]
    doc.last_commit = commits[0].sha if commits else None
    doc.last_commit_at = commits[0].at if commits else None
    doc.synced_at = now


def sync(session: Session, *, actor: Actor, strict: bool = False, folder: Folder | None = None) -> SyncResult:
    """Make the documents table match the configured folder (permission runbook.configure).
    A file that fails to parse keeps its last good version; with `strict` (apply) the first
    such problem is raised instead. Audited when anything changed."""
    require(actor, "runbook.configure")
    row = _settings(session)
    if row is None:
        raise Conflict("no runbooks folder is configured; add a `runbooks:` section with a path to watchkeeper.yaml "
                       "and apply it", code="runbook.not_configured")
    now = clock.utcnow()
    try:
        folder = folder or load_folder(row.path)
    except InvalidInput as exc:
        # A folder that is not there (yet) is reported by lint and readiness, not by failing apply.
        row.last_sync_at, row.last_sync_error = now, exc.message
        session.flush()
        return SyncResult(path=row.path, created=0, updated=0, deleted=0, unchanged=0, head_commit=row.head_commit)
    if strict and folder.errors:
        raise folder.errors[0]
    people = _handles(session)
    existing = {d.path: d for d in session.execute(select(RunbookDocument)).scalars()}
    created = updated = unchanged = deleted = 0
    broken = {e.file for e in folder.errors}
    for path, parsed in folder.documents.items():
        commits = folder.history.files.get(path, [])
        doc = existing.get(path)
        if doc is None:
            doc = RunbookDocument(path=path)
            _assign(doc, parsed, commits, people, now)
            session.add(doc)
            created += 1
            continue
        before = (doc.sha256, doc.last_commit, [a["handle"] for a in doc.authors])
        _assign(doc, parsed, commits, people, now)
        if before == (doc.sha256, doc.last_commit, [a["handle"] for a in doc.authors]):
            unchanged += 1
        else:
            updated += 1
    for path, doc in existing.items():
        if path not in folder.documents and path not in broken:
            session.delete(doc)
            deleted += 1
    row.last_sync_at = now
    row.last_sync_error = "\n".join(e.message for e in folder.errors[:20]) or None
    row.head_commit = folder.history.head
    session.flush()
    result = SyncResult(path=row.path, created=created, updated=updated, deleted=deleted, unchanged=unchanged,
                        head_commit=folder.history.head)
    if created or updated or deleted:
        audit.record(session, actor=actor, action="runbook.sync", target="runbooks:folder",
                     after={**result.model_dump(), "errors": len(folder.errors)})
    return result


# ---------------------------------------------------------------------------- reviews


def _review_read(r: RunbookReview) -> ReviewRead:
    return ReviewRead.model_validate(r, from_attributes=True)


def _note(note: str | None) -> str | None:
    if note is not None and len(note) > 2000:
        raise InvalidInput("note is at most 2000 characters", field="note")
    return note


def request_review(session: Session, *, path: str, actor: Actor, note: str | None = None) -> ReviewRead:
    """Ask for a review of a document (permission runbook.update on its services). One open
    request per document: asking again returns it. Audited."""
    doc = _get(session, path)
    _require_doc(session, actor, "runbook.update", doc)
    note = _note(note)
    open_one = session.execute(select(RunbookReview).where(RunbookReview.path == path, RunbookReview.status == "requested")
                               ).scalars().first()
    if open_one is not None:
        return _review_read(open_one)
    review = RunbookReview(path=path, status="requested", requested_by=actor.name, requested_at=clock.utcnow(),
                           sha256=doc.sha256, commit=doc.last_commit, note=note)
    session.add(review)
    session.flush()
    audit.record(session, actor=actor, action="runbook.review_request", target=f"runbook:{path}",
                 after={"note": note, "commit": doc.last_commit})
    from watchkeeper.runbooks import reminders  # reminders reads this module: imported when used

    reminders.ask_reviewers(session, path=path, reviewers=doc.reviewers or doc.owners, asked_by=actor.name, note=note,
                            review_id=review.id)
    return _review_read(review)


def approve_review(session: Session, *, path: str, actor: Actor, note: str | None = None) -> ReviewRead:
    """Record that the actor reviewed the document as it stands (permission runbook.review on
    its services). The reviewer must not be its last author (from git), and must be one of its
    `reviewers` when the front matter names any. Audited."""
    doc = _get(session, path)
    _require_doc(session, actor, "runbook.review", doc)
    note = _note(note)
    author = last_author(doc)
    if author and author.lower() == actor.name.lower():
        raise PermissionDenied(f"{actor.name} is the last author of '{path}' (commit {(doc.last_commit or '')[:12]}); "
                               "someone else must review it", code="runbook.reviewer_is_author")
    if doc.reviewers and actor.name not in doc.reviewers and not actor.superuser:
        raise PermissionDenied(f"{actor.name} is not among the reviewers of '{path}' ({', '.join(doc.reviewers)}); "
                               "ask one of them, or add yourself to `reviewers:` in its front matter",
                               code="runbook.not_a_reviewer")
    now = clock.utcnow()
    review = session.execute(select(RunbookReview).where(RunbookReview.path == path, RunbookReview.status == "requested")
                             ).scalars().first()
    if review is None:
        review = RunbookReview(path=path, requested_by=None, requested_at=None)
        session.add(review)
    review.status, review.reviewer, review.approved_at = "approved", actor.name, now
    review.sha256, review.commit = doc.sha256, doc.last_commit
    review.note = note or review.note
    session.flush()
    audit.record(session, actor=actor, action="runbook.review", target=f"runbook:{path}",
                 after={"reviewer": actor.name, "commit": doc.last_commit, "sha256": doc.sha256, "note": note})
    return _review_read(review)


def list_reviews(session: Session, *, path: str, actor: Actor) -> list[ReviewRead]:
    """A document's review requests and reviews, newest first."""
    doc = _get(session, path)
    _require_doc(session, actor, "runbook.read", doc)
    rows = session.execute(select(RunbookReview).where(RunbookReview.path == path).order_by(RunbookReview.id.desc()).limit(200))
    return [_review_read(r) for r in rows.scalars()]
