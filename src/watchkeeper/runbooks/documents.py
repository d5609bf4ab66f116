"""The port other domains call for their required documents and for an alert's runbooks.

- `reviewed_document(session, service=, kind=)`: the incidents domain asks for an
  `incident-process`, deploys for a `rollback-procedure`, backups for a `dr-plan`; the answer
  says whether that document is reviewed within its cadence by someone other than its author.
- `runbooks_for_alert(session, labels, annotations)`: the runbooks that cover an alert, by
  their front matter's `alerts:` (alertnames or RE2 matcher sets) or by the alert's
  `runbook_url` annotation.

Neither takes an actor: the caller has already checked its own permission on the service or
alert it is showing (docs/runbooks-domain.md, "The port")."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor, require

from watchkeeper.runbooks import service as _service
from watchkeeper.runbooks.models import RunbookDocument
from watchkeeper.runbooks.schemas import KINDS, alert_matches
from watchkeeper.validation import link_problem

PAGE = "/runbooks/view?path="


@dataclasses.dataclass(frozen=True)
class DocumentReview:
    """A required document and whether its review is current (`reason` says why not)."""

    title: str
    path: str
    kind: str
    last_reviewed: dt.date | None
    reviewed_by: str | None
    authors: tuple[str, ...]
    review_due: dt.date | None
    current: bool
    reason: str
    link: str


@dataclasses.dataclass(frozen=True)
class RunbookRef:
    """A runbook covering an alert. `path` is None for an external `runbook_url`."""

    title: str
    url: str
    path: str | None
    matched_by: str  # "front-matter" | "runbook_url"


def _kind(kind: str) -> str:
    normal = kind.strip().lower().replace("_", "-")
    if normal not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}; use one of {', '.join(KINDS)}")
    return normal


def _review(session: Session, doc: RunbookDocument) -> DocumentReview:
    status = _service.review_status(session, doc)
    return DocumentReview(title=doc.title, path=doc.path, kind=doc.kind, last_reviewed=status.last_reviewed,
                          reviewed_by=status.reviewed_by, authors=tuple(dict.fromkeys(a["handle"] for a in doc.authors)),
                          review_due=status.review_due, current=status.current, reason=status.reason, link=PAGE + doc.path)


def reviewed_documents(session: Session, *, service: str, kind: str) -> list[DocumentReview]:
    """Every document of `kind` naming `service`, current ones first, then the most recently reviewed."""
    wanted = _kind(kind)
    out = [_review(session, d) for d in _service.documents_of(session, service=service, kind=wanted)]
    return sorted(out, key=lambda r: (not r.current, -(r.last_reviewed.toordinal() if r.last_reviewed else 0), r.path))


def reviewed_document(session: Session, *, service: str, kind: str) -> DocumentReview | None:
    """The best document of `kind` for `service` (a current one if any), or None when there is none."""
    found = reviewed_documents(session, service=service, kind=kind)
    return found[0] if found else None


def alert_runbooks(session: Session, *, labels: Mapping[str, str], annotations: Mapping[str, str], actor: Actor) -> list[RunbookRef]:
    """`runbooks_for_alert` for a person looking at the alert: only the documents they may read
    (runbook.read on one of their services); external runbook_url links are kept."""
    require(actor, "runbook.read")
    out = []
    for ref in runbooks_for_alert(session, labels, annotations):
        if ref.path is None:
            out.append(ref)
            continue
        doc = next(d for d in _service.documents_of(session) if d.path == ref.path)
        if _service.may(session, actor, "runbook.read", doc.services):
            out.append(ref)
    return out


def runbooks_for_alert(session: Session, labels: Mapping[str, str], annotations: Mapping[str, str]) -> list[RunbookRef]:
    """Runbooks covering an alert: documents whose `alerts:` match its labels (and that name its
    service, when both say one), then its `runbook_url` annotation when that is not one of them."""
    labels = {str(k): str(v) for k, v in labels.items()}
    alert_service = labels.get("service")
    out: list[RunbookRef] = []
    for doc in _service.documents_of(session):
        if doc.services and alert_service and alert_service not in doc.services:
            continue
        if any(alert_matches(entry, labels) for entry in doc.alerts):
            out.append(RunbookRef(title=doc.title, url=PAGE + doc.path, path=doc.path, matched_by="front-matter"))
    url = (annotations or {}).get("runbook_url") or ""
    if url:
        known = {r.path for r in out}
        target = url.removeprefix("/runbooks/view?path=").removeprefix("runbooks/").lstrip("./")
        doc = next((d for d in _service.documents_of(session) if d.path == target), None)
        if doc is not None and doc.path not in known:
            out.append(RunbookRef(title=doc.title, url=PAGE + doc.path, path=doc.path, matched_by="runbook_url"))
        elif doc is None:
            if link_problem(url) is None:
                out.append(RunbookRef(title=url[:200], url=url, path=None, matched_by="runbook_url"))
    return out
