"""Users, roles, sessions and API tokens (see watchkeeper/domain.py)."""

import datetime as dt

from watchkeeper.domain import Domain, JobSpec, Periodic, Verb

DOMAIN = Domain(
    name="auth",
    package="watchkeeper.auth",
    models=("watchkeeper.auth.models",),
    jobs=(JobSpec("auth.prune", "watchkeeper.auth.jobs:prune", max_attempts=3),),
    periodic=(Periodic("auth-prune", "auth.prune", dt.timedelta(hours=1)),),
    api=("watchkeeper.auth.api:router",),
    pages=("watchkeeper.web.auth_pages:router",),
    cli=(
        Verb("user", "Users and their roles.", "watchkeeper.auth.cli:user_app"),
        Verb("token", "API tokens (shown once, stored hashed).", "watchkeeper.auth.cli:token_app"),
    ),
)
