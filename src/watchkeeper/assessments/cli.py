"""`watchkeeper audit run|status|results|post|resolve` — audit suites, added to the `audit`
group beside the audit-log commands (verify, export, log, checkpoint)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from watchkeeper.assessments import service as assessments
from watchkeeper.assessments import webcheck
from watchkeeper.assessments._suites import Suite
from watchkeeper.assessments.schemas import ResultCreate
from watchkeeper.cli.common import emit, local_actor, session_scope, state, validated
from watchkeeper.egress import Egress
from watchkeeper.errors import InvalidInput

SuiteOpt = Annotated[Suite, typer.Option("--suite", help="security, performance, accessibility or operations.")]


def run(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    suite: SuiteOpt,
    ca_file: Annotated[Optional[Path], typer.Option(help="Extra CA certificates (PEM) to trust, e.g. an internal CA.")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the service.")] = 10.0,
) -> None:
    """Run a suite's built-in checks now (security visits the service's public URL: TLS,
    certificate, HSTS and security headers, server version, cookies). Exits 1 if any fails."""
    with session_scope(ctx) as session:
        url = assessments.target_url(session, service=service, suite=suite.value, actor=local_actor())
    policy = Egress.from_settings(state(ctx).settings())
    facts = webcheck.gather(url, ca_file=ca_file, timeout=timeout, policy=policy) if url else None
    with session_scope(ctx) as session:
        result = assessments.run_builtin(session, service=service, suite=suite.value, actor=local_actor(), web=facts)
    if state(ctx).json:
        emit(ctx, result.model_dump(mode="json"))
    else:
        typer.echo(f"{service} · {suite.value} built-in checks · run {result.id}" + (f" · {url}" if url else ""))
        emit(ctx, [{"level": c.level.value, "check": c.id, "status": c.status.upper(), "reason": c.reason} for c in result.checks],
             columns=["level", "check", "status", "reason"])
    failed = [c.id for c in result.checks if c.status == "fail"]
    if failed:
        typer.echo(f"error: {len(failed)} built-in {suite.value} check(s) fail for '{service}': {', '.join(failed)}", err=True)
        raise typer.Exit(1)


def status(ctx: typer.Context, service: Annotated[str, typer.Argument(help="Service name.")]) -> None:
    """Each suite's highest level passed, what blocks the next level, and open findings."""
    with session_scope(ctx) as session:
        result = assessments.service_audits(session, service=service, actor=local_actor())
    if state(ctx).json:
        emit(ctx, result.model_dump(mode="json"))
        return
    rows = []
    for s in result.suites:
        nxt = next((lvl for lvl in s.levels if not lvl.passed), None)
        rows.append({"suite": s.suite.value, "passed_level": s.passed_level.value if s.passed_level else "none",
                     "open_findings": len(s.open_findings),
                     "blocking_next_level": f"{nxt.level.value}: {nxt.problems[0]}" if nxt else "-"})
    emit(ctx, rows, columns=["suite", "passed_level", "open_findings", "blocking_next_level"])
    findings = [f for s in result.suites for f in s.open_findings]
    if findings:
        typer.echo("")
        emit(ctx, [f.model_dump() for f in findings], columns=["id", "suite", "severity", "tool", "rule", "title"])


def results(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    suite: Annotated[Optional[Suite], typer.Option("--suite", help="Only this suite.")] = None,
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
) -> None:
    """Audit runs of SERVICE (built-in and posted by tools), newest first."""
    with session_scope(ctx) as session:
        rows = assessments.list_runs(session, service=service, actor=local_actor(), suite=suite.value if suite else None, limit=limit)
    emit(ctx, [r.model_dump() | {"findings": len(r.findings)} for r in rows],
         columns=["id", "ran_at", "suite", "tool", "level", "findings", "link"])


def post(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    suite: SuiteOpt,
    file: Annotated[Path, typer.Option("--file", "-f", help="JSON result: {tool, level, findings: [{rule, title, severity, link}], link}.")],
) -> None:
    """Record an external tool's result from a JSON file (same body as the API)."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read {file} as JSON: {exc}", field="file") from None
    data = validated(ResultCreate, body) if isinstance(body, dict) else None
    if data is None:
        raise InvalidInput(f"{file} must hold a JSON object {{tool, level, findings}}", field="file")
    with session_scope(ctx) as session:
        run_read = assessments.record_result(session, service=service, suite=suite.value, data=data, actor=local_actor())
    emit(ctx, {"run": run_read.id, "suite": run_read.suite.value, "tool": run_read.tool, "findings": len(run_read.findings)})


def resolve(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service name.")],
    finding_id: Annotated[int, typer.Argument(help="Finding id (see `audit status SERVICE`).")],
    reason: Annotated[str, typer.Option(help="Fixed, false positive, or accepted risk — and why.")],
) -> None:
    """Resolve an open audit finding with a reason."""
    with session_scope(ctx) as session:
        row = assessments.resolve_finding(session, service=service, finding_id=finding_id, reason=reason, actor=local_actor())
    emit(ctx, row.model_dump())


def extend_audit(group: typer.Typer) -> None:
    """Add the audit-suite commands to the audit domain's `watchkeeper audit` group."""
    group.command("run")(run)
    group.command("status")(status)
    group.command("results")(results)
    group.command("post")(post)
    group.command("resolve")(resolve)
