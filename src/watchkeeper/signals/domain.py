"""Internal signals' history table (see watchkeeper/domain.py)."""

from watchkeeper.domain import Domain

DOMAIN = Domain(name="signals", package="watchkeeper.signals", models=("watchkeeper.signals.models",))
