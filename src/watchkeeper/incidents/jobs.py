"""Incident job handlers (run by the worker as its system actor)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from watchkeeper.incidents import postmortems


def verify_action_items(session: Session, payload: dict, ctx) -> dict:
    """Verify the done action items whose fix has held for `verify_after`, and tell the
    subscribers of newly overdue postmortems (periodic, hourly)."""
    return {"verified": postmortems.verify_due(session), "overdue_notified": postmortems.notify_overdue(session)}


def weekly_review_email(session: Session, payload: dict, ctx) -> dict:
    """Every hour: from Monday 09:00 in incidents.notify.review_timezone, send last week's review
    to the review receivers, once per week (the outbox's idempotency key)."""
    import datetime as dt

    from watchkeeper import clock
    from watchkeeper.auth.service import Actor
    from watchkeeper.incidents import metrics, paging, settings
    from watchkeeper.validation import zone

    rules = settings.notify_rules(session)
    if not rules.review_receivers:
        return {"sent": []}
    local = clock.utcnow().astimezone(zone(rules.review_timezone))
    if local.weekday() != 0 or local.hour < 9:
        return {"sent": []}
    day = local.date() - dt.timedelta(days=7)
    review = metrics.weekly_review(session, day=day, timezone=rules.review_timezone, actor=Actor.system("incident-review", "system"))
    sent = paging.send_review(session, week_key=f"{review.week_start:%Y-%m-%d}:{rules.review_timezone}",
                              subject=f"Incident review: week of {review.week_start:%Y-%m-%d}", text=metrics.review_markdown(review))
    return {"sent": sent}
