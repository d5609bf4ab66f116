"""Release notes (issue 16 item 7) from a real git repository between two deploy records."""

from __future__ import annotations

import subprocess

import pytest

from tests.cli.test_cli import _run
from tests.factories.auth import SYSTEM
from tests.factories.catalog import make_service
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine, make_session_factory, transaction
from watchkeeper.deploys import freezes
from watchkeeper.deploys import releasenotes as notes
from watchkeeper.deploys import service as deploys
from watchkeeper.deploys.schemas import DeployFinish, DeployStart, ServiceDeployConfig
from watchkeeper.errors import InvalidInput, NotFound, PermissionDenied


def _git(repo, *args) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def _commit(repo, message: str) -> str:
    _git(repo, "commit", "--allow-empty", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "shop.git"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    shas = {"1.0.0": _commit(path, "feat: first release")}
    _commit(path, "feat(cart): remember the cart across devices")
    _commit(path, "fix(checkout): round totals half-even\n\nIncident: INC-42\nAction-Item: AI-7")
    _commit(path, "feat(api)!: drop the v1 endpoints")
    _commit(path, "chore: bump dependencies")
    shas["1.1.0"] = _commit(path, "perf: cache the price list\n\nFixes: INC-40, INC-41")
    return path, shas


def _record(session, version: str, commit: str, outcome: str = "succeeded") -> None:
    d = deploys.start_deploy(session, data=DeployStart(service="shop", version=version, commit=commit), actor=SYSTEM)
    deploys.finish_deploy(session, deploy_id=d.id, data=DeployFinish(outcome=outcome, reason="5xx" if outcome != "succeeded" else None),
                          actor=SYSTEM)


def test_conventional_commits_grouped_with_references(session, repo, personas):
    path, shas = repo
    make_service(session, name="shop", team="payments")
    _record(session, "1.0.0", shas["1.0.0"])
    _record(session, "1.0.9", shas["1.0.0"][:7], outcome="rolled_back")
    _record(session, "1.1.0", shas["1.1.0"])
    freezes.set_policy(session, data=ServiceDeployConfig(service="shop", repository=str(path)), actor=SYSTEM)
    text = notes.release_notes(session, service="shop", from_version="1.0.0", to_version="1.1.0", actor=personas["alice"].actor)
    assert text.startswith(f"# shop 1.1.0\n\nChanges since 1.0.0 (`{shas['1.0.0'][:12]}..{shas['1.1.0'][:12]}`, 5 commits).\n")
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["## Breaking changes", "## Features", "## Bug fixes", "## Performance", "## Other changes",
                        "## Incidents and action items", "## Deploys in between that did not stick"]
    assert "- **api:** drop the v1 endpoints (`" in text and "- **cart:** remember the cart across devices" in text
    assert "- **checkout:** round totals half-even" in text and "- bump dependencies" in text
    assert "- INC-42 (in " in text and "- AI-7 (in " in text and "- INC-40 (in " in text and "- INC-41 (in " in text
    assert "- 1.0.9: rolled_back — 5xx" in text
    assert "first release" not in text  # the from-commit itself is not new
    with pytest.raises(PermissionDenied):
        notes.release_notes(session, service="shop", from_version="1.0.0", to_version="1.1.0", actor=personas["carol"].actor)
    with pytest.raises(NotFound, match="names a commit"):
        notes.release_notes(session, service="shop", from_version="0.1", to_version="1.1.0", actor=SYSTEM)


def test_plain_history_and_bad_repositories(session, repo, tmp_path):
    path, shas = repo
    make_service(session, name="shop", team="payments")
    plain = _commit(path, "Make the banner blue")
    _record(session, "1.1.0", shas["1.1.0"])
    _record(session, "1.2.0", plain)
    text = notes.release_notes(session, service="shop", from_version="1.1.0", to_version="1.2.0", actor=SYSTEM, repository=str(path))
    assert "## Changes\n\n- Make the banner blue" in text
    with pytest.raises(InvalidInput, match="no repository for 'shop'"):
        notes.release_notes(session, service="shop", from_version="1.1.0", to_version="1.2.0", actor=SYSTEM)
    (tmp_path / "empty").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path / "empty")], check=True)
    with pytest.raises(InvalidInput, match="git log"):
        notes.release_notes(session, service="shop", from_version="1.1.0", to_version="1.2.0", actor=SYSTEM,
                            repository=str(tmp_path / "empty"))


def test_the_cli_prints_markdown(fresh_url, tmp_path, repo):
    path, shas = repo
    engine = make_engine(fresh_url)
    migrate.upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        make_service(session, name="shop", team="payments")
        _record(session, "1.0.0", shas["1.0.0"])
        _record(session, "1.1.0", shas["1.1.0"])
    engine.dispose()
    out = _run(["releasenotes", "shop", "--from", "1.0.0", "--to", "1.1.0", "--repo", str(path)], fresh_url, tmp_path)
    assert out.stdout.startswith("# shop 1.1.0\n") and "## Features" in out.stdout
