"""The job queue: the database is the queue.

Jobs (one-off and periodic) live in `worker_job`, claimed with leases (FOR UPDATE SKIP LOCKED
plus a conditional update on PostgreSQL; the conditional update alone on SQLite), retried with
exponential backoff, and dead after the last attempt. Any domain enqueues work here and writes
handlers `(session, payload, ctx: JobContext)` in its own `jobs.py`, named in its descriptor
(watchkeeper/domain.py). Running jobs is the worker's business (watchkeeper/worker): the
runner, leader election, liveness and process supervision.
"""
