"""Release notes from git: the commits between the commits of two deploy records of a service,
grouped by Conventional Commits type when the subjects follow it (`feat(scope)!: …`), with
breaking changes first, the incident and action-item references the commit messages carry
(trailers such as `Incident: INC-42`, `Action-Item: AI-7`, `Fixes: INC-42`), and the deploys in
between that failed or were rolled back. Markdown. The AI-assisted version builds on this.

Permission deploy.read on the service. The repository is the service's deploy policy
`repository` (a local clone), or one the CLI's user names."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.deploys import freezes
from watchkeeper.deploys.models import Deploy
from watchkeeper.errors import InvalidInput, NotFound, Unavailable

MAX_COMMITS = 2000
_CONVENTIONAL = re.compile(r"^(?P<type>[a-zA-Z]+)(\((?P<scope>[^)\n]{1,60})\))?(?P<bang>!)?: (?P<subject>.+)$")
_REFERENCE = re.compile(r"^(Incident|Incidents|Action-Item|Action-Items|Fixes|Refs|Closes): *(?P<refs>.+)$", re.IGNORECASE | re.MULTILINE)
GROUPS = (("feat", "Features"), ("fix", "Bug fixes"), ("perf", "Performance"), ("revert", "Reverts"),
          ("security", "Security"))
OTHER = "Other changes"
PLAIN = "Changes"


@dataclasses.dataclass(frozen=True)
class Commit:
    sha: str
    subject: str
    body: str
    type: str | None
    scope: str | None
    breaking: bool


def _parse(raw: str) -> list[Commit]:
    out = []
    for record in raw.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, subject, body = (record.split("\x1f") + ["", ""])[:3]
        m = _CONVENTIONAL.match(subject)
        breaking = "BREAKING CHANGE" in body or "BREAKING-CHANGE" in body
        if m:
            out.append(Commit(sha, m["subject"].strip(), body, m["type"].lower(), m["scope"], breaking or bool(m["bang"])))
        else:
            out.append(Commit(sha, subject.strip(), body, None, None, breaking))
    return out


def _commit_of(session: Session, service: str, version: str) -> Deploy:
    row = session.execute(select(Deploy).where(Deploy.service == service, Deploy.version == version, Deploy.commit.is_not(None))
                          .order_by(Deploy.id.desc()).limit(1)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no deploy record of '{service}' version {version[:60]} names a commit; `deploy start --commit` records it",
                       code="deploy.no_commit")
    return row


def _git_log(repo: Path, base: str, head: str) -> str:
    argv = ["git", "-C", str(repo), "log", "--no-merges", f"--max-count={MAX_COMMITS}", "--format=%H%x1f%s%x1f%b%x1e",
            f"{base}..{head}", "--"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"git log in {repo} failed: {exc}") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InvalidInput(f"git log {base[:12]}..{head[:12]} in {repo} failed: {said[-1][:200] if said else 'exit ' + str(done.returncode)}",
                           field="repository")
    return done.stdout.decode("utf-8", "replace")


def release_notes(session: Session, *, service: str, from_version: str, to_version: str, actor: Actor,
                  repository: str | None = None) -> str:
    """Markdown release notes of `service` from `from_version` to `to_version`."""
    svc = catalog.lookup_service(session, name=service)
    require(actor, "deploy.read", team=svc.team, service=svc.name)
    old, new = _commit_of(session, svc.name, from_version), _commit_of(session, svc.name, to_version)
    policy = freezes.policy_of(session, svc.name)
    repo = repository or (policy.repository if policy is not None else None)
    if repo is None:
        raise InvalidInput(f"no repository for '{svc.name}': set deploys.services[].repository, or pass --repo", field="repository")
    commits = _parse(_git_log(Path(repo), old.commit, new.commit))
    between = list(session.execute(select(Deploy).where(Deploy.service == svc.name, Deploy.id > old.id, Deploy.id < new.id,
                                                        Deploy.status.in_(("failed", "rolled_back")))
                                   .order_by(Deploy.id)).scalars())
    return render(svc.name, from_version, to_version, old.commit, new.commit, commits, between)


def render(service: str, from_version: str, to_version: str, base: str, head: str, commits: list[Commit],
           troubled: list[Deploy]) -> str:
    lines = [f"# {service} {to_version}", "",
             f"Changes since {from_version} (`{base[:12]}..{head[:12]}`, {len(commits)} commit{'s' if len(commits) != 1 else ''}).", ""]

    def item(c: Commit) -> str:
        scope = f"**{c.scope}:** " if c.scope else ""
        return f"- {scope}{c.subject} (`{c.sha[:7]}`)"

    breaking = [c for c in commits if c.breaking]
    if breaking:
        lines += ["## Breaking changes", ""] + [item(c) for c in breaking] + [""]
    conventional = any(c.type for c in commits)
    if conventional:
        known = {t for t, _ in GROUPS}
        for kind, title in GROUPS:
            group = [c for c in commits if c.type == kind]
            if group:
                lines += [f"## {title}", ""] + [item(c) for c in group] + [""]
        rest = [c for c in commits if c.type not in known]
        if rest:
            lines += [f"## {OTHER}", ""] + [item(c) for c in rest] + [""]
    elif commits:
        lines += [f"## {PLAIN}", ""] + [item(c) for c in commits] + [""]
    refs: dict[str, list[str]] = {}
    for c in commits:
        for m in _REFERENCE.finditer(c.body):
            for ref in re.split(r"[,\s]+", m["refs"].strip()):
                if ref:
                    refs.setdefault(ref[:60], []).append(c.sha[:7])
    if refs:
        lines += ["## Incidents and action items", ""]
        lines += [f"- {ref} (in {', '.join(shas)})" for ref, shas in sorted(refs.items())] + [""]
    if troubled:
        lines += ["## Deploys in between that did not stick", ""]
        lines += [f"- {d.version}: {d.status}" + (f" — {d.reason}" if d.reason else "") for d in troubled] + [""]
    return "\n".join(lines).rstrip() + "\n"
