"""Runbooks benchmark: sync a git-backed folder of N documents (two authors, a commit per 10
files), then a second sync with nothing changed, then lint and the readiness provider for every
service. SQLite in a temp dir unless --database-url.

    .venv/bin/python bench/runbooks.py                  # 500 documents over 50 services
    .venv/bin/python bench/runbooks.py --documents 2000 --services 200

Prints one line per measurement and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from watchkeeper.app import build, prepare_database  # noqa: E402
from watchkeeper.auth.service import Actor  # noqa: E402
from watchkeeper.catalog import service as catalog  # noqa: E402
from watchkeeper.catalog import teams  # noqa: E402
from watchkeeper.catalog.schemas import ServiceCreate, TeamCreate  # noqa: E402
from watchkeeper.config import Settings  # noqa: E402
from watchkeeper.runbooks import evidence, lint  # noqa: E402
from watchkeeper.runbooks import service as runbooks  # noqa: E402
from watchkeeper.runbooks.schemas import RunbooksConfig  # noqa: E402

SYSTEM = Actor.system("bench", "system")


def git(folder: Path, *args: str, author: str = "Alice") -> None:
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com",
           "GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": f"{author.lower()}@example.com"}
    subprocess.run(["git", "-C", str(folder), *args], env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="wk-bench-runbooks-"))
    folder = tmp / "runbooks"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    for i in range(args.documents):
        svc = f"svc-{i % args.services}"
        (folder / f"doc-{i:05d}.md").write_text(
            f"---\ntitle: Document {i}\nservices: [{svc}]\nalerts: ['{{alertname=\"MonitorDown\", service=\"{svc}\"}}']\n"
            f"kind: runbook\nowners: [alice]\nlast_reviewed: {{date: 2026-12-01, by: bob}}\n---\n# Document {i}\n\n"
            + "".join(f"Some text with a [link](doc-00000.md).\n\n```sh {{step=check-{k}}}\necho ok\n```\n" for k in range(5)))
        if i % 10 == 9:
            git(folder, "add", "-A")
            git(folder, "commit", "-q", "-m", f"docs {i}", author="Alice" if i % 20 == 9 else "Carol")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "--allow-empty", "-m", "rest")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    container = build(Settings(database_url=url, data_dir=tmp / "data", secret_key="bench-secret-key-0123456789abcdef"))
    prepare_database(container)
    with container.session() as s:
        teams.create_team(s, data=TeamCreate(name="team"), actor=SYSTEM)
        for j in range(args.services):
            catalog.create_service(s, data=ServiceCreate(name=f"svc-{j}", team="team"), actor=SYSTEM)
        runbooks.configure(s, data=RunbooksConfig(path=str(folder)), actor=SYSTEM)
        s.commit()
    out: dict = {"documents": args.documents, "services": args.services, "python": platform.python_version(),
                 "store": url.split(":", 1)[0]}
    with container.session() as s:
        t = time.perf_counter()
        result = runbooks.sync(s, actor=SYSTEM, strict=True)
        s.commit()
        out["first_sync_s"] = round(time.perf_counter() - t, 3)
        assert result.created == args.documents, result
    with container.session() as s:
        t = time.perf_counter()
        result = runbooks.sync(s, actor=SYSTEM)
        s.commit()
        out["unchanged_sync_s"] = round(time.perf_counter() - t, 3)
        assert result.unchanged == args.documents, result
    with container.session() as s:
        t = time.perf_counter()
        report = lint.findings(s)
        out["lint_s"] = round(time.perf_counter() - t, 3)
        out["lint_findings"] = len(report.findings)
        services = catalog.list_services(s, actor=SYSTEM)
        t = time.perf_counter()
        statuses = [e.status for e in evidence.runbook_reviewed_batch(s, services).values()]
        out["readiness_batch_all_services_s"] = round(time.perf_counter() - t, 3)
        out["readiness_statuses"] = sorted({str(x) for x in statuses})
        t = time.perf_counter()
        evidence.runbook_reviewed(s, services[0])
        out["readiness_one_service_s"] = round(time.perf_counter() - t, 3)
    for key, value in out.items():
        print(f"{key}: {value}")
    print(json.dumps(out))
    container.dispose()


if __name__ == "__main__":
    main()
