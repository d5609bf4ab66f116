"""postgres jobs with the real pg_dump and pg_restore: a custom-format dump, restored into a
temporary database that is dropped afterwards; the verification SQL passes on the restored data
(as of the dump, not as of now), and a verification that should fail fails."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.backups.conftest import require_tool
from tests.factories.catalog import make_service
from watchkeeper.backups import service as backups
from watchkeeper.backups.schemas import BackupCreate


@pytest.fixture
def shop_db(pg_server, monkeypatch):
    require_tool("pg_dump", "postgresql-client")
    require_tool("pg_restore", "postgresql-client")
    url = make_url(pg_server.new_database(prefix="wk_bk_src"))
    # trust auth ignores the password: it is there to prove it never reaches argv, output or audit
    dsn = f"postgresql://postgres:s3cret-pw@{url.host}:{url.port or 5432}/{url.database}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table orders (id serial primary key, total numeric not null)")
        conn.execute("insert into orders (total) select g from generate_series(1, 50) g")
    monkeypatch.setenv("SHOP_DSN", dsn)
    return dsn


def _scratch_databases(dsn: str) -> list[str]:
    """The scratch databases of this test's job (`wk_restore_shop_db_<hex>`). "_" is a LIKE
    wildcard, so it is escaped: other tests' databases (`wk_restored_…`) must not count."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [r[0] for r in conn.execute(r"select datname from pg_database where datname like 'wk\_restore\_shop\_db\_%'")]


def test_pg_dump_restores_into_a_temporary_database_and_verification_sql_decides(session, personas, shop_db, tmp_path, run_worker):
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    spec = {"name": "shop-db", "service": "checkout",
            "source": {"kind": "postgres", "dsn_env": "SHOP_DSN", "directory": str(tmp_path / "dumps")},
            "retention": {"keep_last": 2},
            "restore_test": {"sql": "select count(*) from orders", "expect": "50"}}
    backups.create_backup(session, data=BackupCreate.model_validate(spec), actor=alice)
    backups.request_run(session, name="shop-db", kind="backup", actor=alice)
    session.commit()
    run_worker()
    dump = backups.history(session, name="shop-db", actor=alice, with_output=True)[0]
    assert dump.status == "succeeded", dump.reason
    assert dump.artifact.endswith(".dump") and dump.size_bytes > 0
    with open(dump.artifact, "rb") as f:
        assert f.read(5) == b"PGDMP"  # pg_dump's custom format

    with psycopg.connect(shop_db, autocommit=True) as conn:  # written after the backup: not in the restore
        conn.execute("insert into orders (total) values (1000)")
    backups.request_run(session, name="shop-db", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    ok = backups.history(session, name="shop-db", kind="restore_test", actor=alice, with_output=True)[0]
    assert ok.status == "succeeded", ok.reason
    assert ok.details["sql"] == {"got": "50", "expect": "50"} and ok.data_at == dump.data_at
    assert _scratch_databases(shop_db) == []

    for expect, sql, why in (("51", "select count(*) from orders", "verification SQL returned '50', expected '51'"),
                             ("1", "select count(*) from customers", "verification SQL failed: relation \"customers\" does not exist")):
        backups.update_backup(session, data=BackupCreate.model_validate(
            {**spec, "restore_test": {"sql": sql, "expect": expect}}), actor=alice)
        backups.request_run(session, name="shop-db", kind="restore_test", actor=alice)
        session.commit()
        run_worker()
        bad = backups.history(session, name="shop-db", kind="restore_test", actor=alice, with_output=True)[0]
        assert bad.status == "failed" and bad.reason.startswith(why), bad.reason
    assert _scratch_databases(shop_db) == []

    for _ in range(2):
        backups.request_run(session, name="shop-db", kind="backup", actor=alice)
        session.commit()
        run_worker()
    assert len(list((tmp_path / "dumps").glob("shop-db-*.dump"))) == 2
    newest = backups.history(session, name="shop-db", kind="backup", actor=alice, with_output=True)[0]
    assert newest.details["retention"]["removed"] == [dump.artifact.rsplit("/", 1)[1]]
    everything = " ".join(str(r.model_dump()) for r in backups.history(session, name="shop-db", actor=alice, with_output=True))
    assert "s3cret-pw" not in everything


def test_a_missing_dsn_variable_fails_the_run_with_its_name(session, personas, tmp_path, run_worker, monkeypatch):
    monkeypatch.delenv("NOPE_DSN", raising=False)
    make_service(session, name="checkout", team="payments")
    alice = personas["alice"].actor
    backups.create_backup(session, data=BackupCreate.model_validate({
        "name": "no-dsn", "service": "checkout",
        "source": {"kind": "postgres", "dsn_env": "NOPE_DSN", "directory": str(tmp_path)}}), actor=alice)
    backups.request_run(session, name="no-dsn", kind="backup", actor=alice)
    backups.request_run(session, name="no-dsn", kind="restore_test", actor=alice)
    session.commit()
    run_worker()
    runs = backups.history(session, name="no-dsn", actor=alice)
    assert [(r.kind, r.status, r.reason) for r in runs] == [
        ("restore_test", "failed", "there is no successful backup to restore yet"),
        ("backup", "failed", "environment variable NOPE_DSN is not set in the worker's environment"),
    ]
