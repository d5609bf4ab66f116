"""The daily built-in audits run through the worker: one job per service and suite."""

from __future__ import annotations

from watchkeeper.assessments import service as assessments
from watchkeeper.queue import service as queue
from watchkeeper import app as composition
from watchkeeper.queue.schemas import JobFilter
from tests.assessments.servers import make_certs, serve
from tests.factories.catalog import make_service
from tests.factories.auth import SYSTEM


def test_the_daily_schedule_queues_and_runs_each_service_s_built_in_suites(session_factory, container, tmp_path):
    certs = make_certs(tmp_path, self_signed=True)
    with serve(headers=[("X-Content-Type-Options", "nosniff")], certs=certs) as url:
        with session_factory() as s:
            make_service(s, name="web", public_url=url)
            make_service(s, name="batch")  # no public URL: no security run
            queue.enqueue(s, kind="assessments.schedule")
            s.commit()
        worker = composition.worker(container, session_factory=session_factory)
        worker.run_once()
        worker.run_once()
    with session_factory() as s:
        runs = {(r.service, r.suite.value) for svc in ("web", "batch") for r in assessments.list_runs(s, actor=SYSTEM, service=svc)}
        assert ("web", "security") in runs and ("batch", "security") not in runs
        assert {("web", "operations"), ("batch", "operations"), ("web", "performance"), ("batch", "performance")} <= runs
        security = assessments.list_runs(s, actor=SYSTEM, service="web", suite="security")[0]
        assert {c.id: c.status for c in security.checks}["tls_valid"] == "fail"
        jobs = queue.list_jobs(s, actor=SYSTEM, filter=JobFilter(kind="assessments.run"))
        assert len(jobs) == 5 and all(j.status.value == "succeeded" for j in jobs)
        # A second schedule the same day queues nothing new.
        queue.enqueue(s, kind="assessments.schedule")
        s.commit()
    composition.worker(container, session_factory=session_factory).run_once()
    with session_factory() as s:
        assert len(queue.list_jobs(s, actor=SYSTEM, filter=JobFilter(kind="assessments.run"))) == 5
