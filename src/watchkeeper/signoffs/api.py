from __future__ import annotations

from fastapi import APIRouter, status

from watchkeeper.api.deps import CurrentActor, SessionDep
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import SignoffCreate, SignoffRead, SignoffRevoke, StakeholderRoleRead

router = APIRouter(tags=["signoffs"])


@router.get("/services/{name}/signoffs", response_model=list[SignoffRead], summary="Sign-offs of a service, newest first")
def list_signoffs(name: str, session: SessionDep, actor: CurrentActor):
    return signoffs.list_signoffs(session, service=name, actor=actor)


@router.post("/services/{name}/signoffs", response_model=SignoffRead, status_code=status.HTTP_201_CREATED,
             summary="Sign off a checkpoint as a stakeholder")
def sign_off(name: str, body: SignoffCreate, session: SessionDep, actor: CurrentActor):
    return signoffs.sign_off(session, service=name, data=body, actor=actor)


@router.post("/services/{name}/signoffs/{signoff_id}/revoke", response_model=SignoffRead, summary="Revoke a sign-off")
def revoke(name: str, signoff_id: int, body: SignoffRevoke, session: SessionDep, actor: CurrentActor):
    return signoffs.revoke(session, service=name, signoff_id=signoff_id, reason=body.reason, actor=actor)


@router.get("/stakeholder-roles", response_model=list[StakeholderRoleRead], summary="Stakeholder roles (from watchkeeper.yaml)")
def list_roles(session: SessionDep, actor: CurrentActor):
    return signoffs.list_roles(session, actor=actor)
