"""Property tests: label matchers, the route tree and group timing."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper.alerting import _routing, _timing
from watchkeeper.labels import Matcher, escape_regex, fingerprint, parse_label_list, parse_matcher

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
values = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
label_sets = st.dictionaries(names, values, max_size=6)


@given(names, st.sampled_from(["=", "!=", "=~", "!~"]), values)
def test_a_matcher_survives_printing_and_parsing(name, op, value):
    if op in ("=~", "!~"):
        value = escape_regex(value)
    m = Matcher(name, op, value)
    assert parse_matcher(str(m)) == m


@given(names, values, label_sets)
def test_equal_and_not_equal_are_complements(name, value, labels):
    assert Matcher(name, "=", value).matches(labels) != Matcher(name, "!=", value).matches(labels)


@given(names, values, label_sets)
def test_regex_of_an_escaped_value_is_exact_equality_and_anchored(name, value, labels):
    exact = Matcher(name, "=~", escape_regex(value))
    assert exact.matches(labels) == Matcher(name, "=", value).matches(labels)
    assert exact.matches(labels) != Matcher(name, "!~", escape_regex(value)).matches(labels)
    assert not Matcher(name, "=~", escape_regex(value)).matches({name: value + "x"})


@given(names, label_sets)
def test_a_missing_label_is_the_empty_value(name, labels):
    labels.pop(name, None)
    assert Matcher(name, "=", "").matches(labels)
    assert not Matcher(name, "!=", "").matches(labels)


@given(label_sets)
def test_fingerprint_depends_only_on_the_label_set(labels):
    assert fingerprint(labels) == fingerprint(dict(reversed(list(labels.items()))))


@given(st.dictionaries(names, st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True), min_size=1, max_size=5))
def test_label_lists_round_trip(labels):
    assert parse_label_list(",".join(f"{k}={v}" for k, v in labels.items())) == labels


def _tree_strategy():
    leaf = st.fixed_dictionaries({
        "receiver": st.sampled_from(["a", "b", "c"]),
        "matchers": st.lists(st.builds(lambda n, v: f'{n}="{v}"', st.sampled_from(["sev", "team"]), st.sampled_from(["x", "y"])), max_size=2),
        "continue": st.booleans(),
    })
    return st.fixed_dictionaries({"receiver": st.just("root"), "routes": st.lists(
        st.fixed_dictionaries({"receiver": st.sampled_from(["a", "b"]), "matchers": leaf.map(lambda d: d["matchers"]),
                               "continue": st.booleans(), "routes": st.lists(leaf, max_size=3)}), max_size=4)})


@settings(max_examples=200)
@given(_tree_strategy(), st.fixed_dictionaries({"sev": st.sampled_from(["x", "y", ""]), "team": st.sampled_from(["x", "y", ""])}))
def test_every_alert_reaches_at_least_one_route_and_only_routes_it_matches(spec, labels):
    tree = _routing.build(spec)
    found = _routing.route(tree, labels)
    assert found
    by_path = {}

    def index(node):
        by_path[node.path] = node
        for c in node.children:
            index(c)

    index(tree)
    for r in found:
        parts = r.path.split(".")
        for i in range(1, len(parts) + 1):  # the route and every ancestor match the labels
            assert all(m.matches(labels) for m in by_path[".".join(parts[:i])].matchers)
    assert len({r.path for r in found}) == len(found)
    # Without `continue`, siblings are never both chosen.
    top = list(dict.fromkeys(r.path.split(".")[1] for r in found if r.path.count(".") >= 1))
    for idx in top[:-1]:
        assert spec["routes"][int(idx)]["continue"]


moments = st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2026, 12, 31)).map(lambda d: d.replace(tzinfo=dt.timezone.utc))
spans = st.integers(min_value=0, max_value=7200).map(lambda s: dt.timedelta(seconds=s))


@given(moments, st.none() | moments, st.none() | moments, spans, spans)
def test_a_group_never_flushes_inside_its_group_interval(now, scheduled, last, wait, interval):
    if last is not None and last > now:
        last = now
    when = _timing.next_flush_after_change(now=now, scheduled=scheduled, last_notified_at=last, group_wait=wait, group_interval=interval)
    if scheduled is not None:
        assert when <= scheduled
    if scheduled is None or scheduled >= now:
        if last is None and scheduled is None:
            assert when == now + wait
        elif last is not None and (scheduled is None or scheduled >= last + interval):
            assert when >= last + interval and when >= now
