"""Service dependencies as a graph (pure): cycles and everything upstream of a service. The
catalog refuses a cycle on write; `validate` and `apply` find it in the file first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycle(edges: Mapping[str, Iterable[str]], start: str | None = None) -> list[str] | None:
    """Return one cycle as a path [a, b, ..., a], or None when the graph is acyclic.

    With `start`, a cycle through `start` is reported from it when there is one."""
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            state = colour.get(nxt, white)
            if state == grey:
                return stack[stack.index(nxt):] + [nxt]
            if state == white:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = black
        return None

    for node in ([start] if start is not None else []) + sorted(edges):
        if colour.get(node, white) == white:
            found = visit(node)
            if found:
                return found
    return None


def upstream(edges: Mapping[str, Iterable[str]], start: str) -> list[str]:
    """Every service `start` depends on, directly or transitively, nearest first."""
    seen: list[str] = []
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for node in frontier:
            for dep in sorted(edges.get(node, ())):
                if dep != start and dep not in seen:
                    seen.append(dep)
                    nxt.append(dep)
        frontier = nxt
    return seen
