"""Readiness evaluation benchmark (SPEC target: 1,000 services in < 2 s).

Creates N services in a fresh SQLite database (or --database-url), gives them a realistic
mix of evidence through the service layers — stakeholder sign-offs, built-in and external
audit results with findings, waivers, attestations, a few dependencies — then times a full
PROD-checklist evaluation of every service with every provider the app wires (sign-offs,
audit suites, monitoring, alerting, fallbacks for domains not built yet).

    .venv/bin/python bench/readiness.py                 # 1,000 services, SQLite in a temp dir
    .venv/bin/python bench/readiness.py --services 200 --repeat 3
    .venv/bin/python bench/readiness.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    (with --database-url, a database that already holds services is reused as it is)

Prints one line per measurement and a JSON summary at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from watchkeeper.app import build, prepare_database  # noqa: E402
from watchkeeper.assessments import service as assessments  # noqa: E402
from watchkeeper.assessments._suites import WebFacts  # noqa: E402
from watchkeeper.assessments.schemas import ResultCreate  # noqa: E402
from watchkeeper.auth.service import Actor  # noqa: E402
from watchkeeper.catalog import service as catalog  # noqa: E402
from watchkeeper.catalog import teams  # noqa: E402
from watchkeeper.catalog.stages import Stage  # noqa: E402
from watchkeeper.catalog.schemas import PersonCreate, ServiceCreate, TeamCreate  # noqa: E402
from watchkeeper.config import Settings  # noqa: E402
from watchkeeper.readiness import continuous, evaluation, policies, waivers  # noqa: E402
from watchkeeper.readiness.schemas import AttestationCreate, WaiverCreate  # noqa: E402
from watchkeeper.signoffs import service as signoffs  # noqa: E402
from watchkeeper.signoffs.schemas import SignoffCreate, StakeholderRoleCreate  # noqa: E402

SYSTEM = Actor.system("bench", "system")


def _facts(url: str, good: bool) -> WebFacts:
    headers = [("strict-transport-security", "max-age=63072000"), ("x-content-type-options", "nosniff"),
               ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")] if good else [("server", "nginx/1.18.0")]
    return WebFacts(url=url, scheme="https", tls_version="TLSv1.3", cert_trusted=good, trust_error=None if good else "self-signed",
                    cert_not_after=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=80), headers=headers, status_code=200)


def populate(container, n: int) -> float:
    started = time.perf_counter()
    with container.session() as s:
        for team in ("payments", "search", "platform", "growth"):
            teams.create_team(s, data=TeamCreate(name=team), actor=SYSTEM)
        for handle in ("pat", "sam", "alice"):
            teams.create_person(s, data=PersonCreate(handle=handle), actor=SYSTEM)
        signoffs.create_role(s, data=StakeholderRoleCreate(name="product-owner", required_for=["refine"]), actor=SYSTEM)
        signoffs.create_role(s, data=StakeholderRoleCreate(name="security", required_for=["refine", "launch"]), actor=SYSTEM)
        policies.set_policy(s, stage=Stage.PROD, actor=SYSTEM,
                             items={"dr_plan": {"tiers": {"3": "recommended"}}, "pentest": {"title": "External pentest"}})
        s.commit()
        for i in range(n):
            name = f"svc-{i:04d}"
            deps = [f"svc-{i - 1:04d}"] if i % 10 and i else []
            catalog.create_service(s, actor=SYSTEM, data=ServiceCreate(
                name=name, team=("payments", "search", "platform", "growth")[i % 4], tier=1 + i % 3,
                stage=(Stage.MMP, Stage.PROD, Stage.PROD, Stage.MVP)[i % 4], public_url=f"https://{name}.example/",
                depends_on=deps, targets={"slo": 99.9, "slo_window": "30d", "rpo": "15m", "rto": "1h"}))
            if i % 2 == 0:
                signoffs.sign_off(s, service=name, actor=SYSTEM,
                                  data=SignoffCreate(checkpoint="refine", role="product-owner", note="reviewed", signer="pat"))
            if i % 3 == 0:
                signoffs.sign_off(s, service=name, actor=SYSTEM,
                                  data=SignoffCreate(checkpoint="refine", role="security", note="threat model ok", signer="sam"))
            assessments.run_builtin(s, service=name, suite="security", actor=SYSTEM, web=_facts(f"https://{name}.example/", i % 5 != 0))
            assessments.record_result(s, service=name, suite="security", actor=SYSTEM, data=ResultCreate(
                tool="pip-audit", level="complete",
                findings=[{"rule": "PYSEC-1", "title": "old dependency", "severity": "high" if i % 7 == 0 else "low"}]))
            assessments.record_result(s, service=name, suite="accessibility", actor=SYSTEM,
                                      data=ResultCreate(tool="lighthouse", level="standard" if i % 2 else "complete"))
            if i % 4 == 1:
                waivers.grant_waiver(s, service=name, actor=SYSTEM, data=WaiverCreate(
                    check="backup_restore_tested", reason="backups are being set up this quarter", expires_in="30d"))
            if i % 3 == 1:
                waivers.attest(s, service=name, actor=SYSTEM, data=AttestationCreate(
                    check="pentest", by="alice", link="https://sec.example/pentest", expires_in="200d"))
            if i % 100 == 99:
                s.commit()
        s.commit()
    return time.perf_counter() - started


def timed(label: str, fn, repeat: int) -> dict:
    samples = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    out = {"label": label, "min_s": min(samples), "median_s": statistics.median(samples), "max_s": max(samples)}
    print(f"{label:<46} min {out['min_s']:.3f} s   median {out['median_s']:.3f} s   max {out['max_s']:.3f} s", flush=True)
    return out | {"result": result}


def provider_breakdown(container, services) -> dict[str, float]:
    """Seconds each PROD check's provider takes for all services (batch form when offered)."""
    from watchkeeper.readiness import _checklist, registry

    out = {}
    with container.session() as s:
        for check, _level in _checklist.DEFAULT_POLICIES[Stage.PROD]:
            batch, single = registry.batch_provider_for(check), registry.provider_for(check)
            started = time.perf_counter()
            if batch is not None:
                batch(s, services)
                how = "batch"
            elif single is not None:
                for svc in services:
                    single(s, svc)
                how = "single"
            else:
                how = "none (unknown fallback)"
            out[f"{check} [{how}]"] = round(time.perf_counter() - started, 4)
        s.rollback()
    for name, seconds in out.items():
        print(f"  provider {name:<52} {seconds:.3f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    container = build(Settings(database_url=url, data_dir=Path(tmp.name) / "data"))
    prepare_database(container)
    with container.session() as s:
        existing = len(catalog.list_services(s, actor=SYSTEM))
    if existing and args.database_url:
        print(f"reusing the {existing} services already in the database", flush=True)
    else:
        print(f"populating {args.services} services in {url.split('://')[0]} ...", flush=True)
        setup = populate(container, args.services)
        print(f"populated in {setup:.1f} s", flush=True)
    results = []
    with container.session() as s:
        services = catalog.list_services(s, actor=SYSTEM)
        s.rollback()

    def evaluate():
        with container.session() as s:
            reports = evaluation.evaluate_services(s, services, stage=Stage.PROD)
            s.rollback()
        return reports

    def evaluate_with_catalog():
        with container.session() as s:
            reports = evaluation.evaluate_services(s, catalog.list_services(s, actor=SYSTEM), stage=Stage.PROD)
            s.rollback()
        return reports

    def scorecard():
        with container.session() as s:
            card = evaluation.scorecard(s, actor=SYSTEM, stage=Stage.PROD)
            s.rollback()
        return card

    def refresh():
        with container.session() as s:
            summary = continuous.refresh(s, actor=SYSTEM)
            s.commit()
        return summary

    evaluate()  # warm caches and compiled statements
    first = timed(f"evaluate PROD checklist, {len(services)} services", evaluate, args.repeat)
    results.append(first)
    results.append(timed("same, including loading the catalog", evaluate_with_catalog, args.repeat))
    results.append(timed("scorecard (catalog + evaluate + grid)", scorecard, args.repeat))
    results.append(timed("refresh (evaluate current+next stage, record)", refresh, 2))
    breakdown = provider_breakdown(container, services)
    reports = first.pop("result")
    words: dict[str, int] = {}
    for report in reports:
        for item in report.items:
            words[item.word] = words.get(item.word, 0) + 1
    for r in results:
        r.pop("result", None)
    summary = {
        "services": len(services), "items_evaluated": sum(len(r.items) for r in reports), "item_words": words,
        "ready": sum(r.ready for r in reports), "backend": url.split("://")[0].split("+")[0],
        "python": platform.python_version(), "machine": platform.machine(), "results": results,
        "target_s": 2.0, "ratio_to_target": round(first["median_s"] / 2.0, 3), "provider_breakdown_s": breakdown,
    }
    print(json.dumps(summary, indent=2))
    container.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
