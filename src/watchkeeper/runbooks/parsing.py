"""Read one runbook file: YAML front matter between `---` lines, a Markdown body, the
executable steps in it (fenced blocks whose info string carries `{step=NAME ...}`) and its
links. Every problem is one line naming the file and the line: `restart.md:5: last_reviewed.date:
input should be a valid date ... — write YYYY-MM-DD`.

The YAML is read with PyYAML's safe loader, without implicit timestamps (a date is checked by
pydantic, so `2026-13-01` is a clear error rather than a constructor crash), with a cap on the
values aliases may expand to; Markdown is tokenised by markdown-it-py (CommonMark)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

import yaml
from markdown_it import MarkdownIt
from pydantic import ValidationError

from watchkeeper import durations
from watchkeeper.errors import InvalidInput
from watchkeeper.runbooks.schemas import MAX_STEP_TIMEOUT, STEP_NAME, FrontMatter
from watchkeeper.validation import plain_message

MAX_FILE_BYTES = 512 * 1024
MAX_FRONT_MATTER_BYTES = 32 * 1024
MAX_VALUES = 5_000
MAX_STEPS = 50
STEP_ATTRS = ("step", "confirm", "runner", "timeout")
_INFO = re.compile(r"^\s*([A-Za-z0-9_+.-]*)\s*\{([^{}]*)\}\s*$")
_ATTR = re.compile(r'([a-z_]+)=("([^"]*)"|[^\s"]+)')
_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it or check its spelling (allowed: title, services, alerts, kind, owners, reviewers, last_reviewed, review_every)",
    "date_from_datetime_parsing": "write YYYY-MM-DD",
    "date_parsing": "write YYYY-MM-DD",
    "date_type": "write YYYY-MM-DD",
    "literal_error": "use one of runbook, incident-process, deploy-procedure, rollback-procedure, dr-plan, other",
    "list_type": "write a list, e.g. [a, b]",
    "string_type": "write text",
    "string_pattern_mismatch": "use letters, digits, dots, dashes (services: lowercase letters, digits and dashes)",
    "model_type": "write a mapping, e.g. {date: 2026-01-31, by: alice}",
    "too_long": "write fewer items",
    "string_too_long": "shorten it",
    "string_too_short": "write something",
}


class ParseError(InvalidInput):
    """A runbook file that cannot be read; the message is `file:line: what — how to fix`."""

    def __init__(self, file: str, line: int, message: str, fix: str):
        super().__init__(f"{file}:{line}: {message} — {fix}", code="runbook.parse", field="runbooks")
        self.file, self.line = file, line


@dataclasses.dataclass(frozen=True)
class Step:
    name: str
    runner: str
    command: str
    line: int
    confirm: bool = True
    timeout_seconds: int | None = None


@dataclasses.dataclass(frozen=True)
class Link:
    href: str
    line: int


@dataclasses.dataclass(frozen=True)
class Parsed:
    file: str
    front: FrontMatter
    body: str
    body_line: int  # the file line the body starts on
    steps: tuple[Step, ...]
    links: tuple[Link, ...]
    sha256: str


class _Loader(yaml.SafeLoader):
    """Safe loading without implicit timestamps: dates stay text and pydantic checks them."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _split(text: str, file: str) -> tuple[str, str, int]:
    """(front matter, body, the body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        raise ParseError(file, 1, "the file does not start with front matter", "begin it with a `---` line, the YAML keys "
                         "(title:, services:, kind: …) and a closing `---` line")
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 2
    raise ParseError(file, 1, "the front matter is not closed", "add a `---` line after the last key")


def _walk(node: yaml.Node, path: tuple, lines: dict[tuple, int], file: str, loader: _Loader, budget: list[int], depth: int = 0) -> Any:
    line = node.start_mark.line + 2
    budget[0] += 1
    if budget[0] > MAX_VALUES or depth > 20:
        raise ParseError(file, line, "the front matter expands to too many values (YAML aliases?)", "write it out without aliases")
    lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ParseError(file, key_node.start_mark.line + 2, "a key must be plain text", "write `name: value`")
            if key in out:
                raise ParseError(file, key_node.start_mark.line + 2, f"key '{key}' appears twice", "keep one of them")
            lines[path + (key,)] = key_node.start_mark.line + 2
            out[key] = _walk(value_node, path + (key,), lines, file, loader, budget, depth + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, path + (i,), lines, file, loader, budget, depth + 1) for i, child in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _front(text: str, file: str) -> FrontMatter:
    if len(text.encode()) > MAX_FRONT_MATTER_BYTES:
        raise ParseError(file, 1, f"the front matter is larger than {MAX_FRONT_MATTER_BYTES // 1024} KiB", "keep it to the listed keys")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ParseError(file, (mark.line + 2) if mark else 1, f"YAML syntax error: {exc.problem or exc}",
                         "fix the indentation or quoting on that line") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ParseError(file, 1, f"YAML error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                         "fix the front matter") from None
    if node is None:
        raise ParseError(file, 1, "the front matter is empty", "add at least `title:`")
    lines: dict[tuple, int] = {}
    try:
        data = _walk(node, (), lines, file, _Loader(""), [0])
    except yaml.YAMLError as exc:
        raise ParseError(file, 1, f"YAML error: {str(exc).splitlines()[0]}", "fix the front matter") from None
    if not isinstance(data, dict):
        raise ParseError(file, 2, "the front matter must be a mapping of keys", "write `title: ...` and the other keys")
    try:
        return FrontMatter.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        kind = err["type"]
        probe = loc[:-1] if kind == "missing" else loc
        while probe and probe not in lines:
            probe = probe[:-1]
        line = lines.get(probe, 1)
        where = ".".join(str(p) for p in loc)
        if kind == "missing":
            message = f"required key '{where}' is missing"
        elif kind == "extra_forbidden":
            message = f"unknown key '{where}'"
        else:
            message = f"{where}: {plain_message(err)}"
            if "input" in err and not isinstance(err["input"], (dict, list)):
                message += f" (got {str(err['input'])[:60]!r})"
        fix = _FIXES.get(kind, "change the value as described")
        if len(exc.errors()) > 1:
            fix += f" ({len(exc.errors()) - 1} more problem(s) after this one)"
        raise ParseError(file, line, message.replace("\n", " "), fix) from None


def _attrs(raw: str, file: str, line: int) -> dict[str, str]:
    out: dict[str, str] = {}
    rest = _ATTR.sub("", raw).strip()
    if rest:
        raise ParseError(file, line, f"cannot read the step attributes {{{raw[:80]}}}", "write {step=NAME confirm=true}, "
                         "optionally runner=NAME and timeout=30s")
    for match in _ATTR.finditer(raw):
        key, value = match.group(1), match.group(3) if match.group(3) is not None else match.group(2)
        if key not in STEP_ATTRS:
            raise ParseError(file, line, f"unknown step attribute '{key}'", f"use {', '.join(STEP_ATTRS)}")
        out[key] = value
    return out


def _step(info: str, content: str, file: str, line: int) -> Step | None:
    match = _INFO.match(info or "")
    if not match:
        return None
    lang, raw = match.groups()
    attrs = _attrs(raw, file, line)
    if "step" not in attrs:
        return None
    name = attrs["step"]
    if not re.match(STEP_NAME, name):
        raise ParseError(file, line, f"step name {name[:64]!r} is invalid", "use lowercase letters, digits, - and _")
    confirm = attrs.get("confirm", "true").lower()
    if confirm not in ("true", "yes"):
        raise ParseError(file, line, f"step '{name}' says confirm={confirm}", "every step needs a person's confirmation; "
                         "write confirm=true or leave it out")
    runner = attrs.get("runner") or lang
    if not runner or not re.match(r"^[a-z][a-z0-9_-]{0,31}$", runner):
        raise ParseError(file, line, f"step '{name}' names no runner", "start the fence with the runner, e.g. ```sh {step=...}```")
    timeout = None
    if "timeout" in attrs:
        try:
            delta = durations.parse(attrs["timeout"])
        except ValueError as exc:
            raise ParseError(file, line, f"step '{name}' timeout: {exc}", "write e.g. timeout=30s") from None
        if not 1 <= delta.total_seconds() <= MAX_STEP_TIMEOUT.total_seconds():
            raise ParseError(file, line, f"step '{name}' timeout must be between 1s and 1h", "write e.g. timeout=30s")
        timeout = int(delta.total_seconds())
    if not content.strip():
        raise ParseError(file, line, f"step '{name}' is empty", "write the command inside the fence")
    return Step(name=name, runner=runner, command=content, line=line, confirm=True, timeout_seconds=timeout)


_MD = MarkdownIt("commonmark", {"html": False})


def parse_document(text: str, *, file: str) -> Parsed:
    """Parse one file. Raises ParseError (one line, naming the file and line)."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise ParseError(file, 1, f"the file is larger than {MAX_FILE_BYTES // 1024} KiB", "split it into several documents")
    if "\x00" in text:
        raise ParseError(file, 1, "the file contains NUL bytes", "save it as UTF-8 text")
    front_text, body, body_line = _split(text, file)
    front = _front(front_text, file)
    steps: list[Step] = []
    links: list[Link] = []
    for token in _MD.parse(body):
        line = body_line + (token.map[0] if token.map else 0)
        if token.type == "fence":
            step = _step(token.info, token.content, file, line)
            if step is not None:
                if any(s.name == step.name for s in steps):
                    raise ParseError(file, line, f"step '{step.name}' is declared twice", "give each step its own name")
                steps.append(step)
                if len(steps) > MAX_STEPS:
                    raise ParseError(file, line, f"more than {MAX_STEPS} steps", "split the document")
        for child in token.children or ():
            if child.type == "link_open":
                links.append(Link(href=str(child.attrGet("href") or ""), line=line))
    return Parsed(file=file, front=front, body=body, body_line=body_line, steps=tuple(steps), links=tuple(links),
                  sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
