"""Meta-tests that keep the documentation promises honest."""

from __future__ import annotations

from pathlib import Path

from watchkeeper.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    text = (ROOT / "docs" / "configuration.md").read_text()
    missing = [f"WATCHKEEPER_{name.upper()}" for name in Settings.model_fields if f"`WATCHKEEPER_{name.upper()}`" not in text]
    assert not missing, f"add these settings to docs/configuration.md: {missing}"


def test_every_setting_has_a_description():
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_readme_quick_start_is_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_every_api_route_has_a_summary(app):
    from tests.api.routes import all_routes

    missing = [f"{m} {p}" for m, p, r in all_routes(app)
               if p.startswith("/api/") and not (getattr(r, "summary", None) or getattr(r, "description", None))]
    assert not missing, missing
