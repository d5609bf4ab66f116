"""Done means: Debian's Prometheus fires a rule, Debian's Alertmanager posts it to Watchkeeper
over real HTTP, and the email reaches a real SMTP server; the resolution follows the same way."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
import yaml

from tests.alerting.conftest import free_port
from tests.alerting.peers import binary, process, wait_for, watchkeeper_server
from tests.factories.auth import make_persona
from tests.factories.alerting import configure, email_receiver

pytestmark = pytest.mark.slow

RULE = """groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: CheckoutErrorsHigh
        expr: vector(1) {op} 0
        for: 0s
        labels: {{service: checkout, severity: critical}}
        annotations: {{summary: "checkout returns errors", runbook_url: "https://runbooks.example.com/checkout"}}
"""


def test_prometheus_to_alertmanager_to_watchkeeper_to_inbox_and_back(fresh_url, tmp_path, smtp_server):
    from watchkeeper.app import build, prepare_database
    from watchkeeper.config import Settings

    wk_port, am_port, prom_port = free_port(), free_port(), free_port()
    settings = Settings(database_url=fresh_url, data_dir=tmp_path / "data", secret_key=secrets.token_urlsafe(24),
                        public_url=f"http://127.0.0.1:{wk_port}", worker_poll_seconds=0.1)
    container = build(settings)
    prepare_database(container)
    with container.session() as session:
        bot = make_persona(session, "alertmanager-bot", ["responder"], scopes=["ingest"])
        configure(session, receivers=[email_receiver("ops", smtp_server.port)],
                  route={"receiver": "ops", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"})
        session.commit()

    am_dir, prom_dir = tmp_path / "am", tmp_path / "prom"
    am_dir.mkdir(), prom_dir.mkdir()
    (am_dir / "am.yml").write_text(yaml.safe_dump({
        "route": {"receiver": "watchkeeper", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
        "receivers": [{"name": "watchkeeper", "webhook_configs": [{
            "url": f"http://127.0.0.1:{wk_port}/api/v1/integrations/alertmanager", "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": bot.token}}}]}],
    }))
    rules = prom_dir / "rules.yml"
    rules.write_text(RULE.format(op=">"))
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
    }))
    try:
        with watchkeeper_server(container), \
             process([binary("prometheus-alertmanager"), f"--config.file={am_dir / 'am.yml'}", f"--storage.path={am_dir / 'data'}",
                      f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                     log=tmp_path / "alertmanager.log", ready_url=f"http://127.0.0.1:{am_port}/-/ready"), \
             process([binary("prometheus"), f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
                      f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-lifecycle",
                      "--rules.alert.resend-delay=1s"],
                     log=tmp_path / "prometheus.log", ready_url=f"http://127.0.0.1:{prom_port}/-/ready"):
            started = time.monotonic()
            wait_for(lambda: len(smtp_server.messages) >= 1, timeout=60, what="the firing email")
            firing = smtp_server.messages[0]
            assert str(firing["Subject"]) == "[FIRING:1] CheckoutErrorsHigh — checkout"
            body = smtp_server.bodies()[0]
            assert "checkout returns errors" in body and "runbook: https://runbooks.example.com/checkout" in body
            assert f"http://127.0.0.1:{wk_port}/ack/" in body
            assert f":{prom_port}/graph?g0.expr=" in body  # the generator URL from Prometheus

            rules.write_text(RULE.format(op="<"))
            assert httpx.post(f"http://127.0.0.1:{prom_port}/-/reload", timeout=10).status_code == 200
            wait_for(lambda: len(smtp_server.messages) >= 2, timeout=60, what="the resolved email")
            assert str(smtp_server.messages[1]["Subject"]) == "[RESOLVED] CheckoutErrorsHigh — checkout"
            assert "Resolved (1)" in smtp_server.bodies()[1]
            assert time.monotonic() - started < 60
    finally:
        container.dispose()
    assert len(smtp_server.messages) == 2
