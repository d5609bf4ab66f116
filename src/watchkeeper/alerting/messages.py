"""Render a group notification into a notify Message (Jinja2 templates in templates/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape

from watchkeeper.notify.schemas import Message

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=ChainableUndefined, keep_trailing_newline=False, trim_blocks=False,
)


def render(context: dict[str, Any]) -> Message:
    """`context`: status, receiver, group_id, group_labels, service, drill, firing/resolved
    (alert dicts with url and links), links (ack, resolve, group) and `data` (webhook body)."""
    subject = _env.get_template("subject.txt").render(**context).strip().splitlines()[0][:250]
    return Message(
        subject=subject,
        text=_env.get_template("body.txt").render(**context),
        html=_env.get_template("body.html").render(**context),
        short=_env.get_template("chat.txt").render(**context).strip(),
        data=context["data"],
    )
