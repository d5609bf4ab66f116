"""One of everything, made through the service layers by the system actor: a team `t` with a
service `s`, a second team `o`, a person `p`, monitor `m`, rule `r`, SLO `o`, receiver `rcv`,
maintenance window `w`, backup job `bk` (with a queued run), deploys of `s` with a deploy policy, freeze `fz`, a
pending PROD gate override and a queued drill, an escalation on policy `pol`, an incident on `s` (with a postmortem
and an action item), a runbooks folder with `s.md` (step `hello`,
a queued run), stakeholder role `role`, an alert, a silence, an outbox row, a waiver,
an attestation, a sign-off, an audit finding, a job, and a user `u` (viewer) with a token and a
UI session. The permission tests (tests/auth/test_service_permissions.py and
tests/api/test_permission_matrix.py) act on these."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select

from watchkeeper.alerting.schemas import AlertFilter, ReceiverConfig
from watchkeeper.auth.schemas import TokenCreate

from tests.factories.auth import SYSTEM


@dataclasses.dataclass
class World:
    """One of everything, made by the system actor, so each function has something to act on."""

    alert_id: int
    group_id: int
    silence_id: int
    outbox_id: int
    waiver_id: int
    attestation_id: int
    signoff_id: int
    finding_id: int
    job_id: int
    token_prefix: str
    cookie: str
    override_id: int = 0
    backup_run_id: int = 0
    deploy_id: int = 0
    gate_override_id: int = 0
    incident_id: int = 0
    step_run_id: int = 0
    runbooks_path: str = ""
    escalation_id: int = 0
    rollback_id: int = 0
    action_item_id: int = 0


def seed_world(session) -> World:
    from watchkeeper.alerting import routing
    from watchkeeper.alerting import service as alerting
    from watchkeeper.alerting.models import AlertGroup
    from watchkeeper.alerting.schemas import AlertIn, SilenceCreate
    from watchkeeper.auth import service as auth
    from watchkeeper.auth.schemas import Grant, UserCreate
    from watchkeeper.catalog import teams
    from watchkeeper.catalog.schemas import PersonCreate
    from watchkeeper.maintenance import service as maintenance
    from watchkeeper.maintenance.schemas import WindowCreate
    from watchkeeper.monitoring.metrics import rules
    from watchkeeper.monitoring.metrics.schemas import RuleCreate
    from watchkeeper.monitoring.slos import service as slos
    from watchkeeper.monitoring.slos.schemas import SloCreate
    from watchkeeper.notify import service as notify
    from watchkeeper.notify.schemas import Message
    from watchkeeper.queue import service as queue

    from tests.factories.catalog import make_service, make_team
    from tests.factories.monitoring import make_monitor
    from tests.factories.readiness import attest, make_role, post_result, sign, waive

    make_service(session, name="s", team="t")
    make_team(session, name="o")
    teams.create_person(session, data=PersonCreate(handle="p"), actor=SYSTEM)
    make_monitor(session, name="m", service="s")
    rules.create_rule(session, data=RuleCreate(name="r", expr="last(kpi[5m]) < 1", service="s"), actor=SYSTEM)
    slos.create_slo(session, data=SloCreate(name="o", service="s", target=99.0, monitor="m"), actor=SYSTEM)
    routing.put_receiver(session, data=receiver_config("rcv"), actor=SYSTEM)
    maintenance.create_window(session, data=WindowCreate(name="w", service="s", starts_at=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
                                                         duration="1h"), actor=SYSTEM)
    make_role(session, "role", people=("p",))
    from watchkeeper.oncall import policies as oncall_policies
    from watchkeeper.oncall import service as oncall
    from watchkeeper.oncall.schemas import OverrideCreate, PolicyCreate, ScheduleCreate

    oncall.create_schedule(session, data=schedule_create("sch"), actor=SYSTEM)
    override = oncall.add_override(session, data=OverrideCreate(schedule="sch", person="p", start=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
                                                                end=dt.datetime(2030, 1, 2, tzinfo=dt.timezone.utc)), actor=SYSTEM)
    oncall_policies.create_policy(session, data=policy_create("pol"), actor=SYSTEM)
    from watchkeeper.oncall import escalation

    paging = escalation.start(session, ref="test:world", policy="pol", service="s", summary="X firing on s")
    from watchkeeper.backups import service as backups

    backups.create_backup(session, data=backup_create("bk"), actor=SYSTEM)
    backup_run = backups.request_run(session, name="bk", kind="backup", actor=SYSTEM)
    deploy, gate_override, drill = seed_deploys(session)
    from watchkeeper.incidents import service as incidents
    from watchkeeper.incidents.schemas import IncidentCreate

    from watchkeeper.incidents import postmortems
    from watchkeeper.incidents.schemas import ActionItemCreate

    incident = incidents.declare(session, data=IncidentCreate(title="i", services=["s"]), actor=SYSTEM)
    runbooks_path, step_run = seed_runbooks(session)
    postmortems.start_postmortem(session, incident_id=incident.id, actor=SYSTEM)
    action_item = postmortems.add_action_item(session, incident_id=incident.id, data=ActionItemCreate(title="fix it"), actor=SYSTEM)
    alerting.ingest(session, alerts=[AlertIn(labels={"alertname": "X", "service": "s"})], source="api", actor=SYSTEM)
    alert = alerting.list_alerts(session, filter=AlertFilter(), actor=SYSTEM)[0]
    silence = alerting.create_silence(session, data=SilenceCreate(matchers=["alertname=Y"], duration="1h", comment="maintenance test"), actor=SYSTEM)
    outbox_id = notify.enqueue(session, key="k", receiver="rcv", channel={"type": "webhook", "url": "http://127.0.0.1:9/"},
                               message=Message(subject="s", text="t"), ref="group:0")
    waiver = waive(session, "s", "runbook_reviewed")
    attestation = attest(session, "s", "authentication", by="p")
    signoff = sign(session, "s", role="role", signer="p")
    run = post_result(session, "s", "security", findings=[("high", "a finding")])
    job_id = queue.enqueue(session, kind="echo", payload={})
    auth.create_user(session, data=UserCreate(username="u", password="u-password-1234", grants=[Grant.parse("viewer")]), actor=SYSTEM)
    token = auth.create_token(session, username="u", data=token_create(), actor=SYSTEM)
    cookie, _web, _actor = auth.login(session, username="u", password="u-password-1234", client="127.0.0.1", hours=1,
                                      max_failures=5, window_seconds=60)
    session.flush()
    group_id = session.execute(select(AlertGroup.id)).scalars().first() or 0
    return World(escalation_id=paging.id, incident_id=incident.id, step_run_id=step_run.id, runbooks_path=runbooks_path, override_id=override.id, backup_run_id=backup_run.id, deploy_id=deploy, gate_override_id=gate_override, alert_id=alert.id, group_id=group_id, silence_id=silence.id, outbox_id=outbox_id or 0, rollback_id=drill, action_item_id=action_item.id,
                 waiver_id=waiver.id, attestation_id=attestation.id, signoff_id=signoff.id,
                 finding_id=run.findings[0].id, job_id=job_id, token_prefix=token.prefix, cookie=cookie)


def seed_deploys(session) -> tuple[int, int, int]:
    """Deploys of `s` (0.9.0 succeeded, 1.0.0 in progress), its deploy policy, freeze `fz`, a
    pending PROD override, a queued drill."""
    from watchkeeper.deploys import freezes, gate
    from watchkeeper.deploys import service as deploys
    from watchkeeper.deploys.schemas import DeployStart, OverrideCreate

    from watchkeeper.deploys import rollback
    from watchkeeper.deploys.schemas import DeployFinish

    earlier = deploys.start_deploy(session, data=DeployStart(service="s", version="0.9.0"), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=earlier.id, data=DeployFinish(outcome="succeeded"), actor=SYSTEM)
    deploy = deploys.start_deploy(session, data=DeployStart(service="s", version="1.0.0"), actor=SYSTEM)
    freezes.set_policy(session, data=deploy_policy("s"), actor=SYSTEM)
    drill = rollback.queue_rollback(session, service="s", environment="production", kind="drill", trigger="manual",
                                    requested_by=SYSTEM.name)
    freezes.create_freeze(session, data=freeze_create("fz"), actor=SYSTEM)
    override = gate.request_override(session, data=OverrideCreate(service="s", version="1.0.0", stage="PROD",
                                                                  reason="seeded for the permission tests"), actor=SYSTEM)
    return deploy.id, override.id, drill.id


def deploy_policy(service: str):
    from watchkeeper.deploys.schemas import ServiceDeployConfig

    return ServiceDeployConfig.model_validate({"service": service, "rollback": {"command": {"command": ["true"]}},
                                               "traffic": {"command": {"command": ["true"]}},
                                               "rollout": {"steps": [{"weight": 50}, {"weight": 100}]}})


def freeze_create(name: str):
    from watchkeeper.deploys.schemas import FreezeCreate

    return FreezeCreate.model_validate({"name": name, "service": "s", "starts_at": "2030-01-01T00:00:00Z", "duration": "1d"})


def runbooks_config(path: str):
    from watchkeeper.runbooks.schemas import RunbooksConfig

    return RunbooksConfig.model_validate({"path": path, "runners": [{"name": "sh", "kind": "shell"}]})


def seed_runbooks(session):
    """A runbooks folder (a temporary directory) with `s.md` for service `s` and its step `hello`; a queued run of it."""
    import tempfile
    from pathlib import Path

    from watchkeeper.runbooks import service as runbooks
    from watchkeeper.runbooks import steps

    folder = Path(tempfile.mkdtemp(prefix="wk-world-runbooks-"))
    (folder / "s.md").write_text("---\ntitle: S is down\nservices: [s]\nalerts: [r]\nkind: runbook\n---\n"
                                 "# S\n\n```sh {step=hello confirm=true}\necho hello\n```\n", encoding="utf-8")
    runbooks.configure(session, data=runbooks_config(str(folder)), actor=SYSTEM)
    runbooks.sync(session, actor=SYSTEM, strict=True)
    run = steps.run_step(session, path="s.md", step="hello", actor=SYSTEM, confirm=True)
    return str(folder), run


def backup_create(name: str):
    from watchkeeper.backups.schemas import BackupCreate

    return BackupCreate.model_validate({"name": name, "service": "s", "source": {"kind": "command", "argv": ["true"]}})


def receiver_config(name: str) -> ReceiverConfig:
    return ReceiverConfig.model_validate({"name": name, "channels": [{"type": "webhook", "url": "http://127.0.0.1:9/"}]})


def token_create() -> TokenCreate:
    return TokenCreate(name="t", scopes=["read"])


def schedule_create(name: str):
    from watchkeeper.oncall.schemas import ScheduleCreate

    return ScheduleCreate(name=name, team="t", layers=[{"name": "l1", "members": ["p"], "start": "2026-01-01"}])


def policy_create(name: str, services: tuple[str, ...] = ("s",)):
    from watchkeeper.oncall.schemas import PolicyCreate

    return PolicyCreate(name=name, team="t", services=list(services), levels=[{"targets": [{"kind": "schedule", "name": "sch"}]}])
