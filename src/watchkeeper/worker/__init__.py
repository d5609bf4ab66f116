"""The worker: runs the queue's jobs (watchkeeper/queue).

The runner claims and executes jobs, the elected leader (an advisory lock on PostgreSQL, a
lease row on SQLite) enqueues periodic jobs, liveness takes back the claims of dead worker
processes, and `serve` supervises a worker child. The worker imports no domain: the
composition root (`watchkeeper.app.worker()`) hands it the jobs, schedules, loops and
reclaimers that the domains declare.
"""
