"""`runbooks:` in watchkeeper.yaml: apply configures and syncs the folder, a second apply plans
nothing, a changed file is one update, --prune forgets the folder, a broken file fails the
apply naming its file and line, bad section input points at its line and column."""

from __future__ import annotations

import pytest

from watchkeeper.configfile import loader, plan
from watchkeeper.errors import InvalidInput
from watchkeeper.runbooks import service as runbooks

from tests.config.test_apply import BASE, _cfg
from tests.runbooks.helpers import front


def _section(folder) -> str:
    return BASE + f"""
runbooks:
  path: {folder}
  review_every: 60d
  runners:
    - name: sh
      kind: shell
      timeout: 10s
"""


def _changes(result):
    return [(c.action, c.name) for c in result.changes if c.kind == "runbooks"]


def test_runbooks_round_trip(session, system_actor, tmp_path):
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "api.md").write_text(front(title="API down", services=("api",)))
    first = plan.apply(session, _cfg(_section(folder)), actor=system_actor)
    assert _changes(first) == [("create", "runbooks")]
    assert [d.path for d in runbooks.list_documents(session, actor=system_actor)] == ["api.md"]
    config = runbooks.current_config(session, actor=system_actor)
    assert config.review_every.days == 60 and [r.name for r in config.runners] == ["sh"]
    assert plan.plan(session, _cfg(_section(folder)), actor=system_actor).empty

    (folder / "db.md").write_text(front(title="DB down", services=("db",)))
    changed = plan.apply(session, _cfg(_section(folder)), actor=system_actor)
    [update] = [c for c in changed.changes if c.kind == "runbooks"]
    assert update.action == "update" and list(update.after) == ["documents"]
    assert [d.path for d in runbooks.list_documents(session, actor=system_actor)] == ["api.md", "db.md"]
    assert plan.plan(session, _cfg(_section(folder)), actor=system_actor).empty

    (folder / "db.md").write_text("---\ntitle: DB\nkind: wiki\n---\n")
    with pytest.raises(InvalidInput, match=r"^db.md:3: kind"):
        plan.plan(session, _cfg(_section(folder)), actor=system_actor)

    kept = plan.apply(session, _cfg(BASE + "runbooks: null\n"), actor=system_actor)
    assert _changes(kept) == [("note", "runbooks")]
    assert runbooks.current_config(session, actor=system_actor) is not None
    gone = plan.apply(session, _cfg(BASE + "runbooks: null\n"), actor=system_actor, prune=True)
    assert _changes(gone) == [("delete", "runbooks")]
    assert runbooks.current_config(session, actor=system_actor) is None
    assert runbooks.list_documents(session, actor=system_actor) == []


def test_prune_forgets_the_folder(session, system_actor, tmp_path):
    (tmp_path / "a.md").write_text(front(title="A", services=("api",)))
    plan.apply(session, _cfg(_section(tmp_path)), actor=system_actor)
    text = BASE  # no runbooks: section: nothing is deleted, even with --prune
    assert _changes(plan.apply(session, _cfg(text), actor=system_actor, prune=True)) == []
    assert runbooks.current_config(session, actor=system_actor) is not None


@pytest.mark.parametrize("snippet,where,words", [
    ("runbooks:\n  path: /x\n  review_every: 5000d\n", "3:17", "review_every"),
    ("runbooks:\n  path: /x\n  runners:\n    - {name: sh, kind: ssh}\n", "4:", "kind"),
    ("runbooks:\n  path: /x\n  runners:\n    - {name: web, kind: http, allow_urls: ['javascript:alert(1)//x']}\n", "4:", "allow_urls"),
    ("runbooks:\n  path: /x\n  runners:\n    - {name: sh}\n    - {name: sh}\n", "", "unique"),
])
def test_bad_section_points_at_the_line(snippet, where, words):
    with pytest.raises(loader.ConfigInvalid) as caught:
        loader.load_text(BASE + snippet, file="test.yaml")
    message = str(caught.value)
    assert words in message, message
    base_lines = BASE.count("\n")
    if where:
        line = int(where.split(":")[0]) + base_lines
        assert f"test.yaml:{line}:" in message, message
