"""Readiness, sign-off and audit-suite factories: through the service layers, so audited."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from watchkeeper.assessments import service as assessments
from watchkeeper.assessments.schemas import ResultCreate
from watchkeeper.auth.service import Actor
from watchkeeper.readiness import waivers
from watchkeeper.readiness.schemas import AttestationCreate, WaiverCreate
from watchkeeper.signoffs import service as signoffs
from watchkeeper.signoffs.schemas import SignoffCreate, StakeholderRoleCreate

SYSTEM = Actor.system("factory", "system")


def make_role(session: Session, name: str = "product-owner", *, required_for=("refine",), people=()):
    return signoffs.create_role(session, data=StakeholderRoleCreate(name=name, required_for=list(required_for),
                                                                     people=list(people)), actor=SYSTEM)


def sign(session: Session, service: str, *, checkpoint: str = "refine", role: str = "product-owner",
         signer: str = "pat", actor: Actor = SYSTEM):
    return signoffs.sign_off(session, service=service, actor=actor,
                             data=SignoffCreate(checkpoint=checkpoint, role=role, note="reviewed the plan", signer=signer))


def waive(session: Session, service: str, check: str, *, days: float = 30, reason: str = "domain not built yet in this test",
          actor: Actor = SYSTEM):
    return waivers.grant_waiver(session, service=service, actor=actor,
                                  data=WaiverCreate(check=check, reason=reason, expires_in=dt.timedelta(days=days)))


def attest(session: Session, service: str, check: str, *, by: str = "alice", days: float = 90, actor: Actor = SYSTEM):
    return waivers.attest(session, service=service, actor=actor,
                            data=AttestationCreate(check=check, by=by, link="https://ci.example.com/report/1",
                                                   expires_in=dt.timedelta(days=days)))


def post_result(session: Session, service: str, suite: str, *, tool: str = "scanner", level: str = "complete",
                findings=(), actor: Actor = SYSTEM, ran_at: dt.datetime | None = None):
    data = ResultCreate(tool=tool, level=level, ran_at=ran_at,
                        findings=[{"rule": f"R{i}", "title": t, "severity": s} for i, (s, t) in enumerate(findings)])
    return assessments.record_result(session, service=service, suite=suite, data=data, actor=actor)
