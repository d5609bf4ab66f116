"""A database made by the previous release upgrades to the current migration branches.

Until 0.1.0 (commit 350c3a2) the alerting branch (0201) created the notify and maintenance
tables and the readiness branch (0301) created the sign-off and assessment tables; now each
domain's own branch does (docs/data-model.md). tests/db/testdata/previous_release holds that
release's migration scripts as they were: each test builds a database with them, writes rows into
the tables that moved, upgrades with the current migrations and checks that the rows survived and
that the schema is the one a new database gets.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.orm import Session

from watchkeeper.assessments.models import Finding, Run
from watchkeeper.db import migrate
from watchkeeper.db.engine import make_engine
from watchkeeper.errors import Conflict
from watchkeeper.maintenance.models import Window
from watchkeeper.notify.models import Attempt, Outbox
from watchkeeper.signoffs.models import Signoff, StakeholderRole
from watchkeeper.tables import metadata

PREVIOUS_RELEASE = Path(__file__).parent / "testdata" / "previous_release"
MOVED = ["notify_outbox", "notify_attempt", "maintenance_window", "signoffs_stakeholder_role",
         "signoffs_signoff", "assessments_run", "assessments_finding"]
T0 = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc)

# What the previous release's alembic_version held: its four heads. Builds before 2026-12-07
# were stamped lower on the alerting branch (0201, before the notify columns of 0210/0211) and
# had no 0010; the notify branch adds those columns when it takes the tables over.
RELEASE = ("heads",)
BEFORE_NOTIFY_COLUMNS = ("0201", "0101", "0301")

# Values for every column the moved tables had at the end of the previous release; a database
# stamped earlier gets those of its columns it has.
ROWS: dict[str, list[dict]] = {
    "catalog_team": [dict(id=1, name="payments", managed_by="runtime", created_at=T0, updated_at=T0)],
    "catalog_service": [dict(id=1, name="checkout", team_id=1, tier=1, stage="production", links={},
                             forced=False, managed_by="runtime", created_at=T0, updated_at=T0)],
    "notify_outbox": [
        dict(id=1, idempotency_key="group:7:1:ops", ref="group:7", receiver="ops", channel_kind="email",
             channel={"to": ["ops@example.com"]}, message={"subject": "[FIRING] db down", "body": "é ✓"},
             status="sent", attempts=1, max_attempts=8, backoff_base_seconds=30.0, backoff_max_seconds=3600.0,
             next_attempt_at=T0, claimed_by=None, lease_token=None, lease_until=None, created_at=T0,
             sent_at=T0 + dt.timedelta(seconds=2), last_error=None, owner=None, possible_duplicate=False),
        dict(id=2, idempotency_key="group:7:2:ops", ref="group:7", receiver="ops", channel_kind="webhook",
             channel={"url": "https://hooks.example.com/x"}, message={"status": "resolved"},
             status="pending", attempts=2, max_attempts=8, backoff_base_seconds=30.0, backoff_max_seconds=3600.0,
             next_attempt_at=T0 + dt.timedelta(minutes=5), claimed_by="worker-1", lease_token="t" * 32,
             lease_until=T0 + dt.timedelta(minutes=2), created_at=T0, sent_at=None,
             last_error="HTTP 503", owner="a" * 32, possible_duplicate=True),
    ],
    "notify_attempt": [
        dict(id=1, outbox_id=1, number=1, worker="worker-1", started_at=T0, finished_at=T0, status="ok",
             latency_ms=12.5, response="250 OK", error=None, retryable=None, stage="accepted"),
        dict(id=2, outbox_id=2, number=1, worker="worker-1", started_at=T0, finished_at=None, status="unknown",
             latency_ms=None, response=None, error="connection reset", retryable=True, stage="transmitting"),
    ],
    "maintenance_window": [
        dict(id=1, name="db-patching", service="checkout", matchers=["alertname=~Db.*"], starts_at=T0,
             duration_seconds=7200, rrule="FREQ=WEEKLY;BYDAY=TU", cron=None, timezone="Europe/Berlin",
             until=None, comment="weekly", created_by="alice", created_at=T0, cancelled_at=None,
             managed_by="config"),
    ],
    "signoffs_stakeholder_role": [
        dict(id=1, name="security", description="AppSec", required_for=["production"], people=["bob"],
             managed_by="config", created_at=T0, updated_at=T0),
    ],
    "signoffs_signoff": [
        dict(id=1, service_id=1, checkpoint="production", role="security", signer="bob", note="threat model ok",
             signed_at=T0, recorded_by="bob", revoked_at=None, revoked_by=None, revoke_reason=None),
    ],
    "assessments_run": [
        dict(id=1, service_id=1, suite="security", tool="zap", builtin=False, level="pass", ran_at=T0,
             link="https://ci.example.com/1", summary="0 high", checks={"headers": "pass"}, recorded_by="ci"),
    ],
    "assessments_finding": [
        dict(id=1, run_id=1, service_id=1, suite="security", tool="zap", rule="10038", title="CSP missing",
             severity="medium", link=None, status="open", resolved_at=None, resolved_by=None, resolution=None),
    ],
}
# Columns the previous release's tables may lack, with the value an upgrade gives their rows.
ADDED_LATER = {"notify_outbox": {"owner": None, "possible_duplicate": False}, "notify_attempt": {"stage": None}}


def previous_release(engine: Engine, *targets: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(PREVIOUS_RELEASE))
    cfg.attributes["engine"] = engine
    for target in targets:
        command.upgrade(cfg, target)


def write_rows(engine: Engine) -> None:
    """Insert ROWS, with the columns each table has."""
    tables = MetaData()
    tables.reflect(engine, only=list(ROWS))
    with engine.begin() as conn:
        for name, rows in ROWS.items():
            table = tables.tables[name]
            conn.execute(table.insert(), [{k: v for k, v in row.items() if k in table.c} for row in rows])


def read_rows(engine: Engine) -> dict[str, list[dict]]:
    tables = MetaData()
    tables.reflect(engine, only=list(ROWS))
    with engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(select(tables.tables[name]).order_by(text("1")))]
                for name in ROWS}


def schema(engine: Engine) -> dict[str, dict]:
    """Everything the inspector sees of each table: columns in order, keys, indexes."""
    insp = inspect(engine)
    by_name = lambda d: d.get("name") or ""  # noqa: E731
    return {
        name: {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in insp.get_columns(name)],
            "pk": insp.get_pk_constraint(name),
            "fks": sorted(insp.get_foreign_keys(name), key=by_name),
            "indexes": sorted(insp.get_indexes(name), key=by_name),
            "uniques": sorted(insp.get_unique_constraints(name), key=by_name),
            "checks": sorted(insp.get_check_constraints(name), key=by_name),
        }
        for name in sorted(insp.get_table_names()) if name != "alembic_version"
    }


@pytest.fixture
def fresh_schema(backend, pg_server, tmp_path):
    """The schema `upgrade heads` gives an empty database of the same backend."""
    from tests.conftest import database_url

    engine = make_engine(database_url(backend, pg_server, tmp_path))
    try:
        migrate.upgrade(engine)
        return schema(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("stamp", [RELEASE, BEFORE_NOTIFY_COLUMNS], ids=["release", "before-0210"])
def test_a_previous_release_database_keeps_its_rows_and_ends_with_a_new_databases_schema(fresh_url, fresh_schema, stamp):
    engine = make_engine(fresh_url)
    try:
        previous_release(engine, *stamp)
        assert set(MOVED) <= set(inspect(engine).get_table_names())
        write_rows(engine)
        before = read_rows(engine)

        migrate.upgrade(engine)

        assert migrate.is_current(engine)
        assert migrate.current(engine) == migrate.heads()
        # Every row as it was; columns the notify branch added hold their defaults.
        assert read_rows(engine) == {name: [{**ADDED_LATER.get(name, {}), **row} for row in rows]
                                     for name, rows in before.items()}
        assert schema(engine) == fresh_schema
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []

        # The models read what the previous release wrote.
        with Session(engine) as session:
            outbox = session.get(Outbox, 2)
            assert outbox.message == {"status": "resolved"} and outbox.lease_until == T0 + dt.timedelta(minutes=2)
            assert outbox.possible_duplicate is (stamp == RELEASE)
            assert session.get(Attempt, 1).stage == ("accepted" if stamp == RELEASE else None)
            assert session.get(Window, 1).rrule == "FREQ=WEEKLY;BYDAY=TU"
            assert session.get(StakeholderRole, 1).people == ["bob"]
            assert session.get(Signoff, 1).signed_at == T0
            assert session.get(Run, 1).checks == {"headers": "pass"}
            assert session.get(Finding, 1).title == "CSP missing"

        # And the new layout goes down and up again.
        migrate.downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) - {"alembic_version"} == set()
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        assert schema(engine) == fresh_schema
    finally:
        engine.dispose()


def test_each_branch_creates_only_its_domains_tables(fresh_url):
    """Applied one revision at a time, each domain branch creates tables named after its domain
    (the unlabelled core chain from 0001 creates the core packages' tables); the tables that moved
    come from their own domains' branches."""
    engine = make_engine(fresh_url)
    script = ScriptDirectory.from_config(migrate.alembic_config(engine))
    created_by: dict[str, set[str]] = {}
    try:
        before: set[str] = set()
        for rev in reversed(list(script.walk_revisions())):  # every revision after its ancestors
            migrate.upgrade(engine, rev.revision)
            now = set(inspect(engine).get_table_names())
            branch = "/".join(sorted(rev.branch_labels)) or "core"
            created_by.setdefault(branch, set()).update(now - before)
            before = now
        assert migrate.is_current(engine)
    finally:
        engine.dispose()
    strays = {branch: sorted(t for t in tables if not t.startswith(f"{branch}_"))
              for branch, tables in created_by.items() if branch != "core"}
    assert {branch: tables for branch, tables in strays.items() if tables} == {}
    assert {t: b for b, tables in created_by.items() for t in tables if t in MOVED} == {
        "notify_outbox": "notify", "notify_attempt": "notify", "maintenance_window": "maintenance",
        "signoffs_stakeholder_role": "signoffs", "signoffs_signoff": "signoffs",
        "assessments_run": "assessments", "assessments_finding": "assessments",
    }


def test_a_table_in_the_way_stops_the_upgrade_with_one_line_and_leaves_nothing_half_done(fresh_url):
    engine = make_engine(fresh_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE maintenance_window (id INTEGER PRIMARY KEY, note TEXT)"))
        with pytest.raises(Conflict) as caught:
            migrate.upgrade(engine)
        assert "\n" not in str(caught.value)
        assert str(caught.value).startswith("table maintenance_window exists but has no column name, service, matchers")
        assert set(inspect(engine).get_table_names()) == {"maintenance_window"}
    finally:
        engine.dispose()
