"""Stakeholder roles and sign-offs (see watchkeeper/domain.py)."""

from watchkeeper.domain import Domain, Provider, Verb

DOMAIN = Domain(
    name="signoffs",
    package="watchkeeper.signoffs",
    models=("watchkeeper.signoffs.models",),
    api=("watchkeeper.signoffs.api:router",),
    cli=(Verb("signoff", "Stakeholder sign-offs (refine, launch).", "watchkeeper.signoffs.cli:signoff_app"),),
    providers=(
        Provider("refine_signoff", "watchkeeper.signoffs.evidence:refine_signoff", "watchkeeper.signoffs.evidence:refine_signoff_batch"),
        Provider("stakeholder_signoff", "watchkeeper.signoffs.evidence:stakeholder_signoff",
                 "watchkeeper.signoffs.evidence:stakeholder_signoff_batch"),
    ),
)
