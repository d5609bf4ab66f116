"""Runbook folders for tests: files written to a temporary directory, optionally a real git
repository with commits by named authors (git config comes from the environment, so the
machine's own identity never leaks in)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

from watchkeeper.auth.service import Actor
from watchkeeper.runbooks import service as runbooks
from watchkeeper.runbooks.schemas import RunbooksConfig

SYSTEM = Actor.system("test", "system")


def front(title: str = "Checkout is down", *, services=("checkout",), alerts=(), kind: str = "runbook", owners=("alice",),
          reviewers=(), last_reviewed: tuple[str, str] | None = None, review_every: str | None = None, body: str = "") -> str:
    lines = ["---", f"title: {title}", f"services: [{', '.join(services)}]",
             "alerts: [" + ", ".join(f"'{a}'" for a in alerts) + "]", f"kind: {kind}",
             f"owners: [{', '.join(owners)}]", f"reviewers: [{', '.join(reviewers)}]"]
    if last_reviewed:
        lines.append(f"last_reviewed: {{date: {last_reviewed[0]}, by: {last_reviewed[1]}}}")
    if review_every:
        lines.append(f"review_every: {review_every}")
    lines += ["---", body or "# Checkout is down\n\nLook at the dashboards.\n"]
    return "\n".join(lines)


def git(folder: Path, *args: str, author: tuple[str, str] | None = None, when: dt.datetime | None = None) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    if author:
        env.update(GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1], GIT_COMMITTER_NAME=author[0], GIT_COMMITTER_EMAIL=author[1])
    if when:
        env.update(GIT_AUTHOR_DATE=when.isoformat(), GIT_COMMITTER_DATE=when.isoformat())
    done = subprocess.run(["git", "-C", str(folder), *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(folder: Path, files: dict[str, str], *, author: tuple[str, str], when: dt.datetime | None = None,
           message: str = "change") -> str:
    if not (folder / ".git").exists():
        folder.mkdir(parents=True, exist_ok=True)
        git(folder, "init", "-q", "-b", "main")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message, author=author, when=when)
    return git(folder, "rev-parse", "HEAD")


def configure(session, folder: Path, *, runners: list[dict] | None = None, **extra) -> None:
    runbooks.configure(session, data=RunbooksConfig.model_validate({"path": str(folder), "runners": runners or [], **extra}),
                       actor=SYSTEM)
    runbooks.sync(session, actor=SYSTEM, strict=True)
    session.flush()
