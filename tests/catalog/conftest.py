import pytest


@pytest.fixture(autouse=True)
def _catalog_tests_run_without_gates(no_gates):
    """Catalog tests exercise the stage rules alone; gates are plugged in per test."""
