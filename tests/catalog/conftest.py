import pytest

from watchkeeper.catalog import gate


@pytest.fixture(autouse=True)
def no_gates(monkeypatch):
    """Catalog tests exercise the stage rules alone; gates are plugged in per test."""
    monkeypatch.setattr(gate, "_gates", {})
