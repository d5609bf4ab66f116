"""The worker runner's own tables: schedule and leader lease (see watchkeeper/domain.py)."""

from watchkeeper.domain import Domain

DOMAIN = Domain(name="worker", package="watchkeeper.worker", models=("watchkeeper.worker.models",))
