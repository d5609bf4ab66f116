from __future__ import annotations

import shutil

import pytest

from watchkeeper import app as wk_app


def require_tool(name: str, package: str) -> None:
    """These tests drive the real tools: a missing one fails with its name (scripts/system-deps.sh)."""
    if shutil.which(name) is None:
        pytest.fail(f"{name} is not installed; install the Debian package {package} (`make system-deps` as root)", pytrace=False)


@pytest.fixture
def run_worker(container):
    """Run every queued job once on a real worker (the production job table)."""

    def run() -> int:
        return wk_app.worker(container).run_once()

    return run
