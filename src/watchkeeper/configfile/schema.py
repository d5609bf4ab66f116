"""The shape of watchkeeper.yaml: a version, then each domain's sections, in the order of the
composition root (each descriptor's `config`, see watchkeeper/domain.py)."""

from __future__ import annotations

from typing import Any, Literal, Optional

from pathlib import Path

from pydantic import ConfigDict, Field, PrivateAttr, create_model

from watchkeeper import domains
from watchkeeper.domain import ConfigSection, resolve
from watchkeeper.validation import Strict


class _Base(Strict):
    """Everything Watchkeeper manages as code. Objects declared here are owned by the file:
    `apply` creates, updates and deletes them. Objects made at run time are never touched."""

    model_config = ConfigDict(title="watchkeeper.yaml")

    version: Literal[1] = Field(1, description="Format version of this file.")
    # The directory of the file it was read from (load_file): relative paths in sections (the
    # runbooks folder) are taken from there. None for text loaded without a file.
    _source_dir: Optional[Path] = PrivateAttr(default=None)


def _field(section: ConfigSection) -> tuple[Any, Any]:
    model = resolve(section.model)
    if section.shape == "list":
        return list[model], Field(default_factory=list, description=section.description)
    if section.shape == "object":
        return model, Field(default_factory=model, description=section.description)
    return Optional[model], Field(None, description=section.description)


def _build() -> type[Strict]:
    sections = [s for d in domains.all() for s in d.config]
    keys = [s.key for s in sections]
    duplicated = sorted({k for k in keys if keys.count(k) > 1} | ({"version"} & set(keys)))
    if duplicated:
        raise RuntimeError(f"watchkeeper.yaml sections declared twice: {duplicated}")
    model = create_model("WatchkeeperConfig", __base__=_Base, **{s.key: _field(s) for s in sections})
    model.__doc__ = _Base.__doc__
    return model


WatchkeeperConfig = _build()


def json_schema() -> dict:
    schema = WatchkeeperConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://watchkeeper.dev/schema/watchkeeper.schema.json"
    return schema
