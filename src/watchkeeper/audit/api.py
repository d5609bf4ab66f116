from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.audit import service as audit
from watchkeeper.audit.schemas import AuditEventRead, AuditFilter, VerifyReport
from watchkeeper.audit.signing import Signer

router = APIRouter(tags=["audit"])


@router.get("/audit/events", response_model=list[AuditEventRead], summary="Browse the audit log, newest first")
def list_events(session: SessionDep, actor: CurrentActor, filter: Annotated[AuditFilter, Depends()]):
    return audit.list_events(session, filter=filter, actor=actor)


@router.post("/audit/verify", response_model=VerifyReport,
             summary="Verify the hash chain, the signed head and checkpoints, and the configured anchor file")
def verify(request: Request, session: SessionDep, actor: CurrentActor):
    settings = request.app.state.container.settings
    signer = Signer.load_or_create(settings.audit_key_path()) if settings.audit_key_path().exists() else None
    anchors = settings.audit_anchor_file if settings.audit_anchor_file and settings.audit_anchor_file.exists() else None
    return audit.verify(session, actor=actor, signer=signer, anchor_file=anchors)
