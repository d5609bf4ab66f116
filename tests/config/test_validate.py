"""`validate` reports every problem as file:line:column: what — how to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.configfile import loader
from watchkeeper.configfile.schema import WatchkeeperConfig, json_schema

DATA = Path(__file__).parent / "testdata"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "watchkeeper.yaml"


def _problems(name: str) -> list[str]:
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_file(DATA / name)
    return [str(p) for p in exc.value.problems]


def test_the_example_config_is_valid():
    cfg = loader.load_file(EXAMPLE)
    assert {s.name for s in cfg.services} >= {"watchkeeper", "demo"}
    assert {s.stage.value for s in cfg.services} & {"POC", "MVP"}


def test_packaged_example_matches_examples_dir():
    packaged = Path(loader.__file__).parent / "example.yaml"
    assert packaged.read_text() == EXAMPLE.read_text()


def test_wrong_type_and_unknown_key_are_both_reported_with_positions():
    problems = _problems("wrong-type-and-unknown-key.yaml")
    file = str(DATA / "wrong-type-and-unknown-key.yaml")
    assert any(p.startswith(f"{file}:7:11: services[0].tier:") and "whole number" in p for p in problems), problems
    assert any(p.startswith(f"{file}:8:5: services[0].colour: unknown key 'colour'") and "remove it" in p for p in problems), problems


def test_unknown_team_names_the_declared_teams():
    (problem,) = _problems("unknown-team.yaml")
    assert ":6:11: services[0].team: unknown team 'payments'" in problem and "platform" in problem


def test_dependency_cycle_is_named():
    (problem,) = _problems("cycle.yaml")
    assert "a → b → a" in problem


def test_duplicate_keys_are_reported_not_silently_overwritten():
    (problem,) = _problems("duplicate-key.yaml")
    assert ":4:5:" in problem and "appears twice" in problem


def test_yaml_syntax_error_has_a_position():
    with pytest.raises(loader.ConfigInvalid) as exc:
        loader.load_text("teams:\n  - name: [unclosed\n", file="x.yaml")
    assert str(exc.value).startswith("x.yaml:")


def test_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(loader.ConfigInvalid, match="watchkeeper init"):
        loader.load_file(tmp_path / "nope.yaml")


def test_published_json_schema_is_current():
    import json

    published = Path(__file__).resolve().parents[2] / "docs" / "schema" / "watchkeeper.schema.json"
    assert json.loads(published.read_text()) == json.loads(json.dumps(json_schema())), "run `make schema`"


names = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(names, min_size=1, max_size=5, unique=True), st.integers(1, 3), st.sampled_from(["POC", "MVP", "MMP", "PROD"]))
def test_dump_and_load_round_trip(services, tier, stage):
    doc = {"version": 1, "teams": [{"name": "t"}],
           "services": [{"name": n, "team": "t", "tier": tier, "stage": stage,
                         "targets": {"slo": 99.5, "slo_window": "30d", "rpo": "15m"}} for n in services]}
    cfg = loader.load_text(yaml.safe_dump(doc))
    again = loader.load_text(yaml.safe_dump(cfg.model_dump(mode="json")))
    assert again == cfg


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | st.text(max_size=5) | st.none(), max_size=4))
def test_arbitrary_top_level_keys_never_crash_the_loader(doc):
    try:
        loader.load_text(yaml.safe_dump(doc))
    except loader.ConfigInvalid as exc:
        assert all(p.line >= 1 and p.column >= 1 and p.message for p in exc.problems)
