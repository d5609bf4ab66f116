"""Reconcile the `incidents:` section of watchkeeper.yaml (severities, auto-declare policies,
then the status page, process document and postmortem rules) through settings.py."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor
from watchkeeper.domain import Reconciler
from watchkeeper.incidents import settings
from watchkeeper.incidents.schemas import IncidentsConfig


def _section(cfg) -> IncidentsConfig | None:
    return getattr(cfg, "incidents", None)


def _severities(cfg) -> dict[str, dict]:
    sec = _section(cfg)
    return {s.name: s.model_dump(mode="json") for s in sec.severities} if sec else {}


def _policies(cfg) -> dict[str, dict]:
    sec = _section(cfg)
    return {p.name: p.model_dump(mode="json") for p in sec.policies} if sec else {}


def _singletons(cfg) -> dict[str, dict]:
    sec = _section(cfg)
    if sec is None:
        return {}
    out = {"status_page": sec.status_page.model_dump(mode="json"), "postmortems": sec.postmortems.model_dump(mode="json"),
           "notify": sec.notify.model_dump(mode="json")}
    if sec.process_document is not None:
        out["process_document"] = sec.process_document.model_dump(mode="json")
    return {name: {"name": name, **fields} for name, fields in out.items()}


def _reconciler(kind: str, section: tuple[str, ...], desired) -> Reconciler:
    def current(session: Session, actor: Actor) -> dict[str, tuple[str, dict]]:
        return {name: (managed_by, {"name": name, **value})
                for name, (managed_by, value) in settings.list_settings(session, kind=kind, actor=actor).items()}

    def put(session: Session, name: str, fields: dict, actor: Actor) -> None:
        merged = {**current(session, actor).get(name, ("", {}))[1], **fields}
        if kind == "settings":
            merged.pop("name", None)
        settings.put_setting(session, kind=kind, name=name, value=merged, actor=actor)

    return Reconciler(kind=f"incident_{kind}", section=section, desired=desired, current=current,
                      create=lambda s, f, a: put(s, f["name"], f, a),
                      update=lambda s, name, f, a: put(s, name, f, a),
                      delete=lambda s, name, a: settings.delete_setting(s, kind=kind, name=name, actor=a))


RECONCILERS: list[Reconciler] = [
    _reconciler("severity", ("incidents", "severities"), _severities),
    _reconciler("policy", ("incidents", "policies"), _policies),
    _reconciler("settings", ("incidents",), _singletons),
]
