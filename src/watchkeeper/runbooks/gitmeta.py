"""Git history of the runbooks folder, read with `git log` (a local subprocess: no fetch, no
network, no prompt). When the folder is inside a git work tree, each file gets its commits'
authors (newest first) and its last commit; otherwise there is no history and documents are
judged by their front matter alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
from pathlib import Path

TIMEOUT_SECONDS = 30
MAX_COMMITS = 5000
_RS, _US = "\x1e", "\x1f"


@dataclasses.dataclass(frozen=True)
class Commit:
    sha: str
    name: str
    email: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True)
class History:
    head: str | None
    files: dict[str, list[Commit]]  # path relative to the folder -> commits, newest first


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                          env=env, stdin=subprocess.DEVNULL, check=False)


def read(folder: Path) -> History:
    """The folder's git history, or an empty History when it is not in a work tree (or git is missing)."""
    try:
        inside = _git(folder, "rev-parse", "--is-inside-work-tree", "--show-prefix")
    except (OSError, subprocess.TimeoutExpired):
        return History(head=None, files={})
    if inside.returncode != 0 or not inside.stdout.startswith("true"):
        return History(head=None, files={})
    prefix = inside.stdout.splitlines()[1] if len(inside.stdout.splitlines()) > 1 else ""
    head = _git(folder, "rev-parse", "HEAD")
    if head.returncode != 0:  # a repository with no commit yet
        return History(head=None, files={})
    log = _git(folder, "-c", "core.quotePath=false", "log", f"--max-count={MAX_COMMITS}", "--no-renames", "--no-merges",
               f"--format={_RS}%H{_US}%an{_US}%ae{_US}%aI", "--name-only", "--", ".")
    files: dict[str, list[Commit]] = {}
    if log.returncode == 0:
        for record in log.stdout.split(_RS):
            if not record.strip():
                continue
            header, _, names = record.partition("\n")
            parts = header.split(_US)
            if len(parts) != 4:
                continue
            sha, name, email, when = parts
            try:
                at = dt.datetime.fromisoformat(when).astimezone(dt.timezone.utc)
            except ValueError:
                continue
            commit = Commit(sha=sha, name=name, email=email.lower(), at=at)
            for path in names.splitlines():
                path = path.strip()
                if path and path.startswith(prefix):
                    files.setdefault(path[len(prefix):], []).append(commit)
    return History(head=head.stdout.strip() or None, files=files)
