"""Internal signals: how any domain raises and resolves an alert without importing the alert
pipeline. `service.emit()` records the transition and publishes `events.SignalChanged` in the
caller's transaction."""
