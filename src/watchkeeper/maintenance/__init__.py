"""Maintenance: scheduled windows (one-off or recurring by RRULE or cron) per service or label
matchers. During a window alerts are recorded but not sent (this domain implements alerting's
Suppressor port, wired in `app.wire()`); the change calendar in the UI shows the windows, and
later the deploy gate asks the same service. Maintenance knows nothing about alerting.
"""
