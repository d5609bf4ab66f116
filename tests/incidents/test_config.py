"""The `incidents:` section: apply creates, a second apply plans nothing, --prune deletes what
the file owns, and bad input is reported as file:line:column."""

from __future__ import annotations

import pytest

from watchkeeper.configfile import loader, plan
from watchkeeper.incidents import settings

CONFIG = """
version: 1
incidents:
  severities:
    - {name: SEV1, description: Checkout or payments down for everyone, page: true, ack_within: 5m, resolve_within: 4h}
    - {name: SEV2, description: Major degradation, page: true, ack_within: 15m, resolve_within: 8h}
  policies:
    - {name: critical-tier1-prod, severity: SEV2, alert_severity: [critical], tiers: [1], stages: [PROD]}
    - {name: three-services, severity: SEV1, services_firing: 3, within: 10m}
  status_page: {title: Example status, services: [checkout]}
  process_document: {url: "https://wiki.example.com/incident-process", reviewed_at: 2026-11-20, reviewed_by: ann}
"""


def _changes(result):
    return sorted((c.action, c.kind, c.name) for c in result.changes if c.kind.startswith("incident"))


def test_the_incidents_section_applies_idempotently_and_prunes_what_it_owns(session, system_actor):
    first = plan.apply(session, loader.load_text(CONFIG, file="w.yaml"), actor=system_actor)
    assert _changes(first) == [
        ("create", "incident_policy", "critical-tier1-prod"), ("create", "incident_policy", "three-services"),
        ("create", "incident_settings", "notify"), ("create", "incident_settings", "postmortems"),
        ("create", "incident_settings", "process_document"),
        ("create", "incident_settings", "status_page"),
        ("create", "incident_severity", "SEV1"), ("create", "incident_severity", "SEV2")]
    assert [s.name for s in settings.declared_severities(session)] == ["SEV1", "SEV2"]
    assert settings.severities(session)["SEV1"].ack_within.total_seconds() == 300
    assert settings.severities(session)["SEV3"].description.startswith("Minor")  # the default fills the gap
    assert [p.name for p in settings.policies(session)] == ["critical-tier1-prod", "three-services"]
    assert settings.status_page(session).services == ["checkout"] and settings.process_document(session).reviewed_by == "ann"
    again = plan.apply(session, loader.load_text(CONFIG, file="w.yaml"), actor=system_actor)
    assert again.empty, [c.describe() for c in again.changes]
    changed = plan.apply(session, loader.load_text(CONFIG.replace("ack_within: 5m", "ack_within: 10m"), file="w.yaml"),
                         actor=system_actor)
    assert _changes(changed) == [("update", "incident_severity", "SEV1")]
    pruned = CONFIG[:CONFIG.index("  policies:")] + "  policies: []\n  status_page: {title: Example status, services: [checkout]}\n"
    gone = plan.apply(session, loader.load_text(pruned, file="w.yaml"), actor=system_actor, prune=True)
    assert _changes(gone) == [("delete", "incident_policy", "critical-tier1-prod"), ("delete", "incident_policy", "three-services"),
                              ("delete", "incident_settings", "process_document"), ("update", "incident_severity", "SEV1")]
    assert settings.policies(session) == [] and settings.process_document(session) is None


@pytest.mark.parametrize(("old", "new", "where", "what"), [
    ("name: SEV2,", "name: SEV5,", "w.yaml:6:", "incidents.severities[1].name"),
    ("services_firing: 3", "services_firing: 1", "w.yaml:9:", "greater than or equal to 2"),
    ('url: "https://wiki', 'url: "javascript://wiki', "w.yaml:11:", "http"),
])
def test_bad_incident_config_is_one_line_with_file_line_and_column(old, new, where, what):
    with pytest.raises(loader.ConfigInvalid) as caught:
        loader.load_text(CONFIG.replace(old, new), file="w.yaml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith(where) and what in message, message
