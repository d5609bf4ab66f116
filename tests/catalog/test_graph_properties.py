"""Property tests for the dependency graph: a reported cycle is real; no report means acyclic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from watchkeeper.catalog.graph import find_cycle, upstream

nodes = st.sampled_from(list("abcdefgh"))
graphs = st.dictionaries(nodes, st.sets(nodes, max_size=4), max_size=8)


def _topo_ok(edges) -> bool:
    indeg_order, seen, temp = [], set(), set()

    def visit(n):
        if n in temp:
            return False
        if n in seen:
            return True
        temp.add(n)
        for m in edges.get(n, ()):
            if not visit(m):
                return False
        temp.discard(n)
        seen.add(n)
        indeg_order.append(n)
        return True

    return all(visit(n) for n in list(edges))


@given(graphs)
def test_reported_cycle_is_a_real_closed_path(edges):
    cycle = find_cycle(edges)
    if cycle is None:
        assert _topo_ok(edges)
    else:
        assert cycle[0] == cycle[-1]
        for a, b in zip(cycle, cycle[1:]):
            assert b in edges.get(a, set())


@given(graphs, nodes)
def test_upstream_is_exactly_the_reachable_set(edges, start):
    reach, stack = set(), [start]
    while stack:
        for m in edges.get(stack.pop(), ()):
            if m not in reach:
                reach.add(m)
                stack.append(m)
    reach.discard(start)
    assert set(upstream(edges, start)) == reach
    assert len(upstream(edges, start)) == len(reach)
