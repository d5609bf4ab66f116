"""The worker: the database is the queue.

Owns jobs (one-off and periodic) stored in `worker_job`, claimed with leases (FOR UPDATE SKIP
LOCKED plus a conditional update on PostgreSQL; the conditional update alone on SQLite), retries
with exponential backoff, a dead state after the last attempt, and singleton duties run by one
elected leader (an advisory lock on PostgreSQL, a lease row on SQLite). Domains contribute
handlers through their own `jobs.py`; `registry.py` lists them explicitly.
"""
