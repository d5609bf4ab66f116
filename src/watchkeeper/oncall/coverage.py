"""Coverage analysis: does level 1 of a service's escalation policy cover the service's
declared support hours over the next N days, before a gap bites?

For each service: the support hours (catalog `support_hours`: 24x7, or business days and hours
in a zone; none declared counts as 24x7) become required stretches; level 1 of the policy
(person targets always, schedule targets through `timeline.final_timeline`) gives who is on
call when. A gap is required time with nobody on call ("nobody") or with only people who have
no contact method ("no_contact"). The people on call at level 1 during support hours give the
bus factor. PASS: no gap and at least two reachable people; WARN: bus factor 1; FAIL: a gap or
no policy — the first gap's time in the reason.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from watchkeeper import clock
from watchkeeper.auth.service import Actor, require
from watchkeeper.catalog import service as catalog
from watchkeeper.catalog import teams
from watchkeeper.errors import InvalidInput, NotFound
from watchkeeper.oncall import policies, service as schedules
from watchkeeper.oncall.schemas import DAYS, CoverageRead, Gap, PolicyRead, Segment
from watchkeeper.oncall.timeline import wall_to_utc

UTC = dt.timezone.utc
DEFAULT_DAYS = 14  # the readiness item `oncall_coverage` looks 14 days ahead
MAX_DAYS = 92

Span = tuple[dt.datetime, dt.datetime]


def support_spans(hours, start: dt.datetime, end: dt.datetime) -> list[Span]:
    """The stretches of [start, end) a service must be supported (hours: catalog SupportHours or None = 24x7)."""
    if hours is None or hours.kind == "24x7":
        return [(start, end)]
    tz = ZoneInfo(hours.timezone)
    out: list[Span] = []
    day, last = start.astimezone(tz).date() - dt.timedelta(days=1), end.astimezone(tz).date() + dt.timedelta(days=1)
    while day <= last:
        if DAYS[day.weekday()] in hours.days:
            lo = max(wall_to_utc(dt.datetime.combine(day, hours.start), tz), start)
            hi = min(wall_to_utc(dt.datetime.combine(day, hours.end), tz), end)
            if lo < hi:
                out.append((lo, hi))
        day += dt.timedelta(days=1)
    return out


def level_one(persons: Sequence[str], timelines: Sequence[Sequence[Segment]], start: dt.datetime,
              end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime, frozenset[str]]]:
    """Who is on call at level 1 in [start, end): sorted stretches with the set of people (person
    targets always; each schedule target's final timeline). Stretches with nobody are left out."""
    cuts = {start, end}
    for segs in timelines:
        for s in segs:
            cuts.update((max(s.start, start), min(s.end, end)))
    points = sorted(c for c in cuts if start <= c <= end)
    starts = [[s.start for s in segs] for segs in timelines]
    out = []
    for lo, hi in zip(points, points[1:]):
        people = set(persons)
        for segs, st in zip(timelines, starts):
            i = bisect.bisect_right(st, lo) - 1
            if i >= 0 and segs[i].start <= lo < segs[i].end:
                people.add(segs[i].person)
        if people:
            out.append((lo, hi, frozenset(people)))
    return out


def find_gaps(required: Sequence[Span], oncall: Sequence[tuple[dt.datetime, dt.datetime, frozenset[str]]],
              reachable: Callable[[str], bool]) -> list[Gap]:
    """Required time with nobody reachable at level 1, merged into maximal gaps."""
    cuts = set()
    for lo, hi in required:
        cuts.update((lo, hi))
    for lo, hi, _p in oncall:
        cuts.update((lo, hi))
    points = sorted(cuts)
    req_starts = [r[0] for r in required]
    on_starts = [o[0] for o in oncall]
    gaps: list[Gap] = []
    for lo, hi in zip(points, points[1:]):
        i = bisect.bisect_right(req_starts, lo) - 1
        if i < 0 or not required[i][0] <= lo < required[i][1]:
            continue
        j = bisect.bisect_right(on_starts, lo) - 1
        people = oncall[j][2] if j >= 0 and oncall[j][0] <= lo < oncall[j][1] else frozenset()
        if any(reachable(p) for p in people):
            continue
        kind = "no_contact" if people else "nobody"
        names = sorted(people)
        if gaps and gaps[-1].end == lo and gaps[-1].kind == kind and gaps[-1].people == names:
            gaps[-1] = Gap(start=gaps[-1].start, end=hi, kind=kind, people=names)
        else:
            gaps.append(Gap(start=lo, end=hi, kind=kind, people=names))
    return gaps


def _describe(hours) -> str:
    if hours is None:
        return "24x7 (none declared)"
    if hours.kind == "24x7":
        return "24x7"
    return f"{','.join(hours.days)} {hours.start:%H:%M}-{hours.end:%H:%M} {hours.timezone}"


def _contactable(session: Session) -> Callable[[str], bool]:
    cache: dict[str, bool] = {}

    def reachable(handle: str) -> bool:
        if handle not in cache:
            try:
                person = teams.lookup_person(session, handle=handle)
                cache[handle] = bool(person.email or person.contact_methods)
            except NotFound:
                cache[handle] = False
        return cache[handle]

    return reachable


def analyse(session: Session, *, service, days: int = DEFAULT_DAYS, now: dt.datetime | None = None) -> CoverageRead:
    """Coverage of one service (a catalog ServiceRead) over [now, now + days). No permission
    check: the readiness provider and `coverage` (which checks) call it."""
    start = (now or clock.utcnow()).astimezone(UTC)
    end = start + dt.timedelta(days=days)
    policy = policies.policy_of(session, service=service.name)
    hours = service.support_hours
    base = dict(service=service.name, start=start, end=end, support_hours=_describe(hours))
    if policy is None:
        return CoverageRead(**base, policy=None, status="fail", gaps=[], people=[], bus_factor=0, contactless=[],
                            reason=f"service '{service.name}' has no escalation policy; add one under oncall.policies "
                                   "listing the service")
    required = support_spans(hours, start, end)
    oncall = level_one_of(session, policy, start, end)
    reachable = _contactable(session)
    gaps = find_gaps(required, oncall, reachable)
    people: set[str] = set()
    for lo, hi, who in oncall:  # on call at level 1 during support hours
        if _overlaps(required, lo, hi):
            people |= who
    contactless = sorted(p for p in people if not reachable(p))
    bus = len(people) - len(contactless)
    if gaps:
        first = gaps[0]
        what = "nobody is on call" if first.kind == "nobody" else f"{', '.join(first.people)} has no contact method"
        status, reason = "fail", (f"level 1 of policy '{policy.name}' leaves support hours uncovered from "
                                  f"{first.start:%Y-%m-%d %H:%M} UTC ({what}); {len(gaps)} gap(s) in the next {days} days")
    elif bus < 2:
        status, reason = "warn", (f"only {', '.join(sorted(set(people) - set(contactless))) or 'nobody'} covers level 1 of policy "
                                  f"'{policy.name}' in the next {days} days (bus factor {bus}); add a second person to the rotation")
    else:
        status, reason = "pass", (f"level 1 of policy '{policy.name}' covers {_describe(hours)} for the next {days} days "
                                  f"with {bus} people")
    return CoverageRead(**base, policy=policy.name, status=status, reason=reason, gaps=gaps, people=sorted(people),
                        bus_factor=bus, contactless=contactless)


def _overlaps(required: Sequence[Span], lo: dt.datetime, hi: dt.datetime) -> bool:
    return any(r_lo < hi and lo < r_hi for r_lo, r_hi in required)


def level_one_of(session: Session, policy: PolicyRead, start: dt.datetime, end: dt.datetime):
    first = policy.levels[0]
    persons = [t.name for t in first.targets if t.kind == "person"]
    persons += [h for t in first.targets if t.kind == "team" for h in policies.team_members(session, t.name)]
    timelines = [schedules.segments(session, name=t.name, start=start, end=end) for t in first.targets if t.kind == "schedule"]
    return level_one(persons, timelines, start, end)


def coverage(session: Session, *, actor: Actor, service: str | None = None, days: int = DEFAULT_DAYS,
             now: dt.datetime | None = None) -> list[CoverageRead]:
    """Coverage of one service, or of every service the actor may read (`oncall.read` on the
    service). `days` is 1 to 92."""
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}", field="days")
    if service:
        svc = catalog.lookup_service(session, name=service)
        require(actor, "oncall.read", team=svc.team, service=svc.name)
        return [analyse(session, service=svc, days=days, now=now)]
    require(actor, "oncall.read")
    return [analyse(session, service=s, days=days, now=now) for s in catalog.list_services(session, actor=actor)
            if actor.can("oncall.read", team=s.team, service=s.name)]
