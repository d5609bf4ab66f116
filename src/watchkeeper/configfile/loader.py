"""Load watchkeeper.yaml and report every problem as `file:line:column: what — how to fix`.

PyYAML's composer gives each node a position; we keep a map from key path to position so a
pydantic error at ("services", 2, "tier") points at the line where that value is written.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from watchkeeper.catalog.graph import find_cycle
from watchkeeper.configfile.schema import WatchkeeperConfig
from watchkeeper.validation import plain_message

Path_ = tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    path: str
    message: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message} — {self.fix}"


class ConfigInvalid(Exception):
    """Raised with every problem found; str() is one problem per line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclasses.dataclass
class Positions:
    values: dict[Path_, tuple[int, int]]
    keys: dict[Path_, tuple[int, int]]

    def of(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# YAML aliases let a 600-byte file expand to billions of values (the "billion laughs"), and an
# alias may name its own ancestor. A real config has a few thousand values and nests a dozen deep.
MAX_VALUES = 50_000
MAX_DEPTH = 100


@dataclasses.dataclass
class _Expansion:
    """What _walk has expanded so far: a count of values and the nodes it is inside."""

    file: str
    count: int = 0
    inside: set[int] = dataclasses.field(default_factory=set)

    def enter(self, node: yaml.Node, path: Path_) -> None:
        line, col = _mark(node)
        if id(node) in self.inside:
            raise ConfigInvalid([Problem(self.file, line, col, _dotted(path), "this alias refers to a value that contains it",
                                         "an anchor cannot be used inside itself; copy the values instead")])
        self.count += 1
        if self.count > MAX_VALUES or len(self.inside) >= MAX_DEPTH:
            what = (f"the file expands to more than {MAX_VALUES:,} values" if self.count > MAX_VALUES
                    else f"values nest deeper than {MAX_DEPTH} levels")
            raise ConfigInvalid([Problem(self.file, line, col, _dotted(path), f"{what} (through YAML aliases?)",
                                         "use fewer aliases (*name) or split the file")])
        if isinstance(node, yaml.CollectionNode):
            self.inside.add(id(node))


def _walk(node: yaml.Node, path: Path_, pos: Positions, problems: list[Problem], file: str, loader: yaml.SafeLoader,
          expansion: _Expansion | None = None) -> Any:
    expansion = expansion or _Expansion(file)
    expansion.enter(node, path)
    try:
        return _walk_node(node, path, pos, problems, file, loader, expansion)
    finally:
        expansion.inside.discard(id(node))


def _walk_node(node: yaml.Node, path: Path_, pos: Positions, problems: list[Problem], file: str, loader: yaml.SafeLoader,
               expansion: _Expansion) -> Any:
    pos.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _walk(key_node, path + ("<key>",), pos, problems, file, loader, expansion)
            if key in out:
                line, col = _mark(key_node)
                problems.append(Problem(file, line, col, _dotted(path + (key,)), f"key '{key}' appears twice",
                                        "keep one of them; YAML would silently use the last"))
            pos.keys[path + (key,)] = _mark(key_node)
            out[key] = _walk(value_node, path + (key,), pos, problems, file, loader, expansion)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, path + (i,), pos, problems, file, loader, expansion) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def parse_yaml(text: str, *, file: str) -> tuple[Any, Positions, list[Problem]]:
    pos = Positions(values={}, keys={})
    problems: list[Problem] = []
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise ConfigInvalid([Problem(file, line, col, "", f"YAML syntax error: {exc.problem or exc}",
                                     "fix the indentation or quoting on that line")]) from None
    except RecursionError:
        raise ConfigInvalid([Problem(file, 1, 1, "", f"the YAML nests far deeper than {MAX_DEPTH} levels",
                                     "flatten it")]) from None
    if node is None:
        return {}, pos, problems
    data = _walk(node, (), pos, problems, file, yaml.SafeLoader(""))
    return data, pos, problems


_FIXES = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "int_parsing": "write a whole number, e.g. 2",
    "int_type": "write a whole number, e.g. 2",
    "float_parsing": "write a number, e.g. 99.9",
    "string_type": "write text (quote it if it looks like a number or a date)",
    "bool_parsing": "write true or false",
    "list_type": "write a list (`- item` lines or [a, b])",
    "model_type": "write a mapping of key: value lines",
    "dict_type": "write a mapping of key: value lines",
    "literal_error": "use one of the allowed values",
    "enum": "use one of the allowed values",
    "string_pattern_mismatch": "use lowercase letters, digits and dashes",
    "less_than_equal": "use a smaller value",
    "greater_than_equal": "use a larger value",
    "greater_than": "use a larger value",
    "url_parsing": "write a full URL such as https://example.com/path",
    "url_scheme": "write a full URL such as https://example.com/path",
    "time_parsing": "write a time as HH:MM",
}


def _from_validation(exc: ValidationError, pos: Positions, file: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        message = plain_message(err)
        if kind == "extra_forbidden":
            message = f"unknown key '{loc[-1]}'"
            line, col = pos.of(loc, key=True)
        elif kind == "missing":
            message = f"required key '{loc[-1]}' is missing"
            line, col = pos.of(loc[:-1])
        else:
            line, col = pos.of(loc)
            if "input" in err and kind not in ("value_error", "assertion_error") and not isinstance(err["input"], (dict, list)):
                message = f"{message} (got {err['input']!r})"
        fix = _FIXES.get(kind, "see docs/configuration.md for this key")
        if kind == "value_error":
            fix = "change the value as described"
        problems.append(Problem(file, line, col, _dotted(loc), message, fix))
    return problems


def _references(cfg: WatchkeeperConfig, pos: Positions, file: str) -> list[Problem]:
    """Checks that span objects: duplicates, unknown teams/people/services, dependency cycles."""
    problems: list[Problem] = []

    def dupes(section: str, names: list[str], attr: str) -> None:
        counts = Counter(names)
        for i, name in enumerate(names):
            if counts[name] > 1 and names.index(name) != i:
                line, col = pos.of((section, i, attr))
                problems.append(Problem(file, line, col, f"{section}[{i}].{attr}", f"'{name}' is declared twice", "rename or remove one"))

    dupes("people", [p.handle for p in cfg.people], "handle")
    dupes("teams", [t.name for t in cfg.teams], "name")
    dupes("services", [s.name for s in cfg.services], "name")
    handles = {p.handle for p in cfg.people}
    teams = {t.name for t in cfg.teams}
    services = {s.name for s in cfg.services}
    for i, team in enumerate(cfg.teams):
        for j, member in enumerate(team.members):
            if member not in handles:
                line, col = pos.of(("teams", i, "members", j))
                problems.append(Problem(file, line, col, f"teams[{i}].members[{j}]", f"unknown person '{member}'",
                                        "declare them under `people:`" + (f"; declared: {', '.join(sorted(handles))}" if handles else "")))
    for i, svc in enumerate(cfg.services):
        if svc.team not in teams:
            line, col = pos.of(("services", i, "team"))
            problems.append(Problem(file, line, col, f"services[{i}].team", f"unknown team '{svc.team}'",
                                    "declare it under `teams:`" + (f"; declared teams are: {', '.join(sorted(teams))}" if teams else "")))
        for j, dep in enumerate(svc.depends_on):
            if dep not in services:
                line, col = pos.of(("services", i, "depends_on", j))
                problems.append(Problem(file, line, col, f"services[{i}].depends_on[{j}]", f"unknown service '{dep}'",
                                        "declare it under `services:` or remove the dependency"))
    cycle = find_cycle({s.name: [d for d in s.depends_on if d in services] for s in cfg.services})
    if cycle:
        index = [s.name for s in cfg.services].index(cycle[0])
        line, col = pos.of(("services", index, "depends_on"))
        problems.append(Problem(file, line, col, f"services[{index}].depends_on", "dependencies form a cycle: " + " → ".join(cycle),
                                "remove one of these dependencies"))
    problems.extend(_monitoring_references(cfg, pos, file, services))
    return problems


def _monitoring_references(cfg: WatchkeeperConfig, pos: Positions, file: str, services: set[str]) -> list[Problem]:
    """monitors:, alert_rules:, slos: and maintenance_windows: name declared services and
    monitors, each name once."""
    problems: list[Problem] = []
    monitors = {m.name for m in cfg.monitors}
    for section, items in (("monitors", cfg.monitors), ("alert_rules", cfg.alert_rules), ("slos", cfg.slos),
                           ("maintenance_windows", cfg.maintenance_windows), ("backups", cfg.backups)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name in seen:
                line, col = pos.of((section, i, "name"))
                problems.append(Problem(file, line, col, f"{section}[{i}].name", f"'{item.name}' is declared twice", "rename or remove one"))
            seen.add(item.name)
            if item.service is not None and item.service not in services:
                line, col = pos.of((section, i, "service"))
                problems.append(Problem(file, line, col, f"{section}[{i}].service", f"unknown service '{item.service}'",
                                        "declare it under `services:`" + (f"; declared services are: {', '.join(sorted(services))}" if services else "")))
    problems.extend(_deploys_references(cfg, pos, file, services))
    for i, slo in enumerate(cfg.slos):
        if slo.monitor is not None and slo.monitor not in monitors:
            line, col = pos.of(("slos", i, "monitor"))
            problems.append(Problem(file, line, col, f"slos[{i}].monitor", f"unknown monitor '{slo.monitor}'",
                                    "declare it under `monitors:`" + (f"; declared monitors are: {', '.join(sorted(monitors))}" if monitors else "")))
    return problems


def _deploys_references(cfg: WatchkeeperConfig, pos: Positions, file: str, services: set[str]) -> list[Problem]:
    """deploys.services[] and deploys.freezes[] name declared services (and teams), each once."""
    problems: list[Problem] = []
    teams = {t.name for t in cfg.teams}
    section = cfg.deploys
    for kind, items, key in (("services", section.services, "service"), ("freezes", section.freezes, "name")):
        seen: set[str] = set()
        for i, item in enumerate(items):
            name = getattr(item, key)
            if name in seen:
                line, col = pos.of(("deploys", kind, i, key))
                problems.append(Problem(file, line, col, f"deploys.{kind}[{i}].{key}", f"'{name}' is declared twice", "remove one"))
            seen.add(name)
            service = getattr(item, "service", None)
            if service is not None and service not in services:
                line, col = pos.of(("deploys", kind, i, "service"))
                problems.append(Problem(file, line, col, f"deploys.{kind}[{i}].service", f"unknown service '{service}'",
                                        "declare it under `services:`"))
            team = getattr(item, "team", None)
            if team is not None and team not in teams:
                line, col = pos.of(("deploys", kind, i, "team"))
                problems.append(Problem(file, line, col, f"deploys.{kind}[{i}].team", f"unknown team '{team}'", "declare it under `teams:`"))
    return problems


def load_text(text: str, *, file: str = "<config>") -> WatchkeeperConfig:
    """Parse and validate; raises ConfigInvalid listing every problem with its position."""
    data, pos, problems = parse_yaml(text, file=file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigInvalid([Problem(file, 1, 1, "", "the file must be a mapping of sections (teams:, services:, ...)",
                                     "start with `version: 1` and add sections")])
    try:
        cfg = WatchkeeperConfig.model_validate(data)
    except ValidationError as exc:
        problems.extend(_from_validation(exc, pos, file))
        raise ConfigInvalid(sorted(problems, key=lambda p: (p.line, p.column))) from None
    problems.extend(_references(cfg, pos, file))
    if problems:
        raise ConfigInvalid(sorted(problems, key=lambda p: (p.line, p.column)))
    return cfg


def load_file(path: Path) -> WatchkeeperConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigInvalid([Problem(str(path), 1, 1, "", "file not found", "check the path, or create one with `watchkeeper init`")]) from None
    except UnicodeDecodeError:
        raise ConfigInvalid([Problem(str(path), 1, 1, "", "file is not UTF-8 text", "save it as UTF-8")]) from None
    cfg = load_text(text, file=str(path))
    cfg._source_dir = path.resolve().parent
    return cfg
