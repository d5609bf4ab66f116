"""The differences from Alertmanager that docs/alerting.md lists are the ones the code has."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting import _routing
from watchkeeper.alerting.schemas import AlertingConfig

DOC = (Path(__file__).resolve().parents[2] / "docs" / "alerting.md").read_text()


def test_default_grouping_is_alertname_and_service_as_documented():
    route = _routing.route(_routing.build({"receiver": "ops"}), {"alertname": "A", "service": "s", "pod": "p1"})[0]
    assert set(route.group_labels({"alertname": "A", "service": "s", "pod": "p1"}, "s")) == {"alertname", "service"}
    assert "**`[alertname, service]`** by default" in DOC and "## Differences from Alertmanager" in DOC
    only_service = _routing.route(_routing.build({"receiver": "ops", "group_by": []}), {"alertname": "A", "service": "s"})[0]
    assert only_service.group_labels({"alertname": "A"}, "s") == {"service": "s"}


@pytest.mark.parametrize("section", [
    {"route": {"receiver": "ops", "match": {"severity": "critical"}}},
    {"route": {"receiver": "ops", "match_re": {"severity": "crit.*"}}},
    {"inhibit_rules": [{"source_match": {"a": "1"}, "target_matchers": ['b="1"']}]},
])
def test_alertmanagers_deprecated_match_keys_are_refused_as_documented(section):
    with pytest.raises(ValueError, match="unknown field|extra|not permitted"):
        AlertingConfig.model_validate({"receivers": [{"name": "ops", "channels": [{"type": "email", "to": ["o@example.com"]}]}], **section})
    assert "deprecated `match`, `match_re`" in DOC
