"""The embedded metrics store: series, raw samples, 1-minute and 1-hour roll-ups, retention.

Probe results land here as `probe_success` (1/0) and `probe_duration_seconds` per monitor and
location; users push their own series (business KPIs) and scrape monitors add Prometheus
targets' samples. Queries read raw samples while the window is within raw retention and
switch to roll-ups (count/sum/min/max per bucket) for older data, so a 30-day SLO never scans
30 days of raw rows. When one installation outgrows this (hundreds of thousands of series),
point rules and SLOs at an external Prometheus instead (docs/monitoring.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.errors import InvalidInput
from watchkeeper.clock import to_ms
from watchkeeper.db.statements import dialect_insert, insert_ignore
from watchkeeper.monitoring.metrics import language
from watchkeeper.monitoring.metrics.schemas import MetricSample, PushResult, SeriesRead
from watchkeeper.monitoring.models import Rollup, RollupMark, Sample, Series

log = logging.getLogger(__name__)

RESOLUTIONS = (60, 3600)
MAX_PUSH = 50_000
# Cardinality limits of one push: each series is a row kept for the retention period and a
# line in every query, so a client must not create thousands in one request (issue 9).
MAX_SERIES_PER_PUSH = 5_000
MAX_LABELS = 32
MAX_LABEL_VALUE = 1_024
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class Retention:
    raw: dt.timedelta = dt.timedelta(days=7)
    minute: dt.timedelta = dt.timedelta(days=30)
    hour: dt.timedelta = dt.timedelta(days=400)

    @classmethod
    def from_settings(cls, settings) -> "Retention":
        return cls(
            raw=dt.timedelta(days=settings.metrics_raw_retention_days),
            minute=dt.timedelta(days=settings.metrics_minute_retention_days),
            hour=dt.timedelta(days=settings.metrics_hour_retention_days),
        )


def series_key(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


class SeriesLimitReached(InvalidInput):
    """Creating these series would take the store past its series limit."""

    def __init__(self, *, held: int, limit: int, new: int):
        super().__init__(
            f"the metrics store holds {held} series and its limit is {limit} (WATCHKEEPER_METRICS_MAX_SERIES); this "
            f"would add {new} new ones. Drop labels with unbounded values (ids, timestamps) or raise the limit",
            field="samples")
        self.held, self.limit, self.new = held, limit, new


def ensure_series(session: Session, items: Iterable[tuple[str, dict[str, str]]], cache: dict[str, int] | None = None,
                  *, max_series: int | None = None) -> list[int]:
    """Series ids for (name, labels) pairs, creating missing series. `cache` (key → id) saves
    lookups across calls; the caller clears it if series may have been pruned. With
    `max_series`, raises SeriesLimitReached instead of creating series past that many in the
    store (counted only when there are series to create)."""
    cache = cache if cache is not None else {}
    items = list(items)
    keys = [series_key(n, lbl) for n, lbl in items]
    missing = sorted({k for k in keys if k not in cache})
    for i in range(0, len(missing), _CHUNK):
        chunk = missing[i : i + _CHUNK]
        cache.update(dict(session.execute(select(Series.key, Series.id).where(Series.key.in_(chunk))).all()))
    still = {k: item for k, item in zip(keys, items) if k not in cache}
    if still and max_series is not None:
        held = session.execute(select(func.count(Series.id))).scalar_one()
        if held + len(still) > max_series:
            raise SeriesLimitReached(held=held, limit=max_series, new=len(still))
    if still:
        now = clock.utcnow()
        insert_ignore(session, Series, [
            {"key": k, "name": n, "labels": dict(lbl), "created_at": now} for k, (n, lbl) in still.items()
        ], ["key"])
        chunk_keys = list(still)
        for i in range(0, len(chunk_keys), _CHUNK):
            cache.update(dict(session.execute(
                select(Series.key, Series.id).where(Series.key.in_(chunk_keys[i : i + _CHUNK]))
            ).all()))
    return [cache[k] for k in keys]


def write(
    session: Session, samples: Iterable[tuple[str, dict[str, str], float, int]], *, cache: dict[str, int] | None = None,
    max_series: int | None = None,
) -> tuple[int, int]:
    """Store (name, labels, value, ts_ms) samples. Returns (samples, distinct series). Does not commit.
    Raises SeriesLimitReached (nothing written) when new series would pass `max_series`.

    Samples behind a roll-up mark (back-fills, SLO catch-up, late pushes) are also added to the
    roll-ups already made, so every reader sees them whichever path it takes.
    """
    samples = list(samples)
    if not samples:
        return 0, 0
    ids = ensure_series(session, ((n, lbl) for n, lbl, _, _ in samples), cache, max_series=max_series)
    session.execute(insert(Sample), [
        {"series_id": sid, "ts_ms": ts, "value": float(v)} for sid, (_, _, v, ts) in zip(ids, samples)
    ])
    _merge_behind_marks(session, [(sid, ts, float(v)) for sid, (_, _, v, ts) in zip(ids, samples)])
    return len(samples), len(set(ids))


def _merge_behind_marks(session: Session, rows: list[tuple[int, int, float]]) -> None:
    """Add samples that landed behind a roll-up mark to the buckets that mark already covers.

    The roll-up never reaches the current or the previous minute, so fresh samples cost nothing
    here. Older ones take a shared lock on the marks (PostgreSQL; SQLite serialises writers): a
    roll-up running now either finishes first (and we see its new mark) or waits for us (and
    reads our samples itself), so no sample is counted twice or lost between the two.
    """
    horizon = to_ms(clock.utcnow()) // 60_000 * 60_000 - 60_000
    old = [r for r in rows if r[1] < horizon]
    if not old:
        return
    marks = dict(session.execute(
        select(RollupMark.resolution_s, RollupMark.done_until_ms).with_for_update(read=True)
    ).all())
    for resolution in RESOLUTIONS:
        mark = marks.get(resolution)
        if mark is None:
            continue
        res_ms = resolution * 1000
        acc: dict[tuple[int, int], tuple[int, float, float, float]] = {}
        for sid, ts, v in old:
            if ts >= mark:  # marks sit on bucket boundaries: the roll-up will read this sample itself
                continue
            key = (sid, ts // res_ms * res_ms)
            c, s, lo, hi = acc.get(key, (0, 0.0, v, v))
            acc[key] = (c + 1, s + v, min(lo, v), max(hi, v))
        if not acc:
            continue
        stmt = dialect_insert(session, Rollup)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["series_id", "resolution_s", "bucket_ms"],
            set_={"count": Rollup.count + new["count"], "sum": Rollup.sum + new["sum"],
                  "min": case((new["min"] < Rollup.min, new["min"]), else_=Rollup.min),
                  "max": case((new["max"] > Rollup.max, new["max"]), else_=Rollup.max)},
        )
        merged = [{"series_id": sid, "resolution_s": resolution, "bucket_ms": b, "count": c, "sum": s, "min": lo, "max": hi}
                  for (sid, b), (c, s, lo, hi) in sorted(acc.items())]
        for i in range(0, len(merged), 2000):
            session.connection().execute(stmt, merged[i : i + 2000])


def push(session: Session, *, samples: list[MetricSample], actor: Actor, max_series: int | None = None) -> PushResult:
    """Store pushed samples (business KPIs, batch job results). Needs `metric.push`.

    Not audited per call: pushes are data, not configuration (like alert ingest and pings).
    Raises InvalidInput for an empty or oversized batch, SeriesLimitReached past the store's
    series limit (all or nothing). Does not commit.
    """
    require(actor, "metric.push")
    if not samples:
        raise InvalidInput("no samples given; send at least one", field="samples")
    if len(samples) > MAX_PUSH:
        raise InvalidInput(f"{len(samples)} samples in one push; send at most {MAX_PUSH} per request", field="samples")
    _check_cardinality(samples)
    now_ms = to_ms(clock.utcnow())
    rows = [(s.name, s.labels, s.value, to_ms(s.timestamp) if s.timestamp else now_ms) for s in samples]
    count, series = write(session, rows, max_series=max_series)
    return PushResult(accepted=count, series=series)


def _check_cardinality(samples: list[MetricSample]) -> None:
    """Raise InvalidInput for a series with too many or too long labels, or a push that names
    more distinct series than MAX_SERIES_PER_PUSH."""
    series: set[tuple] = set()
    for i, s in enumerate(samples):
        if len(s.labels) > MAX_LABELS:
            raise InvalidInput(f"samples[{i}] ({s.name}) has {len(s.labels)} labels; a series may have at most {MAX_LABELS}",
                               field=f"samples[{i}].labels")
        for key, value in s.labels.items():
            if len(value) > MAX_LABEL_VALUE:
                raise InvalidInput(f"samples[{i}] ({s.name}) label {key!r} is {len(value)} characters long; "
                                   f"at most {MAX_LABEL_VALUE}", field=f"samples[{i}].labels.{key}")
        series.add((s.name, tuple(sorted(s.labels.items()))))
    if len(series) > MAX_SERIES_PER_PUSH:
        raise InvalidInput(f"{len(series)} distinct series in one push; send at most {MAX_SERIES_PER_PUSH} "
                           "(labels with unbounded values, like ids or timestamps, make a new series each time)",
                           field="samples")


def parse_text(text: str) -> list[MetricSample]:
    """Prometheus text exposition → samples. Raises InvalidInput naming the problem."""
    from prometheus_client.parser import text_string_to_metric_families

    out = []
    try:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                ts = dt.datetime.fromtimestamp(float(s.timestamp), dt.timezone.utc) if s.timestamp else None
                out.append(MetricSample(name=s.name, labels=dict(s.labels), value=s.value, timestamp=ts))
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidInput(f"the body is not Prometheus text exposition: {str(exc)[:200]}; "
                           "send lines like `orders_total{region=\"eu\"} 42` or JSON samples", field="body") from None
    return out


# ---------------------------------------------------------------- reading


def find_series(session: Session, selector: language.Selector) -> list[tuple[int, dict[str, str]]]:
    rows = session.execute(select(Series.id, Series.labels).where(Series.name == selector.name)).all()
    return [(sid, lbl) for sid, lbl in rows if selector.matches(selector.name, lbl)]


def raw_points(session: Session, ids: list[int], start_ms: int, end_ms: int) -> dict[int, list[tuple[int, float]]]:
    """Samples with start <= ts <= end per series, oldest first."""
    out: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for i in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Sample.series_id, Sample.ts_ms, Sample.value)
            .where(Sample.series_id.in_(ids[i : i + _CHUNK]), Sample.ts_ms >= start_ms, Sample.ts_ms <= end_ms)
            .order_by(Sample.series_id, Sample.ts_ms)
        ).all()
        for sid, ts, value in rows:
            out[sid].append((ts, value))
    return out


def _buckets(session: Session, ids: list[int], resolution: int, start_ms: int, end_ms: int) -> dict[int, list[tuple[int, float, float, float]]]:
    out: dict[int, list[tuple[int, float, float, float]]] = defaultdict(list)
    for i in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(Rollup.series_id, Rollup.count, Rollup.sum, Rollup.min, Rollup.max)
            .where(Rollup.series_id.in_(ids[i : i + _CHUNK]), Rollup.resolution_s == resolution,
                   Rollup.bucket_ms >= start_ms, Rollup.bucket_ms < end_ms)
        ).all()
        for sid, count, total, lo, hi in rows:
            out[sid].append((count, total, lo, hi))
    return out


def _marks(session: Session, *, lock: bool = False) -> dict[int, int]:
    query = select(RollupMark.resolution_s, RollupMark.done_until_ms)
    return dict(session.execute(query.with_for_update() if lock else query).all())


def evaluate(
    session: Session, query: language.Query, *, at: dt.datetime | None = None, retention: Retention | None = None
) -> dict[language.Labels, float]:
    """One value per `by` group for the query's window ending at `at`.

    Within raw retention the raw samples are used (exact). Older windows combine hour roll-ups,
    then minute roll-ups, then the raw samples not yet rolled up.
    """
    retention = retention or Retention()
    at = at or clock.utcnow()
    end_ms = to_ms(at)
    start_ms = end_ms - int(query.window_seconds * 1000)
    series = find_series(session, query.selector)
    if not series:
        return {}
    ids = [sid for sid, _ in series]
    labels = dict(series)
    if start_ms >= to_ms(at - retention.raw):
        pts = raw_points(session, ids, start_ms, end_ms)
        return language.aggregate_raw(query, ((labels[sid], pts.get(sid, [])) for sid in ids))
    marks = _marks(session)
    per: dict[int, list[tuple[int, float, float, float]]] = defaultdict(list)
    cursor = start_ms
    for resolution in (3600, 60):
        mark = marks.get(resolution)
        if mark is None or mark <= cursor:
            continue
        mark = min(mark, end_ms)  # a window ending in the past (an SLA month) stops at its end
        for sid, rows in _buckets(session, ids, resolution, cursor, mark).items():
            per[sid].extend(rows)
        cursor = mark
    for sid, pts in raw_points(session, ids, cursor, end_ms).items():
        per[sid].extend((1, v, v, v) for _, v in pts)
    return language.aggregate_buckets(query, ((labels[sid], per.get(sid, [])) for sid in ids))


def read_series(
    session: Session, selector: language.Selector, *, start: dt.datetime, end: dt.datetime, step: dt.timedelta | None = None,
    retention: Retention | None = None, limit_series: int = 50,
) -> list[SeriesRead]:
    """Points for charts: raw samples for short ranges, roll-up averages for long ones."""
    retention = retention or Retention()
    series = find_series(session, selector)[:limit_series]
    ids = [sid for sid, _ in series]
    start_ms, end_ms = to_ms(start), to_ms(end)
    span = end - start
    resolution = None
    if step is not None and step >= dt.timedelta(hours=1) or span > dt.timedelta(days=8) or start < clock.utcnow() - retention.raw:
        resolution = 3600
    elif step is not None and step >= dt.timedelta(minutes=1) or span > dt.timedelta(hours=6):
        resolution = 60
    out = []
    if resolution is None:
        pts = raw_points(session, ids, start_ms, end_ms)
        for sid, lbl in series:
            out.append(SeriesRead(name=selector.name, labels=lbl, points=[(ts / 1000, v) for ts, v in pts.get(sid, [])]))
        return out
    rows = defaultdict(list)
    for i in range(0, len(ids), _CHUNK):
        for sid, bucket, count, total in session.execute(
            select(Rollup.series_id, Rollup.bucket_ms, Rollup.count, Rollup.sum)
            .where(Rollup.series_id.in_(ids[i : i + _CHUNK]), Rollup.resolution_s == resolution,
                   Rollup.bucket_ms >= start_ms, Rollup.bucket_ms <= end_ms)
            .order_by(Rollup.bucket_ms)
        ).all():
            rows[sid].append((bucket / 1000, total / count if count else 0.0))
    # the newest part is not rolled up yet: add raw samples after the mark, averaged per bucket
    mark = _marks(session).get(resolution, start_ms)
    if mark < end_ms:
        res_ms = resolution * 1000
        for sid, pts in raw_points(session, ids, max(mark, start_ms), end_ms).items():
            acc: dict[int, list[float]] = defaultdict(list)
            for ts, v in pts:
                acc[ts // res_ms * res_ms].append(v)
            rows[sid].extend((b / 1000, sum(vs) / len(vs)) for b, vs in sorted(acc.items()))
    for sid, lbl in series:
        out.append(SeriesRead(name=selector.name, labels=lbl, points=rows.get(sid, [])))
    return out


def query(session: Session, parsed: language.Rule, *, actor: Actor, retention: Retention | None = None) -> dict[language.Labels, float]:
    """What `GET /metrics/query` answers: the parsed expression evaluated now, for an actor who
    may read metrics. Raises PermissionDenied."""
    require(actor, "metric.read")
    return evaluate(session, parsed.query, retention=retention)


def series(session: Session, selector: language.Selector, *, actor: Actor, start: dt.datetime, end: dt.datetime,
           retention: Retention | None = None) -> list[SeriesRead]:
    """What `GET /metrics/series` answers: `read_series` for an actor who may read metrics.
    Raises PermissionDenied."""
    require(actor, "metric.read")
    return read_series(session, selector, start=start, end=end, retention=retention)


def list_series(session: Session, *, name: str | None = None, limit: int = 200) -> list[dict]:
    query = select(Series.name, Series.labels).order_by(Series.name, Series.key).limit(limit)
    if name:
        query = query.where(Series.name == name)
    return [{"name": n, "labels": lbl} for n, lbl in session.execute(query).all()]


# ---------------------------------------------------------------- roll-up and retention


def rollup(session: Session, *, now: dt.datetime | None = None, max_span: dt.timedelta = dt.timedelta(days=2)) -> dict[int, int]:
    """Aggregate complete buckets into 1-minute (from raw) and 1-hour (from 1-minute) roll-ups.

    A bucket is rolled up once it ended a full bucket ago, so samples that arrive a little
    late still count. Idempotent: a mark records how far each resolution got; samples written
    behind a mark later are merged into its buckets by write(). The marks are locked for the
    transaction so such a write waits for the new mark. Does not commit.
    """
    now_ms = to_ms(now or clock.utcnow())
    marks = _marks(session, lock=True)
    done: dict[int, int] = {}
    for resolution in RESOLUTIONS:
        res_ms = resolution * 1000
        end = (now_ms // res_ms) * res_ms - res_ms
        if resolution == 3600:
            # hours are built from minutes: never beyond what the minutes have covered
            minute_mark = done.get(60, marks.get(60))
            if minute_mark is None:
                continue
            end = min(end, (minute_mark // res_ms) * res_ms)
        mark = marks.get(resolution)
        if mark is None:
            first = (
                session.execute(select(func.min(Sample.ts_ms))).scalar()
                if resolution == 60
                else session.execute(select(func.min(Rollup.bucket_ms)).where(Rollup.resolution_s == 60)).scalar()
            )
            if first is None:
                continue
            mark = (first // res_ms) * res_ms
            session.add(RollupMark(resolution_s=resolution, done_until_ms=mark))
            session.flush()
        end = min(end, mark + int(max_span.total_seconds() * 1000))
        if end <= mark:
            continue
        bucket = ((Sample.ts_ms // res_ms) * res_ms) if resolution == 60 else ((Rollup.bucket_ms // res_ms) * res_ms)
        if resolution == 60:
            source = (
                select(Sample.series_id, bucket, func.count(), func.sum(Sample.value), func.min(Sample.value), func.max(Sample.value))
                .where(Sample.ts_ms >= mark, Sample.ts_ms < end)
                .group_by(Sample.series_id, bucket)
            )
        else:
            source = (
                select(Rollup.series_id, bucket, func.sum(Rollup.count), func.sum(Rollup.sum), func.min(Rollup.min), func.max(Rollup.max))
                .where(Rollup.resolution_s == 60, Rollup.bucket_ms >= mark, Rollup.bucket_ms < end)
                .group_by(Rollup.series_id, bucket)
            )
        rows = [
            {"series_id": sid, "resolution_s": resolution, "bucket_ms": b, "count": c, "sum": s, "min": lo, "max": hi}
            for sid, b, c, s, lo, hi in session.execute(source).all()
        ]
        for i in range(0, len(rows), 2000):
            insert_ignore(session, Rollup, rows[i : i + 2000], ["series_id", "resolution_s", "bucket_ms"])
        session.execute(
            RollupMark.__table__.update().where(RollupMark.resolution_s == resolution).values(done_until_ms=end)
        )
        done[resolution] = end
        log.debug("rolled up", extra={"resolution": resolution, "buckets": len(rows)})
    return done


def drop(session: Session, selector: language.Selector, *, from_ms: int | None = None) -> int:
    """Delete the samples and roll-ups of the matching series from `from_ms` on (all when None).

    `from_ms` must sit on an hour boundary so no roll-up bucket is cut in two. Returns the
    samples deleted. Does not commit.
    """
    if from_ms is not None and from_ms % 3_600_000:
        raise ValueError("drop() starts on an hour boundary")
    ids = [sid for sid, _ in find_series(session, selector)]
    deleted = 0
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        samples = delete(Sample).where(Sample.series_id.in_(chunk))
        rollups = delete(Rollup).where(Rollup.series_id.in_(chunk))
        if from_ms is not None:
            samples = samples.where(Sample.ts_ms >= from_ms)
            rollups = rollups.where(Rollup.bucket_ms >= from_ms)
        deleted += session.execute(samples).rowcount
        session.execute(rollups)
    return deleted


def prune(session: Session, *, retention: Retention, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete raw samples and roll-ups past their retention. Does not commit."""
    now = now or clock.utcnow()
    out = {}
    marks = _marks(session)
    # never delete what has not been rolled up yet (a stalled roll-up must not lose data)
    raw_cut = min(to_ms(now - retention.raw), marks.get(60, 0))
    minute_cut = min(to_ms(now - retention.minute), marks.get(3600, 0))
    out["samples"] = session.execute(delete(Sample).where(Sample.ts_ms < raw_cut)).rowcount
    out["rollups_1m"] = session.execute(
        delete(Rollup).where(Rollup.resolution_s == 60, Rollup.bucket_ms < minute_cut)
    ).rowcount
    out["rollups_1h"] = session.execute(
        delete(Rollup).where(Rollup.resolution_s == 3600, Rollup.bucket_ms < to_ms(now - retention.hour))
    ).rowcount
    return out
